package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.StateFormat;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.partition.FlatLayout;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Checkpoints of runs with 8-bit block-wise Adam states (format version 3): the codes and absmax
 * saved and restored bit for bit, a run resumed from one equal to the run straight through, the
 * state moved onto other device counts and stages and into one plain optimizer, and a checkpoint
 * restored into a run of the other state format refused, naming the formats. The references are
 * live devices' state (what a save must keep) and the run that was never interrupted.
 */
class Blockwise8CheckpointTest {
    /** 8-bit layers of 5000 and 9000 elements (partial last blocks), fp32 ones of 70 and 1 (below 4096). */
    static final long[] SIZES = {5000, 70, 9000, 1};

    static ZeroConfig config(ZeroStage stage, StateFormat states) {
        return ZeroConfig.builder().stage(stage).precision(Precision.BF16)
                .optimizer(AdamConfig.adamW().withLr(1e-2).withStateFormat(states)).rounding(Rounding.stochastic(9))
                .maxGradNorm(5).lossScaler(() -> DynamicLossScaler.builder().initScale(256).growthInterval(3).build())
                .globalBatch(8).build();
    }

    /**
     * Trains {@code sizes} on {@code n} devices up to iteration {@code to}: from the initial weights
     * (seed 5), or from the newest checkpoint in {@code resume}; saves at iteration {@code saveAt}
     * into {@code save} (if not null). Returns the devices' live state at the end.
     */
    static RunState train(long[] sizes, ZeroConfig config, int n, Path resume, int to, Path save, int saveAt) {
        Map<String, Long> named = SyntheticModel.named(sizes);
        FlatLayout layout = FlatLayout.of(named, n);
        RunState.Collector live = RunState.Collector.perTensor(sizes, Arrays.stream(sizes)
                .mapToObj(len -> RunState.kinds(config, len)).toList());
        try (Arena arena = Arena.ofShared()) {
            MemorySegment init = SyntheticModel.initial(arena, layout, 5);
            InProcessGroup.create(n, Duration.ofMinutes(1)).run(comm -> {
                long start = 0;
                ZeroDevice device;
                if (resume == null) {
                    device = new ZeroDevice(config, layout, comm, init);
                } else {
                    ZeroCheckpoint.Restored r = ZeroCheckpoint.restore(config, layout, comm, resume);
                    device = r.device();
                    start = r.info().iterations();
                }
                try (ZeroDevice d = device) {
                    SyntheticModel model = new SyntheticModel(sizes, config.precision(), comm.rank());
                    for (long s = start; s < to; s++) {
                        model.setStep(s);
                        d.step(model);
                        if (save != null && s + 1 == saveAt) {
                            ZeroCheckpoint.save(d, save, s + 1);
                        }
                    }
                    live.add(d);
                }
            });
        }
        return live.state(to);
    }

    @ParameterizedTest(name = "N={0}: saved at stage {1}, resumed at stage {2}")
    @CsvSource({"1, 0, 3", "2, 2, 3", "4, 1, 0"})
    void aResumedRunEqualsTheRunStraightThroughBitForBit(int n, int savedStage, int resumedStage, @TempDir Path tmp) {
        StateFormat f = Boolean.getBoolean("probe.fp32") ? StateFormat.FP32 : StateFormat.BLOCKWISE_8BIT;
        Path dir = tmp.resolve("ckpt");
        RunState atSave = train(SIZES, config(ZeroStage.of(savedStage), f), n, null, 5, dir, 5);
        if (f == StateFormat.BLOCKWISE_8BIT) assertEquals(List.of("master", "state1", "absmax1", "state2", "absmax2", "params"),
                List.copyOf(atSave.tensors().get(0).keySet()), "layer0 keeps 8-bit states");
        assertEquals(List.of("master", "exp_avg", "exp_avg_sq", "params"), List.copyOf(atSave.tensors().get(1).keySet()),
                "layer1 (70 elements) keeps fp32 states");
        if (f == StateFormat.BLOCKWISE_8BIT) assertTrue(Arrays.stream(atSave.tensors().get(2).get("absmax2")).anyMatch(x -> x != 0), "the 8-bit state moved");
        // What was saved is what the devices held: restored on N, on 1 and on 3 devices, at other stages.
        for (int m : new int[] {n, 1, 3}) {
            assertNull(atSave.difference(RunState.restoredOnDevices(config(ZeroStage.of(resumedStage), f),
                    SyntheticModel.named(SIZES), m, dir)), "restored on " + m + " devices");
        }
        RunState straight = train(SIZES, config(ZeroStage.of(savedStage), f), n, null, 10, null, -1);
        RunState resumed = train(SIZES, config(ZeroStage.of(resumedStage), f), n, dir, 10, null, -1);
        assertNull(straight.difference(resumed));
        assertNotNull(straight.difference(atSave), "the run moved after the save");
    }

    /** Into one plain 8-bit optimizer over the tensors back to back: where every tensor but the last is whole blocks. */
    @Test
    void anEightBitCheckpointRestoresIntoOnePlainOptimizer(@TempDir Path tmp) {
        long[] sizes = {17 * 256, 9000};
        ZeroConfig config = config(ZeroStage.GRADIENTS, StateFormat.BLOCKWISE_8BIT);
        RunState atSave = train(sizes, config, 2, null, 4, tmp.resolve("a"), 4);
        assertNull(atSave.difference(RunState.restoredInto(config, SyntheticModel.named(sizes), tmp.resolve("a"))));
        // A first tensor of 5000: the plain optimizer's blocks would straddle the two tensors.
        long[] uneven = {5000, 9000};
        train(uneven, config, 2, null, 2, tmp.resolve("b"), 2);
        String m = assertThrows(IllegalArgumentException.class,
                () -> RunState.restoredInto(config, SyntheticModel.named(uneven), tmp.resolve("b"))).getMessage();
        assertTrue(m.startsWith("tensorSizes: tensor \"layer0\" has 5000 elements, not whole blocks of 256"), m);
        // With a tensor below 4096 (fp32 states in the run), a plain 8-bit optimizer keeps other buffers.
        long[] small = {17 * 256, 70, 9000};
        train(small, config, 2, null, 2, tmp.resolve("c"), 2);
        m = assertThrows(IllegalArgumentException.class,
                () -> RunState.restoredInto(config, SyntheticModel.named(small), tmp.resolve("c"))).getMessage();
        assertTrue(m.startsWith("target: its optimizer keeps [state1, absmax1, state2, absmax2], but tensor \"layer1\""
                + " (70 elements) was saved with [exp_avg, exp_avg_sq]"), m);
    }

    private static Path saved8bit(Path tmp) {
        Path dir = tmp.resolve("saved8bit");
        train(SIZES, config(ZeroStage.OPTIMIZER_STATE, StateFormat.BLOCKWISE_8BIT), 2, null, 2, dir, 2);
        return dir;
    }

    @Test
    void aCheckpointOfTheOtherStateFormatIsRefusedNamingBoth(@TempDir Path tmp) {
        Path eight = saved8bit(tmp), fp32 = tmp.resolve("fp32");
        train(SIZES, config(ZeroStage.OPTIMIZER_STATE, StateFormat.FP32), 2, null, 2, fp32, 2);
        Map<String, Long> sizes = SyntheticModel.named(SIZES);
        for (ZeroStage stage : List.of(ZeroStage.DATA_PARALLEL, ZeroStage.PARAMETERS)) {
            String m = assertThrows(CheckpointException.class, () -> RunState.restoredOnDevices(
                    config(stage, StateFormat.FP32), sizes, 2, eight)).getMessage();
            assertTrue(m.contains("the configuration differs from the saved run's, so the run would not continue as it"
                    + " was: optimizer state format: saved BLOCKWISE_8BIT, this run FP32; optimizer: saved AdamW["), m);
            m = assertThrows(CheckpointException.class, () -> RunState.restoredOnDevices(
                    config(stage, StateFormat.BLOCKWISE_8BIT), sizes, 2, fp32)).getMessage();
            assertTrue(m.contains("optimizer state format: saved FP32, this run BLOCKWISE_8BIT"), m);
        }
        String m = assertThrows(CheckpointException.class, () -> RunState.restoredInto(
                config(ZeroStage.GRADIENTS, StateFormat.FP32), sizes, eight)).getMessage();
        assertTrue(m.contains("optimizer state format: saved BLOCKWISE_8BIT, this run FP32"), m);
        // Another minimum size is another format too (it changes which tensors are 8-bit).
        m = assertThrows(CheckpointException.class, () -> RunState.restoredOnDevices(config(ZeroStage.GRADIENTS,
                StateFormat.BLOCKWISE_8BIT.withMinBlockwiseSize(0)), sizes, 2, eight)).getMessage();
        assertTrue(m.contains("optimizer state format: saved BLOCKWISE_8BIT, this run BLOCKWISE_8BIT(min 0)"), m);
    }

    /** The format on disk: version 3, the codes as U8 elements, absmax counted in blocks, each share whole blocks. */
    @Test
    void theShardsHoldCodesAsBytesAndAbsmaxByBlock(@TempDir Path tmp) throws IOException {
        Path dir = saved8bit(tmp);
        Path step = ZeroCheckpoint.latest(dir).orElseThrow();
        String h0 = ShardFiles.header(step.resolve("shard-00000-of-00002.ckpt"));
        String h1 = ShardFiles.header(step.resolve("shard-00001-of-00002.ckpt"));
        assertTrue(h0.startsWith("adamant-checkpoint 3\n"), h0);
        // One bucket of the four layers (5120 + 256 + 9216 + 256 = 14848 aligned elements, 29 x 2 x 256),
        // slices of 7424: rank 0 holds layer0, layer1 and layer2's [0, 2048) = blocks [0, 8); rank 1 the rest.
        assertTrue(h0.contains("\nbuffer 0 state1 U8 0 5000 "), h0);
        assertTrue(h0.contains("\nbuffer 2 state1 U8 0 2048 "), h0);
        assertTrue(h0.contains("\nbuffer 2 absmax1 FP32 0 8 "), h0);
        assertTrue(h1.contains("\nbuffer 2 state2 U8 2048 6952 "), h1);
        assertTrue(h1.contains("\nbuffer 2 absmax2 FP32 8 28 "), h1);   // ceil(9000 / 256) = 36 blocks
        assertTrue(!h1.contains("\nbuffer 0 "), h1);
        assertTrue(h0.contains("\nbuffer 1 exp_avg FP32 0 70 "), h0);
        // A U8 buffer in a file that says it is version 2 is not a version-2 file.
        ShardFiles.editHeader(step.resolve("shard-00000-of-00002.ckpt"), t -> t.replace("adamant-checkpoint 3",
                "adamant-checkpoint 2"), true);
        ShardFiles.pokeInt(step.resolve("shard-00000-of-00002.ckpt"), 8, 2);
        String m = assertThrows(CheckpointException.class, () -> ZeroCheckpoint.inspect(dir)).getMessage();
        assertTrue(m.contains("header field buffer: dtype U8 is not part of format version 2"), m);
    }
}
