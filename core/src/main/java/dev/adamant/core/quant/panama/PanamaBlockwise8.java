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
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector {@link Blockwise8}: bit for bit {@link ScalarBlockwise8}'s codes, absmax and values (the
 * search is exact, so only its order of operations differs; the tests compare the two on every width).
 * Loaded only on the Panama path.
 *
 * <p><b>Quantize</b>, per block of 256: the absmax pass as an int max over the bits of |x| (see
 * {@code absmax}); then per vector {@code x / absmax} (a float division, as the reference divides), and
 * {@link DynamicMap#nearestInRange}'s lookup: the key {@code bits >>> 16} and the flipped bits
 * {@code bits ^ (bits >> 31)} go to two arrays of 256 ints, and a second loop does one 16-lane gather
 * from {@link DynamicMap#entries}, an add, a shift and a narrowing to bytes. NaN needs no test (its
 * keys hold code 0). The gather is most of the cost (about 0.45 ns an element here).
 *
 * <p><b>Dequantize</b> at 512 bits: the 256 codes' floats as 4 byte planes of 256 bytes (16 vectors);
 * for 64 codes, per plane two two-vector byte selects ({@code selectFrom(v1, v2)}: vpermi2b with
 * AVX-512 VBMI) and a blend on the code's top bit, then two rounds of two-vector selects interleave the
 * planes into 4 vectors of floats, each multiplied by absmax: 30 vector operations for 64 elements, no
 * gather. (Without VBMI, as on Skylake-X, C2 lowers the byte selects into longer sequences; not
 * measured.) At 128 and 256 bits: the scalar loop, faster here than a gather from the 256 codes.
 *
 * <p><b>Measured</b> with {@code Blockwise8CodecBenchmark} (bench module; ns an element = score / n,
 * mean and the range over 5 one-second iterations, {@code -f 1 -wi 2 -i 5 -w 1 -r 1}; signed map;
 * a 2-vCPU AMD EPYC VM with AVX-512 and VBMI, shared with other work, 512-bit vectors, Temurin 25):
 * <pre>
 *                         n = 2^16 (L2)                        n = 2^24 (DRAM)
 *                    before (2b4a398)   now               before             now
 *   Panama quantize   1.37 (1.36-1.38)  0.65 (0.61-0.75)   2.21 (2.19-2.22)  0.69 (0.67-0.71)
 *   Panama dequantize 0.58 (0.58-0.59)  0.23 (0.21-0.30)   0.59 (0.58-0.60)  0.37 (0.36-0.39)
 *   scalar quantize   3.54 (3.21-4.68)  1.51 (1.49-1.53)   4.78 (3.72-5.20)  1.67 (1.66-1.68)
 *   scalar dequantize 0.44 (0.36-0.47)  0.50 (0.44-0.57)   0.34 (0.33-0.36)  0.36 (0.36-0.37)
 * </pre>
 * An earlier run of nearly this code gave quantize 0.73 and 0.68, dequantize 0.20 and 0.24: at 2^24
 * dequantize (1 byte read, 4 written) is as fast as the machine's memory allows at the time, scalar
 * or not. Scalar dequantize is unchanged code. A second harness (thread CPU time over repeated calls
 * at 2^16) agreed within the machine's noise: quantize 0.61-0.93 against 1.43-1.50, dequantize
 * 0.20-0.38 against 0.57-0.63.
 *
 * <p>Where the time went before: {@code FloatVector.max} in the absmax pass (its NaN and -0 fix-ups on a
 * loop-carried chain: 0.35 ns an element alone), the two gathers a vector (bucket, then threshold),
 * and each gather's index stored and reloaded at once (a store-forwarding stall, about 0.2 ns an
 * element). Tried and dropped: a branch-free binary search over the 256 thresholds in registers
 * (ShortVector, 32 lanes: 8 levels of permutes and compares on the high halves of the ordinals, then
 * two 256-entry lookups for the low halves) was exact but slower than the gather here (0.87 against
 * 0.70 ns); two 8-lane gathers instead of one of 16, no faster; gathering each vector's keys right
 * after storing them (one pass, not two), 0.1-0.2 ns slower.
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

    /** Per thread, the keys (0-255) and flipped bits (256-511) of one block. */
    private static final ThreadLocal<int[]> SCRATCH = ThreadLocal.withInitial(() -> new int[2 * BLOCK]);

    /** Refuses vectors narrower than 128 bits ({@link Species#requireUsable}). */
    public PanamaBlockwise8() {
        Species.requireUsable();
    }

    @Override
    public void quantize(DynamicMap map, MemorySegment values, MemorySegment codes, MemorySegment absmax, long n) {
        final int[] entries = map.entries;
        // Per block: keys and flipped bits to these arrays, then the gathers read them back. Gathers take
        // their indices from an array; a store of 16 keys read at once by the next gather stalls on store
        // forwarding, a whole block written first does not. One pair a thread: allocated per call they
        // were 2 KiB of garbage for every tile of an 8-bit optimizer step.
        final int[] scratch = SCRATCH.get();   // keys at [0, 256), flipped bits at [256, 512)
        for (long start = 0, block = 0; start < n; start += BLOCK, block++) {
            final long len = Math.min(BLOCK, n - start);
            final float max = absmax(values, start, len);
            absmax.setAtIndex(F, block, max);

            final FloatVector divisor = FloatVector.broadcast(FLOATS, max);
            final int m = BYTES.loopBound((int) len);
            for (int j = 0; j < m; j += LANES) {
                IntVector bits = FloatVector.fromMemorySegment(FLOATS, values, (start + j) * Float.BYTES, ORDER)
                        .div(divisor).reinterpretAsInts();
                bits.lanewise(VectorOperators.LSHR, DynamicMap.KEY_SHIFT).intoArray(scratch, j);
                bits.lanewise(VectorOperators.ASHR, 31).lanewise(VectorOperators.XOR, bits).intoArray(scratch, BLOCK + j);
            }
            for (int j = 0; j < m; j += BYTES.length()) {
                ByteVector out = ByteVector.zero(BYTES);
                for (int part = 0; part < PARTS; part++) {
                    int k = j + part * LANES;
                    IntVector index = IntVector.fromArray(INTS, entries, 0, scratch, k)
                            .add(IntVector.fromArray(INTS, scratch, BLOCK + k))
                            .lanewise(VectorOperators.LSHR, DynamicMap.KEY_SHIFT);
                    ByteVector bytes = (ByteVector) index.convertShape(VectorOperators.I2B, BYTES, -part);
                    out = PARTS == 1 ? bytes : out.or(bytes);
                }
                out.intoMemorySegment(codes, start + j, ORDER);
            }
            ScalarBlockwise8.quantizeRange(map, values, codes, start + m, start + len, max);
        }
    }

    /** The block's absmax as stored ({@link ScalarBlockwise8#finishAbsmax}). */
    private static float absmax(MemorySegment values, long start, long len) {
        final long vecEnd = start + FLOATS.loopBound(len);
        // |x| as ints: their order is the floats' order and a NaN's bits exceed infinity's, so the int max
        // is Math.max's answer (NaN canonicalised by finishAbsmax). One cycle a step on the loop-carried
        // chain; FloatVector.max's NaN and -0 fix-ups made this pass cost 0.35 ns an element.
        IntVector acc = IntVector.zero(INTS);
        for (long i = start; i < vecEnd; i += LANES) {
            acc = acc.max(IntVector.fromMemorySegment(INTS, values, i * Float.BYTES, ORDER).and(0x7FFFFFFF));
        }
        float max = ScalarBlockwise8.absmax(values, vecEnd, start + len,
                Float.intBitsToFloat(acc.reduceLanes(VectorOperators.MAX)));
        return ScalarBlockwise8.finishAbsmax(max);
    }

    @Override
    public void dequantize(DynamicMap map, MemorySegment codes, MemorySegment absmax, MemorySegment values, long n) {
        if (PLANES) {
            dequantizePlanes(map.signed() ? SIGNED_PLANES : UNSIGNED_PLANES, map, codes, absmax, values, n);
        } else {
            // Narrower vectors: a gather from the 256 codes measured 0.72 ns an element at 256 bits and
            // 1.19 at 128, the scalar loop 0.34.
            ScalarBlockwise8.INSTANCE.dequantize(map, codes, absmax, values, n);
        }
    }

    /** 512-bit vectors: the table lookup as byte permutes, 64 codes at a time. */
    private static final boolean PLANES = LANES == 16;
    private static final VectorSpecies<Byte> B64 = ByteVector.SPECIES_512;
    private static final VectorSpecies<Short> S32 = ShortVector.SPECIES_512;
    private static final byte[] SIGNED_PLANES = planes(DynamicMap.SIGNED);
    private static final byte[] UNSIGNED_PLANES = planes(DynamicMap.UNSIGNED);
    /** Interleaving indices: bytes (a0 b0 a1 b1 ...) from the low and high halves of a and b; then shorts. */
    private static final byte[] INTERLEAVE_BYTES = new byte[128];
    private static final short[] INTERLEAVE_SHORTS = new short[64];

    static {
        for (int l = 0; l < 128; l++) {
            INTERLEAVE_BYTES[l] = (byte) ((l & 1) * 64 + (l >> 1));   // l >= 64: the high halves
        }
        for (int l = 0; l < 64; l++) {
            INTERLEAVE_SHORTS[l] = (short) ((l & 1) * 32 + (l >> 1));
        }
    }

    /** Byte p of code c at [p * 256 + c]: the codes' bits as 4 planes of 256 bytes (little-endian floats). */
    private static byte[] planes(DynamicMap map) {
        byte[] planes = new byte[4 * DynamicMap.SIZE];
        for (int c = 0; c < DynamicMap.SIZE; c++) {
            int bits = Float.floatToRawIntBits(map.code(c));
            for (int p = 0; p < 4; p++) {
                planes[p * DynamicMap.SIZE + c] = (byte) (bits >>> (8 * p));
            }
        }
        return planes;
    }

    private static void dequantizePlanes(byte[] planes, DynamicMap map, MemorySegment codes, MemorySegment absmax,
                                         MemorySegment values, long n) {
        final ByteVector t00 = ByteVector.fromArray(B64, planes, 0), t01 = ByteVector.fromArray(B64, planes, 64);
        final ByteVector t02 = ByteVector.fromArray(B64, planes, 128), t03 = ByteVector.fromArray(B64, planes, 192);
        final ByteVector t10 = ByteVector.fromArray(B64, planes, 256), t11 = ByteVector.fromArray(B64, planes, 320);
        final ByteVector t12 = ByteVector.fromArray(B64, planes, 384), t13 = ByteVector.fromArray(B64, planes, 448);
        final ByteVector t20 = ByteVector.fromArray(B64, planes, 512), t21 = ByteVector.fromArray(B64, planes, 576);
        final ByteVector t22 = ByteVector.fromArray(B64, planes, 640), t23 = ByteVector.fromArray(B64, planes, 704);
        final ByteVector t30 = ByteVector.fromArray(B64, planes, 768), t31 = ByteVector.fromArray(B64, planes, 832);
        final ByteVector t32 = ByteVector.fromArray(B64, planes, 896), t33 = ByteVector.fromArray(B64, planes, 960);
        final ByteVector lowBytes = ByteVector.fromArray(B64, INTERLEAVE_BYTES, 0);
        final ByteVector highBytes = ByteVector.fromArray(B64, INTERLEAVE_BYTES, 64);
        final ShortVector lowShorts = ShortVector.fromArray(S32, INTERLEAVE_SHORTS, 0);
        final ShortVector highShorts = ShortVector.fromArray(S32, INTERLEAVE_SHORTS, 32);
        for (long start = 0, block = 0; start < n; start += BLOCK, block++) {
            final long len = Math.min(BLOCK, n - start);
            final float max = absmax.getAtIndex(F, block);
            final FloatVector scale = FloatVector.broadcast(FLOATS, max);
            final long byteEnd = start + B64.loopBound(len);
            for (long i = start; i < byteEnd; i += 64) {
                ByteVector c = ByteVector.fromMemorySegment(B64, codes, i, ORDER);
                VectorMask<Byte> high = c.lt((byte) 0);   // codes 128 to 255: the second pair of tables
                ByteVector p0 = c.selectFrom(t00, t01).blend(c.selectFrom(t02, t03), high);
                ByteVector p1 = c.selectFrom(t10, t11).blend(c.selectFrom(t12, t13), high);
                ByteVector p2 = c.selectFrom(t20, t21).blend(c.selectFrom(t22, t23), high);
                ByteVector p3 = c.selectFrom(t30, t31).blend(c.selectFrom(t32, t33), high);
                ShortVector s01a = lowBytes.selectFrom(p0, p1).reinterpretAsShorts();
                ShortVector s01b = highBytes.selectFrom(p0, p1).reinterpretAsShorts();
                ShortVector s23a = lowBytes.selectFrom(p2, p3).reinterpretAsShorts();
                ShortVector s23b = highBytes.selectFrom(p2, p3).reinterpretAsShorts();
                long o = i * Float.BYTES;
                lowShorts.selectFrom(s01a, s23a).reinterpretAsFloats().mul(scale).intoMemorySegment(values, o, ORDER);
                highShorts.selectFrom(s01a, s23a).reinterpretAsFloats().mul(scale)
                        .intoMemorySegment(values, o + 64, ORDER);
                lowShorts.selectFrom(s01b, s23b).reinterpretAsFloats().mul(scale)
                        .intoMemorySegment(values, o + 128, ORDER);
                highShorts.selectFrom(s01b, s23b).reinterpretAsFloats().mul(scale)
                        .intoMemorySegment(values, o + 192, ORDER);
            }
            ScalarBlockwise8.dequantizeRange(map, codes, values, byteEnd, start + len, max);
        }
    }

    @Override
    public String describe() {
        return "panama, " + Species.BITS + "-bit vectors";
    }
}
