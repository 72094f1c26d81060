package dev.adamant.fp16.kernel;

import dev.adamant.fp16.Precision;
import java.lang.foreign.MemorySegment;

/**
 * The overflow check and the fused unscale + check + sum-of-squares pass.
 *
 * <p>Callers have checked the buffers (live, aligned, large enough, writable where written) and that
 * {@code from} is a multiple of {@link SquareSums#BLOCK}.
 */
public interface ScalingKernel {
    /** Whether any of floats {@code [from, from + count)} is infinite or NaN. One read pass. */
    boolean anyNonFiniteFloat(MemorySegment floats, long from, long count);

    /**
     * Whether any of the 16-bit values {@code [from, from + count)} has magnitude bits
     * ({@code h & 0x7FFF}) at or above {@code threshold}. With the format's exponent field as the
     * threshold (0x7C00 for fp16, 0x7F80 for bf16) that is "any infinity or NaN"; with
     * {@link Widening#overflowThreshold} it also catches finite values that overflow when unscaled.
     * One read pass.
     */
    boolean anyMagnitudeAtLeast16(MemorySegment halves, short threshold, long from, long count);

    /**
     * PyTorch's {@code _amp_foreach_non_finite_check_and_unscale_} over fp32 gradients, with the
     * sum of squares of the unscaled values in the same pass: {@code g = g * invScale} in place (every
     * element, as PyTorch does even when one is not finite), and for each block of
     * {@link SquareSums} starting at {@code from} the block's sum into
     * {@code blockSums[firstBlock + k]}.
     *
     * @return whether any gradient was infinite or NaN before or after unscaling (a finite gradient
     *     that overflows when unscaled counts: the step must be skipped)
     */
    boolean unscaleFloats(MemorySegment grads, float invScale, long from, long count, double[] blockSums,
                          int firstBlock);

    /**
     * As {@link #unscaleFloats}, for 16-bit gradients of {@code format} (FP16 or BF16), and read-only:
     * each value's magnitude bits are compared with {@link Widening#overflowThreshold}, and its
     * magnitude ({@link Widening}) unscaled and squared into the block sums; nothing is written. When
     * no value is flagged, the block sums are the bits that decoding into floats and calling
     * {@link #unscaleFloats} gives; otherwise they are not specified (but the same in every
     * implementation).
     *
     * @return whether any gradient was infinite or NaN, or overflows when unscaled
     */
    boolean unscaleHalves(MemorySegment halves, Precision format, float invScale, long from, long count,
                          double[] blockSums, int firstBlock);

    /**
     * The update pass's gradient tile: 16-bit gradients {@code [from, from + count)} of {@code format}
     * widened, unscaled and clipped into floats {@code [floatIndex, floatIndex + count)}:
     * {@code (g * invScale) * coef}, two roundings, as unscaling and then clipping round in PyTorch.
     * Exact for every input, infinities and NaNs included.
     */
    void widenScaled(MemorySegment halves, Precision format, long from, MemorySegment floats, long floatIndex,
                     float invScale, float coef, long count);
}
