package dev.adamant.core.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Allocation of the off-heap float buffers that optimizers own. */
public final class Buffers {
    /** Buffers start on a cache line, so that parallel chunks of 16 floats never share one. */
    public static final long CACHE_LINE = 64;
    /** Floats in one cache line: the granularity of parallel chunks. */
    public static final long FLOATS_PER_LINE = CACHE_LINE / Segments.FLOAT_BYTES;

    private Buffers() {}

    /**
     * Allocates {@code floats} zeroed floats from {@code arena}, aligned to a cache line. Zeroing
     * touches every page, so first-touch page faults happen here and not in the first step.
     */
    public static MemorySegment allocateFloats(Arena arena, long floats) {
        return arena.allocate(Math.multiplyExact(floats, Segments.FLOAT_BYTES), CACHE_LINE);
    }
}
