package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.quicktheories.QuickTheory.qt;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.generators.Generate;

/**
 * A step split across threads equals the single-threaded step bit for bit, for every optimizer, on
 * native and on heap segments (which must agree too), over several steps.
 */
class ParallelStepTest {
    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        pool = Executors.newFixedThreadPool(3);
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
    }

    /** One of each optimizer, with its state-heavy options on: shared with {@code TeamTest}. */
    static List<LongFunction<Optimizer>> optimizers() {
        return List.of(
                n -> Optimizers.adam(AdamConfig.adamW().withLr(1e-2), n),
                n -> Optimizers.adam(AdamConfig.adam().withWeightDecay(0.1).withAmsgrad(true), n),
                n -> Optimizers.sgd(SgdConfig.sgd(0.1).withMomentum(0.9).withNesterov(true), n),
                n -> Optimizers.rmsProp(RmsPropConfig.rmsProp().withMomentum(0.5).withCentered(true), n));
    }

    @Test
    void parallelAndHeapStepsEqualTheSingleThreadedNativeStep() {
        qt().withExamples(12).forAll(
                Generate.range(1, 200_000).mix(Generate.pick(List.of(1, 17, 65_535, 65_537, 131_073)), 40),
                Generate.range(1, 6), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((n, parallelism, seed) -> {
                SplittableRandom r = new SplittableRandom(seed);
                float[] p0 = TestData.randomFloats(r, n, 1f, false);
                float[][] grads = new float[3][];
                for (int s = 0; s < grads.length; s++) {
                    grads[s] = TestData.randomFloats(r, n, 1f, false);
                }
                for (LongFunction<Optimizer> make : optimizers()) {
                    float[] serial = run(make, n, p0, grads, 0, parallelism);
                    assertSameBits("executor, parallelism " + parallelism, serial, run(make, n, p0, grads, 1, parallelism));
                    assertSameBits("common pool, parallelism " + parallelism, serial, run(make, n, p0, grads, 2, parallelism));
                    assertSameBits("heap segments", serial, run(make, n, p0, grads, 3, parallelism));
                }
            });
    }

    /** Mode 0: serial, native; 1: own executor; 2: common pool; 3: serial over heap segments. */
    private static float[] run(LongFunction<Optimizer> make, int n, float[] p0, float[][] grads, int mode, int parallelism) {
        try (Arena arena = Arena.ofShared(); Optimizer opt = make.apply(n)) {
            float[] heapParams = p0.clone();
            MemorySegment p = mode == 3 ? MemorySegment.ofArray(heapParams) : TestData.nativeCopy(arena, p0);
            for (float[] g : grads) {
                MemorySegment gs = mode == 3 ? MemorySegment.ofArray(g.clone()) : TestData.nativeCopy(arena, g);
                switch (mode) {
                    case 1 -> opt.step(p, gs, pool, parallelism);
                    case 2 -> opt.step(p, gs, parallelism);
                    default -> opt.step(p, gs);
                }
            }
            return TestData.toArray(p);
        }
    }
}
