package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.partition.FlatLayout;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint fuzzing with fixed seeds: checkpoints made here (fp16 and bf16 with stochastic
 * rounding, stages 1 and 3, 2 and 3 devices, one tensor whose buffers span two 4 MiB CRC chunks)
 * are corrupted in twelve families of ways, and each is restored on two paths: into one plain
 * optimizer, and onto new devices (another count, another stage). Every outcome must be, on both
 * paths, a {@link CheckpointException} naming a shard and a problem of the family, or a restore
 * bit-identical to the state the devices held when they saved (a flip in padding, say); anything
 * else (another exception, a silent difference, the paths disagreeing) fails the test. One summary
 * line per family goes to stdout.
 */
class CheckpointFuzzTest {
    private static final long SEED = 0x5EED_C4EC_4B01L;
    private static final String STEP = "step-000000000003", EARLIER = "step-000000000002";
    private static final Duration TIMEOUT = Duration.ofMinutes(1);

    /** A run to checkpoint, and the devices and stage its checkpoint is restored onto. */
    record Setup(String name, Precision precision, ZeroStage stage, int devices, long[] sizes, boolean amsgrad,
                 ZeroStage restoreStage, int restoreDevices) {
        ZeroConfig config() {
            AdamConfig adam = AdamConfig.adamW().withLr(1e-2).withAmsgrad(amsgrad);
            return ZeroConfig.builder().stage(stage).precision(precision).optimizer(adam)
                    .rounding(Rounding.stochastic(sizes.length * 1000L + devices))
                    .lossScaler(() -> DynamicLossScaler.builder().initScale(1024).growthInterval(2).build())
                    .globalBatch(devices).build();
        }

        Map<String, Long> tensorSizes() {
            Map<String, Long> m = new LinkedHashMap<>();
            for (int t = 0; t < sizes.length; t++) {
                m.put("t" + t + (t == 1 ? " / odd%name" : ""), sizes[t]);
            }
            return m;
        }
    }

    private static final List<Setup> SETUPS = List.of(
            new Setup("fp16, stage 1 on 2 devices", Precision.FP16, ZeroStage.OPTIMIZER_STATE, 2,
                    new long[] {5000, 70, 9000, 1}, false, ZeroStage.PARAMETERS, 3),
            new Setup("bf16 amsgrad, stage 3 on 3 devices", Precision.BF16, ZeroStage.PARAMETERS, 3,
                    new long[] {5000, 70, 9000, 1}, true, ZeroStage.OPTIMIZER_STATE, 2),
            new Setup("fp16, stage 3 on 3 devices", Precision.FP16, ZeroStage.PARAMETERS, 3,
                    new long[] {4099, 1021, 17}, false, ZeroStage.DATA_PARALLEL, 1),
            // 2,200,001 elements: each shard's fp32 buffers are 4.4 MB, two CRC chunks; 3 devices read across them.
            new Setup("bf16, stage 1 on 2 devices, a 2.2M-element tensor", Precision.BF16, ZeroStage.OPTIMIZER_STATE, 2,
                    new long[] {2_200_001, 15}, false, ZeroStage.PARAMETERS, 3));

    /** A setup's checkpoints: run A at steps 2 and 3, run B (other weights) and A again, at step 3; A's live state. */
    record Made(Setup setup, Path a, Path aEarlier, Path b, Path again, RunState live) {
        List<String> shardNames() {
            List<String> names = new ArrayList<>();
            for (int r = 0; r < setup.devices(); r++) {
                names.add(String.format(Locale.ROOT, "shard-%05d-of-%05d.ckpt", r, setup.devices()));
            }
            return names;
        }
    }

    /** Trains {@code setup} 3 steps from weights drawn with {@code seed}, saving at steps 2 and 3; returns the live state. */
    private static RunState train(Setup setup, long seed, Path folder) {
        ZeroConfig config = setup.config();
        Map<String, Long> sizes = setup.tensorSizes();
        FlatLayout layout = FlatLayout.of(sizes, setup.devices());
        RunState.Collector live = new RunState.Collector(setup.sizes(), RunState.kinds(config));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment init = SyntheticModel.initial(arena, layout, seed);
            InProcessGroup.create(setup.devices(), TIMEOUT).run(comm -> {
                SyntheticModel model = new SyntheticModel(setup.sizes(), config.precision(), comm.rank());
                try (ZeroDevice d = new ZeroDevice(config, layout, comm, init)) {
                    for (int s = 0; s < 3; s++) {
                        model.setStep(s);
                        d.step(model);
                        if (s >= 1) {
                            ZeroCheckpoint.save(d, folder, s + 1);
                        }
                    }
                    live.add(d);
                }
            });
        }
        return live.state(3);
    }

    private static Made make(Setup setup, Path dir) {
        RunState live = train(setup, 1, dir.resolve("A"));
        train(setup, 2, dir.resolve("B"));
        assertNull(live.difference(train(setup, 1, dir.resolve("again"))), setup + ": the rerun differs");
        return new Made(setup, dir.resolve("A").resolve(STEP), dir.resolve("A").resolve(EARLIER),
                dir.resolve("B").resolve(STEP), dir.resolve("again").resolve(STEP), live);
    }

    // ---------------------------------------------------------------- outcomes

    /** What one restore path did. */
    private sealed interface Outcome {
        record Refused(String message) implements Outcome {}

        record Identical() implements Outcome {}

        record Wrong(String what) implements Outcome {}
    }

    private static Outcome attempt(RunState live, Supplier<RunState> restore) {
        try {
            String diff = live.difference(restore.get());
            return diff == null ? new Outcome.Identical() : new Outcome.Wrong("restored silently, but differs: " + diff);
        } catch (CheckpointException e) {
            return new Outcome.Refused(e.getMessage());
        } catch (Throwable t) {
            return new Outcome.Wrong("threw " + t);
        }
    }

    /** A family of corruptions: its name, how many trials, what a refusal of it may say, and the corruption. */
    private record Family(String name, int trials, Pattern problems, Corruption corruption) {}

    @FunctionalInterface
    private interface Corruption {
        /** Corrupts the checkpoint in {@code step} (its shards are links to {@code made}'s until detached). */
        void apply(Made made, Path step, SplittableRandom random) throws IOException;
    }

    private static final class Tally {
        int trials, refused, identical, failed;
        final List<String> failures = new ArrayList<>();
    }

    @Test
    void everyCorruptionIsRefusedWithItsProblemOrRestoresBitIdentically(@TempDir Path tmp) throws IOException {
        List<Made> made = new ArrayList<>();
        for (int i = 0; i < SETUPS.size(); i++) {
            Made m = make(SETUPS.get(i), tmp.resolve("setup" + i));
            // The clean checkpoint restores to what the devices held, on both paths.
            assertNull(m.live().difference(restorePlain(m, m.a().getParent())), m.setup() + ", clean, plain");
            assertNull(m.live().difference(restoreDevices(m, m.a().getParent())), m.setup() + ", clean, devices");
            made.add(m);
        }
        SplittableRandom random = new SplittableRandom(SEED);
        Map<String, Tally> tallies = new LinkedHashMap<>();
        int trial = 0;
        for (Family f : families()) {
            Tally tally = tallies.computeIfAbsent(f.name(), k -> new Tally());
            for (int k = 0; k < f.trials(); k++, trial++) {
                // The 2.2M-element setup is 14x the bytes of the others: one trial in seven.
                Made m = made.get(new int[] {0, 1, 2, 3, 0, 1, 2}[k % 7]);
                Path root = tmp.resolve("trial" + trial), step = Files.createDirectories(root.resolve(STEP));
                for (String name : m.shardNames()) {
                    Files.createLink(step.resolve(name), m.a().resolve(name));
                }
                SplittableRandom r = random.split();
                f.corruption().apply(m, step, r);
                Outcome plain = attempt(m.live(), () -> restorePlain(m, root));
                Outcome devices = attempt(m.live(), () -> restoreDevices(m, root));
                String verdict = verdict(f, plain, devices);
                tally.trials++;
                if (verdict == null && plain instanceof Outcome.Refused) {
                    tally.refused++;
                } else if (verdict == null) {
                    tally.identical++;
                } else {
                    tally.failed++;
                    tally.failures.add(f.name() + " #" + k + " (" + m.setup().name() + "): " + verdict);
                }
                deleteTree(root);
            }
        }
        List<String> failures = new ArrayList<>();
        int total = 0;
        for (Map.Entry<String, Tally> e : tallies.entrySet()) {
            Tally t = e.getValue();
            System.out.printf(Locale.ROOT, "checkpoint fuzz: %-44s %4d trials, %4d refused, %4d identical, %d failed%n",
                    e.getKey() + ":", t.trials, t.refused, t.identical, t.failed);
            failures.addAll(t.failures);
            total += t.trials;
        }
        assertTrue(failures.isEmpty(), failures.size() + " trials failed:\n" + String.join("\n", failures));
        assertTrue(total >= 300, "only " + total + " trials");
        // Both outcomes of a data flip happen (padding is not checked, buffers are), so both were exercised.
        Tally data = tallies.get("data bit flips");
        assertTrue(data.refused > 0 && data.identical > 0, "data flips: " + data.refused + " refused, " + data.identical
                + " identical");
    }

    /** Null if the two paths agree on an allowed outcome, else what is wrong. */
    private static String verdict(Family f, Outcome plain, Outcome devices) {
        for (Outcome o : List.of(plain, devices)) {
            if (o instanceof Outcome.Wrong w) {
                return (o == plain ? "restoreInto " : "restore on devices ") + w.what();
            }
            if (o instanceof Outcome.Refused r && (!r.message().contains("shard-0") || !f.problems().matcher(r.message())
                    .find())) {
                return (o == plain ? "restoreInto" : "restore on devices") + " refused without naming a shard and a problem of"
                        + " the family: " + r.message();
            }
        }
        if (plain.getClass() != devices.getClass()) {
            return "the paths disagree: restoreInto " + plain + ", on devices " + devices;
        }
        return null;
    }

    private static RunState restorePlain(Made m, Path folder) {
        return RunState.restoredInto(m.setup().config(), m.setup().tensorSizes(), folder);
    }

    private static RunState restoreDevices(Made m, Path folder) {
        return RunState.restoredOnDevices(m.setup().config().withStage(m.setup().restoreStage()), m.setup().tensorSizes(),
                m.setup().restoreDevices(), folder);
    }

    // ---------------------------------------------------------------- the families

    private static Path anyShard(Made m, Path step, SplittableRandom r) {
        return step.resolve(m.shardNames().get(r.nextInt(m.setup().devices())));
    }

    private static long headerEnd(Path shard) throws IOException {
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, 12);
            return ShardFiles.FIXED + b.getInt(0);
        }
    }

    private static void flipBit(Path file, long at, int bit) throws IOException {
        ShardFiles.detach(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ (1 << bit))).rewind();
            ch.write(b, at);
        }
    }

    /** A corrupt header names no particular field: any of the ways the start or the text can be refused. */
    private static final String HEADER = "not an Adamant checkpoint shard|format version|truncated|header CRC32C mismatch"
            + "|\\(reserved\\)";
    /** Everything a consistent-looking but edited header can be refused for. */
    private static final String EDITED = "header field|unknown header field|the header lacks|not of one save|its .* from shard-"
            + "|in two shards|in no shard|CRC32C mismatch in|truncated|written on a|is not a kind this run restores"
            + "|holds (FP32|FP16|BF16), expected|says it is shard|bytes after its end";

    private static List<Family> families() {
        List<Family> list = new ArrayList<>();
        list.add(new Family("header bit flips", 40, Pattern.compile(HEADER), (m, step, r) -> {
            Path shard = anyShard(m, step, r);
            flipBit(shard, r.nextLong(headerEnd(shard)), r.nextInt(8));
        }));
        list.add(new Family("data bit flips", 50, Pattern.compile("CRC32C mismatch in .*: the data is corrupt"),
                (m, step, r) -> {
                    Path shard = anyShard(m, step, r);
                    while (Files.size(shard) == headerEnd(shard)) {   // a device whose share is all padding saves no data
                        shard = anyShard(m, step, r);
                    }
                    long from = headerEnd(shard), size = Files.size(shard);
                    // Half anywhere after the header (padding included), half in the last 4096 bytes (a buffer).
                    long at = r.nextBoolean() ? from + r.nextLong(size - from) : size - 1 - r.nextLong(Math.min(4096, size - from));
                    flipBit(shard, at, r.nextInt(8));
                }));
        list.add(new Family("truncation", 25, Pattern.compile("truncated"), (m, step, r) -> {
            Path shard = anyShard(m, step, r);
            ShardFiles.detach(shard);
            long size = Files.size(shard);
            try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
                ch.truncate(r.nextBoolean() ? r.nextLong(size) : size - 1 - r.nextLong(Math.min(size, 8192)));
            }
        }));
        list.add(new Family("appended bytes", 20, Pattern.compile("bytes after its end at byte"),
                (m, step, r) -> {
                    Path shard = anyShard(m, step, r);
                    ShardFiles.detach(shard);
                    byte[] extra = new byte[1 + r.nextInt(r.nextBoolean() ? 8 : 9000)];
                    r.nextBytes(extra);
                    Files.write(shard, extra, StandardOpenOption.APPEND);
                }));
        list.add(new Family("missing shards", 12, Pattern.compile("is missing \\(shard-"),
                (m, step, r) -> Files.delete(anyShard(m, step, r))));
        list.add(new Family("duplicated shards", 18, Pattern.compile("its header says it is shard"), (m, step, r) -> {
            int n = m.setup().devices(), from = r.nextInt(n), to = (from + 1 + r.nextInt(n - 1)) % n;
            Path source = step.resolve(m.shardNames().get(from));
            switch (r.nextInt(3)) {
                case 0 -> Files.copy(source, step.resolve(m.shardNames().get(to)), StandardCopyOption.REPLACE_EXISTING);
                case 1 -> Files.copy(source, step.resolve(String.format(Locale.ROOT, "shard-%05d-of-%05d.ckpt", n, n)));
                default -> Files.copy(source, step.resolve(m.shardNames().get(from).replace(".ckpt", " (copy).ckpt")));
            }
        }));
        list.add(new Family("shards of another run at the same step", 16, Pattern.compile("not of one save \\(save id"),
                (m, step, r) -> {
                    String name = m.shardNames().get(r.nextInt(m.setup().devices()));
                    Path other = r.nextBoolean() ? m.b() : m.again();   // other weights, or the same run saved again
                    Files.copy(other.resolve(name), step.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }));
        list.add(new Family("shards of another step", 12, Pattern.compile("not of one save \\(save id"), (m, step, r) -> {
            String name = m.shardNames().get(r.nextInt(m.setup().devices()));
            Files.copy(m.aEarlier().resolve(name), step.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }));
        list.add(new Family("swapped names", 12, Pattern.compile("its header says it is shard"), (m, step, r) -> {
            int n = m.setup().devices(), i = r.nextInt(n), j = (i + 1 + r.nextInt(n - 1)) % n;
            Path x = step.resolve(m.shardNames().get(i)), y = step.resolve(m.shardNames().get(j));
            Path swap = step.resolveSibling("swap");
            Files.move(x, swap);
            Files.move(y, x);
            Files.move(swap, y);
        }));
        list.add(new Family("header edits, CRC recomputed", 60, Pattern.compile(EDITED), (m, step, r) -> {
            Path shard = anyShard(m, step, r);
            ShardFiles.detach(shard);
            ShardFiles.editHeader(shard, text -> edit(text, r), true);
        }));
        list.add(new Family("header edits, CRC as it was", 30, Pattern.compile("header CRC32C mismatch"), (m, step, r) -> {
            Path shard = anyShard(m, step, r);
            ShardFiles.detach(shard);
            ShardFiles.editHeader(shard, text -> edit(text, r), false);
        }));
        list.add(new Family("impossible values, every shard, CRC recomputed", 35,
                Pattern.compile("header field (scaler|optimizer-steps|iterations|buffer|tensor|shard|stage|save): |truncated: "),
                (m, step, r) -> {
                    Impossible edit = IMPOSSIBLE.get(r.nextInt(IMPOSSIBLE.size()));
                    int edited = 0;
                    for (String name : m.shardNames()) {
                        String text = ShardFiles.header(step.resolve(name));
                        if (!edit.apply(text).equals(text)) {   // a buffer edit skips shards that hold no buffer
                            ShardFiles.detach(step.resolve(name));
                            ShardFiles.editHeader(step.resolve(name), edit::apply, true);
                            edited++;
                        }
                    }
                    assertTrue(edited > 0, "no shard has the field to edit");
                }));
        return list;
    }

    /**
     * One random edit of one line of {@code text}: a number changed, a word changed, a character
     * replaced, the line deleted, duplicated or swapped with another, or an unknown line added.
     */
    static String edit(String text, SplittableRandom r) {
        List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n")));
        int at = r.nextInt(lines.size());
        String line = lines.get(at);
        String[] w = line.split(" ");
        switch (r.nextInt(7)) {
            case 0, 1 -> {   // a number (or the word that stands in its place)
                int i = 1 + r.nextInt(Math.max(1, w.length - 1));
                if (i < w.length) {
                    w[i] = number(w[i], r);
                }
                lines.set(at, String.join(" ", w));
            }
            case 2 -> {
                int i = r.nextInt(w.length);
                w[i] = switch (r.nextInt(3)) {
                    case 0 -> w[i] + "x";
                    case 1 -> w[i].toUpperCase(Locale.ROOT).equals(w[i]) ? w[i].toLowerCase(Locale.ROOT)
                            : w[i].toUpperCase(Locale.ROOT);
                    default -> w[i].length() > 1 ? w[i].substring(1) : "";
                };
                lines.set(at, String.join(" ", w));
            }
            case 3 -> {
                char[] c = line.toCharArray();
                if (c.length > 0) {
                    c[r.nextInt(c.length)] = (char) (32 + r.nextInt(95));
                }
                lines.set(at, new String(c));
            }
            case 4 -> lines.remove(at);
            case 5 -> lines.add(at, line);
            default -> {
                if (r.nextBoolean()) {
                    java.util.Collections.swap(lines, at, r.nextInt(lines.size()));
                } else {
                    lines.add(at, "extra " + r.nextInt(100));
                }
            }
        }
        return String.join("\n", lines) + "\n";
    }

    private static String number(String word, SplittableRandom r) {
        long v;
        try {
            v = Long.parseLong(word);
        } catch (NumberFormatException e) {
            return word.isEmpty() ? "0" : word.substring(0, word.length() - 1) + (char) ('0' + r.nextInt(10));
        }
        long[] choices = {v + 1, v - 1, 0, -v, 2 * v + 1, v + 4096, Long.MAX_VALUE, Integer.MIN_VALUE};
        return Long.toString(choices[r.nextInt(choices.length)]);
    }

    /** An edit that writes a value no save writes into one field (of every shard, so they agree). */
    private interface Impossible {
        /** The edited text, or {@code text} itself if it lacks the field. */
        String apply(String text);
    }

    private static Impossible replace(String regex, String replacement) {
        return text -> text.replaceFirst("(?m)" + regex, replacement);
    }

    private static final String BUFFER = "^(buffer \\S+ \\S+ \\S+) (\\S+) (\\S+) (\\S+) (\\S+)$";
    private static final List<Impossible> IMPOSSIBLE = List.of(
            replace("^scaler \\S+ ", "scaler " + Float.floatToRawIntBits(Float.NaN) + " "),
            replace("^scaler \\S+ ", "scaler " + Float.floatToRawIntBits(-2f) + " "),
            replace("^scaler \\S+ ", "scaler 0 "),
            replace("^scaler \\S+ ", "scaler " + Float.floatToRawIntBits(Float.NEGATIVE_INFINITY) + " "),
            replace("^scaler (\\S+) \\S+ ", "scaler $1 -3 "),
            replace("^scaler (\\S+) \\S+ ", "scaler $1 2 "),            // the growth interval: the scale would have grown
            replace("^scaler (\\S+) (\\S+) \\S+$", "scaler $1 $2 0"),
            replace("^scaler (\\S+) (\\S+) \\S+$", "scaler $1 $2 5"),   // more than the hysteresis (1)
            replace("^optimizer-steps \\S+$", "optimizer-steps 4"),    // 3 iterations
            replace("^iterations \\S+$", "iterations -1"),
            replace(BUFFER, "$1 $2 $3 00000000000999997440 $5"),       // aligned, far past the end
            replace(BUFFER, "$1 $2 $3 00000000000000000000 $5"),       // inside the header
            replace(BUFFER, "$1 $2 $3 00000000000000004097 $5"),       // not aligned
            replace(BUFFER, "$1 $2 9223372036854775000 $4 $5"),
            replace(BUFFER, "$1 -7 $3 $4 $5"),
            replace("^buffer \\S+ ", "buffer 9 "),
            replace("^tensor (\\S+) \\S+$", "tensor $1 -2"),
            replace("^shard (\\S+) of \\S+$", "shard 7 of 3"),
            replace("^stage \\S+$", "stage ZERO_4"),
            replace("^save \\S+$", "save 00112233445566778899aabbccddeeff00"));

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }

    @Test
    void theEditsChangeTheHeaderAndTheImpossibleValuesAllApply() {
        // The fuzz is only as good as its edits: each impossible value matches its field in a real header.
        String header = String.join("\n", "adamant-checkpoint 2", "library x", "byte-order LITTLE_ENDIAN", "shard 0 of 2",
                "save 00112233445566778899aabbccddeeff", "stage PARAMETERS", "config a=b", "iterations 3",
                "optimizer-steps 3", "scaler 1149239296 1 1", "tensor t0 5000",
                "buffer 0 master FP32 0 4096 00000000000000004096 0a0b0c0d") + "\n";
        for (Impossible i : IMPOSSIBLE) {
            assertTrue(!i.apply(header).equals(header));
        }
        int changed = 0;
        SplittableRandom r = new SplittableRandom(SEED);
        for (int k = 0; k < 100; k++) {
            changed += edit(header, r).equals(header) ? 0 : 1;
        }
        assertTrue(changed >= 90, changed + " of 100 edits changed the header");
        assertEquals(20, IMPOSSIBLE.size());
    }
}
