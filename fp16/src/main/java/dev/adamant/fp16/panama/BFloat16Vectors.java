package dev.adamant.fp16.panama;

import static dev.adamant.fp16.internal.Binary32.ABS_MASK;
import static dev.adamant.fp16.internal.Binary32.INFINITY_BITS;
import static dev.adamant.fp16.panama.HalfVectors.HALVES;
import static dev.adamant.fp16.panama.HalfVectors.INTS;
import static dev.adamant.fp16.panama.HalfVectors.ORDER;
import static dev.adamant.fp16.scalar.BFloat16Scalars.DROPPED_BITS;
import static dev.adamant.fp16.scalar.BFloat16Scalars.HALF_ULP_MINUS_ONE;
import static dev.adamant.fp16.scalar.BFloat16Scalars.NEGATIVE_NAN;
import static jdk.incubator.vector.VectorOperators.AND;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.LT;

import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.scalar.BFloat16Scalars;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * fp32 &harr; bfloat16 a vector at a time: the building blocks of the Panama codec, for fused loops
 * to inline. Each {@code ...Bits} function is {@link BFloat16Scalars}' function of the same name,
 * lane-wise and operation for operation; semantics there and in {@link BFloat16}. Species, byte
 * order, the shape of a fused loop and the compile-time limits are as in {@link HalfVectors}:
 * decoding costs 1 vector operation (about 800 parse nodes), encoding 10 (about 3,500), stochastic
 * encoding 8 (about 2,500) plus the random bits.
 */
public final class BFloat16Vectors {
    private static final IntVector ZERO = IntVector.zero(INTS);
    private static final IntVector ONE = IntVector.broadcast(INTS, 1);
    private static final IntVector ABS = IntVector.broadcast(INTS, ABS_MASK);
    private static final IntVector INFINITY = IntVector.broadcast(INTS, INFINITY_BITS);
    private static final IntVector ROUNDING_BIAS = IntVector.broadcast(INTS, HALF_ULP_MINUS_ONE);
    private static final IntVector NAN = IntVector.broadcast(INTS, BFloat16.NaN);
    private static final IntVector NEGATIVE_NAN_V = IntVector.broadcast(INTS, NEGATIVE_NAN);

    private BFloat16Vectors() {}

    /** Loads {@code HalfVectors.FLOATS.length()} bfloat16s at {@code byteOffset} and widens them to floats. */
    public static FloatVector load(MemorySegment halves, long byteOffset) {
        return decode(ShortVector.fromMemorySegment(HALVES, halves, byteOffset, ORDER));
    }

    /** Narrows {@code floats} to bfloat16, nearest even, and stores them at {@code byteOffset}. */
    public static void store(FloatVector floats, MemorySegment halves, long byteOffset) {
        encode(floats).intoMemorySegment(halves, byteOffset, ORDER);
    }

    /** Narrows {@code floats} stochastically with {@code random} (one int per lane) and stores them. */
    public static void storeStochastic(FloatVector floats, IntVector random, MemorySegment halves, long byteOffset) {
        encodeStochastic(floats, random).intoMemorySegment(halves, byteOffset, ORDER);
    }

    /** The bfloat16s as floats (exact). */
    public static FloatVector decode(ShortVector halves) {
        return decodeBits((IntVector) halves.convertShape(VectorOperators.S2I, INTS, 0));
    }

    /** The floats as bfloat16s, nearest even. */
    public static ShortVector encode(FloatVector floats) {
        return (ShortVector) encodeBits(floats.reinterpretAsInts()).convertShape(VectorOperators.I2S, HALVES, 0);
    }

    /** The floats as bfloat16s, rounded stochastically with {@code random} (32 bits per lane). */
    public static ShortVector encodeStochastic(FloatVector floats, IntVector random) {
        return (ShortVector) encodeStochasticBits(floats.reinterpretAsInts(), random)
                .convertShape(VectorOperators.I2S, HALVES, 0);
    }

    /** {@link BFloat16Scalars#decodeBits} lane-wise: a shift. */
    public static FloatVector decodeBits(IntVector h) {
        return h.lanewise(LSHL, DROPPED_BITS).reinterpretAsFloats();
    }

    /** {@link BFloat16Scalars#encodeBits} lane-wise. */
    public static IntVector encodeBits(IntVector bits) {
        IntVector top = bits.lanewise(LSHR, DROPPED_BITS);
        IntVector rounded = bits.add(top.lanewise(AND, ONE)).add(ROUNDING_BIAS).lanewise(LSHR, DROPPED_BITS);
        IntVector nan = NAN.blend(NEGATIVE_NAN_V, bits.compare(LT, ZERO));
        return rounded.blend(nan, bits.lanewise(AND, ABS).compare(GT, INFINITY));
    }

    /** {@link BFloat16Scalars#encodeStochasticBits} lane-wise. */
    public static IntVector encodeStochasticBits(IntVector bits, IntVector random) {
        IntVector rounded = bits.add(random.lanewise(LSHR, DROPPED_BITS)).lanewise(LSHR, DROPPED_BITS);
        IntVector nan = NAN.blend(NEGATIVE_NAN_V, bits.compare(LT, ZERO));
        return rounded.blend(nan, bits.lanewise(AND, ABS).compare(GT, INFINITY));
    }
}
