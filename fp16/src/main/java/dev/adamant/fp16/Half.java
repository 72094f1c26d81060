package dev.adamant.fp16;

import dev.adamant.fp16.internal.Binary16;
import dev.adamant.fp16.internal.Codecs;
import dev.adamant.fp16.scalar.CounterRandom;
import dev.adamant.fp16.scalar.HalfScalars;
import java.lang.foreign.MemorySegment;

/**
 * IEEE 754 binary16 ("half", PyTorch's {@code float16}), held in a {@code short}:
 *
 * <pre>
 *   bit  15  14       10  9                   0
 *       +---+-----------+---------------------+
 *       | s | exponent  |     significand     |
 *       +---+-----------+---------------------+
 *         1   5 bits,       10 bits (+1 implicit
 *             bias 15        for exponents 1..30)
 *
 *   exponent 0      zero (significand 0) or subnormal: significand * 2^-24
 *   exponent 1..30  normal: (1024 + significand) * 2^(exponent - 25)
 *   exponent 31     infinity (significand 0) or NaN (bit 9 set: quiet)
 * </pre>
 *
 * The largest finite half is 65504 ({@link #MAX_VALUE}), the smallest normal 2^-14
 * ({@link #MIN_NORMAL}), the smallest subnormal 2^-24 ({@link #MIN_VALUE}).
 *
 * <h2>Conversions</h2>
 * Decoding ({@link #toFloat}, {@link #decode}) is exact. Encoding ({@link #fromFloat},
 * {@link #encode}) rounds to nearest, ties to even, or stochastically ({@link Rounding}).
 * Special cases, rounding to nearest even:
 * <ul>
 *   <li>a zero gives a zero of the same sign; so does a magnitude of at most 2^-25 (half the smallest
 *       subnormal: the tie goes to the even zero);
 *   <li>magnitudes below 2^-14 give subnormal halves, rounded at 2^-24;
 *   <li>magnitudes of 65520 (half an ulp above {@link #MAX_VALUE}) and up, and infinities, give an
 *       infinity of the same sign; below 65520 they round to at most 65504;
 *   <li>a NaN gives a quiet NaN of the same sign whose significand is the float's top 10
 *       significand bits with the quiet bit set: {@code sign | 0x7E00 | (bits >>> 13 & 0x3FF)};
 *       decoding a NaN keeps its sign and significand and sets the quiet bit:
 *       {@code sign | 0x7FC00000 | significand << 13}.
 * </ul>
 * Stochastic rounding ({@link Rounding#stochastic}) gives one of the two halves around the float,
 * the one farther from zero with probability equal to the fraction of an ulp by which the float
 * exceeds the one nearer zero: exactly, with 13 random bits, for normal results; to 2^-30 of an ulp
 * for subnormal results (below 2^-14), which step from the nearest half by a 30-bit comparison.
 * Exact values never move; finite values above 65504 become infinity with the probability that
 * their excess is of 32 (always from 65536 on); NaN and infinity are converted as above.
 *
 * <p>Every result is bit for bit what {@link Float#floatToFloat16} and {@link Float#float16ToFloat}
 * return on JDK 25 with their intrinsics, which x86 (F16C) and AArch64 use in the interpreter and in
 * both compilers alike: all 2^32 floats and all 65,536 halves, NaN payloads included. (The Java code
 * behind those methods, run only where the intrinsics are off or absent, differs for NaN payloads
 * alone: it does not quiet signalling NaNs and folds the low payload bits in. Both give a NaN.)
 *
 * <h2>Bulk conversions</h2>
 * {@link #encode} and {@link #decode} convert {@code count} values between a float buffer and a
 * buffer of 16-bit values, both in the platform's byte order, native or heap segments (for
 * example {@code MemorySegment.ofArray(new float[n])} and {@code ofArray(new short[n])}), slices
 * included. They run on the Vector API where it is enabled ({@code --add-modules
 * jdk.incubator.vector}; {@code -Dadamant.kernels} chooses, as for the optimizers), on the scalar
 * twin otherwise, with identical results. One pass over memory, 6 bytes per element; rounding to
 * nearest even, as fast as copying the floats on the machines we measured, stochastic rounding of
 * fp16 about 3 times slower (it is bound by arithmetic). Native segments are the fast path: a
 * program that mixes heap and native segments pays for heap ones (the JDK compiles their accesses
 * less well once it has seen several kinds), not for native ones.
 *
 * <p>Bad input is refused before anything is written, with an exception naming the argument: null
 * segments or rounding ({@link NullPointerException}), closed segments, float buffers not 4-byte
 * aligned, 16-bit buffers not 2-byte aligned, a read-only destination, a negative count, ranges out
 * of bounds, overlapping source and destination, whole-segment calls whose sizes disagree
 * ({@link IllegalArgumentException}), segments confined to another thread
 * ({@link WrongThreadException}).
 */
public final class Half {
    /** Bits in a half. */
    public static final int BITS = Binary16.BITS;
    /** The sign bit. */
    public static final int SIGN_MASK = Binary16.SIGN_MASK;
    /** The 5 exponent bits. */
    public static final int EXPONENT_MASK = Binary16.EXPONENT_MASK;
    /** The 10 explicit significand bits. */
    public static final int SIGNIFICAND_MASK = Binary16.SIGNIFICAND_MASK;
    /** Explicit significand bits: the exponent field starts at this bit. */
    public static final int SIGNIFICAND_WIDTH = Binary16.SIGNIFICAND_WIDTH;
    /** The exponent bias. */
    public static final int EXPONENT_BIAS = Binary16.EXPONENT_BIAS;
    /** The top significand bit: set in a quiet NaN. */
    public static final int QUIET_BIT = Binary16.QUIET_BIT;

    /** +0. */
    public static final short POSITIVE_ZERO = 0x0000;
    /** -0. */
    public static final short NEGATIVE_ZERO = (short) 0x8000;
    /** +infinity. */
    public static final short POSITIVE_INFINITY = 0x7C00;
    /** -infinity. */
    public static final short NEGATIVE_INFINITY = (short) 0xFC00;
    /** The canonical quiet NaN: what any float NaN with a zero payload becomes. */
    public static final short NaN = 0x7E00;
    /** The largest finite half, 65504. */
    public static final short MAX_VALUE = 0x7BFF;
    /** The smallest positive normal half, 2^-14. */
    public static final short MIN_NORMAL = Binary16.MIN_NORMAL;
    /** The smallest positive half, a subnormal, 2^-24. */
    public static final short MIN_VALUE = 0x0001;

    private Half() {}

    /** {@code f} as a half, rounded to nearest even. See the special cases above. */
    public static short fromFloat(float f) {
        return HalfScalars.encode(f);
    }

    /**
     * {@code f} as a half, rounded stochastically: exactly what a bulk {@link #encode(MemorySegment,
     * long, MemorySegment, long, long, Rounding, long) encode} with {@code Rounding.stochastic(seed)}
     * writes for an element whose counter ({@code counterBase + i}) is {@code counter}.
     */
    public static short fromFloat(float f, long seed, long counter) {
        return HalfScalars.encodeStochastic(f, CounterRandom.bits(CounterRandom.key(seed), counter));
    }

    /** The half {@code h} as a float (exact). */
    public static float toFloat(short h) {
        return HalfScalars.decode(h);
    }

    /**
     * Encodes floats {@code [floatIndex, floatIndex + count)} of {@code floats} into 16-bit values
     * {@code [halfIndex, halfIndex + count)} of {@code halves}, rounding to nearest even.
     *
     * @throws NullPointerException if a segment is null
     * @throws IllegalArgumentException if a segment is closed or misaligned, {@code halves} is
     *     read-only, {@code count < 0}, a range is out of bounds, or the ranges overlap
     * @throws WrongThreadException if a segment is confined to another thread
     */
    public static void encode(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                              long count) {
        encode(floats, floatIndex, halves, halfIndex, count, Rounding.nearestEven(), 0);
    }

    /**
     * As {@link #encode(MemorySegment, long, MemorySegment, long, long)}, with the given rounding.
     * Stochastic rounding draws the random bits of element {@code i} (the value at
     * {@code floatIndex + i}) from counter {@code counterBase + i}; nearest even ignores
     * {@code counterBase}.
     *
     * @throws NullPointerException if a segment or {@code rounding} is null
     */
    public static void encode(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                              long count, Rounding rounding, long counterBase) {
        Bulk.encode(Codecs.provider().half(), floats, floatIndex, halves, halfIndex, count, rounding, counterBase);
    }

    /**
     * Encodes all of {@code floats} into all of {@code halves}, rounding to nearest even: n floats
     * ({@code 4n} bytes) into n 16-bit values ({@code 2n} bytes).
     *
     * @throws IllegalArgumentException if the sizes disagree (a float buffer as large as
     *     {@code halves} is reported as a probable 16-bit buffer), or as the ranged overload
     */
    public static void encode(MemorySegment floats, MemorySegment halves) {
        encode(floats, halves, Rounding.nearestEven(), 0);
    }

    /** As {@link #encode(MemorySegment, MemorySegment)}, with the given rounding; element i uses counter {@code counterBase + i}. */
    public static void encode(MemorySegment floats, MemorySegment halves, Rounding rounding, long counterBase) {
        Bulk.encodeAll(Codecs.provider().half(), floats, halves, rounding, counterBase);
    }

    /**
     * Decodes 16-bit values {@code [halfIndex, halfIndex + count)} of {@code halves} into floats
     * {@code [floatIndex, floatIndex + count)} of {@code floats} (exact).
     *
     * @throws NullPointerException if a segment is null
     * @throws IllegalArgumentException if a segment is closed or misaligned, {@code floats} is
     *     read-only, {@code count < 0}, a range is out of bounds, or the ranges overlap
     * @throws WrongThreadException if a segment is confined to another thread
     */
    public static void decode(MemorySegment halves, long halfIndex, MemorySegment floats, long floatIndex,
                              long count) {
        Bulk.decode(Codecs.provider().half(), halves, halfIndex, floats, floatIndex, count);
    }

    /**
     * Decodes all of {@code halves} into all of {@code floats}: n 16-bit values into n floats.
     *
     * @throws IllegalArgumentException if the sizes disagree (a float buffer as large as
     *     {@code halves} is reported as a probable 16-bit buffer), or as the ranged overload
     */
    public static void decode(MemorySegment halves, MemorySegment floats) {
        Bulk.decodeAll(Codecs.provider().half(), halves, floats);
    }
}
