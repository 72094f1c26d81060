package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.MemoryLedger.Purpose;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The engine over threads: stages 1-3 bit-identical to stage 0 after every step; each device's
 * ledger equal to the ZeRO table at the padded size plus the named buffers; communication per step
 * equal to the volume formulas; an overflow on one device skips the step on all; a device that
 * throws fails the group promptly.
 */
class ZeroEngineTest {
    private static final long[] SIZES = {5000, 70, 9000, 1};   // odd sizes: every layer padded
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    static FlatLayout layout(int n) {
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (int l = 0; l < SIZES.length; l++) {
            sizes.put("layer" + l, SIZES[l]);
        }
        return FlatLayout.of(sizes, n);
    }

    static MemorySegment initial(Arena arena, FlatLayout layout) {
        MemorySegment init = arena.allocate(layout.paddedSize() * 4);
        SplittableRandom r = new SplittableRandom(1);
        for (FlatLayout.Tensor t : layout.tensors()) {
            for (long i = 0; i < t.count(); i++) {
                init.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, t.offset() + i, (float) r.nextGaussian());
            }
        }
        return init;
    }

    record Run(List<short[]> params, List<StepResult> results, List<Map<Purpose, Long>> ledgers,
               List<CommStats> stepStats, FlatLayout layout) {}

    /** Trains {@code steps} steps on n devices; returns the parameters after every step (from rank 0). */
    static Run train(int n, ZeroConfig config, int steps, int overflowStep, int overflowRank) {
        return train(n, config, steps, overflowStep, overflowRank, Float.POSITIVE_INFINITY);
    }

    /** As above, the injected gradient {@code overflowValue} (written as the model's 16-bit format). */
    static Run train(int n, ZeroConfig config, int steps, int overflowStep, int overflowRank, float overflowValue) {
        FlatLayout layout = layout(n);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment init = initial(arena, layout);
            List<short[]> params = new ArrayList<>();
            List<StepResult> results = new ArrayList<>();
            List<Map<Purpose, Long>> ledgers = new ArrayList<>();
            List<CommStats> stats = new ArrayList<>();
            InProcessGroup.create(n, TIMEOUT).run(comm -> {
                SyntheticModel model = new SyntheticModel(SIZES, config.precision(), comm.rank());
                model.overflowStep = overflowStep;
                model.overflowRank = overflowRank;
                model.overflowValue = overflowValue;
                MemorySegment all = arena.allocate(layout.paddedSize() * 2);
                try (ZeroDevice device = new ZeroDevice(config, layout, comm, init)) {
                    for (int s = 0; s < steps; s++) {
                        model.setStep(s);
                        comm.resetStats();
                        StepResult result = device.step(model);
                        CommStats stepStats = comm.stats();
                        device.gatherParams(all);
                        synchronized (results) {
                            if (comm.rank() == 0) {
                                results.add(result);
                                params.add(all.toArray(S));
                            }
                            if (s == steps - 1) {
                                while (ledgers.size() <= comm.rank()) {
                                    ledgers.add(null);
                                    stats.add(null);
                                }
                                ledgers.set(comm.rank(), device.ledger().snapshot());
                                stats.set(comm.rank(), stepStats);
                            }
                        }
                    }
                }
            });
            return new Run(params, results, ledgers, stats, layout);
        }
    }

    static ZeroConfig config(ZeroStage stage, Precision precision, double maxNorm, Rounding rounding) {
        return ZeroConfig.builder().stage(stage).precision(precision).optimizer(AdamConfig.adamW().withLr(1e-2))
                .maxGradNorm(maxNorm).rounding(rounding).globalBatch(8)
                .lossScaler(() -> DynamicLossScaler.builder().initScale(256).growthInterval(3).build()).build();
    }

    @ParameterizedTest(name = "N={0}, {1}, maxNorm={2}, stochastic={3}")
    @CsvSource({"1, FP16, 0, false", "2, FP16, 0, false", "2, BF16, 5, true", "3, FP16, 5, false", "4, BF16, 0, true"})
    void everyStageEqualsStageZeroBitForBit(int n, Precision precision, double maxNorm, boolean stochastic) {
        Rounding rounding = stochastic ? Rounding.stochastic(42) : Rounding.nearestEven();
        int steps = 6;
        Run reference = train(n, config(ZeroStage.DATA_PARALLEL, precision, maxNorm, rounding), steps, 2, n - 1);
        assertTrue(reference.results().get(2).skipped(), "the injected overflow skipped step 2");
        for (ZeroStage stage : List.of(ZeroStage.OPTIMIZER_STATE, ZeroStage.GRADIENTS, ZeroStage.PARAMETERS)) {
            Run run = train(n, config(stage, precision, maxNorm, rounding), steps, 2, n - 1);
            for (int s = 0; s < steps; s++) {
                assertArrayEquals(reference.params().get(s), run.params().get(s), stage + ", params after step " + s);
                assertEquals(reference.results().get(s), run.results().get(s), stage + ", step " + s);
            }
        }
        // The run moved: parameters after the last step differ from the first's.
        assertFalse(java.util.Arrays.equals(reference.params().get(0), reference.params().get(steps - 1)));
    }

    @ParameterizedTest(name = "N={0}")
    @CsvSource({"1", "2", "4"})
    void ledgerEqualsTheTableAndTrafficTheFormulas(int n) {
        for (ZeroStage stage : ZeroStage.values()) {
            Run run = train(n, config(stage, Precision.FP16, 0, Rounding.nearestEven()), 2, -1, -1);
            FlatLayout layout = run.layout();
            long total = layout.paddedSize();
            long extra = switch (stage) {
                case DATA_PARALLEL, OPTIMIZER_STATE -> 0;
                case GRADIENTS -> 2 * layout.largestPaddedTensor();                 // one bucket
                case PARAMETERS -> 2 * 2 * layout.largestPaddedTensor();            // a bucket and a gathered layer
            };
            long expected = MemoryPlan.bytesPerDevice(stage, total, n) + extra;
            for (int r = 0; r < n; r++) {
                Map<Purpose, Long> ledger = run.ledgers().get(r);
                long measured = ledger.values().stream().mapToLong(Long::longValue).sum();
                assertEquals(expected, measured, stage + ", rank " + r + ": " + ledger);
                long volume = (stage == ZeroStage.PARAMETERS ? 3 : 2) * total * (n - 1) / n * 2;   // bytes
                CommStats st = run.stepStats().get(r);
                assertEquals(volume, st.bytesSent(), stage + ", rank " + r + " sent");
                assertEquals(volume, st.bytesReceived(), stage + ", rank " + r + " received");
            }
        }
    }

    @Test
    void aDeviceThatThrowsFailsTheGroupPromptly() {
        FlatLayout layout = layout(3);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment init = initial(arena, layout);
            InProcessGroup group = InProcessGroup.create(3, Duration.ofSeconds(120));
            long start = System.nanoTime();
            RuntimeException e = assertThrows(RuntimeException.class, () -> group.run(comm -> {
                SyntheticModel model = new SyntheticModel(SIZES, Precision.FP16, comm.rank());
                model.failStep = 1;
                model.failRank = 1;
                try (ZeroDevice device = new ZeroDevice(config(ZeroStage.PARAMETERS, Precision.FP16, 0,
                        Rounding.nearestEven()), layout, comm, init)) {
                    for (int s = 0; s < 5; s++) {
                        model.setStep(s);
                        device.step(model);
                    }
                }
            }));
            double seconds = (System.nanoTime() - start) / 1e9;
            Throwable cause = e;
            while (cause.getCause() != null && !(cause instanceof IllegalStateException)) {
                cause = cause.getCause();
            }
            assertTrue(String.valueOf(cause.getMessage()).contains("injected failure on rank 1"), String.valueOf(e));
            assertTrue(seconds < 20, "the group failed after " + seconds + " s, not promptly");
            assertTrue(group.isFailed());
        }
    }

    @Test
    void badSetupIsRefused() {
        FlatLayout layout = layout(2);
        try (Arena arena = Arena.ofShared()) {
            InProcessGroup group = InProcessGroup.create(3, TIMEOUT);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> new ZeroDevice(
                    config(ZeroStage.GRADIENTS, Precision.FP16, 0, Rounding.nearestEven()), layout,
                    group.communicator(0), initial(arena, layout))).getMessage().startsWith("layout"));
            InProcessGroup two = InProcessGroup.create(2, TIMEOUT);
            assertTrue(assertThrows(IllegalArgumentException.class, () -> new ZeroDevice(
                    config(ZeroStage.GRADIENTS, Precision.FP16, 0, Rounding.nearestEven()), layout,
                    two.communicator(0), arena.allocate(12))).getMessage().startsWith("initial"));
            assertSame(ZeroStage.GRADIENTS, ZeroStage.of(2));
        }
    }
}
