package dev.adamant.fp16.kernel;

import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.scalar.HalfScalars;

/**
 * The short way to widen 16-bit values that are known to be finite, which the gradient passes use
 * once a value's exponent field has been looked at: the magnitude bits placed in a float,
 * {@code (h << shift) & mask}, times {@code scale}. For fp16 that is
 * {@link HalfScalars#MAGNITUDE_SCALE} (2 integer operations and a multiplication, which the passes
 * fold into the unscaling one, against 13 for the general widening); for bf16 the placed bits are
 * the value's magnitude and {@code scale} is 1. The sign, where wanted, is the sign-extended value's
 * sign bit: {@code h & 0x8000_0000}.
 *
 * @param exponentMask the format's exponent field: all ones is an infinity or NaN
 */
public record Widening(int shift, int mask, float scale, short exponentMask) {
    /** IEEE binary16. */
    public static final Widening FP16 = new Widening(HalfScalars.DROPPED_BITS, HalfScalars.MAGNITUDE_MASK,
            HalfScalars.MAGNITUDE_SCALE, (short) Half.EXPONENT_MASK);
    /** bfloat16. */
    public static final Widening BF16 = new Widening(16, 0x7FFF_0000, 1f, (short) 0x7F80);

    /** The widening of {@code format} (FP16 or BF16). */
    public static Widening of(Precision format) {
        return switch (format) {
            case FP16 -> FP16;
            case BF16 -> BF16;
            case FP32 -> throw new IllegalArgumentException("format: expected FP16 or BF16, got FP32");
        };
    }

    /** The magnitude of {@code h}, exact when it is finite (an fp16 infinity or NaN gives a finite number). */
    public float magnitude(int h) {
        return Float.intBitsToFloat((h << shift) & mask) * scale;
    }

    /** The magnitude bits of a 16-bit value: all but the sign. */
    public static final short MAGNITUDE_BITS = 0x7FFF;

    /**
     * The smallest magnitude bits ({@code h & 0x7FFF}) that make a gradient non-finite for a step
     * unscaled by {@code invScale}: the first finite magnitude whose product with {@code invScale},
     * rounded to float, is infinite, or the exponent field (the first infinity) if none is. Magnitudes
     * increase with their bits and rounding is monotonic, so every value at or above the threshold is
     * an infinity, a NaN, or a finite value that overflows when unscaled, and every value below it
     * unscales to a finite float: the overflow check stays one integer compare per value.
     * (PyTorch's {@code _amp_foreach_non_finite_check_and_unscale_} tests the values before
     * unscaling; a loss scale below 1 can then overflow a finite gradient unseen, which this test
     * catches.) 15 multiplications, once per call.
     *
     * @param invScale {@code 1/scale}: finite and {@code > 0} (the caller has checked)
     */
    public short overflowThreshold(float invScale) {
        int lo = 0, hi = exponentMask;   // the answer is in [lo, hi]; hi is always non-finite
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Float.isInfinite(magnitude(mid) * invScale)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return (short) lo;
    }

    /**
     * {@code scale * invScale} when that product is exact (it is unless it overflows), so that one
     * multiplication of the placed bits gives {@code magnitude * invScale} with a single rounding, as
     * the two would; otherwise 0, and the caller multiplies twice.
     */
    public float folded(float invScale) {
        float c = scale * invScale;
        return c < Float.POSITIVE_INFINITY ? c : 0f;
    }
}
