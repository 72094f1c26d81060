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
    /** Odd sizes: every tensor padded; 70 and 1 stay fp32 under the 8-bit format, 5000 and 9000 quantize. */
    private static final long[] SIZES = {5000, 70, 9000, 1};
    private static final Link LINK = Link.ofGbps(10, 5);
    private static final int STEPS = 3;

    private static ZeroConfig config(ZeroStage stage, Precision precision, StateFormat states) {
        return ZeroConfig.builder().stage(stage).precision(precision)
                .optimizer(AdamConfig.adamW().withLr(1e-2).withStateFormat(states)).globalBatch(8)
                .lossScaler(() -> DynamicLossScaler.builder().initScale(256).growthInterval(3).build()).build();
    }

    private static ZeroRun.Result run(int n, ZeroConfig config) {
        FlatLayout layout = FlatLayout.of(SyntheticModel.named(SIZES), n);
        try (Arena arena = Arena.ofShared()) {
            ZeroRun.Plan plan = new ZeroRun.Plan(config, layout, SyntheticModel.initial(arena, layout, 7), STEPS);
            return ZeroRun.run(plan, Duration.ofMinutes(1), ZeroRun.Checkpointing.NONE,
                    rank -> new SyntheticModel(SIZES, config.precision(), rank), r -> { });
        }
    }

    @Test
    void bytesAndTrafficEqualARealRunPurposeByPurpose() {
        for (StateFormat states : List.of(StateFormat.FP32, StateFormat.BLOCKWISE_8BIT)) {
            for (int n : new int[] {1, 2, 4}) {
                for (ZeroStage stage : ZeroStage.values()) {
                    Precision precision = stage.ordinal() % 2 == 0 ? Precision.FP16 : Precision.BF16;
                    String where = states + ", N = " + n + ", " + stage + ", " + precision;
                    ZeroRun.Result result = run(n, config(stage, precision, states));
                    for (StepResult r : result.history()) {
                        assertFalse(r.skipped(), where + ": a skipped step sends less; this test wants none");
                    }
                    ZeroPlanner.Plan plan = ZeroPlanner.plan(SIZES, stage, n, precision, states, LINK);
                    for (int rank = 0; rank < n; rank++) {
                        Map<Purpose, Long> ledger = result.ledgers().get(rank);
                        for (Purpose p : Purpose.values()) {
                            assertEquals(ledger.getOrDefault(p, 0L), plan.bytes(p), where + ", rank " + rank + ": " + p);
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

    @Test
    void modelStatesAreMemoryPlansFormulasOnThePaddedSize() {
        long[] big = {5000, 70_000, 9000, 4096};   // all quantized under the 8-bit format, as MemoryPlan counts
        for (int n : new int[] {1, 2, 3, 4, 8, 64}) {
            for (ZeroStage stage : ZeroStage.values()) {
                for (StateFormat states : List.of(StateFormat.FP32, StateFormat.BLOCKWISE_8BIT)) {
                    ZeroPlanner.Plan plan = ZeroPlanner.plan(big, stage, n, Precision.FP16, states, LINK);
                    long psi = plan.parameters(), t = plan.paddedParameters();
                    assertEquals(MemoryPlan.bytesPerDevice(stage, t, n, states), plan.modelStateBytes(),
                            stage + ", N = " + n + ", " + states + ": at Ψ = T the paper's formula exactly");
                    long formula = MemoryPlan.bytesPerDevice(stage, psi, n, states);
                    long over = plan.modelStateBytes() - formula;
                    // The padding (T - Ψ elements, spread over the devices where partitioned) at 16 bytes each at most.
                    long paddingBound = 16 * (stage == ZeroStage.DATA_PARALLEL ? t - psi : t - psi + n) + 8;
                    assertTrue(over >= 0 && over <= paddingBound, stage + ", N = " + n + ", " + states + ": " + over
                            + " bytes over the formula at Ψ = " + psi + ", bound " + paddingBound);
                }
            }
        }
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
        // One tensor of 10 elements on 2 devices: FlatLayout pads to 2 x 4096, each slice 4096 elements.
        // Link 1000 B/s, 0.5 s a message, pieces of 1000 elements: a chunk of 4096 goes in 5 pieces.
        Link link = new Link(1000, 0.5);
        double phase = 1 * (5 * 0.5 + 4096 * 2 / 1000.0);   // (N-1)(pieces α + c h / B) = 10.692 s
        double control = 1 * (0.5 + 1 / 1000.0) + 1 * (0.5 + 8 / 1000.0);   // anyTrue, the loss's gather
        ZeroPlanner.Plan s2 = ZeroPlanner.plan(new long[] {10}, ZeroStage.GRADIENTS, 2, Precision.FP16, StateFormat.FP32,
                link, 1000);
        assertEquals(2 * 10.692 + 1.009, s2.commSecondsPerStep(), 1e-9);
        assertEquals(2 * phase + control, s2.commSecondsPerStep(), 1e-9);
        assertEquals(2 * 4096 * 2, s2.bytesSentPerStep());
        assertEquals(4, s2.collectivesPerStep());
        ZeroPlanner.Plan s3 = ZeroPlanner.plan(new long[] {10}, ZeroStage.PARAMETERS, 2, Precision.FP16, StateFormat.FP32,
                link, 1000);
        assertEquals(3 * 10.692 + 1.009, s3.commSecondsPerStep(), 1e-9);
        ZeroPlanner.Plan s0 = ZeroPlanner.plan(new long[] {10}, ZeroStage.DATA_PARALLEL, 2, Precision.FP16,
                StateFormat.FP32, link, 1000);
        assertEquals(2 * 10.692 + 1.009, s0.commSecondsPerStep(), 1e-9, "an all-reduce: reduce-scatter + all-gather");
        // Unpieced, the textbook (N-1)(α + S/(N B)) with S = 8192 elements x 2 bytes, N = 4.
        ZeroPlanner.Plan s1 = ZeroPlanner.plan(new long[] {10}, ZeroStage.OPTIMIZER_STATE, 4, Precision.FP16,
                StateFormat.FP32, link, Integer.MAX_VALUE);
        double s = 4 * 4096 * 2;
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
