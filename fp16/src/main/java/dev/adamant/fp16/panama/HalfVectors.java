package dev.adamant.fp16.panama;

import static dev.adamant.fp16.internal.Binary32.ABS_MASK;
import static dev.adamant.fp16.internal.Binary32.INFINITY_BITS;
import static dev.adamant.fp16.internal.Binary32.QUIET_BIT;
import static dev.adamant.fp16.scalar.HalfScalars.DROPPED_BITS;
import static dev.adamant.fp16.scalar.HalfScalars.HALF_ABS_LEFT;
import static dev.adamant.fp16.scalar.HalfScalars.HALF_ABS_RIGHT;
import static dev.adamant.fp16.scalar.HalfScalars.HALF_QUIET_NAN;
import static dev.adamant.fp16.scalar.HalfScalars.HALF_SIGN;
import static dev.adamant.fp16.scalar.HalfScalars.MIN_NORMAL_FLOAT;
import static dev.adamant.fp16.scalar.HalfScalars.MIN_NORMAL_FLOAT_BITS;
import static dev.adamant.fp16.scalar.HalfScalars.NORMAL_RANDOM_SHIFT;
import static dev.adamant.fp16.scalar.HalfScalars.NORMAL_ROUNDING_BIAS;
import static dev.adamant.fp16.scalar.HalfScalars.OVERFLOW_FLOAT_BITS;
import static dev.adamant.fp16.scalar.HalfScalars.REBIAS;
import static dev.adamant.fp16.scalar.HalfScalars.RESIDUAL_BITS;
import static dev.adamant.fp16.scalar.HalfScalars.RESIDUAL_SCALE;
import static dev.adamant.fp16.scalar.HalfScalars.SHIFTED_INFINITY;
import static dev.adamant.fp16.scalar.HalfScalars.SHIFTED_MIN_NORMAL;
import static dev.adamant.fp16.scalar.HalfScalars.SPECIAL_REBIAS;
import static dev.adamant.fp16.scalar.HalfScalars.SUBNORMAL_MAGIC;
import static dev.adamant.fp16.scalar.HalfScalars.SUBNORMAL_RANDOM_SHIFT;
import static jdk.incubator.vector.VectorOperators.AND;
import static jdk.incubator.vector.VectorOperators.ASHR;
import static jdk.incubator.vector.VectorOperators.F2I;
import static jdk.incubator.vector.VectorOperators.GE;
import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.LT;
import static jdk.incubator.vector.VectorOperators.OR;

import dev.adamant.core.panama.Species;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.internal.Binary32;
import dev.adamant.fp16.scalar.HalfScalars;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * fp32 &harr; IEEE binary16 a vector at a time: the building blocks of the Panama codec, for fused
 * loops (the mixed-precision optimizer) to inline. Each {@code ...Bits} function is
 * {@link HalfScalars}' function of the same name, lane-wise and operation for operation, so a fused
 * loop's vector body and its scalar tail agree bit for bit; the semantics (rounding, subnormals,
 * overflow, NaN) are described there and in {@link Half}.
 *
 * <p>Shapes: a vector of {@link #FLOATS} (16 lanes with AVX-512, 8 with AVX2, 4 at 128 bits) pairs
 * with a {@link #HALVES} vector of as many lanes and half the bits; the bit work is done in
 * {@link #INTS}. All three are core's {@link Species}. Other species are not supported. A fused loop reads
 * <pre>{@code
 *   FloatVector w = HalfVectors.load(weights16, 2 * i);      // widen
 *   ... compute in fp32 ...
 *   HalfVectors.store(w, weights16, 2 * i);                  // narrow, nearest even
 *   // or HalfVectors.storeStochastic(w, CounterRandomVectors.bits(key, counterBase + i), weights16, 2 * i)
 * }</pre>
 * with the tail done by {@link HalfScalars}.
 *
 * <h2>What it costs, and how to keep it cheap</h2>
 * At run time a few integer operations per lane and no memory access beyond the load or store
 * named: decoding is 13 vector operations, encoding 16, stochastic encoding 24 plus 13 for
 * {@link CounterRandomVectors#bits}. With AVX-512 on Zen 4, in L1: about 0.13, 0.17 and 0.5 ns per
 * value. At compile time more than one would think, and two limits of C2 matter:
 * <ul>
 *   <li><b>Node budget.</b> C2 parses each Vector API call into about 400 nodes before it
 *       intrinsifies it (a scalar operand costs 70% more; constants here are static final vectors),
 *       so decoding costs about 5,000 parse nodes, encoding 6,500, stochastic encoding 10,000 plus
 *       5,000 for the bits. Once a compilation passes 18,000 nodes ({@code NodeCountInliningCutoff},
 *       fixed in product VMs) C2 stops inlining ordinary methods like these, and a vector passed to
 *       a method that was not inlined is boxed on the heap: some 20 times slower. So every function
 *       here is a leaf (it calls none of ours after its first Vector API operation; the JDK's own
 *       vector methods are force-inlined past the cutoff), and a fused loop must call these while
 *       its graph is still small. A loop that decodes two buffers, runs Adam and encodes (some
 *       25,000 nodes) is past the cutoff by the time it encodes: stage it instead through an
 *       L1-resident fp32 block (the internal bulk codec on about 1,024 values, the fp32 kernel,
 *       the codec back), which keeps each loop small and costs no extra pass over main memory.
 *       Nearer the cutoff the outcome varies from JVM to JVM: a loop that widened, ran Adam and
 *       then called {@link #store} (about 35 calls) had the encoding's compare and blend left
 *       uninlined in some JVMs and not others, and took 21 ms at 2^24 instead of 12; so
 *       {@code PanamaFusedAdam} writes its Adam loop without these and the codec narrows its output
 *       a tile later, from L1.
 *   <li><b>Code already compiled.</b> A building block that runs hot on its own, called from code
 *       C1 compiled, may be compiled by C2 by itself and is then refused for inlining anywhere
 *       ("already compiled into a big method", {@code InlineSmallCode}): the boxing again. Loops
 *       that C2 compiles early (hot from the start, as the codecs' are) are safe; check a new fused
 *       loop with {@code -XX:+PrintCompilation -XX:+UnlockDiagnosticVMOptions -XX:+PrintInlining}.
 * </ul>
 * Segments: the JDK compiles a segment access for the segment classes its shared profiles have
 * seen; in a program that uses several kinds (native, heap over float[], over short[]) every access
 * becomes some 7 times slower. The codecs test for native segments and run a copy of their loop
 * for them alone (see {@code PanamaHalfCodec}); a fused loop over native buffers should do the same.
 */
public final class HalfVectors {
    /** The float species: core's {@link Species#FLOATS}, as the optimizer kernels use. */
    public static final VectorSpecies<Float> FLOATS = Species.FLOATS;
    /** The int species of the same shape, for the bit work. */
    public static final VectorSpecies<Integer> INTS = Species.INTS;
    /** The short species with as many lanes: half the bits (256 bits for 512-bit floats, 64 for 128). */
    public static final VectorSpecies<Short> HALVES = Species.HALVES;
    /** 16-bit buffers hold values in the platform's order, as the scalar codecs read them. */
    public static final ByteOrder ORDER = Species.ORDER;

    private static final IntVector ZERO = IntVector.zero(INTS);
    private static final IntVector ONE = ints(1);
    private static final IntVector ABS = ints(ABS_MASK);
    private static final IntVector INFINITY = ints(INFINITY_BITS);
    private static final IntVector SIGN = ints(Binary32.SIGN_MASK);
    private static final IntVector QUIET = ints(QUIET_BIT);
    private static final IntVector REBIAS_V = ints(REBIAS);
    private static final IntVector NORMAL_BIAS = ints(NORMAL_ROUNDING_BIAS);
    private static final IntVector MIN_NORMAL_BITS = ints(MIN_NORMAL_FLOAT_BITS);
    private static final IntVector OVERFLOW = ints(OVERFLOW_FLOAT_BITS);
    private static final IntVector SHIFTED_MIN_NORMAL_V = ints(SHIFTED_MIN_NORMAL);
    private static final IntVector SHIFTED_INFINITY_V = ints(SHIFTED_INFINITY);
    private static final IntVector SPECIAL_REBIAS_V = ints(SPECIAL_REBIAS);
    private static final IntVector HALF_SIGNIFICAND = ints(Half.SIGNIFICAND_MASK);
    private static final IntVector HALF_NAN = ints(HALF_QUIET_NAN);
    private static final IntVector HALF_SIGN_V = ints(HALF_SIGN);
    private static final FloatVector MAGIC = FloatVector.broadcast(FLOATS, SUBNORMAL_MAGIC);
    private static final FloatVector MIN_NORMAL = FloatVector.broadcast(FLOATS, MIN_NORMAL_FLOAT);
    private static final FloatVector SCALE = FloatVector.broadcast(FLOATS, RESIDUAL_SCALE);

    private HalfVectors() {}

    private static IntVector ints(int value) {
        return IntVector.broadcast(INTS, value);
    }

    /** Loads {@code FLOATS.length()} halves at {@code byteOffset} and widens them to floats. */
    public static FloatVector load(MemorySegment halves, long byteOffset) {
        return decode(ShortVector.fromMemorySegment(HALVES, halves, byteOffset, ORDER));
    }

    /** Narrows {@code floats} to halves, nearest even, and stores them at {@code byteOffset}. */
    public static void store(FloatVector floats, MemorySegment halves, long byteOffset) {
        encode(floats).intoMemorySegment(halves, byteOffset, ORDER);
    }

    /** Narrows {@code floats} stochastically with {@code random} (one int per lane) and stores them. */
    public static void storeStochastic(FloatVector floats, IntVector random, MemorySegment halves, long byteOffset) {
        encodeStochastic(floats, random).intoMemorySegment(halves, byteOffset, ORDER);
    }

    /** The halves as floats (exact). */
    public static FloatVector decode(ShortVector halves) {
        return decodeBits((IntVector) halves.convertShape(VectorOperators.S2I, INTS, 0));
    }

    /** The floats as halves, nearest even. */
    public static ShortVector encode(FloatVector floats) {
        return (ShortVector) encodeBits(floats.reinterpretAsInts()).convertShape(VectorOperators.I2S, HALVES, 0);
    }

    /** The floats as halves, rounded stochastically with {@code random} (32 bits per lane). */
    public static ShortVector encodeStochastic(FloatVector floats, IntVector random) {
        return (ShortVector) encodeStochasticBits(floats.reinterpretAsInts(), random)
                .convertShape(VectorOperators.I2S, HALVES, 0);
    }

    /** The low 16 bits of each lane, as a short vector of as many lanes. */
    public static ShortVector narrow(IntVector halfBits) {
        return (ShortVector) halfBits.convertShape(VectorOperators.I2S, HALVES, 0);
    }

    /** {@link HalfScalars#decodeBits} lane-wise: sign-extended halves to floats. */
    public static FloatVector decodeBits(IntVector h) {
        IntVector shifted = h.lanewise(LSHL, HALF_ABS_LEFT).lanewise(LSHR, HALF_ABS_RIGHT);
        VectorMask<Integer> subnormal = shifted.compare(LT, SHIFTED_MIN_NORMAL_V);
        IntVector rebias = REBIAS_V.blend(MIN_NORMAL_BITS, subnormal)
                .blend(SPECIAL_REBIAS_V, shifted.compare(GE, SHIFTED_INFINITY_V));
        IntVector f = shifted.add(rebias);
        f = f.lanewise(OR, QUIET, shifted.compare(GT, SHIFTED_INFINITY_V));
        IntVector sub = f.reinterpretAsFloats().sub(MIN_NORMAL).reinterpretAsInts();
        f = f.blend(sub, subnormal);
        return f.lanewise(OR, h.lanewise(AND, SIGN)).reinterpretAsFloats();
    }

    /** {@link HalfScalars#encodeBits} lane-wise: float bits to halves in the low 16 bits, nearest even. */
    public static IntVector encodeBits(IntVector bits) {
        IntVector abs = bits.lanewise(AND, ABS);
        IntVector top = abs.lanewise(LSHR, DROPPED_BITS);
        IntVector normal = abs.min(OVERFLOW).add(top.lanewise(AND, ONE)).add(NORMAL_BIAS).lanewise(LSHR, DROPPED_BITS);
        IntVector subnormal = abs.reinterpretAsFloats().add(MAGIC).reinterpretAsInts();
        IntVector h = normal.blend(subnormal, abs.compare(LT, MIN_NORMAL_BITS));
        IntVector nan = top.lanewise(AND, HALF_SIGNIFICAND).lanewise(OR, HALF_NAN);
        h = h.blend(nan, abs.compare(GT, INFINITY));
        return h.lanewise(OR, HALF_SIGN_V, bits.compare(LT, ZERO));
    }

    /** {@link HalfScalars#encodeStochasticBits} lane-wise. */
    public static IntVector encodeStochasticBits(IntVector bits, IntVector random) {
        IntVector abs = bits.lanewise(AND, ABS);
        IntVector normal = abs.min(OVERFLOW).sub(REBIAS_V).add(random.lanewise(LSHR, NORMAL_RANDOM_SHIFT))
                .lanewise(LSHR, DROPPED_BITS);
        FloatVector magnitude = abs.reinterpretAsFloats();
        FloatVector nearest = magnitude.add(MAGIC);
        FloatVector residual = magnitude.sub(nearest.sub(MAGIC));
        IntVector fraction = (IntVector) residual.mul(SCALE).convert(F2I, 0);
        IntVector step = fraction.add(random.lanewise(LSHR, SUBNORMAL_RANDOM_SHIFT)).lanewise(ASHR, RESIDUAL_BITS);
        IntVector subnormal = nearest.reinterpretAsInts().add(step);
        IntVector h = normal.blend(subnormal, abs.compare(LT, MIN_NORMAL_BITS));
        IntVector nan = abs.lanewise(LSHR, DROPPED_BITS).lanewise(AND, HALF_SIGNIFICAND).lanewise(OR, HALF_NAN);
        h = h.blend(nan, abs.compare(GT, INFINITY));
        return h.lanewise(OR, HALF_SIGN_V, bits.compare(LT, ZERO));
    }
}
