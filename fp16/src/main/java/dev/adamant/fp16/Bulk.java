package dev.adamant.fp16;

import dev.adamant.fp16.internal.Codec;
import java.lang.foreign.MemorySegment;

/**
 * The bulk entry points that {@link Half} and {@link BFloat16} share: check the arguments, then run
 * the format's codec. One place, so that both formats refuse the same bad input the same way.
 */
final class Bulk {
    private Bulk() {}

    static void encode(Codec codec, MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                       long count, Rounding rounding, long counterBase) {
        Args.checkEncode(floats, floatIndex, halves, halfIndex, count, rounding);
        switch (rounding) {
            case Rounding.NearestEven r -> codec.encode(floats, floatIndex, halves, halfIndex, count);
            case Rounding.Stochastic s ->
                    codec.encodeStochastic(floats, floatIndex, halves, halfIndex, count, s.key(), counterBase);
        }
    }

    static void encodeAll(Codec codec, MemorySegment floats, MemorySegment halves, Rounding rounding, long counterBase) {
        long n = Args.wholeCount(floats, halves);
        encode(codec, floats, 0, halves, 0, n, rounding, counterBase);
    }

    static void decode(Codec codec, MemorySegment halves, long halfIndex, MemorySegment floats, long floatIndex,
                       long count) {
        Args.checkDecode(halves, halfIndex, floats, floatIndex, count);
        codec.decode(halves, halfIndex, floats, floatIndex, count);
    }

    static void decodeAll(Codec codec, MemorySegment halves, MemorySegment floats) {
        long n = Args.wholeCount(floats, halves);
        decode(codec, halves, 0, floats, 0, n);
    }
}
