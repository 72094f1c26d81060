package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.StateFormat;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.MemoryLedger.Purpose;
import dev.adamant.zero.ZeroPlanner.Link;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.mpi.MpiCommunicator;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The planner against real in-process runs (each device's ledger, purpose by purpose, and the bytes
 * its communicator counted), against MemoryPlan's formulas, against a hand-computed alpha-beta time,
 * and against the ZeRO paper's 1.5x on GPT-2 small's shapes.
 */
class ZeroPlannerTest {
    /**
     * Odd sizes: every tensor padded; 70 and 1 stay fp32 under the 8-bit format, 40000 and 30000
     * quantize. The default buckets (at least 128 N 256 elements) are {40000} and the rest at N = 1,
     * all but the last tensor and {1} at N = 2, one bucket at N = 4.
     */
    private static final long[] SIZES = {40_000, 70, 30_000, 1};
    private static final Link LINK = Link.ofGbps(10, 5);
    private static final int STEPS = 3;

    private static ZeroConfig config(ZeroStage stage, Precision precision, StateFormat states) {
        return ZeroConfig.builder().stage(stage).precision(precision)
                .optimizer(AdamConfig.adamW().withLr(1e-2).withStateFormat(states)).globalBatch(8)
                .lossScaler(() -> DynamicLossScaler.builder().initScale(256).growthInterval(3).build()).build();
    }

    private static ZeroRun.Result run(FlatLayout layout, ZeroConfig config) {
        try (Arena arena = Arena.ofShared()) {
            ZeroRun.Plan plan = new ZeroRun.Plan(config, layout, SyntheticModel.initial(arena, layout, 7), STEPS);
            return ZeroRun.run(plan, Duration.ofMinutes(1), ZeroRun.Checkpointing.NONE,
                    rank -> new SyntheticModel(SIZES, config.precision(), rank), r -> { });
        }
    }

    /**
     * Every device's ledger equals {@link ZeroPlanner#deviceBytes}, and the plan's bytes are those of
     * the device whose ledger is the largest; on the default layout (the plan from sizes) and on one
     * where every tensor is a bucket of its own (the plan from the layout).
     */
    @Test
    void bytesAndTrafficEqualARealRunPurposeByPurpose() {
        for (StateFormat states : List.of(StateFormat.FP32, StateFormat.BLOCKWISE_8BIT)) {
            for (int n : new int[] {1, 2, 4}) {
                for (ZeroStage stage : ZeroStage.values()) {
                    Precision precision = stage.ordinal() % 2 == 0 ? Precision.FP16 : Precision.BF16;
                    boolean ownBuckets = (n + stage.ordinal()) % 2 == 1;
                    FlatLayout layout = ownBuckets ? FlatLayout.of(SyntheticModel.named(SIZES), n, 256, 1)
                            : FlatLayout.of(SyntheticModel.named(SIZES), n);
                    String where = states + ", N = " + n + ", " + stage + ", " + precision + ", " + layout;
                    ZeroRun.Result result = run(layout, config(stage, precision, states));
                    for (StepResult r : result.history()) {
                        assertFalse(r.skipped(), where + ": a skipped step sends less; this test wants none");
                    }
                    ZeroPlanner.Plan plan = ownBuckets
                            ? ZeroPlanner.plan(layout, stage, precision, states, LINK, MpiCommunicator.Settings.DEFAULT_PIECE_ELEMENTS)
                            : ZeroPlanner.plan(SIZES, stage, n, precision, states, LINK);
                    long largest = 0;
                    for (Map<Purpose, Long> ledger : result.ledgers()) {
                        largest = Math.max(largest, ledger.values().stream().mapToLong(Long::longValue).sum());
                    }
                    assertEquals(largest, plan.totalBytes(), where + ": the fullest device");
                    assertEquals(result.ledgers().get(plan.device()), plan.bytes(), where + ": device " + plan.device());
                    for (int rank = 0; rank < n; rank++) {
                        Map<Purpose, Long> ledger = result.ledgers().get(rank);
                        Map<Purpose, Long> predicted = ZeroPlanner.deviceBytes(layout, stage, precision, states, rank);
                        for (Purpose p : Purpose.values()) {
                            assertEquals(ledger.getOrDefault(p, 0L), predicted.get(p), where + ", rank " + rank + ": " + p);
                        }
                        CommStats traffic = result.traffic().get(rank);
                        assertEquals(traffic.bytesSent(), STEPS * plan.bytesSentPerStep(), where + ", rank " + rank
                                + ": data bytes sent over " + STEPS + " steps, " + traffic);
                        assertEquals(traffic.controlBytesSent(), STEPS * plan.controlBytesSentPerStep(),
                                where + ", rank " + rank + ": control bytes sent, " + traffic);
                    }
                }
            }
        }
    }

    /** With prefetch (stage 3), the plan from the config: one more gathered bucket, as the ledger holds. */
    @Test
    void prefetchAddsAGatheredBucketAsTheLedgerDoes() {
        for (int n : new int[] {2, 3}) {
            FlatLayout layout = FlatLayout.of(SyntheticModel.named(SIZES), n, 256, 1);
            ZeroConfig config = ZeroConfig.builder().stage(ZeroStage.PARAMETERS).precision(Precision.BF16)
                    .optimizer(AdamConfig.adamW().withLr(1e-2)).globalBatch(8).prefetch(true)
                    .lossScaler(() -> DynamicLossScaler.builder().initScale(256).growthInterval(3).build()).build();
            ZeroRun.Result result = run(layout, config);
            for (int rank = 0; rank < n; rank++) {
                assertEquals(result.ledgers().get(rank), ZeroPlanner.deviceBytes(layout, config, rank), "N = " + n
                        + ", rank " + rank);
            }
            ZeroPlanner.Plan with = ZeroPlanner.plan(layout, config, LINK, 1000);
            ZeroPlanner.Plan without = ZeroPlanner.plan(layout, ZeroStage.PARAMETERS, Precision.BF16, StateFormat.FP32, LINK,
                    1000);
            assertEquals(2 * without.bytes(Purpose.GATHERED_LAYERS), with.bytes(Purpose.GATHERED_LAYERS));
            assertEquals(without.commSecondsPerStep(), with.commSecondsPerStep());
        }
    }

    /**
     * The fullest device's model states lie between the paper's formula at Ψ (no device holds less
     * than the average) and at the padded T (its shares are inside its slices), plus an absmax
     * rounded up per share under 8-bit states.
     */
    @Test
    void modelStatesLieBetweenMemoryPlansFormulasAtPsiAndAtThePaddedSize() {
        long[] big = {5000, 70_000, 9000, 4096};   // all quantized under the 8-bit format, as MemoryPlan counts
        for (int n : new int[] {1, 2, 3, 4, 8, 64}) {
            for (ZeroStage stage : ZeroStage.values()) {
                for (StateFormat states : List.of(StateFormat.FP32, StateFormat.BLOCKWISE_8BIT)) {
                    ZeroPlanner.Plan plan = ZeroPlanner.plan(big, stage, n, Precision.FP16, states, LINK);
                    long psi = plan.parameters(), t = plan.paddedParameters();
                    String where = stage + ", N = " + n + ", " + states + ", Ψ = " + psi + ", T = " + t;
                    assertTrue(plan.modelStateBytes() >= MemoryPlan.bytesPerDevice(stage, psi, n, states), where);
                    assertTrue(plan.modelStateBytes() <= MemoryPlan.bytesPerDevice(stage, t, n, states) + 8 * big.length,
                            where);
                }
            }
        }
        // With every tensor a bucket of its own and one device, nothing is shared: the formula at T exactly.
        FlatLayout own = FlatLayout.of(SyntheticModel.named(big), 1, 256, 1);
        ZeroPlanner.Plan plan = ZeroPlanner.plan(own, ZeroStage.GRADIENTS, Precision.FP16, StateFormat.FP32, LINK, 1000);
        assertEquals(MemoryPlan.bytesPerDevice(ZeroStage.GRADIENTS, 5120 + 70_144 + 9216 + 4096, 1, StateFormat.FP32)
                - 12 * (5120 + 70_144 + 9216 + 4096 - 88_096), plan.modelStateBytes());
    }

    /**
     * Issue 16's requirement: for GPT-2 small (its 148 tensors) and a GPT-style 7.5B shape (the ZeRO
     * paper's example), at N = 8, 64 and 1024, every stage, the fullest device's model states are
     * within 1% of the paper's formula at Ψ (K = 12); the buckets come on top, two (stage 3) or one
     * (stage 2) of the largest padded bucket. Under 8-bit states the same 1%, plus what bitsandbytes'
     * rule adds: tensors under 4096 elements (LayerNorms, biases) keep fp32 states, 6 bytes more a
     * parameter than the formula's K = 6 counts, and the layout may put many of them on one device
     * (they start buckets, so on device 0); bounded here by all of them on one device.
     */
    @Test
    void modelStatesAreWithinOnePercentOfTheFormulaOnRealShapes() {
        for (long[] shapes : List.of(Gpt2Small.sizes(), Gpt7_5B.sizes())) {
            for (int n : new int[] {8, 64, 1024}) {
                for (ZeroStage stage : ZeroStage.values()) {
                    for (StateFormat states : List.of(StateFormat.FP32, StateFormat.BLOCKWISE_8BIT)) {
                        ZeroPlanner.Plan plan = ZeroPlanner.plan(shapes, stage, n, Precision.BF16, states, LINK);
                        long formula = MemoryPlan.bytesPerDevice(stage, plan.parameters(), n, states);
                        long small = 0;
                        for (long c : shapes) {
                            small += states.quantizes(c) ? 0 : c;
                        }
                        long surplus = states.isBlockwise8() ? 6 * small : 0;
                        double ratio = (double) plan.modelStateBytes() / formula;
                        String where = plan.parameters() + " parameters, N = " + n + ", " + stage + ", " + states
                                + ": " + plan.modelStateBytes() + " bytes vs the formula's " + formula + ", ratio " + ratio;
                        assertTrue(plan.modelStateBytes() >= formula, where);
                        assertTrue(plan.modelStateBytes() <= formula * 1.01 + surplus, where);
                        long buckets = plan.bytes(Purpose.COMMUNICATION_BUCKETS) + plan.bytes(Purpose.GATHERED_LAYERS);
                        int count = stage == ZeroStage.PARAMETERS ? 2 : stage == ZeroStage.GRADIENTS ? 1 : 0;
                        assertEquals(buckets, plan.totalBytes() - plan.modelStateBytes(), where);
                        assertEquals(count, buckets / Math.max(1, plan.bytes(Purpose.COMMUNICATION_BUCKETS)), where);
                    }
                }
            }
        }
        assertEquals(7_467_786_240L, java.util.Arrays.stream(Gpt7_5B.sizes()).sum());
    }

    @Test
    void stageThreeSendsOneAndAHalfTimesStageTwoOnGpt2Small() {
        long[] gpt2 = Gpt2Small.sizes();
        for (int n : new int[] {2, 8, 64, 1024}) {
            ZeroPlanner.Plan s0 = ZeroPlanner.plan(gpt2, ZeroStage.DATA_PARALLEL, n, Precision.BF16, StateFormat.FP32, LINK);
            ZeroPlanner.Plan s2 = ZeroPlanner.plan(gpt2, ZeroStage.GRADIENTS, n, Precision.BF16, StateFormat.FP32, LINK);
            ZeroPlanner.Plan s3 = ZeroPlanner.plan(gpt2, ZeroStage.PARAMETERS, n, Precision.BF16, StateFormat.FP32, LINK);
            assertEquals(1.5, (double) s3.bytesSentPerStep() / s2.bytesSentPerStep(), 0, "N = " + n);
            assertEquals(s0.bytesSentPerStep(), s2.bytesSentPerStep(), "N = " + n + ": stages 0-2 send alike");
            // The paper's 2Ψ elements (times (N-1)/N, on the padded Ψ), in bytes.
            long t = s2.paddedParameters();
            assertEquals(2 * 2 * (n - 1) * (t / n), s2.bytesSentPerStep(), "N = " + n);
            assertTrue(s3.commSecondsPerStep() > s2.commSecondsPerStep(), "N = " + n);
        }
        assertEquals(124_439_808L, ZeroPlanner.plan(gpt2, ZeroStage.GRADIENTS, 1, Precision.BF16, StateFormat.FP32, LINK)
                .parameters(), "GPT-2 small's parameters");
    }

    @Test
    void alphaBetaTimeOfATinyCaseByHand() {
        // One tensor of 10 elements on 2 devices: FlatLayout pads to 2 x 256, each slice 256 elements.
        // Link 1000 B/s, 0.5 s a message, pieces of 100 elements: a chunk of 256 goes in 3 pieces.
        Link link = new Link(1000, 0.5);
        double phase = 1 * (3 * 0.5 + 256 * 2 / 1000.0);   // (N-1)(pieces α + c h / B) = 2.012 s
        double control = 1 * (0.5 + 1 / 1000.0) + 1 * (0.5 + 8 / 1000.0);   // anyTrue, the loss's gather
        ZeroPlanner.Plan s2 = ZeroPlanner.plan(new long[] {10}, ZeroStage.GRADIENTS, 2, Precision.FP16, StateFormat.FP32,
                link, 100);
        assertEquals(2 * 2.012 + 1.009, s2.commSecondsPerStep(), 1e-9);
        assertEquals(2 * phase + control, s2.commSecondsPerStep(), 1e-9);
        assertEquals(2 * 256 * 2, s2.bytesSentPerStep());
        assertEquals(4, s2.collectivesPerStep());
        ZeroPlanner.Plan s3 = ZeroPlanner.plan(new long[] {10}, ZeroStage.PARAMETERS, 2, Precision.FP16, StateFormat.FP32,
                link, 100);
        assertEquals(3 * 2.012 + 1.009, s3.commSecondsPerStep(), 1e-9);
        ZeroPlanner.Plan s0 = ZeroPlanner.plan(new long[] {10}, ZeroStage.DATA_PARALLEL, 2, Precision.FP16,
                StateFormat.FP32, link, 100);
        assertEquals(2 * 2.012 + 1.009, s0.commSecondsPerStep(), 1e-9, "an all-reduce: reduce-scatter + all-gather");
        // Two buckets (each tensor its own): a reduce-scatter and an all-gather each.
        // The second: 600 elements, 768 aligned, padded to 1024, slices of 512 in 6 pieces.
        FlatLayout two = FlatLayout.of(SyntheticModel.named(new long[] {10, 600}), 2, 256, 1);
        ZeroPlanner.Plan b2 = ZeroPlanner.plan(two, ZeroStage.GRADIENTS, Precision.FP16, StateFormat.FP32, link, 100);
        assertEquals(2 * 2.012 + 2 * (6 * 0.5 + 512 * 2 / 1000.0) + 1.009, b2.commSecondsPerStep(), 1e-9);
        assertEquals(6, b2.collectivesPerStep());
        // Unpieced, the textbook (N-1)(α + S/(N B)) with S = 1024 elements x 2 bytes, N = 4.
        ZeroPlanner.Plan s1 = ZeroPlanner.plan(new long[] {10}, ZeroStage.OPTIMIZER_STATE, 4, Precision.FP16,
                StateFormat.FP32, link, Integer.MAX_VALUE);
        double s = 4 * 256 * 2;
        assertEquals(2 * 3 * (0.5 + s / (4 * 1000.0)) + 3 * (0.5 + 0.001) + 3 * (0.5 + 0.008), s1.commSecondsPerStep(), 1e-9);
        assertEquals(0, ZeroPlanner.plan(new long[] {10}, ZeroStage.PARAMETERS, 1, Precision.FP16, StateFormat.FP32, link)
                .commSecondsPerStep(), "one device sends nothing");
    }

    @Test
    void badInputIsRefusedNamingTheArgument() {
        long[] sizes = {10, 20};
        long[] copy = sizes.clone();
        Map<String, Runnable> calls = Map.of(
                "sizes", () -> ZeroPlanner.plan((long[]) null, ZeroStage.GRADIENTS, 2, Precision.FP16, StateFormat.FP32, LINK),
                "sizes:", () -> ZeroPlanner.plan(new long[0], ZeroStage.GRADIENTS, 2, Precision.FP16, StateFormat.FP32, LINK),
                "sizes[1]", () -> ZeroPlanner.plan(new long[] {10, 0}, ZeroStage.GRADIENTS, 2, Precision.FP16,
                        StateFormat.FP32, LINK),
                "stage", () -> ZeroPlanner.plan(sizes, null, 2, Precision.FP16, StateFormat.FP32, LINK),
                "devices", () -> ZeroPlanner.plan(sizes, ZeroStage.GRADIENTS, 0, Precision.FP16, StateFormat.FP32, LINK),
                "precision", () -> ZeroPlanner.plan(sizes, ZeroStage.GRADIENTS, 2, Precision.FP32, StateFormat.FP32, LINK),
                "states", () -> ZeroPlanner.plan(sizes, ZeroStage.GRADIENTS, 2, Precision.FP16, null, LINK),
                "link", () -> ZeroPlanner.plan(sizes, ZeroStage.GRADIENTS, 2, Precision.FP16, StateFormat.FP32, null),
                "pieceElements", () -> ZeroPlanner.plan(sizes, ZeroStage.GRADIENTS, 2, Precision.FP16, StateFormat.FP32,
                        LINK, 0),
                "sizes[0]", () -> ZeroPlanner.plan(new ArrayList<>(java.util.Arrays.asList((Long) null)),
                        ZeroStage.GRADIENTS, 2, Precision.FP16, StateFormat.FP32, LINK, 1));
        for (Map.Entry<String, Runnable> e : calls.entrySet()) {
            RuntimeException x = assertThrows(RuntimeException.class, e.getValue()::run, e.getKey());
            String name = e.getKey().replace(":", "");
            assertTrue(x.getMessage().startsWith(name), e.getKey() + ": " + x.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Link(0, 1e-6)).getMessage()
                .startsWith("bytesPerSecond"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Link(Double.NaN, 1e-6)).getMessage()
                .startsWith("bytesPerSecond"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Link(1e9, -1)).getMessage()
                .startsWith("latencySeconds"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Link(1e9, Double.POSITIVE_INFINITY))
                .getMessage().startsWith("latencySeconds"));
        assertEquals(java.util.Arrays.toString(copy), java.util.Arrays.toString(sizes), "the sizes are left alone");
    }

    /**
     * A GPT-style shape of about 7.5B parameters, the ZeRO paper's example: width 4096, 36 layers, a
     * vocabulary of 51,200 and 2048 positions; per layer two LayerNorms, the fused QKV projection,
     * the output projection and the 4x MLP, with biases (7,467,786,240 parameters, 436 tensors).
     */
    static final class Gpt7_5B {
        static long[] sizes() {
            long d = 4096;
            int layers = 36;
            List<Long> s = new ArrayList<>(List.of(51_200 * d, 2048 * d));
            for (int l = 0; l < layers; l++) {
                s.addAll(List.of(d, d, 3 * d * d, 3 * d, d * d, d, d, d, 4 * d * d, 4 * d, 4 * d * d, d));
            }
            s.addAll(List.of(d, d));
            return s.stream().mapToLong(Long::longValue).toArray();
        }
    }

    /** GPT-2 small's 148 tensors (the bench module's Gpt2Shapes, which this module cannot see). */
    static final class Gpt2Small {
        static long[] sizes() {
            int d = 768, layers = 12, vocab = 50_257, context = 1024;
            List<Long> s = new ArrayList<>(List.of((long) vocab * d, (long) context * d));
            for (int l = 0; l < layers; l++) {
                s.addAll(List.of((long) d, (long) d, 3L * d * d, 3L * d, (long) d * d, (long) d, (long) d, (long) d,
                        4L * d * d, 4L * d, 4L * d * d, (long) d));
            }
            s.addAll(List.of((long) d, (long) d));
            return s.stream().mapToLong(Long::longValue).toArray();
        }
    }
}
