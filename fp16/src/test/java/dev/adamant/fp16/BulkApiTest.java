package dev.adamant.fp16;

import static dev.adamant.fp16.TestSupport.hex16;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The public bulk entry points over the shapes callers use: native and heap segments, slices,
 * element offsets, awkward sizes; each element as the scalar conversion gives it, and nothing
 * outside the range touched.
 */
class BulkApiTest {
    private static final int[] SIZES = {0, 1, 15, 16, 17, 31, 33, 1021, 4099};
    private static final short SENTINEL = (short) 0xBEEF;

    @Test
    void rangedEncodeAndDecodeOverNativeAndHeapSlices() {
        SplittableRandom rnd = new SplittableRandom(6);
        for (int n : SIZES) {
            for (boolean nativeMemory : new boolean[] {true, false}) {
                for (boolean half : new boolean[] {true, false}) {
                    int floatIndex = rnd.nextInt(20);
                    int halfIndex = rnd.nextInt(20);
                    float[] values = StochasticRoundingTest.inputs(n, floatIndex + n + 7);
                    short[] sentinel = new short[halfIndex + n + 9];
                    java.util.Arrays.fill(sentinel, SENTINEL);
                    try (Arena arena = Arena.ofConfined()) {
                        // Slices that do not start at the buffer's start.
                        MemorySegment floats = segment(arena, nativeMemory, MemorySegment.ofArray(values)).asSlice(0);
                        MemorySegment halves = segment(arena, nativeMemory, MemorySegment.ofArray(sentinel)).asSlice(2);
                        if (half) {
                            Half.encode(floats, floatIndex, halves, halfIndex, n);
                        } else {
                            BFloat16.encode(floats, floatIndex, halves, halfIndex, n);
                        }
                        short[] got = halves.toArray(ValueLayout.JAVA_SHORT);
                        for (int i = 0; i < got.length; i++) {
                            int k = i - halfIndex;
                            short expected = k >= 0 && k < n
                                    ? (half ? Half.fromFloat(values[floatIndex + k]) : BFloat16.fromFloat(values[floatIndex + k]))
                                    : SENTINEL;
                            assertEquals(hex16(expected), hex16(got[i]), "n " + n + ", element " + i);
                        }
                        // And back, into floats prefilled with a sentinel.
                        float[] back = new float[floatIndex + n + 3];
                        java.util.Arrays.fill(back, -123f);
                        MemorySegment backSeg = segment(arena, nativeMemory, MemorySegment.ofArray(back));
                        if (half) {
                            Half.decode(halves, halfIndex, backSeg, floatIndex, n);
                        } else {
                            BFloat16.decode(halves, halfIndex, backSeg, floatIndex, n);
                        }
                        float[] decoded = backSeg.toArray(ValueLayout.JAVA_FLOAT);
                        for (int i = 0; i < decoded.length; i++) {
                            int k = i - floatIndex;
                            float expected = k >= 0 && k < n
                                    ? (half ? Half.toFloat(got[halfIndex + k]) : BFloat16.toFloat(got[halfIndex + k]))
                                    : -123f;
                            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(decoded[i]), "n " + n + ", float " + i);
                        }
                    }
                }
            }
        }
    }

    private static MemorySegment segment(Arena arena, boolean nativeMemory, MemorySegment heap) {
        return nativeMemory ? arena.allocate(heap.byteSize() + 8, 8).asSlice(4, heap.byteSize()).copyFrom(heap) : heap;
    }

    @Test
    void wholeSegmentOverloadsConvertEverything() {
        float[] values = StochasticRoundingTest.inputs(7, 1001);
        short[] a = new short[values.length];
        short[] b = new short[values.length];
        Half.encode(MemorySegment.ofArray(values), MemorySegment.ofArray(a));
        Half.encode(MemorySegment.ofArray(values), 0, MemorySegment.ofArray(b), 0, values.length, Rounding.nearestEven(), 99);
        assertArrayEquals(a, b);
        for (int i = 0; i < values.length; i++) {
            assertEquals(Half.fromFloat(values[i]), a[i]);
        }
        short[] s = new short[values.length];
        Half.encode(MemorySegment.ofArray(values), MemorySegment.ofArray(s), Rounding.stochastic(3), 10);
        for (int i = 0; i < values.length; i++) {
            assertEquals(Half.fromFloat(values[i], 3, 10 + i), s[i]);
        }
        float[] back = new float[values.length];
        BFloat16.encode(MemorySegment.ofArray(values), MemorySegment.ofArray(a));
        BFloat16.decode(MemorySegment.ofArray(a), MemorySegment.ofArray(back));
        for (int i = 0; i < values.length; i++) {
            assertEquals(Float.floatToRawIntBits(BFloat16.toFloat(BFloat16.fromFloat(values[i]))), Float.floatToRawIntBits(back[i]));
        }
        // Empty buffers are fine.
        Half.encode(MemorySegment.ofArray(new float[0]), MemorySegment.ofArray(new short[0]));
        BFloat16.decode(MemorySegment.ofArray(new short[0]), MemorySegment.ofArray(new float[0]));
    }

    @Test
    void readOnlySourcesAreAccepted() {
        float[] values = {1f, 2f, 3f};
        short[] out = new short[3];
        Half.encode(MemorySegment.ofArray(values).asReadOnly(), MemorySegment.ofArray(out));
        float[] back = new float[3];
        Half.decode(MemorySegment.ofArray(out).asReadOnly(), MemorySegment.ofArray(back));
        assertArrayEquals(values, back);
    }

    @Test
    void roundingHasReadableNamesAndValueSemantics() {
        assertEquals("nearestEven", Rounding.nearestEven().toString());
        assertEquals("stochastic(seed=5)", Rounding.stochastic(5).toString());
        assertEquals(Rounding.stochastic(5), Rounding.stochastic(5));
        assertEquals(Rounding.nearestEven(), Rounding.nearestEven());
    }
}
