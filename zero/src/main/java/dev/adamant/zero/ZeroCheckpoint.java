package dev.adamant.zero;

import dev.adamant.fp16.Precision;
import dev.adamant.fp16.mixed.MixedPrecisionOptimizer;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.partition.FlatLayout;
import dev.adamant.zero.partition.FlatLayout.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * Checkpoints of a ZeRO run: everything a step depends on, saved by every device in parallel, each
 * its own partition, and restored onto any number of devices, any stage, or one plain
 * {@link MixedPrecisionOptimizer}, so that a resumed run continues bit for bit.
 *
 * <h2>What is saved</h2>
 * Per tensor of the model (without padding): the fp32 master weights ({@code master}), the Adam
 * state ({@code exp_avg}, {@code exp_avg_sq}, {@code max_exp_avg_sq} with amsgrad) and the 16-bit
 * parameters ({@code params}, exactly as the run holds them, so stochastic rounding's last draws are
 * kept too); the optimizer step count (which also places stochastic rounding's counters), the
 * training loop's iteration count (steps tried, skipped ones included), the loss scaler's state, and
 * the configuration: precision, optimizer and its hyper-parameters, rounding (with its seed), maximum
 * gradient norm, global batch and loss-scaler settings. Device {@code r} of {@code N} saves elements
 * {@code [r*slice, (r+1)*slice)} of each tensor (its ZeRO partition; stage 0 devices hold everything
 * but save only that share), cut at the tensor's end: padding is never saved, and a restore writes
 * zeros there.
 *
 * <h2>On disk (format version {@value CheckpointShard#VERSION})</h2>
 * A checkpoint is a directory {@code step-NNNNNNNNNNNN} (the iteration count, 12 digits) inside the
 * folder given to {@link #save}, holding one file per device, {@code shard-RRRRR-of-NNNNN.ckpt}:
 * <pre>
 *   bytes 0-7    magic "ADMNTCKP"
 *   bytes 8-11   format version (int32, little-endian): 1
 *   bytes 12-15  header length H in bytes (int32, little-endian)
 *   bytes 16-19  CRC32C of the header (int32, little-endian)
 *   bytes 20-23  0
 *   bytes 24..   the header: H bytes of UTF-8 text, one field a line:
 *                  adamant-checkpoint 1
 *                  library VERSION
 *                  byte-order LITTLE_ENDIAN            (of the raw buffers)
 *                  shard R of N
 *                  stage OPTIMIZER_STATE               (informative: restores may use another)
 *                  config KEY=VALUE                    (one line per setting)
 *                  iterations I
 *                  optimizer-steps T
 *                  scaler SCALE_BITS GOOD_STEPS HYSTERESIS_LEFT
 *                  tensor NAME LENGTH                  (every tensor, in order; NAME URL-encoded)
 *                  buffer TENSOR KIND DTYPE FROM COUNT OFFSET CRC32C
 *   then each buffer's raw elements (FP32 or FP16/BF16 bits in the byte order above) at OFFSET, a
 *   multiple of 4096: elements [FROM, FROM+COUNT) of tensor number TENSOR's KIND, with their CRC32C
 *   (8 hex digits).
 * </pre>
 * Buffers are written straight from the devices' off-heap segments ({@link FileChannel#write}) and
 * read back through memory-mapped files, without passing through the Java heap.
 *
 * <h2>Atomic</h2>
 * A save writes into {@code .tmp-step-N} in the same folder; each device forces its file to disk;
 * once every device has, device 0 forces the folder, renames it to {@code step-N} and forces the
 * parent. A save killed at any moment leaves at most a {@code .tmp-} folder, which restores ignore
 * and the next save removes, and every earlier {@code step-} folder intact. {@link #latest} is the
 * newest {@code step-} folder; saves keep the newest {@value #KEEP} and delete older ones.
 *
 * <h2>Refusals</h2>
 * {@link CheckpointException}, with a message that names the file and the problem: a missing
 * checkpoint or shard, a truncated file, a header or data CRC mismatch, a wrong magic, a newer
 * format version, shards that disagree, a tensor whose name or length differs from the model's, or a
 * configuration that differs (the stage and the number of devices may differ: the state is
 * re-partitioned). A restore either returns a complete device or optimizer or throws, having closed
 * the one it was filling.
 */
public final class ZeroCheckpoint {
    /** Complete checkpoints a save keeps (the new one and the one before). */
    public static final int KEEP = 2;
    static final String PARAMS = "params";
    private static final String PREFIX = "step-";
    private static final String TMP = ".tmp-";

    private ZeroCheckpoint() {}

    /**
     * Where a restored run stands.
     *
     * @param config the saved configuration, as the shard headers print it ({@code precision},
     *     {@code optimizer}, {@code rounding}, {@code max-grad-norm}, {@code global-batch}, {@code loss-scaler})
     */
    public record Info(Path directory, long iterations, long optimizerSteps, int savedDevices, String savedStage,
                       DynamicLossScaler.State scaler, Map<String, String> config) {}

    /** A device restored from a checkpoint, and where its run stands. */
    public record Restored(ZeroDevice device, Info info) {}

    /** This library's version, as recorded in every checkpoint. */
    public static String libraryVersion() {
        try (InputStream in = ZeroCheckpoint.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** The newest complete checkpoint in {@code folder}, if any. */
    public static Optional<Path> latest(Path folder) {
        Objects.requireNonNull(folder, "folder");
        if (!Files.isDirectory(folder)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(p -> p.getFileName().toString().startsWith(PREFIX) && Files.isDirectory(p))
                    .max(Comparator.comparing(p -> p.getFileName().toString()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + folder, e);
        }
    }

    /**
     * What the newest checkpoint in {@code folder} holds, from its headers alone (no data is read).
     *
     * @throws CheckpointException if there is none, or its headers are refused
     */
    public static Info inspect(Path folder) {
        return Snapshot.open(newest(folder)).info();
    }

    /**
     * Saves {@code device}'s partition of the run's state as checkpoint {@code iterations} in
     * {@code folder} (created if needed); a collective: every device of the group calls it with the
     * same folder and iterations, each writes its own file at the same time. Returns once the
     * checkpoint is complete and renamed into place on every device. If a device fails, nothing is
     * committed and the earlier checkpoints are untouched: in process every device throws (the others
     * with its exception as the cause); over MPI the failing rank's {@code runRank} aborts the job.
     *
     * @param iterations the training loop's position: the steps tried so far, skipped ones included
     * @return the checkpoint's directory
     */
    public static Path save(ZeroDevice device, Path folder, long iterations) {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(folder, "folder");
        if (iterations < 0) {
            throw new IllegalArgumentException("iterations: expected >= 0, got " + iterations);
        }
        Communicator comm = device.comm();
        int rank = comm.rank(), n = comm.size();
        String name = String.format(Locale.ROOT, "%s%012d", PREFIX, iterations);
        Path tmp = folder.resolve(TMP + name), target = folder.resolve(name);
        agree(comm, () -> {
            if (rank == 0) {
                Files.createDirectories(folder);
                removeTemporaries(folder);
                Files.createDirectory(tmp);
            }
        }, "prepare " + tmp);
        agree(comm, () -> CheckpointShard.write(tmp.resolve(shardName(rank, n)), fields(device, iterations),
                sources(device)), "write " + tmp.resolve(shardName(rank, n)));
        agree(comm, () -> {
            if (rank == 0) {
                force(tmp);
                if (Files.exists(target)) {
                    // The same iteration saved again: the new files replace the old ones.
                    Path old = folder.resolve(TMP + "old-" + name);
                    Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                    deleteTree(old);
                } else {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                }
                force(folder);
                prune(folder);
            }
        }, "commit " + target);
        return target;
    }

    /**
     * Restores the newest checkpoint in {@code folder} onto a new device of this group: any number
     * of devices and any stage, {@code config} otherwise equal to the saved run's, and
     * {@code layout} laid out for this group over the same tensors. A collective.
     *
     * @throws CheckpointException if there is no checkpoint or it is refused (see the class description)
     */
    public static Restored restore(ZeroConfig config, FlatLayout layout, Communicator comm, Path folder) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(comm, "comm");
        // Every device reads the same headers, so all refuse alike, each with the full message.
        Snapshot s = Snapshot.checked(newest(folder), config, tensorLengths(layout));
        ZeroDevice device = new ZeroDevice(config, layout, comm, null, new ZeroDevice.Restorer() {
            @Override
            public void load(ZeroDevice d, Tensor t, MixedPrecisionOptimizer m, long from, MemorySegment ownParams) {
                m.restore(s.optimizerSteps(), null, (kind, target) -> s.read(t.index(), kind, from, target,
                        Precision.FP32));
                s.read(t.index(), PARAMS, from, ownParams, config.precision());
            }

            @Override
            public void finish(ZeroDevice d) {
                d.scaler().restore(s.scaler());
                d.restoreSteps(s.optimizerSteps());
            }
        });
        return new Restored(device, s.info());
    }

    /**
     * Restores the newest checkpoint in {@code folder} into one plain mixed-precision optimizer over
     * the whole model, its tensors one after another without padding ({@code target.size()} is the
     * sum of {@code tensorSizes}, in the layout's order): master weights, optimizer state, step count
     * and loss scale; and, if {@code params} is not null, the 16-bit parameters into it. {@code config}
     * is the saved run's (the stage does not matter).
     *
     * @throws CheckpointException if refused; {@code target} is then closed if it was partly filled
     */
    public static Info restoreInto(MixedPrecisionOptimizer target, ZeroConfig config, Map<String, Long> tensorSizes,
                                   MemorySegment params, Path folder) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(tensorSizes, "tensorSizes");
        Snapshot s = Snapshot.checked(newest(folder), config, tensorSizes);
        List<Long> lengths = new ArrayList<>(tensorSizes.values());
        long total = lengths.stream().mapToLong(Long::longValue).sum();
        if (target.size() != total) {
            throw new IllegalArgumentException("target: expected " + total + " parameters (the tensors'), got "
                    + target.size());
        }
        if (target.precision() != config.precision()) {
            throw new IllegalArgumentException("target: expected " + config.precision() + " (the config's), got "
                    + target.precision());
        }
        if (params != null && params.byteSize() != total * config.precision().bytes()) {
            throw new IllegalArgumentException("params: expected " + total * config.precision().bytes() + " bytes, got "
                    + params.byteSize());
        }
        target.restore(s.optimizerSteps(), s.scaler(), (kind, buffer) -> {
            long at = 0;
            for (int t = 0; t < lengths.size(); t++) {
                s.read(t, kind, 0, buffer.asSlice(at * Float.BYTES, lengths.get(t) * Float.BYTES), Precision.FP32);
                at += lengths.get(t);
            }
        });
        if (params != null) {
            int h = config.precision().bytes();
            long at = 0;
            try {
                for (int t = 0; t < lengths.size(); t++) {
                    s.read(t, PARAMS, 0, params.asSlice(at * h, lengths.get(t) * h), config.precision());
                    at += lengths.get(t);
                }
            } catch (RuntimeException e) {
                target.close();   // restored, but its parameters are not: nothing half-loaded stays usable
                throw e;
            }
        }
        return s.info();
    }

    // ---------------------------------------------------------------- saving

    private static String shardName(int rank, int n) {
        return String.format(Locale.ROOT, "shard-%05d-of-%05d.ckpt", rank, n);
    }

    static Map<String, String> configMap(ZeroConfig c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("precision", c.precision().toString());
        m.put("optimizer", c.optimizer().toString());
        m.put("rounding", c.rounding().toString());
        m.put("max-grad-norm", Double.toString(c.maxGradNorm()));
        m.put("global-batch", Integer.toString(c.globalBatch()));
        m.put("loss-scaler", c.newLossScaler().settings());
        return m;
    }

    private static CheckpointShard.Fields fields(ZeroDevice d, long iterations) {
        Map<String, Long> tensors = tensorLengths(d.layout());
        return new CheckpointShard.Fields(d.comm().rank(), d.comm().size(), libraryVersion(), d.config().stage().name(),
                configMap(d.config()), iterations, d.steps(), d.scaler().state(), List.copyOf(tensors.keySet()),
                List.copyOf(tensors.values()));
    }

    /** The model's tensors and their lengths without padding, in the layout's order. */
    private static Map<String, Long> tensorLengths(FlatLayout layout) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (Tensor t : layout.tensors()) {
            m.put(t.name(), t.count());
        }
        return m;
    }

    /** The newest checkpoint in {@code folder}, or a refusal that says there is none. */
    private static Path newest(Path folder) {
        return latest(folder).orElseThrow(() -> new CheckpointException("no checkpoint in " + folder
                + " (expected a " + PREFIX + "NNNNNNNNNNNN folder written by ZeroCheckpoint.save)"));
    }

    /** This device's share of every tensor: {@code [r*slice, (r+1)*slice)} cut at the tensor's end. */
    private static List<CheckpointShard.Source> sources(ZeroDevice d) {
        int r = d.comm().rank();
        Precision p = d.config().precision();
        List<CheckpointShard.Source> list = new ArrayList<>();
        for (Tensor t : d.layout().tensors()) {
            long from = r * t.slice(), to = Math.min(t.count(), from + t.slice());
            if (to <= from) {
                continue;   // all padding
            }
            MixedPrecisionOptimizer m = d.optimizer(t);
            long local = from - d.ownStart(t);   // where the share starts in this device's buffers of t
            list.add(new CheckpointShard.Source(t.index(), MixedPrecisionOptimizer.MASTER, Precision.FP32, from,
                    floats(m.masterWeights(), local, to - from)));
            for (String name : m.optimizer().stateNames()) {
                list.add(new CheckpointShard.Source(t.index(), name, Precision.FP32, from,
                        floats(m.optimizer().state(name), local, to - from)));
            }
            list.add(new CheckpointShard.Source(t.index(), PARAMS, p, from,
                    d.ownParamsOf(t).asSlice(local * p.bytes(), (to - from) * p.bytes())));
        }
        return list;
    }

    private static MemorySegment floats(MemorySegment s, long from, long count) {
        return s.asSlice(from * Float.BYTES, count * Float.BYTES);
    }

    /** An I/O step that may fail. */
    private interface Io {
        void run() throws IOException;
    }

    /**
     * Runs {@code io}, then meets the other devices. A device whose {@code io} fails throws at once,
     * which fails the group: the others then fail at the barrier with its exception as the cause (in
     * process), or the job is aborted (MPI), and nothing after the barrier runs anywhere.
     */
    private static void agree(Communicator comm, Io io, String what) {
        try {
            io.run();
        } catch (IOException e) {
            throw new UncheckedIOException("checkpoint: cannot " + what + ": " + e, e);
        }
        comm.barrier();
    }

    private static void force(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private static void removeTemporaries(Path folder) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(folder, TMP + "*")) {
            for (Path p : s) {
                deleteTree(p);
            }
        }
    }

    private static void prune(Path folder) throws IOException {
        List<Path> complete = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(folder, PREFIX + "*")) {
            s.forEach(complete::add);
        }
        complete.sort(Comparator.comparing(p -> p.getFileName().toString()));
        for (int i = 0; i < complete.size() - KEEP; i++) {
            deleteTree(complete.get(i));
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        } catch (NoSuchFileException ignored) {
            // Removed meanwhile.
        }
    }

    // ---------------------------------------------------------------- restoring

    /** Every shard's header of one checkpoint, checked against each other. */
    private record Snapshot(Path dir, List<CheckpointShard.Header> shards) {
        static Snapshot open(Path dir) {
            List<Path> files = new ArrayList<>();
            try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "shard-*.ckpt")) {
                s.forEach(files::add);
            } catch (IOException e) {
                throw new CheckpointException(dir + ": cannot list the shards: " + e, e);
            }
            if (files.isEmpty()) {
                throw new CheckpointException(dir + ": no shard files (shard-RRRRR-of-NNNNN.ckpt)");
            }
            files.sort(Comparator.comparing(p -> p.getFileName().toString()));
            List<CheckpointShard.Header> headers = new ArrayList<>();
            for (Path f : files) {
                headers.add(CheckpointShard.read(f));
            }
            CheckpointShard.Header first = headers.get(0);
            int n = first.shards();
            for (int r = 0; r < n; r++) {
                Path expected = dir.resolve(shardName(r, n));
                if (headers.stream().noneMatch(h -> h.file().equals(expected))) {
                    throw new CheckpointException(dir + ": shard " + r + " of " + n + " is missing (" + expected
                            .getFileName() + ")");
                }
            }
            if (headers.size() != n) {
                throw new CheckpointException(dir + ": " + headers.size() + " shard files, but they say there are " + n);
            }
            for (CheckpointShard.Header h : headers) {
                String other = !h.config().equals(first.config()) ? "configuration"
                        : h.iterations() != first.iterations() ? "iterations"
                        : h.optimizerSteps() != first.optimizerSteps() ? "optimizer steps"
                        : !h.tensorNames().equals(first.tensorNames()) || !h.tensorLengths().equals(first.tensorLengths())
                        ? "tensors" : h.shards() != n ? "shard count" : null;
                if (other != null) {
                    throw new CheckpointException(h.file() + ": its " + other + " differ from " + first.file()
                            .getFileName() + "'s: the shards are not of one checkpoint");
                }
            }
            return new Snapshot(dir, List.copyOf(headers));
        }

        /** {@link #open}, then refused unless the configuration and the model's tensors match the saved run's. */
        static Snapshot checked(Path dir, ZeroConfig config, Map<String, Long> tensors) {
            Snapshot s = open(dir);
            s.checkConfig(configMap(config));
            s.checkTensors(List.copyOf(tensors.keySet()), List.copyOf(tensors.values()));
            return s;
        }

        CheckpointShard.Header first() {
            return shards.get(0);
        }

        long optimizerSteps() {
            return first().optimizerSteps();
        }

        DynamicLossScaler.State scaler() {
            return first().scaler();
        }

        Info info() {
            return new Info(dir, first().iterations(), optimizerSteps(), shards.size(), first().stage(), scaler(),
                    Map.copyOf(first().config()));
        }

        void checkConfig(Map<String, String> run) {
            Map<String, String> saved = first().config();
            List<String> diffs = new ArrayList<>();
            for (String key : run.keySet()) {
                if (!Objects.equals(saved.get(key), run.get(key))) {
                    diffs.add(key + ": saved " + saved.get(key) + ", this run " + run.get(key));
                }
            }
            for (String key : saved.keySet()) {
                if (!run.containsKey(key)) {
                    diffs.add(key + ": saved " + saved.get(key) + ", unknown to this run");
                }
            }
            if (!diffs.isEmpty()) {
                throw new CheckpointException(dir + ": the configuration differs from the saved run's, so the run"
                        + " would not continue as it was: " + String.join("; ", diffs));
            }
        }

        void checkTensors(List<String> names, List<Long> lengths) {
            List<String> savedNames = first().tensorNames();
            List<Long> savedLengths = first().tensorLengths();
            if (savedNames.size() != names.size()) {
                throw new CheckpointException(dir + ": the checkpoint has " + savedNames.size() + " tensors "
                        + savedNames + ", the model " + names.size() + " " + names);
            }
            for (int i = 0; i < names.size(); i++) {
                if (!savedNames.get(i).equals(names.get(i))) {
                    throw new CheckpointException(dir + ": tensor " + i + " is \"" + savedNames.get(i)
                            + "\" in the checkpoint, \"" + names.get(i) + "\" in the model");
                }
                if (!savedLengths.get(i).equals(lengths.get(i))) {
                    throw new CheckpointException(dir + ": tensor \"" + names.get(i) + "\" has " + savedLengths.get(i)
                            + " elements in the checkpoint, " + lengths.get(i) + " in the model");
                }
            }
        }

        /**
         * Fills {@code target} with elements {@code [from, from + n)} of tensor {@code t}'s {@code kind}
         * ({@code n} = the target's elements); elements at or beyond the tensor's length (padding) are
         * left as they are (zero in a new device). Every shard buffer it reads is CRC-checked whole.
         */
        void read(int t, String kind, long from, MemorySegment target, Precision dtype) {
            long n = target.byteSize() / dtype.bytes();
            long end = Math.min(from + n, first().tensorLengths().get(t));
            long covered = from;
            for (CheckpointShard.Header h : shards) {
                for (CheckpointShard.Buffer b : h.buffers()) {
                    if (b.tensor() != t || !b.kind().equals(kind)) {
                        continue;
                    }
                    if (b.dtype() != dtype) {
                        throw new CheckpointException(h.file() + ": " + b.describe(h.tensorNames()) + " holds "
                                + b.dtype() + ", expected " + dtype);
                    }
                    long lo = Math.max(from, b.from()), hi = Math.min(end, b.from() + b.count());
                    if (lo < hi) {
                        CheckpointShard.load(h, b, lo, hi - lo,
                                target.asSlice((lo - from) * dtype.bytes(), (hi - lo) * dtype.bytes()));
                        covered += hi - lo;
                    }
                }
            }
            if (covered < end) {
                throw new CheckpointException(dir + ": " + kind + " of tensor \"" + first().tensorNames().get(t)
                        + "\" is incomplete: the shards hold " + (covered - from) + " of elements [" + from + ", " + end
                        + ")");
            }
        }
    }
}
