package dev.adamant.fp16.scalar;

import dev.adamant.fp16.internal.Codec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The scalar Half codec: {@link HalfScalars} one element at a time. The fallback, the Panama
 * codec's tail, and the oracle it is tested against. The caller has checked the arguments
 * ({@link Codec}).
 *
 * <p>Values move between the segments and two small arrays in chunks of {@value #CHUNK} with
 * {@link MemorySegment#copy}, and the conversion loops run over the arrays: a segment accessed
 * element by element costs a type check per access, which becomes a virtual call once a program
 * has used several kinds of segment (native, and heap over different array types), while a bulk
 * copy pays it once per chunk. The arrays stay in L1; C2 may vectorize the loops over them.
 */
public final class ScalarHalfCodec implements Codec {
    public static final ScalarHalfCodec INSTANCE = new ScalarHalfCodec();
    /** Values per chunk: 4 KiB of floats and 2 KiB of 16-bit values, well inside L1. */
    static final int CHUNK = 1024;
    // Unaligned layouts: the offsets are checked, but a heap segment over, say, a short[] only
    // promises 2-byte alignment to the layout check.
    private static final ValueLayout.OfInt F = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    private ScalarHalfCodec() {}

    @Override
    public void encode(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex, long count) {
        int[] in = new int[(int) Math.min(count, CHUNK)];
        short[] out = new short[in.length];
        for (long done = 0; done < count; done += CHUNK) {
            int n = (int) Math.min(CHUNK, count - done);
            MemorySegment.copy(floats, F, (floatIndex + done) * Float.BYTES, in, 0, n);
            for (int i = 0; i < n; i++) {
                out[i] = (short) HalfScalars.encodeBits(in[i]);
            }
            MemorySegment.copy(out, 0, halves, S, (halfIndex + done) * Short.BYTES, n);
        }
    }

    @Override
    public void encodeStochastic(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                                 long count, long key, long counterBase) {
        int[] in = new int[(int) Math.min(count, CHUNK)];
        short[] out = new short[in.length];
        for (long done = 0; done < count; done += CHUNK) {
            int n = (int) Math.min(CHUNK, count - done);
            MemorySegment.copy(floats, F, (floatIndex + done) * Float.BYTES, in, 0, n);
            long counter = counterBase + done;
            for (int i = 0; i < n; i++) {
                out[i] = (short) HalfScalars.encodeStochasticBits(in[i], CounterRandom.bits(key, counter + i));
            }
            MemorySegment.copy(out, 0, halves, S, (halfIndex + done) * Short.BYTES, n);
        }
    }

    @Override
    public void decode(MemorySegment halves, long halfIndex, MemorySegment floats, long floatIndex, long count) {
        short[] in = new short[(int) Math.min(count, CHUNK)];
        int[] out = new int[in.length];
        for (long done = 0; done < count; done += CHUNK) {
            int n = (int) Math.min(CHUNK, count - done);
            MemorySegment.copy(halves, S, (halfIndex + done) * Short.BYTES, in, 0, n);
            for (int i = 0; i < n; i++) {
                out[i] = HalfScalars.decodeBits(in[i]);
            }
            MemorySegment.copy(out, 0, floats, F, (floatIndex + done) * Float.BYTES, n);
        }
    }
}
