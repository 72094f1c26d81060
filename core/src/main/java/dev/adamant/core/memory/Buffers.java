package dev.adamant.core.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** Allocation of the off-heap float buffers that optimizers own. */
public final class Buffers {
    /** Buffers start on a cache line, so that parallel chunks of 16 floats never share one. */
    public static final long CACHE_LINE = 64;
    /** Floats in one cache line: the granularity of parallel chunks. */
    public static final long FLOATS_PER_LINE = CACHE_LINE / Segments.FLOAT_BYTES;
    /**
     * The most floats one buffer can hold: its byte size must fit in a {@code long}, as every
     * {@code MemorySegment}'s does (2^61 - 1). Whether that much memory exists is the allocator's
     * question ({@link OutOfMemoryError}); this limit is the one no machine can lift.
     */
    public static final long MAX_FLOATS = Long.MAX_VALUE / Segments.FLOAT_BYTES;

    private Buffers() {}

    /**
     * Allocates {@code floats} zeroed floats from {@code arena}, aligned to a cache line. Zeroing
     * touches every page, so first-touch page faults happen here and not in the first step.
     *
     * @throws NullPointerException if {@code arena} is null
     * @throws IllegalArgumentException if {@code floats} is negative or above {@link #MAX_FLOATS}
     * @throws OutOfMemoryError if the memory is not there (the arena's, with the sizes in its message)
     */
    public static MemorySegment allocateFloats(Arena arena, long floats) {
        Objects.requireNonNull(arena, "arena");
        checkFloatCount("floats", floats);
        return arena.allocate(floats * Segments.FLOAT_BYTES, CACHE_LINE);
    }

    /**
     * Refuses a float count that is negative or too large for one buffer ({@link #MAX_FLOATS}), in
     * the manner of {@code "n: expected at most 2305843009213693951 floats (a byte size that fits in
     * a long), got 4611686018427387904"}.
     */
    public static void checkFloatCount(String name, long floats) {
        if (floats < 0) {
            throw new IllegalArgumentException(name + ": expected >= 0, got " + floats);
        }
        if (floats > MAX_FLOATS) {
            throw new IllegalArgumentException(name + ": expected at most " + MAX_FLOATS
                    + " floats (a byte size that fits in a long), got " + floats);
        }
    }
}
