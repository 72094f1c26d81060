package dev.adamant.fp16.scaling;

import dev.adamant.core.memory.Segments;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.kernel.Fp16Kernels;
import dev.adamant.fp16.kernel.ScalingKernel;
import dev.adamant.fp16.kernel.SquareSums;
import dev.adamant.fp16.kernel.Widening;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Overflow detection and the fused unscale pass over gradients.
 *
 * <p>Each is one read pass over the buffer (the unscale pass also writes it): 4 bytes an element for
 * fp32, 2 for fp16 and bf16. Bad input (null, closed, misaligned, a size that is not a whole number
 * of elements, read-only where written, a scale that is not finite and positive) is refused with an
 * exception naming the argument, and nothing is written.
 */
public final class Gradients {
    private Gradients() {}

    /**
     * Whether any element of {@code buffer} (a whole number of {@code precision} elements; 4-byte
     * aligned for FP32, 2-byte for FP16 and BF16) is inf or NaN.
     */
    public static boolean hasNonFinite(MemorySegment buffer, Precision precision) {
        Objects.requireNonNull(precision, "precision");
        long n = Segments.checkWhole("buffer", buffer, false, precision.bytes());
        Segments.checkAccessible("buffer", buffer);
        ScalingKernel k = Fp16Kernels.scaling();
        return switch (precision) {
            case FP32 -> k.anyNonFiniteFloat(buffer, 0, n);
            case FP16 -> k.anyMagnitudeAtLeast16(buffer, Widening.FP16.exponentMask(), 0, n);
            case BF16 -> k.anyMagnitudeAtLeast16(buffer, Widening.BF16.exponentMask(), 0, n);
        };
    }

    /**
     * Unscales fp32 gradients in place ({@code g *= 1/scale}, every element, PyTorch's
     * {@code _amp_foreach_non_finite_check_and_unscale_}) and, in the same pass, reports whether any
     * was inf or NaN, before or after unscaling (a finite gradient that overflows when multiplied by
     * {@code 1/scale}, possible with a scale below 1, counts: PyTorch tests only the value before),
     * and the sum of squares of the unscaled values (for clipping by global norm; it may be infinite
     * when every value is finite: see {@link GradientStats#normOverflows()}).
     *
     * @param scale the loss scale the gradients carry: see {@link #checkScale}
     */
    public static GradientStats unscale(MemorySegment grads, float scale) {
        checkScale(scale);
        long n = Segments.checkWhole("grads", grads, true, Segments.FLOAT_BYTES);
        Segments.checkAccessible("grads", grads);
        double[] blocks = new double[SquareSums.blocks(n)];
        boolean nonFinite = Fp16Kernels.scaling().unscaleFloats(grads, 1f / scale, 0, n, blocks, 0);
        return new GradientStats(nonFinite, SquareSums.total(blocks));
    }

    /**
     * Refuses a clipping norm that is not 0 (no clipping) or, as the float the clipping coefficient
     * is computed in, a finite normal value ({@code 1e-300}, 0 as a float, would clip every gradient
     * to 0); returns it.
     */
    public static double checkMaxGradNorm(double maxGradNorm) {
        float f = (float) maxGradNorm;
        if (!(maxGradNorm == 0 || (f >= Float.MIN_NORMAL && f <= Float.MAX_VALUE))) {
            throw new IllegalArgumentException("maxGradNorm: expected 0 (no clipping) or a finite value >= "
                    + Float.MIN_NORMAL + " as a float, got " + maxGradNorm);
        }
        return maxGradNorm;
    }

    /**
     * The smallest loss scale whose reciprocal is finite in float (about 2.9e-39, a subnormal); below
     * it {@code 1/scale} is infinite and unscaling would turn every zero gradient into NaN.
     */
    public static final float MIN_SCALE = smallestInvertible();

    private static float smallestInvertible() {
        float s = 1f / Float.MAX_VALUE;
        while (Float.isFinite(1f / Math.nextDown(s))) {
            s = Math.nextDown(s);
        }
        while (Float.isInfinite(1f / s)) {
            s = Math.nextUp(s);
        }
        return s;
    }

    /** Refuses a loss scale that is not finite and positive, or whose reciprocal is not finite. */
    public static void checkScale(float scale) {
        if (!(scale > 0 && scale < Float.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("scale: expected a finite value > 0, got " + scale);
        }
        if (Float.isInfinite(1f / scale)) {
            throw new IllegalArgumentException("scale: expected a finite value > 0 whose reciprocal is finite (>= "
                    + MIN_SCALE + "), got " + scale);
        }
    }
}
