package dev.adamant.fp16.panama;

import static dev.adamant.fp16.panama.HalfVectors.FLOATS;
import static dev.adamant.fp16.panama.HalfVectors.HALVES;
import static dev.adamant.fp16.panama.HalfVectors.ORDER;

import dev.adamant.fp16.internal.Codec;
import dev.adamant.fp16.scalar.ScalarCodec;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * The vector Half codec: {@link HalfVectors} over the buffers, the tail handed to
 * {@link ScalarCodec#HALF}, which does the same operations in the same order, so the two agree bit
 * for bit. One pass over memory, 6 bytes per element. The caller has checked the arguments
 * ({@link Codec}).
 *
 * <p>Each loop is written twice, deliberately. Native segments (what the optimizers use) run it
 * inline, in the entry point, after a test of their exact class: C2 then compiles the accesses for
 * that class and ignores the JDK's shared type profiles for segments, which a program that uses
 * several kinds of segment (native, heap over float[], over short[] ...) pollutes, making every
 * vector access some 7 times slower. Other segments run the same loop in a method of its own.
 * (The copy must be in the method that tests the class: a shared loop method gets compiled on its
 * own, with the polluted profiles, and is then too big to inline.)
 *
 * <p>One induction variable, offsets computed from it: C2 compiles this shape some 20% faster than
 * one that also steps the two byte offsets. Not unrolled by hand: C2 unrolls counted Vector API
 * loops itself, and from L2 outward the loop is bound by memory.
 */
final class PanamaHalfCodec implements Codec {
    static final PanamaHalfCodec INSTANCE = new PanamaHalfCodec();
    private static final int LANES = FLOATS.length();
    private static final Class<?> NATIVE = MemorySegment.NULL.getClass();

    private PanamaHalfCodec() {}

    @Override
    public void encode(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex, long count) {
        if (floats.getClass() != NATIVE || halves.getClass() != NATIVE) {
            encodeAny(floats, floatIndex, halves, halfIndex, count);
            return;
        }
        final long bound = FLOATS.loopBound(count);
        final long f = floatIndex * Float.BYTES;
        final long h = halfIndex * Short.BYTES;
        for (long i = 0; i < bound; i += LANES) {
            HalfVectors.encode(FloatVector.fromMemorySegment(FLOATS, floats, f + i * Float.BYTES, ORDER))
                    .intoMemorySegment(halves, h + i * Short.BYTES, ORDER);
        }
        ScalarCodec.HALF.encode(floats, floatIndex + bound, halves, halfIndex + bound, count - bound);
    }

    /** {@link #encode}'s loop for segments of any class. */
    private static void encodeAny(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                                  long count) {
        final long bound = FLOATS.loopBound(count);
        final long f = floatIndex * Float.BYTES;
        final long h = halfIndex * Short.BYTES;
        for (long i = 0; i < bound; i += LANES) {
            HalfVectors.encode(FloatVector.fromMemorySegment(FLOATS, floats, f + i * Float.BYTES, ORDER))
                    .intoMemorySegment(halves, h + i * Short.BYTES, ORDER);
        }
        ScalarCodec.HALF.encode(floats, floatIndex + bound, halves, halfIndex + bound, count - bound);
    }

    @Override
    public void encodeStochastic(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                                 long count, long key, long counterBase) {
        if (floats.getClass() != NATIVE || halves.getClass() != NATIVE) {
            encodeStochasticAny(floats, floatIndex, halves, halfIndex, count, key, counterBase);
            return;
        }
        final long bound = FLOATS.loopBound(count);
        final long f = floatIndex * Float.BYTES;
        final long h = halfIndex * Short.BYTES;
        for (long i = 0; i < bound; i += LANES) {
            HalfVectors.encodeStochastic(FloatVector.fromMemorySegment(FLOATS, floats, f + i * Float.BYTES, ORDER),
                    CounterRandomVectors.bits(key, counterBase + i)).intoMemorySegment(halves, h + i * Short.BYTES, ORDER);
        }
        ScalarCodec.HALF.encodeStochastic(floats, floatIndex + bound, halves, halfIndex + bound,
                count - bound, key, counterBase + bound);
    }

    /** {@link #encodeStochastic}'s loop for segments of any class. */
    private static void encodeStochasticAny(MemorySegment floats, long floatIndex, MemorySegment halves,
                                            long halfIndex, long count, long key, long counterBase) {
        final long bound = FLOATS.loopBound(count);
        final long f = floatIndex * Float.BYTES;
        final long h = halfIndex * Short.BYTES;
        for (long i = 0; i < bound; i += LANES) {
            HalfVectors.encodeStochastic(FloatVector.fromMemorySegment(FLOATS, floats, f + i * Float.BYTES, ORDER),
                    CounterRandomVectors.bits(key, counterBase + i)).intoMemorySegment(halves, h + i * Short.BYTES, ORDER);
        }
        ScalarCodec.HALF.encodeStochastic(floats, floatIndex + bound, halves, halfIndex + bound,
                count - bound, key, counterBase + bound);
    }

    @Override
    public void decode(MemorySegment halves, long halfIndex, MemorySegment floats, long floatIndex, long count) {
        if (floats.getClass() != NATIVE || halves.getClass() != NATIVE) {
            decodeAny(halves, halfIndex, floats, floatIndex, count);
            return;
        }
        final long bound = FLOATS.loopBound(count);
        final long f = floatIndex * Float.BYTES;
        final long h = halfIndex * Short.BYTES;
        for (long i = 0; i < bound; i += LANES) {
            HalfVectors.decode(ShortVector.fromMemorySegment(HALVES, halves, h + i * Short.BYTES, ORDER))
                    .intoMemorySegment(floats, f + i * Float.BYTES, ORDER);
        }
        ScalarCodec.HALF.decode(halves, halfIndex + bound, floats, floatIndex + bound, count - bound);
    }

    /** {@link #decode}'s loop for segments of any class. */
    private static void decodeAny(MemorySegment halves, long halfIndex, MemorySegment floats, long floatIndex,
                                  long count) {
        final long bound = FLOATS.loopBound(count);
        final long f = floatIndex * Float.BYTES;
        final long h = halfIndex * Short.BYTES;
        for (long i = 0; i < bound; i += LANES) {
            HalfVectors.decode(ShortVector.fromMemorySegment(HALVES, halves, h + i * Short.BYTES, ORDER))
                    .intoMemorySegment(floats, f + i * Float.BYTES, ORDER);
        }
        ScalarCodec.HALF.decode(halves, halfIndex + bound, floats, floatIndex + bound, count - bound);
    }
}
