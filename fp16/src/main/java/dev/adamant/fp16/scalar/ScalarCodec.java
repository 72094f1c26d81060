package dev.adamant.fp16.scalar;

import dev.adamant.fp16.internal.Codec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The scalar codecs, {@link #HALF} ({@link HalfScalars}) and {@link #BFLOAT16}
 * ({@link BFloat16Scalars}), one element at a time: the fallback, the Panama codecs' tails, and the
 * oracle they are tested against. The caller has checked the arguments ({@link Codec}).
 *
 * <p>Values move between the segments and two small arrays in chunks of {@value #CHUNK} with
 * {@link MemorySegment#copy}, and the conversion loops run over the arrays: a segment accessed
 * element by element costs a type check per access, which becomes a virtual call once a program
 * has used several kinds of segment (native, and heap over different array types), while a bulk
 * copy pays it once per chunk. The arrays stay in L1; C2 may vectorize the loops over them. The
 * format test is loop-invariant: C2 takes it out of the loops.
 */
public final class ScalarCodec implements Codec {
    /** IEEE binary16. */
    public static final ScalarCodec HALF = new ScalarCodec(true);
    /** bfloat16. */
    public static final ScalarCodec BFLOAT16 = new ScalarCodec(false);
    /** Values per chunk: 4 KiB of floats and 2 KiB of 16-bit values, well inside L1. */
    static final int CHUNK = 1024;
    // Unaligned layouts: the offsets are checked, but a heap segment over, say, a short[] only
    // promises 2-byte alignment to the layout check.
    private static final ValueLayout.OfInt F = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final boolean half;

    private ScalarCodec(boolean half) {
        this.half = half;
    }

    @Override
    public void encode(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex, long count) {
        boolean fp16 = half;
        int[] in = new int[(int) Math.min(count, CHUNK)];
        short[] out = new short[in.length];
        for (long done = 0; done < count; done += CHUNK) {
            int n = (int) Math.min(CHUNK, count - done);
            MemorySegment.copy(floats, F, (floatIndex + done) * Float.BYTES, in, 0, n);
            for (int i = 0; i < n; i++) {
                out[i] = (short) (fp16 ? HalfScalars.encodeBits(in[i]) : BFloat16Scalars.encodeBits(in[i]));
            }
            MemorySegment.copy(out, 0, halves, S, (halfIndex + done) * Short.BYTES, n);
        }
    }

    @Override
    public void encodeStochastic(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                                 long count, long key, long counterBase) {
        boolean fp16 = half;
        int[] in = new int[(int) Math.min(count, CHUNK)];
        short[] out = new short[in.length];
        for (long done = 0; done < count; done += CHUNK) {
            int n = (int) Math.min(CHUNK, count - done);
            MemorySegment.copy(floats, F, (floatIndex + done) * Float.BYTES, in, 0, n);
            long counter = counterBase + done;
            for (int i = 0; i < n; i++) {
                int random = CounterRandom.bits(key, counter + i);
                out[i] = (short) (fp16 ? HalfScalars.encodeStochasticBits(in[i], random)
                        : BFloat16Scalars.encodeStochasticBits(in[i], random));
            }
            MemorySegment.copy(out, 0, halves, S, (halfIndex + done) * Short.BYTES, n);
        }
    }

    @Override
    public void decode(MemorySegment halves, long halfIndex, MemorySegment floats, long floatIndex, long count) {
        boolean fp16 = half;
        short[] in = new short[(int) Math.min(count, CHUNK)];
        int[] out = new int[in.length];
        for (long done = 0; done < count; done += CHUNK) {
            int n = (int) Math.min(CHUNK, count - done);
            MemorySegment.copy(halves, S, (halfIndex + done) * Short.BYTES, in, 0, n);
            for (int i = 0; i < n; i++) {
                out[i] = fp16 ? HalfScalars.decodeBits(in[i]) : BFloat16Scalars.decodeBits(in[i]);
            }
            MemorySegment.copy(out, 0, floats, F, (floatIndex + done) * Float.BYTES, n);
        }
    }

    @Override
    public String toString() {
        return half ? "ScalarCodec.HALF" : "ScalarCodec.BFLOAT16";
    }
}
