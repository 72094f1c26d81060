package dev.adamant.fp16.scalar;

import static dev.adamant.fp16.internal.Binary32.ABS_MASK;
import static dev.adamant.fp16.internal.Binary32.INFINITY_BITS;

import dev.adamant.fp16.internal.Binary32;
import dev.adamant.fp16.internal.BFloat16Bits;

/**
 * fp32 &harr; bfloat16, one value at a time: the scalar twin of
 * {@link dev.adamant.fp16.panama.BFloat16Vectors}, operation for operation. A bfloat16 is the top
 * half of a float, so decoding is a shift and encoding rounds away the low 16 bits.
 *
 * <p>Encoding is PyTorch's (c10 {@code round_to_nearest_even}): {@code (bits + 0x7FFF + lsb) >>> 16}
 * for every non-NaN float, where {@code lsb} is bit 16; the carry takes care of exponent steps,
 * subnormals and overflow (finite values from 0x1.FFp127 up, half an ulp above the largest
 * bfloat16, become infinity). A NaN becomes the quiet NaN {@code sign | 0x7FC0}, whatever its
 * payload.
 */
public final class BFloat16Scalars {
    /** Bits dropped from a float: its low half. */
    public static final int DROPPED_BITS = Binary32.BITS - BFloat16Bits.BITS;
    /** Half an ulp of the kept bits, less one: with the kept lsb added, the round-to-nearest-even bias. */
    public static final int HALF_ULP_MINUS_ONE = (1 << (DROPPED_BITS - 1)) - 1;
    /** The quiet NaN a negative float NaN becomes. */
    public static final int NEGATIVE_NAN = BFloat16Bits.SIGN_MASK | BFloat16Bits.NaN;

    private BFloat16Scalars() {}

    /** {@code f} as a bfloat16, rounded to nearest even. */
    public static short encode(float f) {
        return (short) encodeBits(Float.floatToRawIntBits(f));
    }

    /**
     * The bfloat16 nearest the float whose bits are {@code bits}, ties to even, in the low 16 bits
     * (the upper 16 are unspecified).
     */
    public static int encodeBits(int bits) {
        int top = bits >>> DROPPED_BITS;
        int rounded = (bits + (top & 1) + HALF_ULP_MINUS_ONE) >>> DROPPED_BITS;
        int nan = bits < 0 ? NEGATIVE_NAN : BFloat16Bits.NaN;
        return (bits & ABS_MASK) > INFINITY_BITS ? nan : rounded;
    }

    /** {@code f} as a bfloat16, rounded stochastically with the 32 {@code random} bits. */
    public static short encodeStochastic(float f, int random) {
        return (short) encodeStochasticBits(Float.floatToRawIntBits(f), random);
    }

    /**
     * The float whose bits are {@code bits} rounded to a bfloat16 stochastically, in the low 16 bits:
     * its low 16 bits plus the top 16 bits of {@code random}, carried into the top half. With
     * uniform random bits it rounds up in magnitude with probability exactly equal to the dropped
     * fraction of an ulp (subnormals included), so the expectation is the float itself; exact values
     * never move. Finite values above the largest bfloat16 become infinity with the probability of
     * that carry. A NaN becomes {@code sign | 0x7FC0}.
     */
    public static int encodeStochasticBits(int bits, int random) {
        int rounded = (bits + (random >>> DROPPED_BITS)) >>> DROPPED_BITS;
        int nan = bits < 0 ? NEGATIVE_NAN : BFloat16Bits.NaN;
        return (bits & ABS_MASK) > INFINITY_BITS ? nan : rounded;
    }

    /** The bfloat16 {@code h} as a float (exact). */
    public static float decode(short h) {
        return Float.intBitsToFloat(decodeBits(h));
    }

    /** The bits of the float equal to the bfloat16 in the low 16 bits of {@code h}: a shift; NaNs keep every bit. */
    public static int decodeBits(int h) {
        return h << DROPPED_BITS;
    }
}
