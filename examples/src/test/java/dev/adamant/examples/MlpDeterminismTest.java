package dev.adamant.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.examples.MlpFixtures.Pass;
import dev.adamant.examples.MlpFixtures.Problem;
import dev.adamant.examples.kernel.DenseKernels;
import dev.adamant.fp16.Precision;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Same inputs and parameters, same bits: across calls, instances, threads and kernel modes. */
class MlpDeterminismTest {
    private static final int[] WIDTHS = {24, 40, 33, 7};
    private static final int BATCH = 13;

    private static void assertSameBits(Pass a, Pass b, String what) {
        assertEquals(Float.floatToRawIntBits(a.loss()), Float.floatToRawIntBits(b.loss()), what + ": loss");
        assertArrayEquals(a.output(), b.output(), what + ": output");
        for (int l = 0; l < a.grads16().length; l++) {
            assertArrayEquals(a.grads16()[l], b.grads16()[l], what + ": 16-bit gradient of layer " + l);
            int[] x = new int[a.grads32()[l].length], y = new int[x.length];
            for (int j = 0; j < x.length; j++) {
                x[j] = Float.floatToRawIntBits(a.grads32()[l][j]);
                y[j] = Float.floatToRawIntBits(b.grads32()[l][j]);
            }
            assertArrayEquals(x, y, what + ": fp32 gradient of layer " + l);
        }
    }

    @Test
    void repeatedCallsInstancesAndThreadsAgree() throws Exception {
        Problem p = new Problem(WIDTHS, Precision.FP16, BATCH, 31);
        try (Mlp a = new Mlp(WIDTHS, Precision.FP16, BATCH); Mlp b = new Mlp(WIDTHS, Precision.FP16, BATCH)) {
            Pass first = MlpFixtures.run(a, p, 512, 4 * BATCH);
            assertSameBits(first, MlpFixtures.run(a, p, 512, 4 * BATCH), "same model, again");
            assertSameBits(first, MlpFixtures.run(b, p, 512, 4 * BATCH), "another model");
            Pass other = CompletableFuture.supplyAsync(() -> MlpFixtures.run(b, p, 512, 4 * BATCH)).get();
            assertSameBits(first, other, "another thread");
        }
    }

    @Test
    void panamaAndScalarKernelsAgreeBitForBit() {
        assumeTrue(DenseKernels.panamaOrNull() != null, "the Vector API is not available");
        for (Precision precision : new Precision[] {Precision.FP16, Precision.BF16}) {
            Problem p = new Problem(WIDTHS, precision, BATCH, 32);
            try (Mlp vector = new Mlp(WIDTHS, precision, BATCH, DenseKernels.panamaOrNull());
                 Mlp scalar = new Mlp(WIDTHS, precision, BATCH, DenseKernels.scalar())) {
                assertSameBits(MlpFixtures.run(vector, p, 1024, BATCH), MlpFixtures.run(scalar, p, 1024, BATCH),
                        "panama vs scalar, " + precision);
            }
        }
    }

    @Test
    void teacherSamplesDependOnSeedStepAndRankOnly() throws Exception {
        int[] widths = {20, 30, 5};
        int rows = 9;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment x1 = arena.allocate(4L * rows * 20, 64), t1 = arena.allocate(4L * rows * 5, 64);
            MemorySegment x2 = arena.allocate(4L * rows * 20, 64), t2 = arena.allocate(4L * rows * 5, 64);
            Teacher teacher = new Teacher(widths, 5);
            teacher.sample(3, 1, x1, t1, rows);
            teacher.sample(0, 0, x2, t2, rows);                 // something else in between
            Teacher again = new Teacher(widths, 5);
            CompletableFuture.runAsync(() -> again.sample(3, 1, x2, t2, rows)).get();
            assertArrayEquals(MlpFixtures.toFloats(x1), MlpFixtures.toFloats(x2), "inputs");
            assertArrayEquals(MlpFixtures.toFloats(t1), MlpFixtures.toFloats(t2), "targets");

            // Either kernel gives the same targets.
            if (DenseKernels.panamaOrNull() != null) {
                new Teacher(widths, 5, DenseKernels.scalar()).sample(3, 1, x2, t2, rows);
                assertArrayEquals(MlpFixtures.toFloats(t1), MlpFixtures.toFloats(t2), "targets, scalar kernels");
                new Teacher(widths, 5, DenseKernels.panamaOrNull()).sample(3, 1, x2, t2, rows);
                assertArrayEquals(MlpFixtures.toFloats(t1), MlpFixtures.toFloats(t2), "targets, panama kernels");
            }

            // Fewer rows are a prefix.
            MemorySegment x3 = arena.allocate(4L * 4 * 20, 64), t3 = arena.allocate(4L * 4 * 5, 64);
            teacher.sample(3, 1, x3, t3, 4);
            assertArrayEquals(MlpFixtures.toFloats(x1.asSlice(0, x3.byteSize())), MlpFixtures.toFloats(x3), "prefix");
            assertArrayEquals(MlpFixtures.toFloats(t1.asSlice(0, t3.byteSize())), MlpFixtures.toFloats(t3), "prefix");

            // Another rank, step or seed gives other inputs.
            for (long[] other : new long[][] {{3, 2, 5}, {4, 1, 5}, {3, 1, 6}}) {
                new Teacher(widths, other[2]).sample(other[0], (int) other[1], x2, t2, rows);
                float[] a = MlpFixtures.toFloats(x1), b = MlpFixtures.toFloats(x2);
                int same = 0;
                for (int i = 0; i < a.length; i++) {
                    same += a[i] == b[i] ? 1 : 0;
                }
                assertEquals(0, same, "step/rank/seed " + java.util.Arrays.toString(other));
            }
        }
    }

    @Test
    void initializeDependsOnWidthsAndSeedOnly() {
        int[] widths = {9, 17, 4};
        long n = Mlp.parameters(widths);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = arena.allocate(4 * n, 64), b = arena.allocate(4 * n, 64);
            Mlp.initialize(widths, a, 77);
            Mlp.initialize(widths, b, 77);
            assertArrayEquals(MlpFixtures.toFloats(a), MlpFixtures.toFloats(b));
        }
    }
}
