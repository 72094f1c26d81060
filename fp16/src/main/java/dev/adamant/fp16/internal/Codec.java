package dev.adamant.fp16.internal;

import java.lang.foreign.MemorySegment;

/**
 * The bulk loops of one 16-bit format. Indices count elements (floats on one side, 16-bit values on
 * the other), buffers hold them in the platform's byte order.
 *
 * <p>Kernels trust their callers: {@link dev.adamant.fp16.Half} and {@link dev.adamant.fp16.BFloat16}
 * have checked that the segments are live, accessible, aligned, large enough, disjoint and (the
 * destination) writable, and that {@code count >= 0}.
 */
public interface Codec {
    /** Floats {@code [floatIndex, floatIndex + count)} to 16-bit values at {@code halfIndex}, nearest even. */
    void encode(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex, long count);

    /**
     * As {@link #encode}, rounding stochastically: element {@code i} uses the random bits of counter
     * {@code counterBase + i} under {@code key}.
     */
    void encodeStochastic(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex, long count,
                          long key, long counterBase);

    /** 16-bit values {@code [halfIndex, halfIndex + count)} to floats at {@code floatIndex}. */
    void decode(MemorySegment halves, long halfIndex, MemorySegment floats, long floatIndex, long count);
}
