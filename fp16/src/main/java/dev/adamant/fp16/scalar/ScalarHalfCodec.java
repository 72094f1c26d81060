package dev.adamant.fp16.scalar;

import dev.adamant.fp16.internal.Codec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The scalar Half codec: {@link HalfScalars} one element at a time. The fallback, the Panama
 * codec's tail, and the oracle it is tested against. The caller has checked the arguments
 * ({@link Codec}).
 */
public final class ScalarHalfCodec implements Codec {
    public static final ScalarHalfCodec INSTANCE = new ScalarHalfCodec();
    // Unaligned layouts: a heap segment over a short[] may hold floats at 4-byte offsets; we check
    // the offsets, and the unaligned access costs nothing on the platforms we run on.
    private static final ValueLayout.OfInt F = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    private ScalarHalfCodec() {}

    @Override
    public void encode(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex, long count) {
        for (long i = 0; i < count; i++) {
            int bits = floats.getAtIndex(F, floatIndex + i);
            halves.setAtIndex(S, halfIndex + i, (short) HalfScalars.encodeBits(bits));
        }
    }

    @Override
    public void encodeStochastic(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                                 long count, long key, long counterBase) {
        for (long i = 0; i < count; i++) {
            int bits = floats.getAtIndex(F, floatIndex + i);
            int random = CounterRandom.bits(key, counterBase + i);
            halves.setAtIndex(S, halfIndex + i, (short) HalfScalars.encodeStochasticBits(bits, random));
        }
    }

    @Override
    public void decode(MemorySegment halves, long halfIndex, MemorySegment floats, long floatIndex, long count) {
        for (long i = 0; i < count; i++) {
            floats.setAtIndex(F, floatIndex + i, HalfScalars.decodeBits(halves.getAtIndex(S, halfIndex + i)));
        }
    }
}
