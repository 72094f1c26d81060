package dev.adamant.fp16.mixed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.SgdConfig;
import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.kernel.Fp16Kernels;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.fp16.scaling.GradientStats;
import dev.adamant.fp16.scaling.Gradients;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * The fused mixed-precision step against the same step done the long way, through public APIs
 * only: decode the 16-bit gradients, unscale them, clip them, run the core optimizer on fp32 master
 * weights, encode the master weights. Bit for bit, over many steps, with loss-scale changes, for fp16
 * and bf16, nearest-even and stochastic rounding, serial and parallel.
 */
class MixedPrecisionOptimizerTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        pool = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
    }

    private static List<LongFunction<Optimizer>> inners() {
        return List.of(
                n -> Optimizers.adam(AdamConfig.adamW().withLr(1e-2), n),
                n -> Optimizers.adam(AdamConfig.adam().withWeightDecay(0.01).withAmsgrad(true), n),
                n -> Optimizers.sgd(SgdConfig.sgd(0.05).withMomentum(0.9).withNesterov(true), n));
    }

    static void encode(Precision p, MemorySegment floats, MemorySegment halves) {
        if (p == Precision.FP16) {
            Half.encode(floats, halves);
        } else {
            BFloat16.encode(floats, halves);
        }
    }

    private static void encode(Precision p, MemorySegment floats, MemorySegment halves, Rounding r, long base) {
        if (p == Precision.FP16) {
            Half.encode(floats, halves, r, base);
        } else {
            BFloat16.encode(floats, halves, r, base);
        }
    }

    private static void decode(Precision p, MemorySegment halves, MemorySegment floats) {
        if (p == Precision.FP16) {
            Half.decode(halves, floats);
        } else {
            BFloat16.decode(halves, floats);
        }
    }

    /** The long way: the reference this test holds the fused step to. */
    static final class Reference implements AutoCloseable {
        final Precision precision;
        final Optimizer opt;
        final DynamicLossScaler scaler;
        final double maxNorm;
        final Rounding rounding;
        final MemorySegment master, grads32;
        final long n;

        Reference(Arena arena, Precision precision, Optimizer opt, DynamicLossScaler scaler, double maxNorm,
                  Rounding rounding, float[] init) {
            this.precision = precision;
            this.opt = opt;
            this.scaler = scaler;
            this.maxNorm = maxNorm;
            this.rounding = rounding;
            this.n = init.length;
            this.master = arena.allocate(n * 4L, 64);
            this.grads32 = arena.allocate(n * 4L, 64);
            MemorySegment.copy(init, 0, master, F, 0, init.length);
        }

        void step(MemorySegment params16, MemorySegment grads16) {
            decode(precision, grads16, grads32);
            float scale = scaler.scale();
            GradientStats stats = Gradients.unscale(grads32, scale);
            if (stats.nonFinite()) {
                scaler.update(true);
                return;
            }
            if (maxNorm > 0) {
                float coef = stats.clipCoefficient(maxNorm);
                for (long i = 0; i < n; i++) {
                    grads32.setAtIndex(F, i, grads32.getAtIndex(F, i) * coef);
                }
            }
            opt.step(master, grads32);
            if (rounding instanceof Rounding.Stochastic) {
                encode(precision, master, params16, rounding, opt.stepCount() * n);
            } else {
                encode(precision, master, params16);
            }
            scaler.update(false);
        }

        @Override
        public void close() {
            opt.close();
        }
    }

    static DynamicLossScaler scaler() {
        return DynamicLossScaler.builder().initScale(1024).growthInterval(3).hysteresis(2).build();
    }

    @Test
    void fusedStepEqualsTheLongWay() {
        qt().withExamples(40).forAll(
                Generate.range(1, 3 * MixedPrecisionOptimizer.TILE + 40)
                        .mix(Generate.pick(List.of(1, 15, 17, 4095, 4096, 4097, 8193,
                                MixedPrecisionOptimizer.TILE + 4097, 2 * MixedPrecisionOptimizer.TILE + 1)), 30),
                Generate.range(0, 15), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((n, variant, seed) -> {
                Precision precision = (variant & 1) == 0 ? Precision.FP16 : Precision.BF16;
                boolean clip = (variant & 2) != 0, stochastic = (variant & 4) != 0, parallel = (variant & 8) != 0;
                LongFunction<Optimizer> make = inners().get(Math.floorMod(seed, 3));
                SplittableRandom r = new SplittableRandom(seed);
                Rounding rounding = stochastic ? Rounding.stochastic(r.nextLong()) : Rounding.nearestEven();
                double maxNorm = clip ? 0.5 + r.nextDouble() * n / 100 : 0;
                float[] init = new float[n];
                for (int i = 0; i < n; i++) {
                    init[i] = (float) r.nextGaussian();
                }
                try (Arena arena = Arena.ofShared();
                     Reference ref = new Reference(arena, precision, make.apply(n), scaler(), maxNorm, rounding, init);
                     MixedPrecisionOptimizer mixed = MixedPrecisionOptimizer.builder(make.apply(n), precision)
                             .lossScaler(scaler()).maxGradNorm(maxNorm).rounding(rounding).build()) {
                    MemorySegment params = arena.allocate(n * 2L, 64), refParams = arena.allocate(n * 2L, 64);
                    mixed.loadMaster(MemorySegment.ofArray(init));
                    mixed.writeParams(params);
                    MemorySegment.copy(params, 0, refParams, 0, n * 2L);
                    MemorySegment g32 = arena.allocate(n * 4L), g16 = arena.allocate(n * 2L, 64);
                    for (int step = 0; step < 8; step++) {
                        float scale = mixed.scaler().scale();
                        assertEquals(ref.scaler.scale(), scale);
                        for (int i = 0; i < n; i++) {
                            g32.setAtIndex(F, i, (float) (r.nextGaussian() * 0.01 * scale));
                        }
                        if (r.nextInt(4) == 0) {   // an overflow somewhere: first, last, or anywhere
                            int at = switch (r.nextInt(3)) { case 0 -> 0; case 1 -> n - 1; default -> r.nextInt(n); };
                            g32.setAtIndex(F, at, r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NaN);
                        }
                        encode(precision, g32, g16);
                        StepReport report = parallel ? mixed.step(params, g16, pool, 3) : mixed.step(params, g16);
                        ref.step(refParams, g16);
                        assertArrayEquals(refParams.toArray(S), params.toArray(S), "params after step " + step);
                        assertArrayEquals(ref.master.toArray(F), mixed.masterWeights().toArray(F), "master");
                        for (String name : ref.opt.stateNames()) {
                            assertArrayEquals(ref.opt.state(name).toArray(F),
                                    mixed.optimizer().state(name).toArray(F), name);
                        }
                        assertEquals(ref.opt.stepCount(), report.step());
                        assertEquals(ref.scaler.scale(), report.nextScale());
                        assertEquals(scale, report.scale());
                    }
                }
            });
    }

    @Test
    void theFusedAdamLoopRunsInPanamaModeOnly() {
        String expected = System.getProperty("adamant.expectKernels");
        assumeTrue(expected != null, "run by the build, which says which kernels to expect");
        assertEquals("panama".equals(expected), Fp16Kernels.fusedAdam() != null);
    }

    @Test
    void aStepSplitAcrossThreadsEqualsTheSerialStep() {
        int n = 3 * 16_384 + MixedPrecisionOptimizer.TILE + 5;   // several chunks, a partial tile at the end
        for (Precision precision : List.of(Precision.FP16, Precision.BF16)) {
            SplittableRandom r = new SplittableRandom(5);
            try (Arena arena = Arena.ofShared();
                 MixedPrecisionOptimizer serial = MixedPrecisionOptimizer.builder(
                         Optimizers.adam(AdamConfig.adamW(), n), precision).maxGradNorm(10).rounding(Rounding.stochastic(3)).build();
                 MixedPrecisionOptimizer parallel = MixedPrecisionOptimizer.builder(
                         Optimizers.adam(AdamConfig.adamW(), n), precision).maxGradNorm(10).rounding(Rounding.stochastic(3)).build()) {
                MemorySegment p1 = arena.allocate(n * 2L), p2 = arena.allocate(n * 2L);
                MemorySegment g32 = arena.allocate(n * 4L), g16 = arena.allocate(n * 2L);
                for (int step = 0; step < 4; step++) {
                    for (int i = 0; i < n; i++) {
                        g32.setAtIndex(F, i, (float) (r.nextGaussian() * 100));
                    }
                    encode(precision, g32, g16);
                    StepReport a = serial.step(p1, g16);
                    StepReport b = parallel.step(p2, g16, pool, 3);
                    assertEquals(a, b);
                    assertArrayEquals(p1.toArray(S), p2.toArray(S));
                    assertArrayEquals(serial.masterWeights().toArray(F), parallel.masterWeights().toArray(F));
                }
            }
        }
    }

    @Test
    void anOverflowAnywhereSkipsTheStepAndModifiesNothing() {
        int n = 2 * MixedPrecisionOptimizer.TILE + 37;   // a tail after the last full vector and tile
        for (Precision precision : List.of(Precision.FP16, Precision.BF16)) {
            for (int at : new int[] {0, 1, 15, 16, n / 2, 2 * MixedPrecisionOptimizer.TILE, n - 37, n - 2, n - 1}) {
                for (float bad : new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN}) {
                    for (double maxNorm : new double[] {0, 1}) {
                        try (Arena arena = Arena.ofShared();
                             MixedPrecisionOptimizer m = MixedPrecisionOptimizer.builder(
                                     Optimizers.adam(AdamConfig.adamW(), n), precision).maxGradNorm(maxNorm).build()) {
                            MemorySegment params = arena.allocate(n * 2L), g32 = arena.allocate(n * 4L);
                            MemorySegment g16 = arena.allocate(n * 2L);
                            for (int i = 0; i < n; i++) {
                                g32.setAtIndex(F, i, 0.5f);
                            }
                            encode(precision, g32, g16);
                            m.step(params, g16);                      // one good step first
                            short[] paramsBefore = params.toArray(S);
                            float[] masterBefore = m.masterWeights().toArray(F);
                            float[] mBefore = m.optimizer().state("exp_avg").toArray(F);
                            float scaleBefore = m.scaler().scale();
                            g32.setAtIndex(F, at, bad);
                            encode(precision, g32, g16);
                            StepReport report = m.step(params, g16, pool, 2);
                            String where = precision + " " + bad + " at " + at;
                            assertTrue(report.skipped(), where);
                            assertEquals(1, report.step(), where);
                            assertEquals(1, m.optimizer().stepCount(), where);
                            assertArrayEquals(paramsBefore, params.toArray(S), where);
                            assertArrayEquals(masterBefore, m.masterWeights().toArray(F), where);
                            assertArrayEquals(mBefore, m.optimizer().state("exp_avg").toArray(F), where);
                            assertEquals(scaleBefore / 2, m.scaler().scale(), where);
                        }
                    }
                }
            }
        }
    }

    @Test
    void bf16WithoutMasterWeightsEqualsTheLongWay() {
        int n = MixedPrecisionOptimizer.TILE + 333;
        SplittableRandom r = new SplittableRandom(11);
        Rounding rounding = Rounding.stochastic(99);
        try (Arena arena = Arena.ofShared();
             Optimizer refOpt = Optimizers.adam(AdamConfig.adamW().withLr(1e-2), n);
             MixedPrecisionOptimizer m = MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adamW().withLr(1e-2), n),
                     Precision.BF16).masterWeights(false).rounding(rounding)
                     .lossScaler(DynamicLossScaler.builder().initScale(1).build()).build()) {
            assertFalse(m.hasMasterWeights());
            MemorySegment params = arena.allocate(n * 2L), refParams = arena.allocate(n * 2L);
            MemorySegment p32 = arena.allocate(n * 4L), g32 = arena.allocate(n * 4L), g16 = arena.allocate(n * 2L);
            for (int i = 0; i < n; i++) {
                p32.setAtIndex(F, i, (float) r.nextGaussian());
            }
            BFloat16.encode(p32, params);
            MemorySegment.copy(params, 0, refParams, 0, n * 2L);
            for (int step = 1; step <= 5; step++) {
                for (int i = 0; i < n; i++) {
                    g32.setAtIndex(F, i, (float) r.nextGaussian());
                }
                BFloat16.encode(g32, g16);
                m.step(params, g16);
                BFloat16.decode(g16, g32);
                BFloat16.decode(refParams, p32);
                refOpt.step(p32, g32);          // scale 1: unscaling multiplies by 1
                BFloat16.encode(p32, refParams, rounding, step * (long) n);
                assertArrayEquals(refParams.toArray(S), params.toArray(S), "step " + step);
            }
        }
    }

    @Test
    void badInputIsRefusedAndChangesNothing() {
        int n = 100;
        assertThrows(IllegalArgumentException.class,
                () -> MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adam(), n), Precision.FP32));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adam(), n), Precision.FP16)
                        .masterWeights(false).build()).getMessage().startsWith("masterWeights"));
        try (Arena arena = Arena.ofShared();
             MixedPrecisionOptimizer m = MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adam(), n),
                     Precision.FP16).build()) {
            MemorySegment params = arena.allocate(n * 2L), grads = arena.allocate(n * 2L);
            message("grads: expected 200 bytes (100 FP16 values), got 400 bytes (that is 100 floats",
                    () -> m.step(params, arena.allocate(n * 4L)));
            message("params: expected 200 bytes", () -> m.step(arena.allocate(n * 2L - 2), grads));
            message("params: expected a writable segment", () -> m.step(params.asReadOnly(), grads));
            message("params and grads: expected disjoint segments, got ones that overlap", () -> m.step(params, params));
            message("parallelism", () -> m.step(params, grads, pool, 0));
            message("floats: expected 400 bytes", () -> m.loadMaster(arena.allocate(n * 2L)));
            message("scale: expected a finite value > 0", () -> m.checkGradients(grads, 0f, null, Runnable::run, 1));
            message("scale: expected a finite value > 0", () -> m.applyUpdate(params, grads, Float.NaN, 1f, Runnable::run, 1));
            message("clipCoefficient", () -> m.applyUpdate(params, grads, 1f, 2f, Runnable::run, 1));
            assertEquals(0, m.optimizer().stepCount());
            assertEquals(65536f, m.scaler().scale());
        }
        MixedPrecisionOptimizer closed = MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adam(), n),
                Precision.BF16).build();
        closed.close();
        closed.close();
        message("closed", () -> closed.step(MemorySegment.ofArray(new short[n]), MemorySegment.ofArray(new short[n])));
    }

    private static void message(String mentions, org.junit.jupiter.api.function.Executable call) {
        Exception e = assertThrows(RuntimeException.class, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(mentions), "expected \"" + mentions + "\" in: "
                + e.getMessage());
    }
}
