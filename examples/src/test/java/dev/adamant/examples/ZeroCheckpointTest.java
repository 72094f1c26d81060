package dev.adamant.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizers;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.mixed.MixedPrecisionOptimizer;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.CheckpointException;
import dev.adamant.zero.StepResult;
import dev.adamant.zero.ZeroCheckpoint;
import dev.adamant.zero.ZeroConfig;
import dev.adamant.zero.ZeroDevice;
import dev.adamant.zero.ZeroRun;
import dev.adamant.zero.ZeroStage;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.partition.FlatLayout;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints end to end with the real MLP: a run saved at step k and resumed (in a fresh JVM, on the
 * same or another number of devices, or into one plain optimizer) continues bit for bit as the run
 * straight through; every corruption is refused with its own message.
 */
class ZeroCheckpointTest {
    static final int[] WIDTHS = {32, 64, 64, 8};
    static final int MICRO_BATCH = 8, K = 6;
    static final long SEED = 7;

    static ZeroConfig config(ZeroStage stage, int globalBatch, String precision, String rounding) {
        return ZeroConfig.builder().stage(stage).precision(Precision.valueOf(precision))
                .optimizer(AdamConfig.adamW().withLr(3e-3))
                .rounding(rounding.equals("stochastic") ? Rounding.stochastic(11) : Rounding.nearestEven())
                .lossScaler(() -> DynamicLossScaler.builder().initScale(65536).growthInterval(4).build())
                .globalBatch(globalBatch).build();
    }

    static ZeroTraining.Options options(ZeroStage stage, int devices, String precision, String rounding, int steps) {
        return new ZeroTraining.Options(devices, config(stage, devices * MICRO_BATCH, precision, rounding), WIDTHS, MICRO_BATCH, steps,
                SEED, Duration.ofMinutes(1));
    }

    static void write(DataOutputStream out, ZeroRun.Result r) throws IOException {
        out.writeInt(r.finalParams().length);
        for (short x : r.finalParams()) {
            out.writeShort(x);
        }
        out.writeInt(r.history().size());
        for (StepResult s : r.history()) {
            out.writeInt(Float.floatToRawIntBits(s.loss()));
            out.writeInt(Float.floatToRawIntBits(s.scale()));
            out.writeLong(s.step());
        }
    }

    private static byte[] bytes(ZeroRun.Result r) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out, r);
        }
        return b.toByteArray();
    }

    /** The last {@code n} steps of {@code r}, as {@link #write} would write a run of them. */
    private static byte[] tail(ZeroRun.Result r, int n) throws IOException {
        List<StepResult> h = r.history();
        return bytes(new ZeroRun.Result(h.subList(h.size() - n, h.size()), r.ledgers(), r.peaks(), r.traffic(),
                r.secondsPerStep(), r.layout(), r.finalParams()));
    }

    record Case(int stage, int devices, String precision, String rounding) {
        String line(int steps, Path folder, Path out) {
            return stage + " " + devices + " " + precision + " " + rounding + " " + steps + " " + folder + " " + out;
        }
    }

    @Test
    void aRunResumedInAFreshJvmIsBitIdenticalToTheRunStraightThrough(@TempDir Path tmp) throws Exception {
        List<Case> cases = new ArrayList<>();
        for (int stage = 0; stage <= 3; stage++) {
            for (int n : new int[] {1, 2, 4}) {
                cases.add(new Case(stage, n, "FP16", "nearest"));
            }
        }
        cases.add(new Case(3, 2, "BF16", "stochastic"));
        cases.add(new Case(1, 4, "BF16", "stochastic"));
        List<String> lines = new ArrayList<>();
        List<byte[]> expected = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            ZeroStage stage = ZeroStage.of(c.stage());
            ZeroRun.Result straight = ZeroTraining.run(options(stage, c.devices(), c.precision(), c.rounding(), 2 * K),
                    r -> { });
            expected.add(tail(straight, K));
            Path folder = tmp.resolve("case" + i);
            ZeroTraining.run(options(stage, c.devices(), c.precision(), c.rounding(), K),
                    new ZeroRun.Checkpointing(folder, 0, null), r -> { });
            lines.add(c.line(2 * K, folder, tmp.resolve("out" + i)));
        }
        Path casesFile = tmp.resolve("cases.txt");
        Files.write(casesFile, lines);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Dadamant.kernels=" + System.getProperty("adamant.kernels", "auto"),
                "-cp", System.getProperty("java.class.path"), CheckpointResumeMain.class.getName(), casesFile.toString())
                .redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(5, TimeUnit.MINUTES), output);
        assertEquals(0, child.exitValue(), output);
        for (int i = 0; i < cases.size(); i++) {
            assertArrayEquals(expected.get(i), Files.readAllBytes(tmp.resolve("out" + i)), cases.get(i)
                    + ": the resumed run differs from the run straight through");
        }
    }

    @Test
    void aCheckpointMovesToOtherDeviceCountsAndBackWithoutLosingABit(@TempDir Path tmp) throws Exception {
        ZeroRun.Result straight = ZeroTraining.run(options(ZeroStage.OPTIMIZER_STATE, 2, "FP16", "nearest", 2 * K),
                r -> { });
        Path two = tmp.resolve("two"), four = tmp.resolve("four"), three = tmp.resolve("three"), back = tmp.resolve("back");
        ZeroTraining.run(options(ZeroStage.OPTIMIZER_STATE, 2, "FP16", "nearest", K),
                new ZeroRun.Checkpointing(two, 0, null), r -> { });
        // 2 -> 4 devices (stage 3) -> 3 devices (stage 0) -> 2 devices (stage 1): each saves what it restored.
        resave(ZeroStage.PARAMETERS, 4, two, four);
        resave(ZeroStage.DATA_PARALLEL, 3, four, three);
        resave(ZeroStage.OPTIMIZER_STATE, 2, three, back);
        ZeroRun.Result resumed = ZeroTraining.run(options(ZeroStage.OPTIMIZER_STATE, 2, "FP16", "nearest", 2 * K),
                new ZeroRun.Checkpointing(null, 0, back), r -> { });
        assertArrayEquals(tail(straight, K), bytes(resumed));
        // And a run resumed on 4 devices carries on learning from there.
        ZeroRun.Result onFour = ZeroTraining.run(new ZeroTraining.Options(4, config(ZeroStage.PARAMETERS,
                2 * MICRO_BATCH, "FP16", "nearest"), WIDTHS, MICRO_BATCH / 2, 3 * K, SEED, Duration.ofMinutes(1)),
                new ZeroRun.Checkpointing(null, 0, two), r -> { });
        assertEquals(2 * K, onFour.history().size());
        assertTrue(onFour.history().get(2 * K - 1).loss() < straight.history().get(0).loss());
    }

    /** Restores {@code from} onto {@code n} devices at {@code stage} and saves it unchanged into {@code to}. */
    private static void resave(ZeroStage stage, int n, Path from, Path to) {
        ZeroConfig config = config(stage, 2 * MICRO_BATCH, "FP16", "nearest");
        FlatLayout layout = layout(n);
        InProcessGroup.create(n, Duration.ofMinutes(1)).run(comm -> {
            ZeroCheckpoint.Restored r = ZeroCheckpoint.restore(config, layout, comm, from);
            try (ZeroDevice d = r.device()) {
                assertEquals(K, r.info().iterations());
                ZeroCheckpoint.save(d, to, r.info().iterations());
            }
        });
    }

    static FlatLayout layout(int devices) {
        try (Mlp probe = new Mlp(WIDTHS, Precision.FP16, 1)) {
            return FlatLayout.of(probe.tensorSizes(), devices);
        }
    }

    @Test
    void aZeroCheckpointRestoresIntoOnePlainOptimizerThatContinuesTheRun(@TempDir Path tmp) {
        int batch = MICRO_BATCH;
        ZeroRun.Result straight = ZeroTraining.run(options(ZeroStage.GRADIENTS, 1, "FP16", "nearest", 2 * K), r -> { });
        Path folder = tmp.resolve("ckpt");
        ZeroTraining.run(options(ZeroStage.GRADIENTS, 1, "FP16", "nearest", K), new ZeroRun.Checkpointing(folder, 0, null),
                r -> { });
        long n = Mlp.parameters(WIDTHS);
        try (Arena arena = Arena.ofShared(); Mlp model = new Mlp(WIDTHS, Precision.FP16, batch);
             MixedPrecisionOptimizer opt = MixedPrecisionOptimizer.builder(
                     Optimizers.adam(AdamConfig.adamW().withLr(3e-3), n), Precision.FP16)
                     .lossScaler(DynamicLossScaler.builder().initScale(65536).growthInterval(4).build()).build()) {
            MemorySegment params = arena.allocate(n * 2, 64), grads = arena.allocate(n * 2, 64);
            ZeroCheckpoint.Info info = ZeroCheckpoint.restoreInto(opt, config(ZeroStage.GRADIENTS, MICRO_BATCH, "FP16", "nearest"),
                    model.tensorSizes(), params, folder);
            assertEquals(K, info.iterations());
            Teacher teacher = new Teacher(WIDTHS, SEED + 1_000_003);
            MemorySegment x = arena.allocate(batch * 32L * 4, 64), y = arena.allocate(batch * 8L * 4, 64);
            for (int s = K; s < 2 * K; s++) {
                teacher.sample(s, 0, x, y, batch);
                model.loadBatch(x, y);
                for (int l = 0; l < model.layers(); l++) {
                    model.forward(l, params.asSlice(model.layerOffset(l) * 2, model.layerParameters(l) * 2));
                }
                float loss = model.loss();
                float scale = opt.scaler().scale();
                for (int l = model.layers() - 1; l >= 0; l--) {
                    model.backward(l, params.asSlice(model.layerOffset(l) * 2, model.layerParameters(l) * 2),
                            grads.asSlice(model.layerOffset(l) * 2, model.layerParameters(l) * 2), scale, batch);
                }
                opt.step(params, grads);
                assertEquals(straight.history().get(s).loss(), loss, "step " + s);
            }
            assertArrayEquals(ZeroTrainingTest.unpadded(straight), params.toArray(ValueLayout.JAVA_SHORT_UNALIGNED));
        }
    }

    // ---------------------------------------------------------------- refusals

    /** A fresh two-device checkpoint of a short run in {@code folder}; returns shard 1's file. */
    private static Path saved(Path folder) {
        ZeroTraining.run(options(ZeroStage.OPTIMIZER_STATE, 2, "FP16", "nearest", 3),
                new ZeroRun.Checkpointing(folder, 0, null), r -> { });
        return ZeroCheckpoint.latest(folder).orElseThrow().resolve("shard-00001-of-00002.ckpt");
    }

    private static String refusal(Path folder) {
        return assertThrows(CheckpointException.class, () -> ZeroTraining.run(
                options(ZeroStage.OPTIMIZER_STATE, 2, "FP16", "nearest", 6),
                new ZeroRun.Checkpointing(null, 0, folder), r -> { })).getMessage();
    }

    private static void poke(Path file, long at, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(bytes), at);
        }
    }

    private static byte read(Path file, long at) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            return b.get(0);
        }
    }

    @Test
    void aTruncatedShardIsRefused(@TempDir Path tmp) throws IOException {
        Path shard = saved(tmp);
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 100);
        }
        String m = refusal(tmp);
        assertTrue(m.contains("shard-00001-of-00002.ckpt: truncated:") && m.contains("ends at byte"), m);
    }

    @Test
    void aFlippedDataByteIsRefusedByItsCrc(@TempDir Path tmp) throws IOException {
        Path shard = saved(tmp);
        long at = Files.size(shard) - 3;
        poke(shard, at, new byte[] {(byte) (read(shard, at) ^ 0x10)});
        String m = refusal(tmp);
        assertTrue(m.contains("CRC32C mismatch in params of tensor") && m.contains("the data is corrupt"), m);
    }

    @Test
    void aFlippedHeaderByteIsRefusedByItsCrc(@TempDir Path tmp) throws IOException {
        Path shard = saved(tmp);
        poke(shard, 40, new byte[] {(byte) (read(shard, 40) ^ 0x01)});
        String m = refusal(tmp);
        assertTrue(m.contains("header CRC32C mismatch") && m.contains("the header is corrupt"), m);
    }

    @Test
    void aWrongMagicIsRefused(@TempDir Path tmp) throws IOException {
        poke(saved(tmp), 0, "PK\u0003\u0004".getBytes(StandardCharsets.ISO_8859_1));
        String m = refusal(tmp);
        assertTrue(m.contains("not an Adamant checkpoint shard: it starts with \"PK\\x03\\x04TCKP\", expected \"ADMNTCKP\""), m);
    }

    @Test
    void aNewerFormatVersionIsRefused(@TempDir Path tmp) throws IOException {
        poke(saved(tmp), 8, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(4).array());
        String m = refusal(tmp);
        assertTrue(m.contains("format version 4 is newer than this library reads (3)"), m);
    }

    @Test
    void aMissingShardIsRefused(@TempDir Path tmp) throws IOException {
        Files.delete(saved(tmp));
        String m = refusal(tmp);
        assertTrue(m.contains("shard 1 of 2 is missing (shard-00001-of-00002.ckpt)"), m);
    }

    @Test
    void aTensorOfAnotherLengthIsRefused(@TempDir Path tmp) {
        saved(tmp);
        int[] wider = {32, 96, 64, 8};
        CheckpointException e = assertThrows(CheckpointException.class, () -> ZeroTraining.run(
                new ZeroTraining.Options(2, config(ZeroStage.OPTIMIZER_STATE, 2 * MICRO_BATCH, "FP16", "nearest"), wider, MICRO_BATCH, 6,
                        SEED, Duration.ofMinutes(1)), new ZeroRun.Checkpointing(null, 0, tmp), r -> { }));
        assertTrue(e.getMessage().contains("tensor \"layer0\" has 2112 elements in the checkpoint, 3168 in the model"), e.getMessage());
    }

    @Test
    void aConfigurationThatDiffersIsRefused(@TempDir Path tmp) {
        saved(tmp);
        ZeroConfig otherLr = ZeroConfig.builder().stage(ZeroStage.OPTIMIZER_STATE).precision(Precision.FP16)
                .optimizer(AdamConfig.adamW().withLr(1e-3))
                .lossScaler(() -> DynamicLossScaler.builder().initScale(65536).growthInterval(4).build())
                .globalBatch(2 * MICRO_BATCH).build();
        CheckpointException e = assertThrows(CheckpointException.class, () -> ZeroTraining.run(
                new ZeroTraining.Options(2, otherLr, WIDTHS, MICRO_BATCH, 6, SEED, Duration.ofMinutes(1)),
                new ZeroRun.Checkpointing(null, 0, tmp), r -> { }));
        assertTrue(e.getMessage().contains("the configuration differs") && e.getMessage().contains("optimizer: saved AdamW[lr=0.003")
                && e.getMessage().contains("this run AdamW[lr=0.001"), e.getMessage());
    }

    @Test
    void badSaveArgumentsAreRefusedBeforeAnythingIsWritten(@TempDir Path tmp) throws IOException {
        FlatLayout layout = layout(1);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment initial = arena.allocate(layout.paddedSize() * Float.BYTES, 64);
            InProcessGroup.create(1, Duration.ofMinutes(1)).run(comm -> {
                try (ZeroDevice d = new ZeroDevice(config(ZeroStage.OPTIMIZER_STATE, MICRO_BATCH, "FP16", "nearest"), layout,
                        comm, initial)) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> ZeroCheckpoint.save(d, tmp, -1));
                    assertEquals("iterations: expected >= 0 (the device's optimizer steps, each taken in one iteration),"
                            + " got -1", e.getMessage());
                    assertEquals("folder", assertThrows(NullPointerException.class,
                            () -> ZeroCheckpoint.save(d, null, 1)).getMessage());
                }
            });
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void noCheckpointIsRefused(@TempDir Path tmp) {
        String m = refusal(tmp);
        assertTrue(m.contains("no checkpoint in " + tmp), m);
    }

    @Test
    void savesKeepTheNewestTwoAndLeaveNoTemporaries(@TempDir Path tmp) throws IOException {
        ZeroTraining.run(options(ZeroStage.GRADIENTS, 2, "FP16", "nearest", 7), new ZeroRun.Checkpointing(tmp, 2, null),
                r -> { });
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of("step-000000000006", "step-000000000007"),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }
}
