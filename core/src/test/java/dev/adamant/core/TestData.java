package dev.adamant.core;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Random buffers and bitwise comparison for the tests. */
final class TestData {
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private TestData() {}

    /** {@code n} floats in [-scale, scale), with an occasional zero, -0, tiny or huge value. */
    static float[] randomFloats(SplittableRandom r, int n, float scale, boolean specials) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
            if (specials && r.nextInt(64) == 0) {
                a[i] = switch (r.nextInt(5)) {
                    case 0 -> 0f;
                    case 1 -> -0f;
                    case 2 -> Float.MIN_VALUE * (1 + r.nextInt(100));
                    case 3 -> 1e30f;
                    default -> -1e-30f;
                };
            }
        }
        return a;
    }

    /** Non-negative floats (second moments must be). */
    static float[] randomSquares(SplittableRandom r, int n, float scale) {
        float[] a = randomFloats(r, n, scale, false);
        for (int i = 0; i < n; i++) {
            a[i] = a[i] * a[i];
        }
        return a;
    }

    /** A native copy of {@code a}. */
    static MemorySegment nativeCopy(Arena arena, float[] a) {
        MemorySegment s = arena.allocate((long) a.length * Float.BYTES, 64);
        MemorySegment.copy(a, 0, s, F, 0, a.length);
        return s;
    }

    static float[] toArray(MemorySegment s) {
        float[] a = new float[(int) (s.byteSize() / Float.BYTES)];
        MemorySegment.copy(s, F, 0, a, 0, a.length);
        return a;
    }

    /** Bit-for-bit equality, every NaN equal to every NaN (payloads are not specified). */
    static void assertSameBits(String what, float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError(what + ": lengths differ: " + expected.length + " vs " + actual.length);
        }
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                throw new AssertionError(what + ": index " + i + " of " + expected.length + ": expected "
                        + expected[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(expected[i]))
                        + "), got " + actual[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(actual[i]))
                        + ")");
            }
        }
    }
}
