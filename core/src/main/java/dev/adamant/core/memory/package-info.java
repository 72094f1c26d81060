/**
 * The shared check vocabulary of Adamant's modules, and their allocation helpers: not public API.
 *
 * <p>{@link dev.adamant.core.memory.Segments} holds the one set of argument checks that every
 * module's public entry points run on the segments they accept (live, aligned to the element size,
 * writable where written, the expected size, disjoint, accessible by every thread that will touch
 * them), so a bad argument gets the same exception type and the same message style, {@code "name:
 * expected X, got Y"}, from whichever module refuses it. {@link dev.adamant.core.memory.Buffers}
 * allocates cache-line aligned float buffers.
 *
 * <p>The package is exported only to Adamant's own modules (a qualified export in
 * {@code module-info}); on the class path it is visible, but it may change in any release without
 * notice. Applications call the facades ({@code Optimizers}, {@code Half}, {@code ZeroOptimizer},
 * ...), which document the exceptions these checks throw.
 */
package dev.adamant.core.memory;
