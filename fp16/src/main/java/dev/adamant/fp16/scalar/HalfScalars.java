package dev.adamant.fp16.scalar;

import static dev.adamant.fp16.internal.Binary32.ABS_MASK;
import static dev.adamant.fp16.internal.Binary32.EXPONENT_BIAS;
import static dev.adamant.fp16.internal.Binary32.INFINITY_BITS;
import static dev.adamant.fp16.internal.Binary32.QUIET_BIT;
import static dev.adamant.fp16.internal.Binary32.SIGNIFICAND_WIDTH;

import dev.adamant.fp16.internal.Binary32;
import dev.adamant.fp16.internal.Binary16;

/**
 * fp32 &harr; IEEE binary16, one value at a time: the scalar twin of
 * {@link dev.adamant.fp16.panama.HalfVectors}, operation for operation, so that the two agree bit
 * for bit. It is the scalar codec's loop body, the vector codec's tail, and what fused scalar loops
 * (and the tails of fused vector loops) inline: decode to fp32, compute in fp32, encode back.
 *
 * <p>Each function computes every case (normal, subnormal, overflow, NaN) and then selects, as the
 * vector code blends lanes. Layouts are drawn in {@link dev.adamant.fp16.Half} and {@link Binary32}, special cases
 * listed in {@link dev.adamant.fp16.Half}. In short: round to nearest even (or stochastically); magnitudes up to
 * 2^-25 become a zero of the argument's sign; from 65520 up, infinity; a NaN keeps its sign and the
 * top 10 bits of its significand and comes out quiet, both ways, which is what
 * {@link Float#floatToFloat16} and {@link Float#float16ToFloat} return on JDKs that intrinsify them
 * (x86 with F16C, AArch64), in every execution mode.
 *
 * <p>Encoders return the half in the low 16 bits of an int and leave the upper 16 bits unspecified
 * (a {@code (short)} cast, or the vector code's narrowing, drops them). Decoders take the half
 * sign-extended, as a {@code short} widens to an int.
 */
public final class HalfScalars {
    /** Bits dropped from a float significand to get a half significand: 23 - 10. */
    public static final int DROPPED_BITS = SIGNIFICAND_WIDTH - Binary16.SIGNIFICAND_WIDTH;
    /** A half's sign bit, where {@link #encodeBits} puts it. */
    public static final int HALF_SIGN = Binary16.SIGN_MASK;
    /** Float bits minus this are half bits shifted left by {@link #DROPPED_BITS}: exponent bias 127 to 15. */
    public static final int REBIAS = (EXPONENT_BIAS - Binary16.EXPONENT_BIAS) << SIGNIFICAND_WIDTH;
    /** Half an ulp of the kept bits, less one: with the kept lsb added, the round-to-nearest-even bias. */
    public static final int HALF_ULP_MINUS_ONE = (1 << (DROPPED_BITS - 1)) - 1;
    /** Rebias and round in one addition (int arithmetic wraps, so the order is free). */
    public static final int NORMAL_ROUNDING_BIAS = HALF_ULP_MINUS_ONE - REBIAS;
    /** Float bits of 2^-14, the smallest normal half: magnitudes below give subnormal halves (or zeros). */
    public static final int MIN_NORMAL_FLOAT_BITS = (EXPONENT_BIAS - Binary16.EXPONENT_BIAS + 1) << SIGNIFICAND_WIDTH;
    /** 2^-14 as a float: the float whose bits are {@link #MIN_NORMAL_FLOAT_BITS}. */
    public static final float MIN_NORMAL_FLOAT = 0x1p-14f;
    /**
     * Float bits of 2^16: from here up the half is infinity whatever the rounding. (65520, half an
     * ulp above the largest half, rounds up to infinity by the carry of the normal path.)
     */
    public static final int OVERFLOW_FLOAT_BITS = (EXPONENT_BIAS + Binary16.EXPONENT_BIAS + 1) << SIGNIFICAND_WIDTH;
    /**
     * 0.5f, whose ulp is 2^-24, the spacing of subnormal halves: for {@code |f| < 2^-14},
     * {@code |f| + 0.5f} rounds {@code |f|} to a multiple of 2^-24 with the FPU's round to nearest
     * even, and its low 16 bits are then the subnormal half (0x400, the smallest normal, on carry).
     */
    public static final float SUBNORMAL_MAGIC = 0.5f;
    /** Shifts a float residual in [-2^-25, 2^-25] to a signed fraction of a subnormal ulp, in units of 2^-30. */
    public static final float RESIDUAL_SCALE = 0x1p54f;
    /** Fraction bits of a subnormal ulp that stochastic rounding resolves. */
    public static final int RESIDUAL_BITS = 30;
    /** Random bits drawn for a normal result: exactly the dropped bits. */
    public static final int NORMAL_RANDOM_SHIFT = Binary32.BITS - DROPPED_BITS;
    /** Random bits drawn for a subnormal result: {@link #RESIDUAL_BITS}. */
    public static final int SUBNORMAL_RANDOM_SHIFT = Binary32.BITS - RESIDUAL_BITS;
    /** A half's magnitude, shifted to a float's exponent and significand: {@code (h & 0x7FFF) << 13} (2 shifts). */
    public static final int HALF_ABS_LEFT = Binary32.BITS - Binary16.BITS + 1;
    /** See {@link #HALF_ABS_LEFT}. */
    public static final int HALF_ABS_RIGHT = HALF_ABS_LEFT - DROPPED_BITS;
    /** {@code (h & 0x7FFF) << 13} below this is a subnormal half or zero. */
    public static final int SHIFTED_MIN_NORMAL = Binary16.MIN_NORMAL << DROPPED_BITS;
    /** {@code (h & 0x7FFF) << 13} from this up is infinity (equal) or NaN (above). */
    public static final int SHIFTED_INFINITY = Binary16.EXPONENT_MASK << DROPPED_BITS;
    /** Added to a shifted half infinity or NaN: makes the float exponent all ones. */
    public static final int SPECIAL_REBIAS = INFINITY_BITS - SHIFTED_INFINITY;
    /** The half NaN with the float NaN's top 10 significand bits: exponent all ones, quiet bit set. */
    public static final int HALF_QUIET_NAN = Binary16.EXPONENT_MASK | Binary16.QUIET_BIT;
    /**
     * A half's 15 magnitude bits in place in a float: {@code (h << 13) & MAGNITUDE_MASK}, read as a
     * float, is the half's magnitude times 2^-112 (its exponent field is the half's, under the float
     * bias; a subnormal half lands on the float subnormal of the same significand).
     */
    public static final int MAGNITUDE_MASK = 0x7FFF << DROPPED_BITS;
    /**
     * 2^(127 - 15): times the bits placed by {@link #MAGNITUDE_MASK}, the magnitude of a finite half,
     * exactly (the multiplication also normalizes a subnormal half); an infinity or NaN gives a
     * finite number. Two integer operations and a multiplication, against {@link #decodeBits}' 13.
     */
    public static final float MAGNITUDE_SCALE = 0x1p112f;

    private HalfScalars() {}

    /** {@code f} as a half, rounded to nearest even. */
    public static short encode(float f) {
        return (short) encodeBits(Float.floatToRawIntBits(f));
    }

    /**
     * The half nearest the float whose bits are {@code bits}, ties to even, in the low 16 bits of the
     * result (the upper 16 are unspecified).
     */
    public static int encodeBits(int bits) {
        int abs = bits & ABS_MASK;
        int top = abs >>> DROPPED_BITS;
        // Clamped at 2^16, the normal path gives infinity (the clamp's lsb is 0; an odd lsb from the
        // unclamped top cannot carry into the kept bits).
        int normal = (Math.min(abs, OVERFLOW_FLOAT_BITS) + (top & 1) + NORMAL_ROUNDING_BIAS) >>> DROPPED_BITS;
        int subnormal = Float.floatToRawIntBits(Float.intBitsToFloat(abs) + SUBNORMAL_MAGIC);
        int h = abs < MIN_NORMAL_FLOAT_BITS ? subnormal : normal;
        int nan = (top & Binary16.SIGNIFICAND_MASK) | HALF_QUIET_NAN;
        h = abs > INFINITY_BITS ? nan : h;
        return bits < 0 ? h | HALF_SIGN : h;
    }

    /** {@code f} as a half, rounded stochastically with the 32 {@code random} bits. */
    public static short encodeStochastic(float f, int random) {
        return (short) encodeStochasticBits(Float.floatToRawIntBits(f), random);
    }

    /**
     * The float whose bits are {@code bits} rounded to a half stochastically, in the low 16 bits: one
     * of the two halves around it, the one farther from zero with probability equal to the fraction
     * of an ulp by which it exceeds the nearer one to zero, so the result's expectation is the float.
     * Exact values never move.
     *
     * <ul>
     *   <li>Normal results: the 13 dropped bits plus the top 13 bits of {@code random}, carried into
     *       the kept bits: the probability is exact.
     *   <li>Subnormal results (|f| &lt; 2^-14): the nearest-even half k, and the residual
     *       {@code |f| - k * 2^-24} (exact in float) as a signed fraction d of an ulp in units of
     *       2^-30 (truncated toward zero); {@code k + ((d + (random >>> 2)) >> 30)} is k+1, k or
     *       k-1. The probability is exact to 2^-30 of an ulp (2^-54).
     *   <li>Finite values from 65504 up: infinity with the probability that their excess over 65504
     *       is of 32, always from 65536 on; infinity and NaN as {@link #encodeBits}.
     * </ul>
     */
    public static int encodeStochasticBits(int bits, int random) {
        int abs = bits & ABS_MASK;
        // Clamped at 2^16, the normal path gives infinity whatever the noise (13 bits, all below the kept ones).
        int normal = ((Math.min(abs, OVERFLOW_FLOAT_BITS) - REBIAS) + (random >>> NORMAL_RANDOM_SHIFT)) >>> DROPPED_BITS;
        float magnitude = Float.intBitsToFloat(abs);
        float nearest = magnitude + SUBNORMAL_MAGIC;
        float residual = magnitude - (nearest - SUBNORMAL_MAGIC);
        int fraction = (int) (residual * RESIDUAL_SCALE);
        int step = (fraction + (random >>> SUBNORMAL_RANDOM_SHIFT)) >> RESIDUAL_BITS;
        int subnormal = Float.floatToRawIntBits(nearest) + step;
        int h = abs < MIN_NORMAL_FLOAT_BITS ? subnormal : normal;
        int nan = ((abs >>> DROPPED_BITS) & Binary16.SIGNIFICAND_MASK) | HALF_QUIET_NAN;
        h = abs > INFINITY_BITS ? nan : h;
        return bits < 0 ? h | HALF_SIGN : h;
    }

    /** The half {@code h} as a float (exact). */
    public static float decode(short h) {
        return Float.intBitsToFloat(decodeBits(h));
    }

    /**
     * The bits of the float equal to the half {@code h}, given sign-extended (a {@code short} widened
     * to an int). Exact; a NaN keeps its sign and significand and comes out quiet.
     */
    public static int decodeBits(int h) {
        int shifted = (h << HALF_ABS_LEFT) >>> HALF_ABS_RIGHT;
        int rebias = shifted < SHIFTED_MIN_NORMAL ? MIN_NORMAL_FLOAT_BITS : REBIAS;
        rebias = shifted >= SHIFTED_INFINITY ? SPECIAL_REBIAS : rebias;
        int f = shifted + rebias;
        f = shifted > SHIFTED_INFINITY ? f | QUIET_BIT : f;
        // A subnormal half m became 2^-14 + m * 2^-24; less 2^-14 is exact, and no operand is subnormal.
        int subnormal = Float.floatToRawIntBits(Float.intBitsToFloat(f) - MIN_NORMAL_FLOAT);
        f = shifted < SHIFTED_MIN_NORMAL ? subnormal : f;
        return f | (h & Binary32.SIGN_MASK);
    }
}
