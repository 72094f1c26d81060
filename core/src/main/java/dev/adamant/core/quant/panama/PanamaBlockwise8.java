package dev.adamant.core.quant.panama;

import static dev.adamant.core.panama.Species.FLOATS;
import static dev.adamant.core.panama.Species.INTS;
import static dev.adamant.core.panama.Species.ORDER;

import dev.adamant.core.panama.Species;
import dev.adamant.core.quant.Blockwise8;
import dev.adamant.core.quant.DynamicMap;
import dev.adamant.core.quant.ScalarBlockwise8;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector {@link Blockwise8}: per block, a max-of-|x| reduction, then per vector of floats one
 * division, the bucket key from the bits, two gathers (bucket, threshold), a compare, the NaN blend,
 * and a narrowing to bytes. The lanes do {@link ScalarBlockwise8}'s operations in its order; the
 * tails go to it. The search costs two gathers and a dozen lane operations a vector, whatever the
 * code (no 256-code scan), so a block's work is bounded by those gathers and, at DRAM sizes, by memory
 * (4 bytes read and 1 written an element); no JMH numbers yet. Loaded only on the Panama path.
 */
public final class PanamaBlockwise8 implements Blockwise8 {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Floats (and ints) a vector. */
    private static final int LANES = FLOATS.length();
    /** Bytes for at least LANES codes: the narrowest byte shape is 64 bits (8 lanes). */
    private static final VectorSpecies<Byte> BYTES =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(LANES * Byte.SIZE, 64)));
    /** Float vectors a byte vector holds: 2 at 128 bits (4 floats, 8 bytes), else 1. */
    private static final int PARTS = BYTES.length() / LANES;

    /** Refuses vectors narrower than 128 bits ({@link Species#requireUsable}). */
    public PanamaBlockwise8() {
        Species.requireUsable();
    }

    @Override
    public void quantize(DynamicMap map, MemorySegment values, MemorySegment codes, MemorySegment absmax, long n) {
        final int[] buckets = map.buckets;
        final float[] thresholds = map.thresholds;
        final int[] scratch = new int[LANES];   // gathers take their indices from an array
        final IntVector keyMin = IntVector.broadcast(INTS, DynamicMap.KEY_MIN);
        final IntVector keyMax = IntVector.broadcast(INTS, DynamicMap.KEY_MAX);
        final IntVector one = IntVector.broadcast(INTS, 1);
        final IntVector zeroIndex = IntVector.zero(INTS);
        for (long start = 0, block = 0; start < n; start += BLOCK, block++) {
            final long len = Math.min(BLOCK, n - start);
            final long vecEnd = start + FLOATS.loopBound(len);
            FloatVector acc = FloatVector.zero(FLOATS);
            for (long i = start; i < vecEnd; i += LANES) {
                acc = acc.max(FloatVector.fromMemorySegment(FLOATS, values, i * Float.BYTES, ORDER).abs());
            }
            float max = ScalarBlockwise8.absmax(values, vecEnd, start + len, acc.reduceLanes(VectorOperators.MAX));
            max = ScalarBlockwise8.finishAbsmax(max);
            absmax.setAtIndex(F, block, max);

            final FloatVector divisor = FloatVector.broadcast(FLOATS, max);
            final long byteEnd = start + BYTES.loopBound(len);
            for (long i = start; i < byteEnd; i += BYTES.length()) {
                ByteVector out = ByteVector.zero(BYTES);
                for (int part = 0; part < PARTS; part++) {
                    FloatVector x = FloatVector.fromMemorySegment(FLOATS, values, (i + (long) part * LANES) * Float.BYTES,
                            ORDER).div(divisor);
                    IntVector bits = x.reinterpretAsInts();
                    IntVector key = bits.lanewise(VectorOperators.LSHR, DynamicMap.KEY_SHIFT).and(DynamicMap.KEY_MASK)
                            .max(keyMin).min(keyMax).sub(keyMin);
                    IntVector bucket = key.add(bits.lanewise(VectorOperators.LSHR, 31).mul(DynamicMap.SPAN));
                    bucket.intoArray(scratch, 0);
                    IntVector cand = IntVector.fromArray(INTS, buckets, 0, scratch, 0);
                    cand.intoArray(scratch, 0);
                    FloatVector t = FloatVector.fromArray(FLOATS, thresholds, 0, scratch, 0);
                    VectorMask<Integer> above = x.compare(VectorOperators.GE, t).cast(INTS);
                    IntVector index = cand.add(one, above)
                            .blend(zeroIndex, x.compare(VectorOperators.NE, x).cast(INTS));
                    out = out.or((ByteVector) index.convertShape(VectorOperators.I2B, BYTES, -part));
                }
                out.intoMemorySegment(codes, i, ORDER);
            }
            ScalarBlockwise8.quantizeRange(map, values, codes, byteEnd, start + len, max);
        }
    }

    @Override
    public void dequantize(DynamicMap map, MemorySegment codes, MemorySegment absmax, MemorySegment values, long n) {
        final float[] table = map.codes;
        final int[] scratch = new int[LANES];
        for (long start = 0, block = 0; start < n; start += BLOCK, block++) {
            final long len = Math.min(BLOCK, n - start);
            final float max = absmax.getAtIndex(F, block);
            final FloatVector scale = FloatVector.broadcast(FLOATS, max);
            final long byteEnd = start + BYTES.loopBound(len);
            for (long i = start; i < byteEnd; i += BYTES.length()) {
                ByteVector in = ByteVector.fromMemorySegment(BYTES, codes, i, ORDER);
                for (int part = 0; part < PARTS; part++) {
                    ((IntVector) in.convertShape(VectorOperators.B2I, INTS, part)).and(0xFF).intoArray(scratch, 0);
                    FloatVector.fromArray(FLOATS, table, 0, scratch, 0).mul(scale)
                            .intoMemorySegment(values, (i + (long) part * LANES) * Float.BYTES, ORDER);
                }
            }
            ScalarBlockwise8.dequantizeRange(map, codes, values, byteEnd, start + len, max);
        }
    }

    @Override
    public String describe() {
        return "panama, " + Species.BITS + "-bit vectors";
    }
}
