package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.StateFormat;
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

    /**
     * Buckets of at least 5000 elements: {5000}, {70, 9000} and {1}, so a device's slice of the second
     * bucket may cover the end of one tensor and the start of the next, and the last is mostly padding.
     */
    static final long BUCKET = 5000;

    static FlatLayout layout(int n) {
        return layout(n, BUCKET);
    }

    static FlatLayout layout(int n, long bucketElements) {
        return FlatLayout.of(SyntheticModel.named(SIZES), n, FlatLayout.DEFAULT_ALIGNMENT, bucketElements);
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
        return train(layout(n), config, steps, overflowStep, overflowRank, overflowValue);
    }

    static Run train(FlatLayout layout, ZeroConfig config, int steps, int overflowStep, int overflowRank,
                     float overflowValue) {
        int n = layout.devices();
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
        return config(stage, precision, maxNorm, rounding, StateFormat.FP32);
    }

    static ZeroConfig config(ZeroStage stage, Precision precision, double maxNorm, Rounding rounding, StateFormat states) {
        return ZeroConfig.builder().stage(stage).precision(precision)
                .optimizer(AdamConfig.adamW().withLr(1e-2).withStateFormat(states))
                .maxGradNorm(maxNorm).rounding(rounding).globalBatch(8)
                .lossScaler(() -> DynamicLossScaler.builder().initScale(256).growthInterval(3).build()).build();
    }

    /** The demo's names for the state formats: fp32, or 8bit (bitsandbytes' blocks, tensors of 4096 and more). */
    static StateFormat states(String name) {
        return switch (name) {
            case "fp32" -> StateFormat.FP32;
            case "8bit" -> StateFormat.BLOCKWISE_8BIT;
            default -> throw new IllegalArgumentException("states: " + name);
        };
    }

    /**
     * Stages 1-3 (sharded optimizer states) against stage 0 (each device steps the whole model), after
     * every step. With 8-bit states the layers of 5000 and 9000 elements keep 8-bit blocks (each
     * device's slices are whole blocks) and those of 70 and 1 element fp32 ones, as bitsandbytes
     * decides by the tensor's size.
     */
    @ParameterizedTest(name = "N={0}, {1}, maxNorm={2}, stochastic={3}, states={4}")
    @CsvSource({"1, FP16, 0, false, fp32", "2, FP16, 0, false, fp32", "2, BF16, 5, true, fp32", "3, FP16, 5, false, fp32",
            "4, BF16, 0, true, fp32",
            "1, FP16, 5, false, 8bit", "2, BF16, 0, true, 8bit", "2, FP16, 0, false, 8bit", "4, FP16, 5, false, 8bit",
            "4, BF16, 0, true, 8bit"})
    void everyStageEqualsStageZeroBitForBit(int n, Precision precision, double maxNorm, boolean stochastic, String states) {
        Rounding rounding = stochastic ? Rounding.stochastic(42) : Rounding.nearestEven();
        StateFormat format = states(states);
        int steps = 6;
        Run reference = train(n, config(ZeroStage.DATA_PARALLEL, precision, maxNorm, rounding, format), steps, 2, n - 1);
        assertTrue(reference.results().get(2).skipped(), "the injected overflow skipped step 2");
        for (ZeroStage stage : List.of(ZeroStage.OPTIMIZER_STATE, ZeroStage.GRADIENTS, ZeroStage.PARAMETERS)) {
            Run run = train(n, config(stage, precision, maxNorm, rounding, format), steps, 2, n - 1);
            for (int s = 0; s < steps; s++) {
                assertArrayEquals(reference.params().get(s), run.params().get(s), stage + ", params after step " + s);
                assertEquals(reference.results().get(s), run.results().get(s), stage + ", step " + s);
            }
        }
        // The run moved: parameters after the last step differ from the first's.
        assertFalse(java.util.Arrays.equals(reference.params().get(0), reference.params().get(steps - 1)));
    }

    /**
     * Other bucket sizes: every tensor a bucket of its own (1), and the default (here one bucket of
     * all four tensors), with clipping, so the norm's order over buckets and devices shows too.
     */
    @ParameterizedTest(name = "N={0}, bucket={1}, {2}")
    @CsvSource({"3, 1, fp32", "3, 0, 8bit", "4, 1, 8bit", "2, 0, fp32"})
    void everyBucketSizeGivesStageZerosBits(int n, long bucket, String states) {
        FlatLayout layout = bucket == 0 ? FlatLayout.of(SyntheticModel.named(SIZES), n) : layout(n, bucket);
        assertEquals(bucket == 1 ? SIZES.length : 1, layout.buckets().size(), layout.toString());
        int steps = 4;
        Run reference = train(layout, config(ZeroStage.DATA_PARALLEL, Precision.BF16, 5, Rounding.stochastic(7),
                states(states)), steps, -1, -1, Float.POSITIVE_INFINITY);
        for (ZeroStage stage : List.of(ZeroStage.OPTIMIZER_STATE, ZeroStage.GRADIENTS, ZeroStage.PARAMETERS)) {
            Run run = train(layout, config(stage, Precision.BF16, 5, Rounding.stochastic(7), states(states)), steps, -1,
                    -1, Float.POSITIVE_INFINITY);
            for (int s = 0; s < steps; s++) {
                assertArrayEquals(reference.params().get(s), run.params().get(s), stage + ", params after step " + s);
                assertEquals(reference.results().get(s), run.results().get(s), stage + ", step " + s);
            }
        }
    }

    /**
     * Stage 3 with prefetch (each bucket's all-gather on the device's communication thread while the
     * previous bucket computes) against stage 3 without, after every step, with an injected overflow
     * and clipping: the same bits, the same traffic, and one more gathered bucket in the ledger.
     */
    @ParameterizedTest(name = "N={0}, {1}, bucket={2}, {3}")
    @CsvSource({"2, FP16, 5000, fp32", "3, BF16, 1, 8bit", "4, FP16, 5000, 8bit", "1, BF16, 1, fp32"})
    void prefetchGivesTheSameBitsAndTraffic(int n, Precision precision, long bucket, String states) {
        FlatLayout layout = layout(n, bucket);
        int steps = 5;
        ZeroConfig plain = config(ZeroStage.PARAMETERS, precision, 5, Rounding.stochastic(3), states(states));
        ZeroConfig prefetching = ZeroConfig.builder().stage(ZeroStage.PARAMETERS).precision(precision)
                .optimizer(plain.optimizer()).maxGradNorm(5).rounding(Rounding.stochastic(3)).globalBatch(8)
                .lossScaler(() -> DynamicLossScaler.builder().initScale(256).growthInterval(3).build()).prefetch(true)
                .build();
        Run reference = train(layout, plain, steps, 2, n - 1, Float.POSITIVE_INFINITY);
        Run run = train(layout, prefetching, steps, 2, n - 1, Float.POSITIVE_INFINITY);
        assertTrue(run.results().get(2).skipped(), "the injected overflow skipped step 2");
        for (int s = 0; s < steps; s++) {
            assertArrayEquals(reference.params().get(s), run.params().get(s), "params after step " + s);
            assertEquals(reference.results().get(s), run.results().get(s), "step " + s);
        }
        for (int r = 0; r < n; r++) {
            assertEquals(reference.stepStats().get(r).bytesSent(), run.stepStats().get(r).bytesSent(), "rank " + r);
            Map<Purpose, Long> a = reference.ledgers().get(r), b = run.ledgers().get(r);
            assertEquals(2 * a.get(Purpose.GATHERED_LAYERS), b.get(Purpose.GATHERED_LAYERS), "rank " + r + ": " + b);
            assertEquals(a.get(Purpose.OPTIMIZER_STATE), b.get(Purpose.OPTIMIZER_STATE), "rank " + r);
        }
    }

    /** A device whose backward throws while its prefetched all-gather is in flight fails the group promptly. */
    @Test
    void aDeviceThatThrowsWithAPrefetchInFlightFailsTheGroupPromptly() {
        assertFailsPromptly(layout(3, 1), ZeroConfig.builder().stage(ZeroStage.PARAMETERS).precision(Precision.FP16)
                .globalBatch(8).prefetch(true).build(), 2);
        String m = assertThrows(IllegalArgumentException.class, () -> ZeroConfig.builder().stage(ZeroStage.GRADIENTS)
                .prefetch(true).build()).getMessage();
        assertEquals("prefetch: only stage 3 all-gathers parameters to prefetch, got stage 2", m);
    }

    /**
     * The parameters device {@code r} owns: the real elements (not padding) inside its slices of the
     * buckets, counted here from the bucket and tensor intervals; per tensor, in layout order.
     */
    static long[] owned(FlatLayout layout, int r) {
        long[] own = new long[layout.tensors().size()];
        for (FlatLayout.Tensor t : layout.tensors()) {
            FlatLayout.Bucket b = layout.buckets().get(t.bucket());
            long lo = Math.max(t.offset(), b.offset() + r * b.slice());
            long hi = Math.min(t.offset() + t.count(), b.offset() + (r + 1) * b.slice());
            own[t.index()] = Math.max(0, hi - lo);
        }
        return own;
    }

    /**
     * The ledger against the ZeRO table: the 16-bit buffers on the padded size, master weights and
     * Adam state on the parameters the device owns (K = 12 for fp32 states; for 8-bit ones K = 6 plus
     * 8 bytes of absmax per 256 of a tensor's share: every layer in 8 bits here, minBlockwiseSize 0),
     * every parameter owned by exactly one device, and no device above {@link MemoryPlan} at Ψ = T.
     */
    @ParameterizedTest(name = "N={0}, states={1}")
    @CsvSource({"1, fp32", "2, fp32", "4, fp32", "1, 8bit", "2, 8bit", "4, 8bit"})
    void ledgerEqualsTheTableAndTrafficTheFormulas(int n, String states) {
        StateFormat format = states(states).isBlockwise8() ? StateFormat.BLOCKWISE_8BIT.withMinBlockwiseSize(0)
                : StateFormat.FP32;
        for (ZeroStage stage : ZeroStage.values()) {
            Run run = train(n, config(stage, Precision.FP16, 0, Rounding.nearestEven(), format), 2, -1, -1);
            FlatLayout layout = run.layout();
            long total = layout.paddedSize(), part = total / n;
            long largest = 0;
            for (FlatLayout.Bucket b : layout.buckets()) {
                largest = Math.max(largest, b.slice() * n);
            }
            long extra = switch (stage) {
                case DATA_PARALLEL, OPTIMIZER_STATE -> 0;
                case GRADIENTS -> 2 * largest;                 // one bucket
                case PARAMETERS -> 2 * 2 * largest;            // a bucket and a gathered bucket
            };
            long ownedByAll = 0;
            for (int r = 0; r < n; r++) {
                long[] own = stage == ZeroStage.DATA_PARALLEL ? SIZES.clone() : owned(layout, r);
                long params = 0, state = 0;
                for (long c : own) {
                    params += c;
                    state += format.isBlockwise8() ? 2 * c + 8 * ((c + 255) / 256) : 8 * c;
                }
                ownedByAll += params;
                Map<Purpose, Long> ledger = run.ledgers().get(r);
                assertEquals(2 * (stage == ZeroStage.PARAMETERS ? part : total), ledger.get(Purpose.PARAMETERS), stage + ", rank " + r);
                assertEquals(2 * (stage.ordinal() >= 2 ? part : total), ledger.get(Purpose.GRADIENTS), stage + ", rank " + r);
                assertEquals(4 * params, ledger.get(Purpose.MASTER_WEIGHTS), stage + ", rank " + r);
                assertEquals(state, ledger.get(Purpose.OPTIMIZER_STATE), stage + ", rank " + r);
                long measured = ledger.values().stream().mapToLong(Long::longValue).sum();
                assertEquals(4 * params + state + ledger.get(Purpose.PARAMETERS) + ledger.get(Purpose.GRADIENTS) + extra,
                        measured, stage + ", rank " + r + ": " + ledger);
                assertTrue(measured <= MemoryPlan.bytesPerDevice(stage, total, n, format) + extra,
                        stage + ", rank " + r + ": above the table at Ψ = T: " + ledger);
                long volume = (stage == ZeroStage.PARAMETERS ? 3 : 2) * total * (n - 1) / n * 2;   // bytes
                CommStats st = run.stepStats().get(r);
                assertEquals(volume, st.bytesSent(), stage + ", rank " + r + " sent");
                assertEquals(volume, st.bytesReceived(), stage + ", rank " + r + " received");
            }
            long psi = java.util.Arrays.stream(SIZES).sum();
            assertEquals(stage == ZeroStage.DATA_PARALLEL ? n * psi : psi, ownedByAll, stage + ": parameters owned");
        }
    }

    @Test
    void aDeviceThatThrowsFailsTheGroupPromptly() {
        assertFailsPromptly(layout(3), config(ZeroStage.PARAMETERS, Precision.FP16, 0, Rounding.nearestEven()), 1);
    }

    /** Rank {@code failRank}'s backward throws at step 1 of 5: the group fails within 20 s with that exception. */
    private static void assertFailsPromptly(FlatLayout layout, ZeroConfig config, int failRank) {
        int n = layout.devices();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment init = initial(arena, layout);
            InProcessGroup group = InProcessGroup.create(n, Duration.ofSeconds(120));
            long start = System.nanoTime();
            RuntimeException e = assertThrows(RuntimeException.class, () -> group.run(comm -> {
                SyntheticModel model = new SyntheticModel(SIZES, config.precision(), comm.rank());
                model.failStep = 1;
                model.failRank = failRank;
                try (ZeroDevice device = new ZeroDevice(config, layout, comm, init)) {
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
            assertTrue(String.valueOf(cause.getMessage()).contains("injected failure on rank " + failRank),
                    String.valueOf(e));
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
            // Slices that are not whole 256-element blocks (norm and 8-bit blocks would be cut): no such layout.
            Map<String, Long> sizes = new LinkedHashMap<>();
            sizes.put("big", 5000L);
            String m = assertThrows(IllegalArgumentException.class, () -> FlatLayout.of(sizes, 2, 16)).getMessage();
            assertTrue(m.startsWith("alignment: expected a positive multiple of 256 elements"), m);
            // The per-tensor decision: 8-bit from 4096 elements of the tensor itself, whatever the padding.
            assertEquals(StateFormat.FP32, ZeroDevice.tensorOptimizer(AdamConfig.adamW()
                    .withStateFormat(StateFormat.BLOCKWISE_8BIT), 4095).stateFormat());
            assertTrue(ZeroDevice.tensorOptimizer(AdamConfig.adamW().withStateFormat(StateFormat.BLOCKWISE_8BIT), 4096)
                    .stateFormat().quantizes(1));
        }
    }
}
