package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.partition.FlatLayout;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Which shards belong together: shards of another save (the reproductions, on a run of the
 * demo's configuration and shapes, its MLP replaced by a {@link SyntheticModel}), a shard copied over another, overlaps and holes crafted into CRC-valid headers, and header
 * values no save writes are refused on every restore path (a plain optimizer, new devices, and the
 * demo's header inspection), naming the shards or the field; a format-1 checkpoint still restores.
 */
class CheckpointIdentityTest {
    /** The demo's ZeRO part as {@code --part zero --steps 20 --save DIR --save-every 10 --devices 2} runs it. */
    static final int[] DEMO_WIDTHS = {32, 128, 128, 8};
    static final int DEMO_MICRO_BATCH = 64, DEMO_DEVICES = 2, DEMO_STEPS = 20;
    static final String SHARD_0 = "shard-00000-of-00002.ckpt", SHARD_1 = "shard-00001-of-00002.ckpt";

    static ZeroConfig demoConfig() {
        return ZeroConfig.builder().stage(ZeroStage.GRADIENTS).precision(Precision.FP16)
                .optimizer(AdamConfig.adamW().withLr(3e-3))
                .lossScaler(() -> DynamicLossScaler.builder().initScale(65536).growthInterval(50).build())
                .globalBatch(DEMO_DEVICES * DEMO_MICRO_BATCH).build();
    }

    static Map<String, Long> demoSizes() {
        return SyntheticModel.named(SyntheticModel.mlpSizes(DEMO_WIDTHS));
    }

    /** A run of {@code steps} steps of the demo's shapes and configuration from weights drawn with {@code seed}. */
    static ZeroRun.Result demoShapedRun(long seed, int steps, ZeroRun.Checkpointing checkpoints) {
        FlatLayout layout = FlatLayout.of(demoSizes(), DEMO_DEVICES);
        try (Arena arena = Arena.ofShared()) {
            ZeroRun.Plan plan = new ZeroRun.Plan(demoConfig(), layout, SyntheticModel.initial(arena, layout, seed), steps);
            return ZeroRun.run(plan, Duration.ofMinutes(1), checkpoints,
                    rank -> new SyntheticModel(SyntheticModel.mlpSizes(DEMO_WIDTHS), Precision.FP16, rank), r -> { });
        }
    }

    /** The demo's run with {@code --seed seed}, saved every 10 steps into {@code folder}; returns its step-20 folder. */
    static Path demoRun(Path folder, long seed) {
        demoShapedRun(seed, DEMO_STEPS, new ZeroRun.Checkpointing(folder, 10, null));
        Path step = folder.resolve("step-000000000020");
        assertTrue(Files.isDirectory(step), "no checkpoint at step 20 in " + folder);
        return step;
    }

    /** The demo's run with seed 42, with seed 7, and with 42 again, each saved at steps 10 and 20: made once. */
    @TempDir
    static Path made;

    @BeforeAll
    static void makeTheDemoRuns() {
        demoRun(made.resolve("A"), 42);
        demoRun(made.resolve("B"), 7);
        demoRun(made.resolve("again"), 42);
    }

    /** A copy of the made run {@code name} in {@code tmp}; returns its step-20 folder. */
    static Path copyOf(String name, Path tmp) throws IOException {
        Path to = tmp.resolve(name).resolve("step-000000000020");
        Files.createDirectories(to);
        for (String shard : List.of(SHARD_0, SHARD_1)) {
            Files.copy(made.resolve(name).resolve("step-000000000020").resolve(shard), to.resolve(shard));
        }
        return to;
    }

    /** The refusal of resuming {@code folder} as the demo does (headers first, then a run), checked on every path. */
    static String refusedEverywhere(Path folder) {
        String inspect = assertThrows(CheckpointException.class, () -> ZeroCheckpoint.inspect(folder)).getMessage();
        String resume = assertThrows(CheckpointException.class,
                () -> demoShapedRun(42, 2 * DEMO_STEPS, new ZeroRun.Checkpointing(null, 0, folder))).getMessage();
        String plain = assertThrows(CheckpointException.class,
                () -> RunState.restoredInto(demoConfig(), demoSizes(), folder)).getMessage();
        String onThree = assertThrows(CheckpointException.class, () -> RunState.restoredOnDevices(
                demoConfig().withStage(ZeroStage.PARAMETERS), demoSizes(), 3, folder)).getMessage();
        // The headers are read before anything else, the same way on every path: one message.
        assertEquals(inspect, resume);
        assertEquals(inspect, plain);
        assertEquals(inspect, onThree);
        return inspect;
    }

    @Test
    void aShardOfTheSameRunWithAnotherSeedIsRefused(@TempDir Path tmp) throws IOException {
        Path a = copyOf("A", tmp), b = copyOf("B", tmp);
        Files.copy(b.resolve(SHARD_1), a.resolve(SHARD_1), StandardCopyOption.REPLACE_EXISTING);
        String m = refusedEverywhere(tmp.resolve("A"));
        assertTrue(m.contains(SHARD_0) && m.contains(SHARD_1) && m.contains("not of one save (save id "), m);
        // With its own shard 0, B's shard 1 restores: the refusal is of the mix.
        assertEquals(DEMO_STEPS, RunState.restoredInto(demoConfig(), demoSizes(), tmp.resolve("B")).iterations());
    }

    @Test
    void aShardOfTheSameRunSavedAgainIsRefusedThoughItsDataIsTheSame(@TempDir Path tmp) throws IOException {
        Path a = copyOf("A", tmp), again = copyOf("again", tmp);
        assertEquals(-1L, mismatchAfterHeader(a.resolve(SHARD_1), again.resolve(SHARD_1)), "the rerun's data differs");
        Files.copy(again.resolve(SHARD_1), a.resolve(SHARD_1), StandardCopyOption.REPLACE_EXISTING);
        String m = refusedEverywhere(tmp.resolve("A"));
        assertTrue(m.contains("save id"), m);
    }

    private static long mismatchAfterHeader(Path x, Path y) throws IOException {
        byte[] a = Files.readAllBytes(x), b = Files.readAllBytes(y);
        return a.length != b.length ? 0 : java.util.Arrays.mismatch(java.util.Arrays.copyOfRange(a, 4096, a.length),
                java.util.Arrays.copyOfRange(b, 4096, b.length));
    }

    @Test
    void shardZeroCopiedOverShardOneIsRefusedOnEveryPath(@TempDir Path tmp) throws IOException {
        Path a = copyOf("A", tmp);
        Files.copy(a.resolve(SHARD_0), a.resolve(SHARD_1), StandardCopyOption.REPLACE_EXISTING);
        String m = refusedEverywhere(tmp.resolve("A"));
        assertTrue(m.contains(SHARD_1 + ": its header says it is shard 0 of 2 (" + SHARD_0 + ")"), m);
    }

    /**
     * Shard 1's buffers of layer1 (elements [6912, 16512): the demo's layout puts its three tensors in
     * one bucket, shard 0's slice ending inside layer1) moved by a header edit with a recomputed CRC.
     */
    private static void moveLayer1OfShard1(Path step, String from, String to) throws IOException {
        ShardFiles.editHeader(step.resolve(SHARD_1), text -> {
            String edited = text.replaceAll("(?m)^(buffer 1 \\S+ \\S+) " + from + " ", "$1 " + to + " ");
            assertTrue(!edited.equals(text), "no layer1 buffer at " + from + " in " + text);
            return edited;
        }, true);
    }

    @Test
    void anOverlapCraftedIntoAValidHeaderIsRefusedOnEveryPath(@TempDir Path tmp) throws IOException {
        Path a = copyOf("A", tmp);
        moveLayer1OfShard1(a, "6912 9600", "6656 9600");
        String m = refusedEverywhere(tmp.resolve("A"));
        assertTrue(m.contains("elements [6656, 6912) of master of tensor \"layer1\" are in two shards, " + SHARD_0
                + " and " + SHARD_1), m);
    }

    @Test
    void aHoleCraftedIntoAValidHeaderIsRefusedOnEveryPath(@TempDir Path tmp) throws IOException {
        Path a = copyOf("A", tmp);
        moveLayer1OfShard1(a, "6912 9600", "6912 9536");
        String m = refusedEverywhere(tmp.resolve("A"));
        assertTrue(m.contains("elements [16448, 16512) of master of tensor \"layer1\" are in no shard (" + SHARD_0 + ", "
                + SHARD_1 + ")"), m);
    }

    // ---------------------------------------------------------------- crafted header values

    /** A header edit applied to every shard with a recomputed CRC, and what the refusal must say. */
    record Crafted(String name, UnaryOperator<String> edit, String expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static UnaryOperator<String> line(String regex, String replacement) {
        return text -> {
            String edited = text.replaceFirst("(?m)" + regex, replacement);
            if (edited.equals(text)) {
                throw new AssertionError("nothing matches " + regex + " in " + text);
            }
            return edited;
        };
    }

    private static String scaler(float scale, int goodSteps, int hysteresisLeft) {
        return "scaler " + Float.floatToRawIntBits(scale) + " " + goodSteps + " " + hysteresisLeft;
    }

    /**
     * Values a save never writes, each in a header whose CRC matches. The demo's scaler settings:
     * growth interval 50, hysteresis 1, no minimum.
     */
    static List<Crafted> crafted() {
        List<Crafted> list = new ArrayList<>();
        for (float scale : new float[] {Float.NaN, -1f, 0f, -0f, Float.POSITIVE_INFINITY}) {
            list.add(new Crafted("scale " + scale, line("^scaler \\S+ ", scaler(scale, 0, 1).replaceFirst(" 0 1$", " ")),
                    "header field scaler: the scale is " + scale + ", expected a finite value > 0"));
        }
        list.add(new Crafted("good steps -1", line("^scaler (\\S+) \\S+ ", "scaler $1 -1 "),
                "header field scaler: good steps -1, expected >= 0"));
        list.add(new Crafted("good steps = the growth interval", line("^scaler (\\S+) \\S+ ", "scaler $1 50 "),
                "header field scaler: state.goodSteps"));
        list.add(new Crafted("hysteresis left 0", line("^scaler (\\S+) (\\S+) \\S+$", "scaler $1 $2 0"),
                "header field scaler: hysteresis left 0, expected >= 1"));
        list.add(new Crafted("hysteresis left above the hysteresis", line("^scaler (\\S+) (\\S+) \\S+$", "scaler $1 $2 2"),
                "header field scaler: state.hysteresisLeft"));
        list.add(new Crafted("scaler value not a number", line("^scaler \\S+ ", "scaler 1.5 "),
                "header field scaler: does not parse"));
        list.add(new Crafted("more steps than iterations", line("^optimizer-steps \\S+$", "optimizer-steps 21"),
                "header field optimizer-steps: 21 steps taken in 20 iterations"));
        list.add(new Crafted("negative steps", line("^optimizer-steps \\S+$", "optimizer-steps -1"),
                "header field optimizer-steps: expected >= 0, got -1"));
        list.add(new Crafted("negative iterations", line("^iterations \\S+$", "iterations -20"),
                "header field iterations: expected >= 0, got -20"));
        list.add(new Crafted("buffer past the end of the file", line("^(buffer \\S+ \\S+ \\S+ \\S+ \\S+) \\S+ ",
                "$1 00000000000409600000 "), "truncated: master of tensor layer0 ["));
        list.add(new Crafted("buffer inside the header", line("^(buffer \\S+ \\S+ \\S+ \\S+ \\S+) \\S+ ",
                "$1 00000000000000000000 "), "header field buffer: master of tensor layer0 ["));
        list.add(new Crafted("buffer at a negative offset", line("^(buffer \\S+ \\S+ \\S+ \\S+ \\S+) \\S+ ",
                "$1 -0000000000000004096 "), "starts at byte -4096, inside the header"));
        list.add(new Crafted("buffer not 4096-aligned", line("^(buffer \\S+ \\S+ \\S+ \\S+ \\S+) (\\S+) ",
                "$1 00000000000000004100 "), ", not a multiple of 4096"));
        list.add(new Crafted("buffer count past its tensor", line("^(buffer 1 \\S+ \\S+ \\S+) \\S+ ",
                "$1 9223372036854775807 "), "header field buffer: elements ["));
        list.add(new Crafted("buffer of a negative element", line("^(buffer 1 \\S+ \\S+) \\S+ ", "$1 -1 "),
                "header field buffer: elements [-1, "));
        list.add(new Crafted("buffer of a tensor not listed", line("^buffer 1 ", "buffer 7 "),
                "header field buffer: tensor number 7, expected [0, 3)"));
        list.add(new Crafted("buffer of an unknown type", line("^(buffer \\S+ \\S+) FP32 ", "$1 FP64 "),
                "header field buffer: does not parse"));
        list.add(new Crafted("negative tensor length", line("^tensor layer0 \\S+$", "tensor layer0 -4224"),
                "header field tensor: expected >= 0, got -4224"));
        list.add(new Crafted("zero devices", line("^shard (\\S+) of \\S+$", "shard $1 of 0"),
                "header field shard: expected \"R of N\" with 0 <= R < N"));
        list.add(new Crafted("not a stage", line("^stage \\S+$", "stage FOURTH"),
                "header field stage: \"FOURTH\" is not a stage"));
        list.add(new Crafted("save id not hex", line("^save \\S+$", "save 0123456789abcdefXYZ3456789abcdef"),
                "header field save: expected 32 lowercase hex digits"));
        list.add(new Crafted("save id missing", line("^save \\S+\\n", ""), "the header lacks field save"));
        list.add(new Crafted("another format version in the text", line("^adamant-checkpoint 3$", "adamant-checkpoint 1"),
                "header field adamant-checkpoint: says format version 1, the file's start 3"));
        list.add(new Crafted("a field twice", line("^(iterations \\S+)$", "$1\n$1"), "header field iterations: appears twice"));
        list.add(new Crafted("a field with a value too many", line("^(iterations \\S+)$", "$1 7"),
                "header field iterations: expected one value, got \"iterations 20 7\""));
        list.add(new Crafted("an unknown field", line("^(iterations \\S+)$", "$1\nchecksum 0"),
                "unknown header field \"checksum\""));
        list.add(new Crafted("byte order of another machine", line("^byte-order \\S+$", "byte-order BIG_ENDIAN"),
                "written on a BIG_ENDIAN machine"));
        return list;
    }

    @ParameterizedTest
    @MethodSource("crafted")
    void aValidCrcOverAnImpossibleValueIsRefusedNamingTheField(Crafted c, @TempDir Path tmp) throws IOException {
        Path a = copyOf("A", tmp);
        for (String shard : List.of(SHARD_0, SHARD_1)) {
            ShardFiles.editHeader(a.resolve(shard), c.edit(), true);
        }
        // The scaler's counters are checked against the run's scaler settings, which inspect does not have.
        boolean needsConfig = c.expected().contains("state.");
        String m = needsConfig ? assertThrows(CheckpointException.class,
                () -> RunState.restoredInto(demoConfig(), demoSizes(), tmp.resolve("A"))).getMessage()
                : refusedEverywhere(tmp.resolve("A"));
        if (needsConfig) {
            String onDevices = assertThrows(CheckpointException.class, () -> RunState.restoredOnDevices(demoConfig(),
                    demoSizes(), 2, tmp.resolve("A"))).getMessage();
            assertEquals(m, onDevices);
        }
        assertTrue(m.contains(c.expected()) && m.contains("shard-0000"), c + ": " + m);
    }

    // ---------------------------------------------------------------- the stage

    @Test
    void theSavedStageIsInformativeButMustAgreeAndNameAStage(@TempDir Path tmp) throws IOException {
        Path a = copyOf("A", tmp);
        RunState clean = RunState.restoredInto(demoConfig(), demoSizes(), tmp.resolve("A"));
        ShardFiles.editHeader(a.resolve(SHARD_1), line("^stage \\S+$", "stage PARAMETERS"), true);
        String m = refusedEverywhere(tmp.resolve("A"));
        assertTrue(m.contains(SHARD_1 + ": its stage differs (PARAMETERS vs GRADIENTS) from " + SHARD_0 + "'s"), m);
        // Edited in every shard: the state is the same at every stage, so it restores, as saved, and says so.
        ShardFiles.editHeader(a.resolve(SHARD_0), line("^stage \\S+$", "stage PARAMETERS"), true);
        assertEquals("PARAMETERS", ZeroCheckpoint.inspect(tmp.resolve("A")).savedStage());
        assertNull(clean.difference(RunState.restoredInto(demoConfig(), demoSizes(), tmp.resolve("A"))));
        assertNull(clean.difference(RunState.restoredOnDevices(demoConfig().withStage(ZeroStage.DATA_PARALLEL), demoSizes(),
                3, tmp.resolve("A"))));
    }

    // ---------------------------------------------------------------- format 1

    /** The format-1 fixture (see its README): its configuration and tensors. */
    static ZeroConfig v1Config() {
        return ZeroConfig.builder().stage(ZeroStage.OPTIMIZER_STATE).precision(Precision.BF16)
                .optimizer(AdamConfig.adamW().withLr(1e-2)).rounding(Rounding.stochastic(11))
                .lossScaler(() -> DynamicLossScaler.builder().initScale(1024).growthInterval(4).build())
                .globalBatch(2).build();
    }

    static Map<String, Long> v1Sizes() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("layer0", 300L);
        m.put("layer1", 37L);
        return m;
    }

    /** The format-2 fixture (see its README): its configuration and tensors. */
    static ZeroConfig v2Config() {
        return ZeroConfig.builder().stage(ZeroStage.GRADIENTS).precision(Precision.FP16)
                .optimizer(AdamConfig.adamW().withLr(1e-2)).rounding(Rounding.nearestEven()).maxGradNorm(1.0)
                .lossScaler(() -> DynamicLossScaler.builder().initScale(1024).growthInterval(4).build())
                .globalBatch(2).build();
    }

    static Map<String, Long> v2Sizes() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("layer0", 5000L);
        m.put("layer1", 70L);
        return m;
    }

    private static InputStream fixture(int version, String name) throws IOException {
        String path = "checkpoint-v" + version + "/" + name + ".gz";
        InputStream in = CheckpointIdentityTest.class.getResourceAsStream(path);
        if (in == null) {
            throw new AssertionError("missing test resource " + path);
        }
        return new GZIPInputStream(in);
    }

    /** Unpacks the format-1 checkpoint into {@code folder}/step-000000000005. */
    static Path unpackV1(Path folder) throws IOException {
        return unpack(1, folder);
    }

    /** Unpacks the format-{@code version} checkpoint into {@code folder}/step-000000000005. */
    static Path unpack(int version, Path folder) throws IOException {
        Path step = Files.createDirectories(folder.resolve("step-000000000005"));
        for (String shard : List.of(SHARD_0, SHARD_1)) {
            try (InputStream in = fixture(version, shard)) {
                Files.copy(in, step.resolve(shard));
            }
        }
        return step;
    }

    /** The state the format-1 fixture's devices held when they saved (expected.bin). */
    static RunState v1Expected() throws IOException {
        return expected(1);
    }

    /** The state the format-{@code version} fixture's devices held when they saved (expected.bin). */
    static RunState expected(int version) throws IOException {
        try (DataInputStream in = new DataInputStream(fixture(version, "expected.bin"))) {
            long iterations = in.readLong(), steps = in.readLong();
            DynamicLossScaler.State scaler = new DynamicLossScaler.State(Float.intBitsToFloat(in.readInt()), in.readInt(),
                    in.readInt());
            List<Map<String, int[]>> tensors = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Map<String, int[]> kinds = new LinkedHashMap<>();
                for (String kind : List.of("master", "exp_avg", "exp_avg_sq", "params")) {
                    int[] bits = new int[in.readInt()];
                    for (int i = 0; i < bits.length; i++) {
                        bits[i] = in.readInt();
                    }
                    kinds.put(kind, bits);
                }
                tensors.add(kinds);
            }
            return new RunState(iterations, steps, scaler, tensors);
        }
    }

    @Test
    void aFormatOneCheckpointStillRestoresOnEveryPath(@TempDir Path tmp) throws IOException {
        unpackV1(tmp);
        RunState expected = v1Expected();
        assertEquals(List.of("master", "exp_avg", "exp_avg_sq", "params"), RunState.kinds(v1Config()));
        assertNull(expected.difference(RunState.restoredInto(v1Config(), v1Sizes(), tmp)));
        assertNull(expected.difference(RunState.restoredOnDevices(v1Config(), v1Sizes(), 2, tmp)));
        assertNull(expected.difference(RunState.restoredOnDevices(v1Config().withStage(ZeroStage.PARAMETERS), v1Sizes(), 3,
                tmp)));
        ZeroCheckpoint.Info info = ZeroCheckpoint.inspect(tmp);
        assertNull(info.saveId(), "a format-1 checkpoint has no save id");
        assertEquals(2, info.savedDevices());
    }

    /** A checkpoint of the previous format (2: fp32 states only, before 8-bit ones) restores on every path. */
    @Test
    void aFormatTwoCheckpointStillRestoresOnEveryPath(@TempDir Path tmp) throws IOException {
        unpack(2, tmp);
        RunState expected = expected(2);
        assertEquals(List.of("master", "exp_avg", "exp_avg_sq", "params"), RunState.kinds(v2Config()));
        assertNull(expected.difference(RunState.restoredInto(v2Config(), v2Sizes(), tmp)));
        assertNull(expected.difference(RunState.restoredOnDevices(v2Config(), v2Sizes(), 2, tmp)));
        assertNull(expected.difference(RunState.restoredOnDevices(v2Config().withStage(ZeroStage.PARAMETERS), v2Sizes(), 1,
                tmp)));
        assertNull(expected.difference(RunState.restoredOnDevices(v2Config().withStage(ZeroStage.DATA_PARALLEL),
                v2Sizes(), 4, tmp)));
        ZeroCheckpoint.Info info = ZeroCheckpoint.inspect(tmp);
        assertEquals(32, info.saveId().length(), "a format-2 checkpoint has a save id");
        assertEquals(2, info.savedDevices());
        assertEquals(5, info.iterations());
    }

    @Test
    void formatOneShardsStillGetEveryCheckThatNeedsNoSaveId(@TempDir Path tmp) throws IOException {
        Path step = unpackV1(tmp);
        Files.copy(step.resolve(SHARD_0), step.resolve(SHARD_1), StandardCopyOption.REPLACE_EXISTING);
        String m = assertThrows(CheckpointException.class, () -> RunState.restoredInto(v1Config(), v1Sizes(), tmp))
                .getMessage();
        assertTrue(m.contains(SHARD_1 + ": its header says it is shard 0 of 2"), m);
        // A format-1 shard next to a format-2 one of the same run: not one save.
        Path mixed = tmp.resolve("mixed");
        Path v2 = Files.createDirectories(mixed.resolve("step-000000000005"));
        unpackV1(tmp.resolve("again"));
        Files.copy(tmp.resolve("again/step-000000000005").resolve(SHARD_0), v2.resolve(SHARD_0));
        resaveAsCurrentFormat(tmp.resolve("again"), tmp.resolve("v2"));
        Files.copy(tmp.resolve("v2/step-000000000005").resolve(SHARD_1), v2.resolve(SHARD_1));
        m = assertThrows(CheckpointException.class, () -> ZeroCheckpoint.inspect(mixed)).getMessage();
        assertTrue(m.contains("not of one save (format version 3 vs 1)"), m);
    }

    /** Restores the format-1 checkpoint in {@code from} on 2 devices and saves it unchanged, in the current format, into {@code to}. */
    private static void resaveAsCurrentFormat(Path from, Path to) {
        dev.adamant.zero.comm.inprocess.InProcessGroup.create(2, Duration.ofMinutes(1)).run(comm -> {
            ZeroCheckpoint.Restored r = ZeroCheckpoint.restore(v1Config(),
                    dev.adamant.zero.partition.FlatLayout.of(v1Sizes(), 2, 256), comm, from);
            try (ZeroDevice d = r.device()) {
                ZeroCheckpoint.save(d, to, r.info().iterations());
            }
        });
    }
}
