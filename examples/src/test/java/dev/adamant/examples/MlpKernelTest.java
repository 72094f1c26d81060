package dev.adamant.examples;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.adamant.examples.kernel.DenseKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Every dense kernel against the chain its javadoc writes down, computed here on plain arrays, bit
 * for bit, on awkward sizes (0, 1, around one and two vectors of 8 and 16 lanes, odd row counts).
 * Both implementations run every case, so they also agree with each other.
 */
class MlpKernelTest {
    private static final int[] SIZES = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64, 65};
    private static final SplittableRandom RANDOM = new SplittableRandom(1);

    private static float[] random(int n) {
        float[] f = MlpFixtures.normals(RANDOM, n, 1);
        for (int i = 0; i < n; i += 7) {
            f[i] = 0f;                       // exact zeros: ReLU and the mask see ties
        }
        if (n > 3) {
            f[3] = -0f;
        }
        return f;
    }

    private static void assertBits(float[] expected, MemorySegment actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            float a = actual.getAtIndex(JAVA_FLOAT, i);
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(a),
                    what + " at " + i + ": expected " + expected[i] + ", got " + a);
        }
    }

    @Test
    void multiplyFollowsTheFmaChain() {
        for (DenseKernel kernel : MlpFixtures.kernels()) {
            for (int m : new int[] {1, 3, 4, 5, 9}) {
                for (int n : SIZES) {
                    for (int k : new int[] {0, 1, 2, 17}) {
                        for (boolean transposedA : new boolean[] {false, true}) {
                            for (boolean withInit : new boolean[] {false, true}) {
                                check(kernel, m, n, k, transposedA, withInit);
                            }
                        }
                    }
                }
            }
        }
    }

    private static void check(DenseKernel kernel, int m, int n, int k, boolean transposedA, boolean withInit) {
        float[] a = random(m * k), b = random(k * n), init = withInit ? random(n) : null;
        long rowStride = transposedA ? 1 : k, colStride = transposedA ? m : 1;
        float[] expected = new float[m * n];
        for (int r = 0; r < m; r++) {
            for (int j = 0; j < n; j++) {
                float acc = init == null ? 0f : init[j];
                for (int q = 0; q < k; q++) {
                    acc = Math.fma(a[(int) (r * rowStride + q * colStride)], b[q * n + j], acc);
                }
                expected[r * n + j] = acc;
            }
        }
        try (Arena arena = Arena.ofShared()) {
            // Exact-size segments: masked tails must not read or write past their ends.
            MemorySegment c = arena.allocate(4L * m * n + 4, 64);
            c.fill((byte) 0x7F);
            kernel.multiply(MlpFixtures.floats(arena, a), rowStride, colStride, MlpFixtures.floats(arena, b),
                    init == null ? null : MlpFixtures.floats(arena, init), c.asSlice(0, 4L * m * n), m, n, k);
            String what = kernel.name() + " multiply m=" + m + " n=" + n + " k=" + k + (transposedA ? " a^T" : "")
                    + (withInit ? " +init" : "");
            assertBits(expected, c, what);
            assertEquals(0x7F7F7F7F, c.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, (long) m * n),
                    what + ": wrote past the end");
        }
    }

    @Test
    void elementwiseKernelsFollowTheirFormulas() {
        for (DenseKernel kernel : MlpFixtures.kernels()) {
            for (int n : SIZES) {
                float[] x = random(n), y = random(n), t = random(n);
                float scale = 0.37f;
                float[] relu = new float[n], masked = new float[n], diff = new float[n];
                for (int i = 0; i < n; i++) {
                    relu[i] = Math.max(x[i], 0f);
                    masked[i] = y[i] > 0f ? x[i] : 0f;
                    diff[i] = scale * (y[i] - t[i]);
                }
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment s = MlpFixtures.floats(arena, x);
                    kernel.relu(s, n);
                    assertBits(relu, s, kernel.name() + " relu n=" + n);
                    s = MlpFixtures.floats(arena, x);
                    kernel.keepWherePositive(s, MlpFixtures.floats(arena, y), n);
                    assertBits(masked, s, kernel.name() + " keepWherePositive n=" + n);
                    MemorySegment d = arena.allocate(4L * n + 4, 64);
                    kernel.scaledDifference(MlpFixtures.floats(arena, y), MlpFixtures.floats(arena, t), scale, d, n);
                    assertBits(diff, d, kernel.name() + " scaledDifference n=" + n);
                }
            }
        }
    }

    @Test
    void columnSumsAndTranspose() {
        for (DenseKernel kernel : MlpFixtures.kernels()) {
            for (int m : new int[] {1, 2, 5, 16, 17, 40}) {
                for (int n : SIZES) {
                    float[] a = random(m * n);
                    float[] sums = new float[n], transposed = new float[m * n];
                    for (int j = 0; j < n; j++) {
                        float acc = 0f;
                        for (int r = 0; r < m; r++) {
                            acc = acc + a[r * n + j];
                            transposed[j * m + r] = a[r * n + j];
                        }
                        sums[j] = acc;
                    }
                    try (Arena arena = Arena.ofShared()) {
                        MemorySegment src = MlpFixtures.floats(arena, a);
                        MemorySegment s = arena.allocate(4L * n + 4, 64);
                        kernel.columnSums(src, s, m, n);
                        assertBits(sums, s, kernel.name() + " columnSums m=" + m + " n=" + n);
                        MemorySegment t = arena.allocate(4L * m * n + 4, 64);
                        kernel.transpose(src, m, n, t);
                        assertBits(transposed, t, kernel.name() + " transpose " + m + " x " + n);
                    }
                }
            }
        }
    }
}
