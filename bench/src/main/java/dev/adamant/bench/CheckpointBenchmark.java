package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizers;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.mixed.MixedPrecisionOptimizer;
import dev.adamant.zero.ZeroCheckpoint;
import dev.adamant.zero.ZeroConfig;
import dev.adamant.zero.ZeroDevice;
import dev.adamant.zero.ZeroStage;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.partition.FlatLayout;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Checkpoint save and restore of 2^P parameters' state (default P = 26: fp32 master, two Adam moments
 * and fp16 parameters, 14 bytes a parameter, 896 MiB) next to {@code dd} moving the same bytes to and
 * from the same disk, in the same run:
 *
 * <pre>
 *   java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx2g \
 *       -cp bench/target/adamant-bench.jar dev.adamant.bench.CheckpointBenchmark [FOLDER=/tmp/adamant-ckpt-bench] [P=26] [ROUNDS=3]
 * </pre>
 *
 * Each round: {@link ZeroCheckpoint#save} (written from the device's segments, forced to disk; it
 * also deletes the checkpoint before last) then {@code dd if=/dev/zero bs=4M conv=fdatasync} of the
 * same size into a new file; with cold caches where this process
 * may drop them ({@code /proc/sys/vm/drop_caches}, root), {@link ZeroCheckpoint#restoreInto} a plain
 * optimizer allocated and touched beforehand (CRC-checked, mapped) then {@code dd of=/dev/null} of
 * the checkpoint file; and a restore onto a new device, which also allocates its memory. Prints GB/s
 * (10^9 bytes) per round and the medians, as a ratio to dd.
 */
public final class CheckpointBenchmark {
    private CheckpointBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path folder = Path.of(args.length > 0 ? args[0] : "/tmp/adamant-ckpt-bench");
        int log2 = args.length > 1 ? Integer.parseInt(args[1]) : 26;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        long n = 1L << log2;
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (int t = 0; t < 4; t++) {
            sizes.put("tensor" + t, n / 4);
        }
        FlatLayout layout = FlatLayout.of(sizes, 1);
        ZeroConfig config = ZeroConfig.builder().stage(ZeroStage.DATA_PARALLEL).precision(Precision.FP16)
                .optimizer(AdamConfig.adamW()).globalBatch(1).build();
        boolean drop = Files.isWritable(Path.of("/proc/sys/vm/drop_caches"));
        System.out.printf(Locale.ROOT, "checkpoint of 2^%d parameters (%d MiB) in %s; caches %s%n", log2, n * 14 >> 20,
                folder, drop ? "dropped before each read" : "NOT dropped (not root): reads come from the page cache");
        List<double[]> rows = new ArrayList<>();
        try (Arena arena = Arena.ofShared();
             MixedPrecisionOptimizer plain = MixedPrecisionOptimizer.builder(
                     Optimizers.adam(config.optimizer(), n), Precision.FP16).build()) {
            MemorySegment initial = arena.allocate(layout.paddedSize() * Float.BYTES, 64);
            for (long i = 0; i < layout.paddedSize(); i++) {
                initial.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (i % 1000) * 1e-3f);
            }
            MemorySegment params = arena.allocate(n * 2, 64);
            params.fill((byte) 1);
            plain.loadMaster(initial.asSlice(0, n * Float.BYTES));   // touches the target's master
            plain.restore(0, null, (name, b) -> b.fill((byte) 0));    // and its moments
            InProcessGroup.create(1, Duration.ofMinutes(10)).run(comm -> {
                try (ZeroDevice device = new ZeroDevice(config, layout, comm, initial)) {
                    for (int r = 0; r < rounds; r++) {
                        long t0 = System.nanoTime();
                        Path dir = ZeroCheckpoint.save(device, folder, r + 1);
                        double save = seconds(t0);
                        Path shard;
                        try (Stream<Path> s = Files.list(dir)) {
                            shard = s.findFirst().orElseThrow();
                        }
                        long bytes = Files.size(shard);
                        Files.deleteIfExists(folder.resolve("dd.bin"));   // a new file, as the save writes
                        new ProcessBuilder("sync").inheritIO().start().waitFor();
                        double ddWrite = dd("if=/dev/zero", "of=" + folder.resolve("dd.bin"), "bs=4M",
                                "count=" + (bytes >> 22), "conv=fdatasync");
                        dropCaches(drop);
                        t0 = System.nanoTime();
                        ZeroCheckpoint.restoreInto(plain, config, sizes, params, folder);
                        double restore = seconds(t0);
                        dropCaches(drop);
                        double ddRead = dd("if=" + shard, "of=/dev/null", "bs=4M");
                        dropCaches(drop);
                        t0 = System.nanoTime();
                        ZeroCheckpoint.restore(config, layout, comm, folder).device().close();
                        double restoreNew = seconds(t0);
                        double gb = bytes / 1e9, ddGb = (bytes >> 22 << 22) / 1e9;
                        double[] row = {gb / save, ddGb / ddWrite, gb / restore, gb / ddRead, gb / restoreNew};
                        rows.add(row);
                        System.out.printf(Locale.ROOT, "round %d: save %.2f GB/s, dd write %.2f GB/s; restore %.2f GB/s"
                                + " (new device %.2f), dd read %.2f GB/s%n", r + 1, row[0], row[1], row[2], row[4], row[3]);
                    }
                }
            });
        }
        double[] m = new double[5];
        for (int c = 0; c < 5; c++) {
            int col = c;
            double[] v = rows.stream().mapToDouble(x -> x[col]).sorted().toArray();
            m[c] = v[v.length / 2];
        }
        System.out.printf(Locale.ROOT, "median: save %.2f GB/s = %.2f of dd's %.2f; restore %.2f GB/s = %.2f of dd's"
                + " %.2f (onto a new device, allocating it: %.2f GB/s = %.2f)%n", m[0], m[0] / m[1], m[1], m[2], m[2] / m[3],
                m[3], m[4], m[4] / m[3]);
        Files.deleteIfExists(folder.resolve("dd.bin"));
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** Runs dd and returns its wall time in seconds. */
    private static double dd(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("dd"));
        command.addAll(Arrays.asList(args));
        command.add("status=none");
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(command).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IOException("dd failed: " + command);
        }
        return seconds(t0);
    }

    private static void dropCaches(boolean drop) throws IOException, InterruptedException {
        if (drop) {
            new ProcessBuilder("sync").inheritIO().start().waitFor();
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "1");
        }
    }
}
