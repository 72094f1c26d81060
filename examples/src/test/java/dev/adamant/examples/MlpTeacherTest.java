package dev.adamant.examples;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The task's data and the initial parameters, against independent computations and their distributions. */
class MlpTeacherTest {
    @Test
    void targetsAreTheTeachersForwardPass() {
        int[] widths = {12, 20, 17, 3};
        int rows = 10;
        long seed = 99;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment x = arena.allocate(4L * rows * 12, 64), t = arena.allocate(4L * rows * 3, 64);
            new Teacher(widths, seed).sample(7, 2, x, t, rows);
            MemorySegment flat = arena.allocate(4 * Mlp.parameters(widths), 64);
            Mlp.initialize(widths, flat, seed);
            double[] params = new double[(int) Mlp.parameters(widths)];
            for (int i = 0; i < params.length; i++) {
                params[i] = flat.getAtIndex(JAVA_FLOAT, i);
            }
            double[][] in = new double[rows][12];
            for (int b = 0; b < rows; b++) {
                for (int i = 0; i < 12; i++) {
                    in[b][i] = x.getAtIndex(JAVA_FLOAT, b * 12L + i);
                }
            }
            ReferenceMlp ref = new ReferenceMlp(widths);
            double[][] exact = ref.forward(params, in, false)[3];
            double[][] bound = ref.forward(params, in, true)[3];
            for (int b = 0; b < rows; b++) {
                for (int o = 0; o < 3; o++) {
                    // fp32 chains of at most 21 fused multiply-adds per layer, 3 layers: 2 * 60 units of 2^-24.
                    assertEquals(exact[b][o], t.getAtIndex(JAVA_FLOAT, b * 3L + o), 120 * 0x1p-24 * bound[b][o],
                            "row " + b + " output " + o);
                }
            }
        }
    }

    @Test
    void inputsAreStandardNormalAndTargetsOfUnitScale() {
        int[] widths = {256, 128, 128, 8};
        int rows = 64;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment x = arena.allocate(4L * rows * 256, 64), t = arena.allocate(4L * rows * 8, 64);
            new Teacher(widths, 1).sample(0, 0, x, t, rows);
            double[] m = moments(x);
            assertEquals(0, m[0], 0.04, "mean of 16384 normals (5 standard errors)");
            assertEquals(1, m[1], 0.06, "variance of 16384 normals (5 standard errors)");
            double[] mt = moments(t);
            double second = mt[1] + mt[0] * mt[0];
            assertTrue(second > 0.25 && second < 4, "targets' second moment, about 1 by construction: " + second);
        }
    }

    private static double[] moments(MemorySegment s) {
        float[] f = s.toArray(JAVA_FLOAT);
        double sum = 0, sq = 0;
        for (float v : f) {
            sum += v;
            sq += (double) v * v;
        }
        double mean = sum / f.length;
        return new double[] {mean, sq / f.length - mean * mean};
    }

    @Test
    void bulkNormalsAreTheElementwiseOnes() {
        try (Arena arena = Arena.ofShared()) {
            for (int count : new int[] {0, 1, 2, 7, 64}) {
                MemorySegment s = arena.allocate(4L * count + 4, 4);
                long key = Draws.key(5, 6, 7);
                Draws.fillGaussians(key, s, count);
                for (int i = 0; i < count; i++) {
                    assertEquals((float) Draws.gaussian(key, i), s.getAtIndex(JAVA_FLOAT, i), "normal " + i);
                }
            }
        }
    }

    @Test
    void initializationIsHeUniformWithZeroBiases() {
        int[] widths = {200, 300, 10};
        try (Arena arena = Arena.ofShared()) {
            MemorySegment p = arena.allocate(4 * Mlp.parameters(widths), 64);
            Mlp.initialize(widths, p, 3);
            long offset = 0;
            for (int l = 0; l < 2; l++) {
                int in = widths[l], out = widths[l + 1];
                double bound = Math.sqrt((l == 0 ? 6.0 : 3.0) / in);
                double sum = 0, sq = 0;
                for (long j = 0; j < (long) out * in; j++) {
                    float w = p.getAtIndex(JAVA_FLOAT, offset + j);
                    assertTrue(w >= -bound && w <= bound, "layer " + l + " weight " + j + " = " + w);
                    sum += w;
                    sq += (double) w * w;
                }
                long n = (long) out * in;
                // Uniform(-c, c): mean 0, variance c^2 / 3; 5 standard errors.
                assertEquals(0, sum / n, 5 * bound / Math.sqrt(3 * n), "layer " + l + " mean");
                assertEquals(bound * bound / 3, sq / n, 5 * bound * bound * Math.sqrt(4.0 / 45 / n),
                        "layer " + l + " variance");
                for (int o = 0; o < out; o++) {
                    assertEquals(0f, p.getAtIndex(JAVA_FLOAT, offset + n + o), "layer " + l + " bias " + o);
                }
                offset += n + out;
            }
        }
    }
}
