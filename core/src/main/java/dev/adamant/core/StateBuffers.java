package dev.adamant.core;

import dev.adamant.core.memory.Buffers;
import dev.adamant.core.memory.Segments;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An optimizer's state: one buffer of floats per name, all of one size. Either its own (zeroed,
 * cache-line-aligned, off-heap, in one shared arena that this owns and the optimizer closes) or the
 * caller's: consecutive slices of one segment the caller allocated, owns and frees.
 */
final class StateBuffers {
    /** The arena this owns, or null for the caller's memory. */
    private final Arena arena;
    /** The caller's whole segment, or null for owned memory. */
    private final MemorySegment callers;
    private final Map<String, MemorySegment> buffers = new LinkedHashMap<>();

    /**
     * The caller's {@code state}: buffer {@code k} of {@code names} is floats
     * {@code [k * floats, (k + 1) * floats)} of it, used as they are (not zeroed).
     *
     * @throws IllegalArgumentException naming {@code state} unless it is a usable, writable segment of
     *     exactly {@code names.size() * floats} floats, 4-byte aligned
     * @throws NullPointerException if {@code state} is null and {@code names} is not empty
     */
    StateBuffers(MemorySegment state, long floats, List<String> names) {
        long total;
        try {
            total = Math.multiplyExact(floats, names.size());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("state: " + names.size() + " buffers of " + floats
                    + " floats do not fit in a segment", e);
        }
        if (total == 0 && state == null) {
            this.callers = MemorySegment.NULL;
        } else {
            Segments.checkFloats("state", Objects.requireNonNull(state, "state"), total, true);
            this.callers = state;
        }
        this.arena = null;
        for (int k = 0; k < names.size(); k++) {
            buffers.put(names.get(k), state.asSlice(k * floats * Float.BYTES, floats * Float.BYTES));
        }
    }

    /**
     * The caller's {@code state} holding buffers of {@code bytes.applyAsLong(name)} bytes each, in
     * the order of {@code names}, each starting where the one before ends rounded up to 4 bytes
     * (8-bit states: see {@link OptimizerConfig#stateNames(long)}); used as they are.
     *
     * @throws IllegalArgumentException naming {@code state} unless it is a usable, writable segment of
     *     exactly that many bytes (a whole number of floats), 4-byte aligned
     * @throws NullPointerException if {@code state} is null
     */
    StateBuffers(MemorySegment state, List<String> names, java.util.function.ToLongFunction<String> bytes) {
        long total = 0;
        long[] offsets = new long[names.size()];
        for (int k = 0; k < names.size(); k++) {
            offsets[k] = total;
            total += roundUp4(bytes.applyAsLong(names.get(k)));
        }
        Segments.checkFloats("state", Objects.requireNonNull(state, "state"), total / Float.BYTES, true);
        this.callers = state;
        this.arena = null;
        for (int k = 0; k < names.size(); k++) {
            buffers.put(names.get(k), state.asSlice(offsets[k], bytes.applyAsLong(names.get(k))));
        }
    }

    /** {@code bytes} rounded up to a multiple of 4: where the next buffer of caller-owned state starts. */
    static long roundUp4(long bytes) {
        return (bytes + 3) & ~3L;
    }

    /**
     * Allocates a buffer of {@code floats} floats for each name. Memory that is not there is an
     * {@link OutOfMemoryError} whose message starts with {@code what} and names the buffer and the
     * bytes; nothing stays allocated after a failure.
     */
    StateBuffers(String what, long floats, List<String> names) {
        this(what, names, name -> floats * Float.BYTES);
    }

    /**
     * Allocates a buffer of {@code bytes.applyAsLong(name)} bytes (zeroed, cache-line-aligned) for
     * each name, as {@link #StateBuffers(String, long, List)}.
     */
    StateBuffers(String what, List<String> names, java.util.function.ToLongFunction<String> bytes) {
        this.arena = Arena.ofShared();
        this.callers = null;
        String name = null;
        long size = 0;
        try {
            for (String s : names) {
                name = s;
                size = bytes.applyAsLong(s);
                buffers.put(s, arena.allocate(size, Buffers.CACHE_LINE));
            }
        } catch (OutOfMemoryError e) {
            arena.close();
            OutOfMemoryError named = new OutOfMemoryError(what + " need " + names.size() + " state buffers of " + size
                    + " bytes; " + name + " could not be allocated (" + e.getMessage() + ")");
            named.initCause(e);
            throw named;
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Sets floats {@code [from, from + count)} of buffer {@code name} to {@code value}: a start value other than 0. */
    void fill(String name, long from, long count, float value) {
        MemorySegment s = buffers.get(name);
        for (long i = from, end = from + count; i < end; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, value);
        }
    }

    /** The names, in the order given. */
    List<String> names() {
        return List.copyOf(buffers.keySet());
    }

    /** The writable buffer {@code name}, or null if there is none. */
    MemorySegment get(String name) {
        return buffers.get(name);
    }

    /**
     * A read-only view of buffer {@code name}.
     *
     * @throws IllegalArgumentException naming {@code name} if there is no such buffer
     */
    MemorySegment readOnly(String name) {
        MemorySegment s = buffers.get(Objects.requireNonNull(name, "name"));
        if (s == null) {
            throw new IllegalArgumentException("name: expected one of " + buffers.keySet() + ", got \"" + name + "\"");
        }
        return s.asReadOnly();
    }

    /**
     * Refuses the caller's memory where a thread of a step on {@code threads} threads may not access
     * it ({@link Segments#checkAccessible(String, MemorySegment, int)}); owned memory is shared.
     */
    void checkAccessible(int threads) {
        if (callers != null) {
            Segments.checkAccessible("state", callers, threads);
        }
    }

    /**
     * Refuses {@code segment} (named {@code name}; null is skipped) where it shares a byte with the
     * caller's memory: a step would write parameters or updates and state into the same bytes. Owned
     * memory overlaps nothing the caller has.
     */
    void checkDisjoint(String name, MemorySegment segment) {
        if (callers != null && segment != null && callers.byteSize() > 0) {
            Segments.checkDisjoint(name, segment, "state", callers);
        }
    }

    /** Whether the memory is the caller's. */
    boolean callerOwned() {
        return callers != null;
    }

    /**
     * Frees every buffer of owned memory; views of them become inaccessible. The caller's memory
     * stays as it is (the caller frees it). Call once.
     */
    void close() {
        if (arena != null) {
            arena.close();
        }
    }
}
