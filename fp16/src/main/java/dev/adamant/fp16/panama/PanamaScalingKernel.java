package dev.adamant.fp16.panama;

import dev.adamant.core.kernel.Vectorization;
import dev.adamant.core.panama.Species;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.kernel.ScalingKernel;
import dev.adamant.fp16.kernel.SquareSums;
import dev.adamant.fp16.kernel.Widening;
import dev.adamant.fp16.scalar.ScalarScalingKernel;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector scaling kernels. The non-finite tests keep a running lane-wise maximum: of the fp32
 * exponent field (all ones is the largest value it can take), or of the 16-bit magnitude bits
 * (compared with a threshold), so one compare at the end answers "any?". The
 * sum of squares follows {@link SquareSums}: its 16 accumulators are one 512-bit vector, or two
 * 256-bit or four 128-bit ones, so every width gives the scalar twin's bits.
 */
public final class PanamaScalingKernel implements ScalingKernel {
    static final VectorSpecies<Float> FLOATS = Species.FLOATS;
    /** Core's ints, of the floats' shape: the preferred ones would not match narrower floats. */
    static final VectorSpecies<Integer> INTS = Species.INTS;
    static final ByteOrder ORDER = Species.ORDER;
    private static final int L = FLOATS.length();
    /** Vectors per group of 16 accumulators: 1, 2 or 4. */
    private static final int GROUPS = SquareSums.ACCUMULATORS / L;
    private static final int FLOAT_EXPONENT = 0x7F80_0000;
    private static final int SIGN = 0x8000_0000;
    /**
     * The codecs' short vectors, for every 16-bit loop here: a second class of short vector (the
     * preferred 512-bit one) polluted the JDK's shared type profiles, and the overflow check took
     * 3.4 ms at 2^24 instead of 1.25.
     */
    private static final VectorSpecies<Short> HALVES = HalfVectors.HALVES;

    /** Refuses (the scalar twin runs) widths whose lanes do not split 16 accumulators into 1, 2 or 4 vectors. */
    public PanamaScalingKernel() {
        Species.requireUsable();
        if (L > SquareSums.ACCUMULATORS || SquareSums.ACCUMULATORS % L != 0 || GROUPS > 4) {
            throw new UnsupportedOperationException(L + " floats a vector do not split SquareSums' "
                    + SquareSums.ACCUMULATORS + " accumulators into 1, 2 or 4 vectors; -D"
                    + Vectorization.BITS_PROPERTY + "=512 runs them on vectors");
        }
    }

    @Override
    public boolean anyNonFiniteFloat(MemorySegment floats, long from, long count) {
        IntVector max = IntVector.zero(INTS);
        long bound = FLOATS.loopBound(count);
        long end = (from + bound) * Float.BYTES;
        for (long o = from * Float.BYTES; o < end; o += FLOATS.vectorByteSize()) {
            max = max.max(FloatVector.fromMemorySegment(FLOATS, floats, o, ORDER).reinterpretAsInts().and(FLOAT_EXPONENT));
        }
        return max.reduceLanes(VectorOperators.MAX) == FLOAT_EXPONENT
                || ScalarScalingKernel.INSTANCE.anyNonFiniteFloat(floats, from + bound, count - bound);
    }

    @Override
    public boolean anyMagnitudeAtLeast16(MemorySegment halves, short threshold, long from, long count) {
        ShortVector max = ShortVector.zero(HALVES);
        long bound = HALVES.loopBound(count);
        long end = (from + bound) * Short.BYTES;
        for (long o = from * Short.BYTES; o < end; o += HALVES.vectorByteSize()) {
            max = max.max(ShortVector.fromMemorySegment(HALVES, halves, o, ORDER).and(Widening.MAGNITUDE_BITS));
        }
        return max.reduceLanes(VectorOperators.MAX) >= threshold
                || ScalarScalingKernel.INSTANCE.anyMagnitudeAtLeast16(halves, threshold, from + bound, count - bound);
    }

    @Override
    public boolean unscaleFloats(MemorySegment grads, float invScale, long from, long count, double[] blockSums,
                                 int firstBlock) {
        return SquareSums.forEachBlock(from, count, blockSums, firstBlock,
                (start, len, acc) -> unscaleBlock(grads, invScale, start, len, acc)) == FLOAT_EXPONENT;
    }

    /**
     * Block by block ({@link SquareSums}), in one method: each group of 16 tested on its magnitude
     * bits (a running lane-wise maximum of {@code h & 0x7FFF}, in the 16-bit lanes, compared at the
     * end with {@link Widening#overflowThreshold}), widened
     * to magnitudes ({@link Widening}, the multiplication folded into the unscaling one where that is
     * exact), unscaled and squared; a block's last values after its whole groups by the scalar twin,
     * which does the same operations. Written out, with no calls of ours in the loop (see
     * {@code PanamaFusedAdam} on why), and not through {@code SquareSums.forEachBlock}'s callback,
     * which would call this per block; the speed is the same either way (at 2^24 from DRAM, best of
     * 20: 1.35 ms this way, 1.37-1.41 ms through the callback).
     */
    @Override
    public boolean unscaleHalves(MemorySegment halves, Precision format, float invScale, long from, long count,
                                 double[] blockSums, int firstBlock) {
        Widening w = Widening.of(format);
        float folded = w.folded(invScale);
        boolean twice = folded == 0f;
        FloatVector first = FloatVector.broadcast(FLOATS, twice ? w.scale() : folded);
        FloatVector second = FloatVector.broadcast(FLOATS, invScale);
        IntVector mask = IntVector.broadcast(INTS, w.mask());
        int shift = w.shift();
        final short magnitude = Widening.MAGNITUDE_BITS;
        ShortVector max = ShortVector.zero(HALVES);
        int tailMax = 0;
        float[] acc = new float[SquareSums.ACCUMULATORS];
        final long step = (long) L * Short.BYTES;
        long end = from + count;
        int block = firstBlock;
        for (long start = from; start < end; start += SquareSums.BLOCK, block++) {
            long len = Math.min(SquareSums.BLOCK, end - start);
            FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
            int groups = (int) (len / SquareSums.ACCUMULATORS);
            long o = start * Short.BYTES;
            for (int k = 0; k < groups; k++) {
                ShortVector h = ShortVector.fromMemorySegment(HALVES, halves, o, ORDER);
                max = max.max(h.and(magnitude));
                FloatVector u = ((IntVector) h.convertShape(VectorOperators.S2I, INTS, 0))
                        .lanewise(VectorOperators.LSHL, shift).and(mask).reinterpretAsFloats().mul(first);
                u = twice ? u.mul(second) : u;
                a0 = u.fma(u, a0);
                o += step;
                if (GROUPS > 1) {
                    h = ShortVector.fromMemorySegment(HALVES, halves, o, ORDER);
                    max = max.max(h.and(magnitude));
                    u = ((IntVector) h.convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, shift).and(mask).reinterpretAsFloats().mul(first);
                    u = twice ? u.mul(second) : u;
                    a1 = u.fma(u, a1);
                    o += step;
                }
                if (GROUPS > 2) {
                    h = ShortVector.fromMemorySegment(HALVES, halves, o, ORDER);
                    max = max.max(h.and(magnitude));
                    u = ((IntVector) h.convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, shift).and(mask).reinterpretAsFloats().mul(first);
                    u = twice ? u.mul(second) : u;
                    a2 = u.fma(u, a2);
                    o += step;
                    h = ShortVector.fromMemorySegment(HALVES, halves, o, ORDER);
                    max = max.max(h.and(magnitude));
                    u = ((IntVector) h.convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, shift).and(mask).reinterpretAsFloats().mul(first);
                    u = twice ? u.mul(second) : u;
                    a3 = u.fma(u, a3);
                    o += step;
                }
            }
            if (groups * SquareSums.ACCUMULATORS == len) {
                blockSums[block] = fold(a0, a1, a2, a3);   // a whole block: folded in the registers
                continue;
            }
            a0.intoArray(acc, 0);
            if (GROUPS > 1) {
                a1.intoArray(acc, L);
            }
            if (GROUPS > 2) {
                a2.intoArray(acc, 2 * L);
                a3.intoArray(acc, 3 * L);
            }
            tailMax = Math.max(tailMax, ScalarScalingKernel.unscaleHalvesBlock(halves, w, invScale, start,
                    groups * SquareSums.ACCUMULATORS, len, acc));
            blockSums[block] = SquareSums.sum(acc);
        }
        return Math.max(max.reduceLanes(VectorOperators.MAX), tailMax) >= w.overflowThreshold(invScale);
    }

    /**
     * {@link SquareSums#sum}'s tree on the accumulators in vectors ({@code j} is lane {@code j % L}
     * of vector {@code j / L}): the same float adds in the same order, so the same bits. A lane
     * shift ({@code slice}, zeros shifted in) pairs lane {@code i} with lane {@code i + k}.
     */
    private static double fold(FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
        FloatVector t;
        if (GROUPS == 1) {          // 16 lanes: acc[i] + acc[i + 8] in lanes 0-7, then + 4, + 2, + 1
            t = a0.add(a0.slice(8));
            t = t.add(t.slice(4));
        } else if (GROUPS == 2) {   // 8 lanes: acc[0..7] + acc[8..15], then + 4, + 2, + 1
            t = a0.add(a1);
            t = t.add(t.slice(4));
        } else {                    // 4 lanes: acc[0..3] + acc[8..11] and acc[4..7] + acc[12..15], their sum, + 2, + 1
            t = a0.add(a2).add(a1.add(a3));
        }
        t = t.add(t.slice(2));
        return t.add(t.slice(1)).lane(0);
    }

    /**
     * Finite values take the short widening with the sign put back ({@code h & 0x8000_0000} of the
     * sign-extended value) and the unscaling folded in; a range holding an infinity or NaN (which the
     * caller has ruled out, so rarely) is redone by the scalar twin's exact widening.
     */
    @Override
    public void widenScaled(MemorySegment halves, Precision format, long from, MemorySegment floats, long floatIndex,
                            float invScale, float coef, long count) {
        Widening w = Widening.of(format);
        float folded = w.folded(invScale);
        boolean twice = folded == 0f;
        boolean clip = coef != 1f;
        FloatVector first = FloatVector.broadcast(FLOATS, twice ? w.scale() : folded);
        FloatVector second = FloatVector.broadcast(FLOATS, invScale);
        FloatVector clipping = FloatVector.broadcast(FLOATS, coef);
        IntVector mask = IntVector.broadcast(INTS, w.mask());
        int shift = w.shift();
        short exponent = w.exponentMask();
        ShortVector max = ShortVector.zero(HALVES);
        final long bound = FLOATS.loopBound(count);
        final long h0 = from * Short.BYTES;
        final long f0 = floatIndex * Float.BYTES;
        for (long i = 0; i < bound; i += L) {
            ShortVector h = ShortVector.fromMemorySegment(HALVES, halves, h0 + i * Short.BYTES, ORDER);
            max = max.max(h.and(exponent));
            IntVector wide = (IntVector) h.convertShape(VectorOperators.S2I, INTS, 0);
            FloatVector u = wide.lanewise(VectorOperators.LSHL, shift).and(mask).reinterpretAsFloats().mul(first);
            u = twice ? u.mul(second) : u;
            if (clip) {
                u = u.mul(clipping);
            }
            u.reinterpretAsInts().or(wide.and(SIGN)).reinterpretAsFloats()
                    .intoMemorySegment(floats, f0 + i * Float.BYTES, ORDER);
        }
        if (max.reduceLanes(VectorOperators.MAX) == exponent) {
            ScalarScalingKernel.INSTANCE.widenScaled(halves, format, from, floats, floatIndex, invScale, coef, count);
            return;
        }
        ScalarScalingKernel.INSTANCE.widenScaled(halves, format, from + bound, floats, floatIndex + bound, invScale,
                coef, count - bound);
    }

    /**
     * One block: whole groups of 16 in vectors, the rest by the scalar twin; leaves the accumulators
     * in acc and returns the largest exponent field of the unscaled values, as the twin does.
     */
    private static int unscaleBlock(MemorySegment grads, float invScale, long start, long len, float[] acc) {
        FloatVector inv = FloatVector.broadcast(FLOATS, invScale);
        FloatVector a0 = FloatVector.zero(FLOATS), a1 = a0, a2 = a0, a3 = a0;
        IntVector max = IntVector.zero(INTS);
        int groups = (int) (len / SquareSums.ACCUMULATORS);
        long o = start * Float.BYTES;
        final long step = FLOATS.vectorByteSize();
        for (int k = 0; k < groups; k++) {
            FloatVector g = FloatVector.fromMemorySegment(FLOATS, grads, o, ORDER);
            FloatVector u = g.mul(inv);
            max = max.max(u.reinterpretAsInts().and(FLOAT_EXPONENT));
            u.intoMemorySegment(grads, o, ORDER);
            a0 = u.fma(u, a0);
            o += step;
            if (GROUPS > 1) {
                g = FloatVector.fromMemorySegment(FLOATS, grads, o, ORDER);
                u = g.mul(inv);
                max = max.max(u.reinterpretAsInts().and(FLOAT_EXPONENT));
                u.intoMemorySegment(grads, o, ORDER);
                a1 = u.fma(u, a1);
                o += step;
            }
            if (GROUPS > 2) {
                g = FloatVector.fromMemorySegment(FLOATS, grads, o, ORDER);
                u = g.mul(inv);
                max = max.max(u.reinterpretAsInts().and(FLOAT_EXPONENT));
                u.intoMemorySegment(grads, o, ORDER);
                a2 = u.fma(u, a2);
                o += step;
                g = FloatVector.fromMemorySegment(FLOATS, grads, o, ORDER);
                u = g.mul(inv);
                max = max.max(u.reinterpretAsInts().and(FLOAT_EXPONENT));
                u.intoMemorySegment(grads, o, ORDER);
                a3 = u.fma(u, a3);
                o += step;
            }
        }
        a0.intoArray(acc, 0);
        if (GROUPS > 1) {
            a1.intoArray(acc, L);
        }
        if (GROUPS > 2) {
            a2.intoArray(acc, 2 * L);
            a3.intoArray(acc, 3 * L);
        }
        int tailMax = ScalarScalingKernel.unscaleBlock(grads, invScale, start, groups * SquareSums.ACCUMULATORS, len, acc);
        return Math.max(max.reduceLanes(VectorOperators.MAX), tailMax);
    }
}
