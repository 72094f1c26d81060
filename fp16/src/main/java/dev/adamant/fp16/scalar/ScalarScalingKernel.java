package dev.adamant.fp16.scalar;

import dev.adamant.fp16.Precision;
import dev.adamant.fp16.kernel.ScalingKernel;
import dev.adamant.fp16.kernel.SquareSums;
import dev.adamant.fp16.kernel.Widening;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The scalar scaling kernels: fallback, vector tail and test oracle. */
public final class ScalarScalingKernel implements ScalingKernel {
    public static final ScalarScalingKernel INSTANCE = new ScalarScalingKernel();
    /** fp32 exponent field: all ones means infinite or NaN. */
    static final int FLOAT_EXPONENT = 0x7F80_0000;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    private ScalarScalingKernel() {}

    @Override
    public boolean anyNonFiniteFloat(MemorySegment floats, long from, long count) {
        int max = 0;
        for (long i = from; i < from + count; i++) {
            max = Math.max(max, Float.floatToRawIntBits(floats.getAtIndex(F, i)) & FLOAT_EXPONENT);
        }
        return max == FLOAT_EXPONENT;
    }

    @Override
    public boolean anyMagnitudeAtLeast16(MemorySegment halves, short threshold, long from, long count) {
        int max = 0;
        for (long i = from; i < from + count; i++) {
            max = Math.max(max, halves.getAtIndex(S, i) & Widening.MAGNITUDE_BITS);
        }
        return max >= threshold;
    }

    @Override
    public boolean unscaleFloats(MemorySegment grads, float invScale, long from, long count, double[] blockSums,
                                 int firstBlock) {
        return SquareSums.forEachBlock(from, count, blockSums, firstBlock,
                (start, len, acc) -> unscaleBlock(grads, invScale, start, 0, len, acc)) == FLOAT_EXPONENT;
    }

    /**
     * Elements {@code [j0, len)} of the block at {@code start}, into accumulators {@code acc}; returns
     * the largest exponent field of the unscaled values (an infinite or NaN gradient stays one when
     * multiplied by a finite positive {@code invScale}, and a finite one that overflows becomes one).
     * The Panama kernel finishes its blocks' tails here.
     */
    public static int unscaleBlock(MemorySegment grads, float invScale, long start, int j0, long len, float[] acc) {
        int max = 0;
        for (int j = j0; j < len; j++) {
            float u = grads.getAtIndex(F, start + j) * invScale;
            max = Math.max(max, Float.floatToRawIntBits(u) & FLOAT_EXPONENT);
            grads.setAtIndex(F, start + j, u);
            int k = j % SquareSums.ACCUMULATORS;
            acc[k] = Math.fma(u, u, acc[k]);
        }
        return max;
    }

    @Override
    public boolean unscaleHalves(MemorySegment halves, Precision format, float invScale, long from, long count,
                                 double[] blockSums, int firstBlock) {
        Widening w = Widening.of(format);
        return SquareSums.forEachBlock(from, count, blockSums, firstBlock,
                (start, len, acc) -> unscaleHalvesBlock(halves, w, invScale, start, 0, len, acc))
                >= w.overflowThreshold(invScale);
    }

    /**
     * Elements {@code [j0, len)} of the 16-bit block at {@code start}, as {@link #unscaleBlock} but
     * read-only, each value widened by {@link Widening#magnitude} (the square needs no sign); returns
     * the largest magnitude bits seen ({@code h & 0x7FFF}), for the caller to compare with
     * {@link Widening#overflowThreshold}.
     */
    public static int unscaleHalvesBlock(MemorySegment halves, Widening w, float invScale, long start, int j0, long len,
                                         float[] acc) {
        int max = 0;
        for (int j = j0; j < len; j++) {
            short h = halves.getAtIndex(S, start + j);
            max = Math.max(max, h & Widening.MAGNITUDE_BITS);
            float u = w.magnitude(h) * invScale;
            int k = j % SquareSums.ACCUMULATORS;
            acc[k] = Math.fma(u, u, acc[k]);
        }
        return max;
    }

    @Override
    public void widenScaled(MemorySegment halves, Precision format, long from, MemorySegment floats, long floatIndex,
                            float invScale, float coef, long count) {
        boolean fp16 = format == Precision.FP16;
        for (long i = 0; i < count; i++) {
            short h = halves.getAtIndex(S, from + i);
            float g = fp16 ? HalfScalars.decode(h) : BFloat16Scalars.decode(h);
            floats.setAtIndex(F, floatIndex + i, g * invScale * coef);
        }
    }
}
