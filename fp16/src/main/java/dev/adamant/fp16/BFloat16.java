package dev.adamant.fp16;

import dev.adamant.fp16.internal.BFloat16Bits;
import dev.adamant.fp16.internal.Codecs;
import dev.adamant.fp16.scalar.BFloat16Scalars;
import dev.adamant.fp16.scalar.CounterRandom;
import java.lang.foreign.MemorySegment;

/**
 * bfloat16 ("brain float", PyTorch's {@code bfloat16}), held in a {@code short}: the top half of
 * an IEEE binary32, with its range and 8 bits of precision.
 *
 * <pre>
 *   bit  15  14          7  6           0
 *       +---+-------------+-------------+
 *       | s |  exponent   | significand |
 *       +---+-------------+-------------+
 *         1   8 bits,       7 bits (+1 implicit
 *             bias 127       for exponents 1..254)
 *
 *   exponent 0       zero (significand 0) or subnormal: significand * 2^-133
 *   exponent 1..254  normal: (128 + significand) * 2^(exponent - 134)
 *   exponent 255     infinity (significand 0) or NaN (bit 6 set: quiet)
 * </pre>
 *
 * <h2>Conversions</h2>
 * Decoding ({@link #toFloat}, {@link #decode}) is exact: the 16 bits become a float's top half,
 * NaN payloads included. Encoding ({@link #fromFloat}, {@link #encode}) rounds to nearest, ties to
 * even, bit for bit as PyTorch's c10 {@code round_to_nearest_even}:
 * {@code (bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16} for every non-NaN float; or stochastically
 * ({@link Rounding}). Special cases:
 * <ul>
 *   <li>zeros and infinities keep their sign; float subnormals round to bfloat16 subnormals or zero;
 *   <li>finite magnitudes from 0x1.FFp127 (half an ulp above the largest bfloat16, 0x1.FEp127) up
 *       become an infinity of the same sign, by the carry into the exponent;
 *   <li>a NaN becomes the quiet NaN {@code sign | 0x7FC0}, whatever its payload (PyTorch writes
 *       {@code 0x7FC0} whatever the sign).
 * </ul>
 * Stochastic rounding adds the top 16 of 32 random bits to the float's low 16 bits and keeps the
 * carry: it rounds up in magnitude with probability exactly equal to the dropped fraction of an ulp,
 * subnormals included; exact values never move; finite values above the largest bfloat16 become
 * infinity with the probability of that carry; a NaN becomes {@code sign | 0x7FC0}.
 *
 * <h2>Bulk conversions</h2>
 * As for {@link Half}: {@link #encode} and {@link #decode} convert between a float buffer and a
 * buffer of 16-bit values in the platform's byte order, native or heap, slices included; Vector API
 * or scalar twin with identical results; one pass, 6 bytes per element; bad input refused, naming
 * the argument, before anything is written (the list is in {@link Half}).
 */
public final class BFloat16 {
    /** Bits in a bfloat16. */
    public static final int BITS = BFloat16Bits.BITS;
    /** The sign bit. */
    public static final int SIGN_MASK = BFloat16Bits.SIGN_MASK;
    /** The 8 exponent bits. */
    public static final int EXPONENT_MASK = BFloat16Bits.EXPONENT_MASK;
    /** The 7 explicit significand bits. */
    public static final int SIGNIFICAND_MASK = BFloat16Bits.SIGNIFICAND_MASK;
    /** Explicit significand bits: the exponent field starts at this bit. */
    public static final int SIGNIFICAND_WIDTH = BFloat16Bits.SIGNIFICAND_WIDTH;
    /** The exponent bias. */
    public static final int EXPONENT_BIAS = BFloat16Bits.EXPONENT_BIAS;
    /** The top significand bit: set in a quiet NaN. */
    public static final int QUIET_BIT = BFloat16Bits.QUIET_BIT;

    /** +0. */
    public static final short POSITIVE_ZERO = 0x0000;
    /** -0. */
    public static final short NEGATIVE_ZERO = (short) 0x8000;
    /** +infinity. */
    public static final short POSITIVE_INFINITY = 0x7F80;
    /** -infinity. */
    public static final short NEGATIVE_INFINITY = (short) 0xFF80;
    /** The quiet NaN every positive float NaN becomes (negative ones get the sign bit too). */
    public static final short NaN = BFloat16Bits.NaN;
    /** The largest finite bfloat16, 0x1.FEp127. */
    public static final short MAX_VALUE = 0x7F7F;
    /** The smallest positive normal bfloat16, 2^-126. */
    public static final short MIN_NORMAL = 0x0080;
    /** The smallest positive bfloat16, a subnormal, 2^-133. */
    public static final short MIN_VALUE = 0x0001;

    private BFloat16() {}

    /** {@code f} as a bfloat16, rounded to nearest even (PyTorch's rounding). */
    public static short fromFloat(float f) {
        return BFloat16Scalars.encode(f);
    }

    /**
     * {@code f} as a bfloat16, rounded stochastically: exactly what a bulk {@link #encode(MemorySegment,
     * long, MemorySegment, long, long, Rounding, long) encode} with {@code Rounding.stochastic(seed)}
     * writes for an element whose counter is {@code counter}.
     */
    public static short fromFloat(float f, long seed, long counter) {
        return BFloat16Scalars.encodeStochastic(f, CounterRandom.bits(CounterRandom.key(seed), counter));
    }

    /** The bfloat16 {@code h} as a float (exact). */
    public static float toFloat(short h) {
        return BFloat16Scalars.decode(h);
    }

    /**
     * Encodes floats {@code [floatIndex, floatIndex + count)} of {@code floats} into 16-bit values
     * {@code [halfIndex, halfIndex + count)} of {@code halves}, rounding to nearest even. Throws as
     * {@link Half#encode(MemorySegment, long, MemorySegment, long, long)}.
     */
    public static void encode(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                              long count) {
        encode(floats, floatIndex, halves, halfIndex, count, Rounding.nearestEven(), 0);
    }

    /**
     * As {@link #encode(MemorySegment, long, MemorySegment, long, long)}, with the given rounding;
     * stochastic rounding draws element {@code i}'s bits from counter {@code counterBase + i}.
     */
    public static void encode(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                              long count, Rounding rounding, long counterBase) {
        Bulk.encode(Codecs.provider().bfloat16(), floats, floatIndex, halves, halfIndex, count, rounding, counterBase);
    }

    /** Encodes all of {@code floats} (n floats) into all of {@code halves} (n 16-bit values), nearest even. */
    public static void encode(MemorySegment floats, MemorySegment halves) {
        encode(floats, halves, Rounding.nearestEven(), 0);
    }

    /** As {@link #encode(MemorySegment, MemorySegment)}, with the given rounding; element i uses counter {@code counterBase + i}. */
    public static void encode(MemorySegment floats, MemorySegment halves, Rounding rounding, long counterBase) {
        Bulk.encodeAll(Codecs.provider().bfloat16(), floats, halves, rounding, counterBase);
    }

    /**
     * Decodes 16-bit values {@code [halfIndex, halfIndex + count)} of {@code halves} into floats
     * {@code [floatIndex, floatIndex + count)} of {@code floats} (exact). Throws as
     * {@link Half#decode(MemorySegment, long, MemorySegment, long, long)}.
     */
    public static void decode(MemorySegment halves, long halfIndex, MemorySegment floats, long floatIndex,
                              long count) {
        Bulk.decode(Codecs.provider().bfloat16(), halves, halfIndex, floats, floatIndex, count);
    }

    /** Decodes all of {@code halves} (n 16-bit values) into all of {@code floats} (n floats). */
    public static void decode(MemorySegment halves, MemorySegment floats) {
        Bulk.decodeAll(Codecs.provider().bfloat16(), halves, floats);
    }
}
