package dev.adamant.core.kernel;

import java.lang.foreign.MemorySegment;

/**
 * One Adam/AdamW step over floats {@code [from, from + count)} of every buffer (the same element
 * range in each). The formula is {@link AdamStep}'s. One pass over memory: 4 floats read
 * (parameter, gradient, two moments) and 3 written, 28 bytes per element; amsgrad adds 8.
 *
 * <p>Update mode ({@code update} non-null): the parameters are read, not written, and {@code update}
 * receives {@code p - p'} for each element, {@code p'} being the parameter the step would have
 * written; {@code param} null reads every parameter as 0 (for a step that does not read them), so
 * {@code update} receives {@code -p'} of a zero parameter. {@code update} may be {@code grad}
 * itself: each element's gradient is read before its update is written.
 *
 * <p>Callers have checked everything: segments live, large enough, 4-byte aligned, parameters (in
 * a normal step), update and moments writable, {@code param} non-null unless {@code update} is,
 * {@code maxExpAvgSq} non-null exactly when {@code step.amsgrad()}. A count of 0 is a no-op.
 */
public interface AdamKernel {
    void step(AdamStep step, MemorySegment param, MemorySegment grad, MemorySegment update, MemorySegment expAvg,
              MemorySegment expAvgSq, MemorySegment maxExpAvgSq, long from, long count);
}
