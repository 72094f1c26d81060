package dev.adamant.fp16.mixed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.StateFormat;
import dev.adamant.core.Team;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The mixed-precision step over an 8-bit block-wise inner optimizer (AdamW with bitsandbytes'
 * states): every path (serial, executor chunks, team shares) against the long way through public
 * APIs (decode the 16-bit gradients, unscale, clip, run the core 8-bit optimizer on fp32 master
 * weights, encode), bit for bit, parameters, master weights and every state buffer (codes and
 * absmax) alike, on sizes above 4096 that are not multiples of 256; and save/restore through
 * {@code stateNames}/{@code restore}, whose buffers are no longer all n floats.
 */
class Blockwise8MixedPrecisionTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfByte B = ValueLayout.JAVA_BYTE;
    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        pool = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
    }

    static AdamConfig config() {
        return AdamConfig.adamW().withLr(1e-2).withStateFormat(StateFormat.BLOCKWISE_8BIT);
    }

    private static byte[] bytes(MemorySegment s) {
        return s.toArray(B);
    }

    /**
     * Seven steps (one with an injected overflow) of {@code mode}: 0 serial, 1 an executor of 3
     * chunks, 2 a team of 2; each compared with the long way after every step.
     */
    @ParameterizedTest(name = "n={0}, {1}, mode={2}, clip={3}, stochastic={4}")
    @CsvSource({
        "4097, FP16, 0, false, false",
        "5000, BF16, 0, true, true",
        "20000, FP16, 1, true, false",
        "53249, BF16, 1, false, true",      // 3 tiles + 4097: several chunks, a partial block at the end
        "135169, FP16, 2, true, false",     // 2 x Team.MIN_SHARE + 4097: two team shares
        "135169, BF16, 2, false, true"})
    void aStepEqualsTheLongWayBitForBit(int n, Precision precision, int mode, boolean clip, boolean stochastic) {
        assertNotEquals(0, n % 256, "a partial block at the end");
        SplittableRandom r = new SplittableRandom(n * 31L + mode);
        Rounding rounding = stochastic ? Rounding.stochastic(r.nextLong()) : Rounding.nearestEven();
        double maxNorm = clip ? 0.5 : 0;
        float[] init = new float[n];
        for (int i = 0; i < n; i++) {
            init[i] = (float) r.nextGaussian();
        }
        try (Arena arena = Arena.ofShared(); Team team = Team.create(2);
             MixedPrecisionOptimizerTest.Reference ref = new MixedPrecisionOptimizerTest.Reference(arena, precision,
                     Optimizers.adam(config(), n), MixedPrecisionOptimizerTest.scaler(), maxNorm, rounding, init);
             MixedPrecisionOptimizer mixed = MixedPrecisionOptimizer.builder(Optimizers.adam(config(), n), precision)
                     .lossScaler(MixedPrecisionOptimizerTest.scaler()).maxGradNorm(maxNorm).rounding(rounding).build()) {
            assertEquals(List.of("state1", "absmax1", "state2", "absmax2"), mixed.optimizer().stateNames());
            MemorySegment params = arena.allocate(n * 2L, 64), refParams = arena.allocate(n * 2L, 64);
            mixed.loadMaster(MemorySegment.ofArray(init));
            mixed.writeParams(params);
            MemorySegment.copy(params, 0, refParams, 0, n * 2L);
            MemorySegment g32 = arena.allocate(n * 4L), g16 = arena.allocate(n * 2L, 64);
            int skipped = 0;
            for (int step = 0; step < 7; step++) {
                float scale = mixed.scaler().scale();
                for (int i = 0; i < n; i++) {
                    // Mostly small gradients with a few large ones, so blocks' absmax differ widely.
                    double g = r.nextInt(64) == 0 ? r.nextGaussian() : r.nextGaussian() * 0.01;
                    g32.setAtIndex(F, i, (float) (g * scale));
                }
                if (step == 3) {
                    g32.setAtIndex(F, n - 1, Float.POSITIVE_INFINITY);   // in the partial last block
                }
                MixedPrecisionOptimizerTest.encode(precision, g32, g16);
                StepReport report = switch (mode) {
                    case 0 -> mixed.step(params, g16);
                    case 1 -> mixed.step(params, g16, pool, 3);
                    default -> mixed.step(params, g16, team);
                };
                ref.step(refParams, g16);
                skipped += report.skipped() ? 1 : 0;
                String where = "step " + step;
                assertArrayEquals(refParams.toArray(S), params.toArray(S), where + ": params");
                assertArrayEquals(ref.master.toArray(F), mixed.masterWeights().toArray(F), where + ": master");
                for (String name : ref.opt.stateNames()) {
                    assertArrayEquals(bytes(ref.opt.state(name)), bytes(mixed.optimizer().state(name)), where + ": " + name);
                }
                assertEquals(ref.opt.stepCount(), report.step(), where);
                assertEquals(ref.scaler.scale(), report.nextScale(), where);
            }
            assertEquals(1, skipped, "the injected overflow skipped one step");
            // The moments really are 8-bit: n bytes of codes, a float of absmax a block.
            assertEquals(n, mixed.optimizer().state("state1").byteSize());
            assertEquals((n + 255) / 256 * 4L, mixed.optimizer().state("absmax2").byteSize());
            assertTrue(mixed.optimizer().state("absmax1").toArray(F)[0] > 0, "the state moved");
        }
    }

    /**
     * Save by {@code stateNames}/{@code state} and {@code restore} into a fresh optimizer (each buffer
     * at its own size: n bytes of codes, ceil(n/256) floats of absmax), then both continue: the
     * same bits as the run that was never interrupted.
     */
    @Test
    void aRestoredOptimizerContinuesAsTheUninterruptedRun() {
        int n = 3 * MixedPrecisionOptimizer.TILE + 4097;
        for (Precision precision : List.of(Precision.FP16, Precision.BF16)) {
            SplittableRandom r = new SplittableRandom(7);
            try (Arena arena = Arena.ofShared();
                 MixedPrecisionOptimizer straight = MixedPrecisionOptimizer.builder(Optimizers.adam(config(), n), precision)
                         .lossScaler(MixedPrecisionOptimizerTest.scaler()).rounding(Rounding.stochastic(5)).build()) {
                MemorySegment p1 = arena.allocate(n * 2L), g32 = arena.allocate(n * 4L), g16 = arena.allocate(n * 2L);
                for (int i = 0; i < n; i++) {
                    g32.setAtIndex(F, i, (float) r.nextGaussian());
                }
                straight.loadMaster(g32);
                straight.writeParams(p1);
                float[][] grads = new float[6][n];
                for (float[] g : grads) {
                    for (int i = 0; i < n; i++) {
                        g[i] = (float) (r.nextGaussian() * 0.01 * 1024);
                    }
                }
                for (int s = 0; s < 3; s++) {
                    MixedPrecisionOptimizerTest.encode(precision, MemorySegment.ofArray(grads[s]), g16);
                    straight.step(p1, g16);
                }
                // The checkpoint: every buffer by name, as bytes, and the 16-bit parameters.
                Map<String, byte[]> saved = new LinkedHashMap<>();
                saved.put(MixedPrecisionOptimizer.MASTER, bytes(straight.masterWeights()));
                for (String name : straight.optimizer().stateNames()) {
                    saved.put(name, bytes(straight.optimizer().state(name)));
                }
                long steps = straight.optimizer().stepCount();
                DynamicLossScaler.State scalerState = straight.scaler().state();
                MemorySegment p2 = arena.allocate(n * 2L);
                MemorySegment.copy(p1, 0, p2, 0, n * 2L);
                try (MixedPrecisionOptimizer resumed = MixedPrecisionOptimizer.builder(Optimizers.adam(config(), n),
                        precision).lossScaler(MixedPrecisionOptimizerTest.scaler()).rounding(Rounding.stochastic(5)).build()) {
                    Map<String, Long> sizes = new LinkedHashMap<>();
                    resumed.restore(steps, scalerState, (name, target) -> {
                        sizes.put(name, target.byteSize());
                        target.copyFrom(MemorySegment.ofArray(saved.get(name)));
                    });
                    long blocks = (n + 255) / 256;
                    assertEquals(Map.of("master", 4L * n, "state1", (long) n, "absmax1", 4 * blocks, "state2", (long) n,
                            "absmax2", 4 * blocks), sizes);
                    assertEquals(List.copyOf(saved.keySet()), List.copyOf(sizes.keySet()), "restore's order");
                    for (int s = 3; s < 6; s++) {
                        MixedPrecisionOptimizerTest.encode(precision, MemorySegment.ofArray(grads[s]), g16);
                        StepReport a = straight.step(p1, g16);
                        StepReport b = resumed.step(p2, g16, pool, 2);
                        assertEquals(a, b, "step " + s);
                        assertFalse(a.skipped());
                        assertArrayEquals(p1.toArray(S), p2.toArray(S), "params after step " + s);
                        for (String name : straight.optimizer().stateNames()) {
                            assertArrayEquals(bytes(straight.optimizer().state(name)),
                                    bytes(resumed.optimizer().state(name)), name + " after step " + s);
                        }
                    }
                }
            }
        }
    }

    /** A wrapped optimizer below {@code minBlockwiseSize} keeps fp32 states, with PyTorch's names, and still steps. */
    @Test
    void belowTheMinimumSizeTheStatesStayFp32() {
        int n = 4095;
        try (Arena arena = Arena.ofShared();
             Optimizer inner = Optimizers.adam(config(), n);
             MixedPrecisionOptimizer m = MixedPrecisionOptimizer.builder(Optimizers.adam(config(), n), Precision.FP16)
                     .build()) {
            assertEquals(List.of("exp_avg", "exp_avg_sq"), inner.stateNames());
            assertEquals(List.of("exp_avg", "exp_avg_sq"), m.optimizer().stateNames());
            MemorySegment g16 = arena.allocate(n * 2L);
            m.step(arena.allocate(n * 2L), g16);
            assertEquals(1, m.optimizer().stepCount());
        }
    }
}
