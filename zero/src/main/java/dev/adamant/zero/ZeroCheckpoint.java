package dev.adamant.zero;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.StateFormat;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.mixed.MixedPrecisionOptimizer;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.CheckpointShard.Dtype;
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
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Checkpoints of a ZeRO run: everything a step depends on, saved by every device in parallel, each
 * its own partition, and restored onto any number of devices, any stage, or one plain
 * {@link MixedPrecisionOptimizer}, so that a resumed run continues bit for bit.
 *
 * <h2>What is saved</h2>
 * Per tensor of the model (without padding): the fp32 master weights ({@code master}), the Adam
 * state ({@code exp_avg}, {@code exp_avg_sq}, {@code max_exp_avg_sq} with amsgrad; with 8-bit
 * block-wise states, for tensors of at least the format's minimum size, bitsandbytes' {@code state1},
 * {@code state2}, a byte an element, and {@code absmax1}, {@code absmax2}, a float a block of 256) and the 16-bit
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
 *   bytes 8-11   format version (int32, little-endian): 3
 *   bytes 12-15  header length H in bytes (int32, little-endian)
 *   bytes 16-19  CRC32C of the header (int32, little-endian)
 *   bytes 20-23  0
 *   bytes 24..   the header: H bytes of UTF-8 text, one field a line:
 *                  adamant-checkpoint 3
 *                  library VERSION
 *                  byte-order LITTLE_ENDIAN            (of the raw buffers)
 *                  shard R of N                        (this device's rank, the number of devices)
 *                  save ID                             (32 hex digits, the same in every shard of a save)
 *                  stage OPTIMIZER_STATE               (informative: restores may use another)
 *                  config KEY=VALUE                    (one line per setting)
 *                  iterations I
 *                  optimizer-steps T
 *                  scaler SCALE_BITS GOOD_STEPS HYSTERESIS_LEFT
 *                  tensor NAME LENGTH                  (every tensor, in order; NAME URL-encoded)
 *                  buffer TENSOR KIND DTYPE FROM COUNT OFFSET CRC32C
 *   then each buffer's raw elements (FP32 or FP16/BF16 bits in the byte order above, or U8 bytes) at
 *   OFFSET, a multiple of 4096: elements [FROM, FROM+COUNT) of tensor number TENSOR's KIND, with their
 *   CRC32C (8 hex digits); the file ends with the last buffer. For {@code absmax1} and {@code absmax2}
 *   FROM and COUNT count blocks of 256 elements, not elements: a device's share starts on a block
 *   boundary (its slices are multiples of 4096), so a block's absmax is in exactly one shard.
 * </pre>
 * Version 3 adds the 8-bit states (the {@code U8} type and the block-counted absmax kinds); the
 * header is otherwise version 2's, and versions 1 and 2 (fp32 states only) still load. An 8-bit
 * checkpoint restored into a run with fp32 states, or the reverse, is refused by the configuration
 * check, which names the state formats first ({@code optimizer state format: saved BLOCKWISE_8BIT,
 * this run FP32}). Whether a tensor keeps 8-bit states is decided by its length, as the run decides
 * it, so a checkpoint restores onto any number of devices and any stage; into one plain optimizer
 * ({@link #restoreInto}) only where that optimizer keeps the same buffers as every tensor and, with
 * 8-bit states, every tensor but the last is whole blocks of 256.
 * Buffers are written straight from the devices' off-heap segments ({@link FileChannel#write}) and
 * read back through memory-mapped files, without passing through the Java heap.
 *
 * <p>The save id is 128 random bits that device 0 draws and sends to the others (one control
 * collective) before any file is written, so a shard of another save, even of the same run at the
 * same step, is refused. Format 1 (no {@code save} line) is still read; its shards cannot be told
 * from another save's, so only the checks below that do not need the id apply to it.
 *
 * <p>The stage is recorded but not needed: what device {@code r} of {@code N} saves is the same at
 * every stage, so a checkpoint restores onto any stage. It must name a stage, and be the same in
 * every shard; an edited one changes only {@link Info#savedStage()}.
 *
 * <h2>Atomic</h2>
 * A save writes into {@code .tmp-step-N} in the same folder; each device forces its file to disk;
 * once every device has, device 0 forces the folder, renames it to {@code step-N} and forces the
 * parent. A save killed at any moment leaves at most a {@code .tmp-} folder, which restores ignore
 * and the next save removes, and every earlier {@code step-} folder intact. {@link #latest} is the
 * newest {@code step-} folder; saves keep the newest {@value #KEEP} and delete older ones.
 *
 * <h2>Refusals</h2>
 * {@link CheckpointException}, with a message that names the file (or files) and the problem, on
 * every restore path and before anything is filled, except a data CRC mismatch, found as the data
 * is read: a missing checkpoint; a missing, extra, renamed or duplicated shard (its name must say
 * the rank and device count its header says, each rank once); a truncated file or bytes appended to
 * one; a header or data CRC mismatch; a wrong magic; a newer format version; a header field that
 * does not parse or holds an impossible value though its CRC matches (the field named: a loss-scaler
 * state that is not finite and positive or whose counters the run's scaler could not reach, more
 * optimizer steps than iterations, a buffer outside its tensor, inside the header, overlapping
 * another or past the end of the file, ...); shards of different saves, versions, device counts,
 * iterations, steps, scaler states, stages, configurations or tensors; an element of a tensor held
 * by two shards or by none; a tensor whose name or length differs from the model's; or a
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
    /** Draws save ids: unpredictable, so two saves (even of two identical runs) never share one. */
    private static final SecureRandom RANDOM = new SecureRandom();

    private ZeroCheckpoint() {}

    /**
     * Where a restored run stands.
     *
     * @param config the saved configuration, as the shard headers print it ({@code precision},
     *     {@code optimizer}, {@code rounding}, {@code max-grad-norm}, {@code global-batch}, {@code loss-scaler})
     * @param saveId the id every shard of the save carries (32 hex digits), or null for a format-1
     *     checkpoint, which has none
     */
    public record Info(Path directory, long iterations, long optimizerSteps, int savedDevices, String savedStage,
                       DynamicLossScaler.State scaler, Map<String, String> config, String saveId) {}

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
     * Device 0 draws the save's id and sends it to the others first (a control collective).
     *
     * @param iterations the training loop's position: the steps tried so far, skipped ones included
     *     (so at least the device's optimizer steps)
     * @return the checkpoint's directory
     */
    public static Path save(ZeroDevice device, Path folder, long iterations) {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(folder, "folder");
        if (iterations < device.steps()) {
            throw new IllegalArgumentException("iterations: expected >= " + device.steps()
                    + " (the device's optimizer steps, each taken in one iteration), got " + iterations);
        }
        Communicator comm = device.comm();
        int rank = comm.rank(), n = comm.size();
        String name = String.format(Locale.ROOT, "%s%012d", PREFIX, iterations);
        Path tmp = folder.resolve(TMP + name), target = folder.resolve(name);
        String saveId = shareSaveId(comm);
        agree(comm, () -> {
            if (rank == 0) {
                Files.createDirectories(folder);
                removeTemporaries(folder);
                Files.createDirectory(tmp);
            }
        }, "prepare " + tmp);
        agree(comm, () -> CheckpointShard.write(tmp.resolve(shardName(rank, n)), fields(device, saveId, iterations),
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
                // A device's optimizer of t covers its share of t and nothing else (no padding).
                m.restore(s.optimizerSteps(), null, (kind, target) ->
                        s.read(t.index(), kind, CheckpointShard.units(kind, from), target, stateDtype(kind)));
                s.read(t.index(), PARAMS, from, ownParams, Dtype.of(config.precision()));
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
        s.checkPlainTarget(target.optimizer().stateNames(), config);
        target.restore(s.optimizerSteps(), s.scaler(), (kind, buffer) -> {
            Dtype dtype = stateDtype(kind);
            long at = 0;
            for (int t = 0; t < lengths.size(); t++) {
                // checkPlainTarget has made sure that a per-block kind's tensors start on block boundaries.
                long from = CheckpointShard.units(kind, at), units = CheckpointShard.units(kind, lengths.get(t));
                s.read(t, kind, 0, buffer.asSlice(from * dtype.bytes(), units * dtype.bytes()), dtype);
                at += lengths.get(t);
            }
        });
        if (params != null) {
            int h = config.precision().bytes();
            long at = 0;
            try {
                for (int t = 0; t < lengths.size(); t++) {
                    s.read(t, PARAMS, 0, params.asSlice(at * h, lengths.get(t) * h), Dtype.of(config.precision()));
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

    /**
     * The save's id: 128 bits device 0 draws, sent to every device in one control collective (four
     * 32-bit halves as doubles, exact, so no NaN payload is at the mercy of the transport).
     */
    private static String shareSaveId(Communicator comm) {
        double[] mine = new double[4];
        if (comm.rank() == 0) {
            long hi = RANDOM.nextLong(), lo = RANDOM.nextLong();
            mine = new double[] {hi >>> 32, hi & 0xFFFF_FFFFL, lo >>> 32, lo & 0xFFFF_FFFFL};
        }
        double[] all = comm.allGatherDoubles(mine);   // rank 0's four values first
        long hi = (long) all[0] << 32 | (long) all[1], lo = (long) all[2] << 32 | (long) all[3];
        return String.format(Locale.ROOT, "%016x%016x", hi, lo);
    }

    private static CheckpointShard.Fields fields(ZeroDevice d, String saveId, long iterations) {
        Map<String, Long> tensors = tensorLengths(d.layout());
        return new CheckpointShard.Fields(saveId, d.comm().rank(), d.comm().size(), libraryVersion(),
                d.config().stage().name(), configMap(d.config()), iterations, d.steps(), d.scaler().state(),
                List.copyOf(tensors.keySet()), List.copyOf(tensors.values()));
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

    /**
     * This device's share of every tensor: its {@link FlatLayout#share} (at stage 0 too, so that each
     * element is saved by exactly one device).
     */
    private static List<CheckpointShard.Source> sources(ZeroDevice d) {
        int r = d.comm().rank();
        Precision p = d.config().precision();
        List<CheckpointShard.Source> list = new ArrayList<>();
        for (Tensor t : d.layout().tensors()) {
            FlatLayout.Share share = d.layout().share(t, r);
            long from = share.from(), to = share.to();
            if (share.isEmpty()) {
                continue;   // the tensor is outside this device's slice
            }
            MixedPrecisionOptimizer m = d.optimizer(t);
            long local = from - d.ownStart(t);   // where the share starts in this device's buffers of t
            list.add(new CheckpointShard.Source(t.index(), MixedPrecisionOptimizer.MASTER, Dtype.FP32, from,
                    floats(m.masterWeights(), local, to - from)));
            for (String name : m.optimizer().stateNames()) {
                // 8-bit states: the codes as bytes; absmax by block (from is a multiple of 256: the
                // device refuses layouts whose slices split blocks, so blocks are never cut here).
                Dtype dtype = stateDtype(name);
                long lo = CheckpointShard.units(name, from), hi = CheckpointShard.units(name, to);
                long at = CheckpointShard.units(name, local);
                list.add(new CheckpointShard.Source(t.index(), name, dtype, lo,
                        m.optimizer().state(name).asSlice(at * dtype.bytes(), (hi - lo) * dtype.bytes())));
            }
            list.add(new CheckpointShard.Source(t.index(), PARAMS, Dtype.of(p), from,
                    d.ownParamsOf(t).asSlice(local * p.bytes(), (to - from) * p.bytes())));
        }
        return list;
    }

    private static MemorySegment floats(MemorySegment s, long from, long count) {
        return s.asSlice(from * Float.BYTES, count * Float.BYTES);
    }

    /** How an optimizer state buffer is saved: 8-bit codes ({@code state1}, {@code state2}) as bytes, the rest as floats. */
    static Dtype stateDtype(String kind) {
        return kind.equals("state1") || kind.equals("state2") ? Dtype.U8 : Dtype.FP32;
    }

    /**
     * The kinds a device of {@code config} keeps for a tensor of {@code elements} (master, its
     * optimizer's states, params), each with the type it is saved in: the tensor's own format, as
     * {@link ZeroDevice#tensorOptimizer} decides it.
     */
    static Map<String, Dtype> kinds(ZeroConfig config, long elements) {
        Map<String, Dtype> wanted = new LinkedHashMap<>();
        wanted.put(MixedPrecisionOptimizer.MASTER, Dtype.FP32);
        try (Optimizer probe = Optimizers.adam(ZeroDevice.tensorOptimizer(config.optimizer(), elements), 1)) {
            for (String name : probe.stateNames()) {
                wanted.put(name, stateDtype(name));
            }
        }
        wanted.put(PARAMS, Dtype.of(config.precision()));
        return wanted;
    }

    /** The state format an optimizer config's text names ({@code AdamConfig.toString}): FP32 unless it says otherwise. */
    static String stateFormatOf(String optimizer) {
        String key = ", state_format=";
        int at = optimizer == null ? -1 : optimizer.indexOf(key);
        return at < 0 ? "FP32" : optimizer.substring(at + key.length(), Math.max(at + key.length(), optimizer.lastIndexOf(']')));
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

    /**
     * Every shard's header of one checkpoint, checked against each other: the shards of one save,
     * each rank once, every element of every tensor's buffers in exactly one shard.
     */
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
            for (CheckpointShard.Header h : headers) {
                // The name is how a missing rank is found, so it must say what the header says.
                if (!h.name().equals(shardName(h.shard(), h.shards()))) {
                    throw new CheckpointException(h.file() + ": its header says it is shard " + h.shard() + " of "
                            + h.shards() + " (" + shardName(h.shard(), h.shards()) + "): renamed, or copied over"
                            + " another shard?");
                }
            }
            CheckpointShard.Header first = headers.get(0);
            for (CheckpointShard.Header h : headers) {
                String other = h.version() != first.version() ? "format version " + h.version() + " vs " + first.version()
                        : !Objects.equals(h.saveId(), first.saveId()) ? "save id " + h.saveId() + " vs " + first.saveId()
                        : h.shards() != first.shards() ? "device count " + h.shards() + " vs " + first.shards() : null;
                if (other != null) {
                    throw new CheckpointException(dir + ": " + h.name() + " and " + first.name() + " are not of one save ("
                            + other + "): shards of different checkpoints");
                }
            }
            int n = first.shards();
            for (int r = 0; r < n; r++) {
                Path expected = dir.resolve(shardName(r, n));
                if (headers.stream().noneMatch(h -> h.file().equals(expected))) {
                    throw new CheckpointException(dir + ": shard " + r + " of " + n + " is missing (" + expected
                            .getFileName() + ")");
                }
            }
            if (headers.size() != n) {   // names are unique and say their rank: only ranks >= n can be extra
                throw new CheckpointException(dir + ": " + headers.size() + " shard files ("
                        + String.join(", ", headers.stream().map(CheckpointShard.Header::name).toList())
                        + "), but they say there are " + n);
            }
            for (CheckpointShard.Header h : headers) {
                String other = !h.config().equals(first.config()) ? "configuration differs"
                        : h.iterations() != first.iterations()
                        ? "iterations differ (" + h.iterations() + " vs " + first.iterations() + ")"
                        : h.optimizerSteps() != first.optimizerSteps()
                        ? "optimizer steps differ (" + h.optimizerSteps() + " vs " + first.optimizerSteps() + ")"
                        : !h.scaler().equals(first.scaler()) ? "loss-scaler state differs"
                        : !h.stage().equals(first.stage()) ? "stage differs (" + h.stage() + " vs " + first.stage() + ")"
                        : !h.library().equals(first.library()) ? "library version differs"
                        : !h.tensorNames().equals(first.tensorNames()) || !h.tensorLengths().equals(first.tensorLengths())
                        ? "tensors differ" : null;
                if (other != null) {
                    throw new CheckpointException(h.file() + ": its " + other + " from " + first.name()
                            + "'s: the shards are not of one checkpoint");
                }
            }
            Snapshot s = new Snapshot(dir, List.copyOf(headers));
            s.checkCoverage();
            return s;
        }

        /**
         * {@link #open}, then refused unless the configuration, the model's tensors, the buffers'
         * kinds and types and the loss-scaler state fit the run being restored.
         */
        static Snapshot checked(Path dir, ZeroConfig config, Map<String, Long> tensors) {
            Snapshot s = open(dir);
            s.checkConfig(configMap(config));
            s.checkTensors(List.copyOf(tensors.keySet()), List.copyOf(tensors.values()));
            s.checkKinds(config);
            try {
                config.newLossScaler().restore(s.scaler());   // the rules of the scaler it will be restored into
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(s.first().file() + ": header field scaler: " + e.getMessage()
                        + ", for this run's loss scaler (" + config.newLossScaler().settings() + ")", e);
            }
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
                    Map.copyOf(first().config()), first().saveId());
        }

        /** A buffer of a shard, for walking one tensor's buffers of one kind across shards. */
        private record Piece(CheckpointShard.Header shard, CheckpointShard.Buffer buffer) {
            long end() {
                return buffer.from() + buffer.count();
            }
        }

        /** Tensor {@code t}'s non-empty buffers of {@code kind} in every shard, by first element. */
        private List<Piece> pieces(int t, String kind) {
            List<Piece> list = new ArrayList<>();
            for (CheckpointShard.Header h : shards) {
                for (CheckpointShard.Buffer b : h.buffers()) {
                    if (b.tensor() == t && b.kind().equals(kind) && b.count() > 0) {
                        list.add(new Piece(h, b));
                    }
                }
            }
            list.sort(Comparator.comparingLong(p -> p.buffer().from()));
            return list;
        }

        /**
         * Every kind of every tensor that any shard holds is held whole, each element by exactly one
         * shard (the sum of the shards' lengths would hide an overlap behind a hole), in one type.
         */
        private void checkCoverage() {
            List<String> names = first().tensorNames();
            for (int t = 0; t < names.size(); t++) {
                Set<String> kinds = new LinkedHashSet<>();   // in the shards' order: master first
                for (CheckpointShard.Header h : shards) {
                    for (CheckpointShard.Buffer b : h.buffers()) {
                        if (b.tensor() == t) {
                            kinds.add(b.kind());
                        }
                    }
                }
                for (String kind : kinds) {
                    String what = kind + " of tensor \"" + names.get(t) + "\"";
                    long next = 0;
                    Piece previous = null;
                    for (Piece p : pieces(t, kind)) {
                        if (previous != null && p.buffer().dtype() != previous.buffer().dtype()) {
                            throw new CheckpointException(dir + ": " + what + " is " + p.buffer().dtype() + " in "
                                    + p.shard().name() + ", " + previous.buffer().dtype() + " in " + previous.shard().name());
                        }
                        if (p.buffer().from() > next) {
                            throw hole(what, next, p.buffer().from());
                        }
                        if (p.buffer().from() < next) {
                            throw new CheckpointException(dir + ": elements [" + p.buffer().from() + ", "
                                    + Math.min(next, p.end()) + ") of " + what + " are in two shards, "
                                    + previous.shard().name() + " and " + p.shard().name()
                                    + ": the shards are not of one checkpoint");
                        }
                        next = p.end();
                        previous = p;
                    }
                    long units = CheckpointShard.units(kind, first().tensorLengths().get(t));
                    if (next < units) {
                        throw hole(what, next, units);
                    }
                }
            }
        }

        private CheckpointException hole(String what, long from, long to) {
            List<String> names = shards.stream().map(CheckpointShard.Header::name).toList();
            return new CheckpointException(dir + ": elements [" + from + ", " + to + ") of " + what
                    + " are in no shard (" + String.join(", ", names) + ")");
        }

        /**
         * Every tensor holds exactly the kinds a device of this configuration restores (master,
         * its optimizer's state, params), master and state as FP32 and params in the run's precision.
         */
        void checkKinds(ZeroConfig config) {
            List<String> names = first().tensorNames();
            List<Map<String, Dtype>> perTensor = new ArrayList<>();
            for (int t = 0; t < names.size(); t++) {
                perTensor.add(kinds(config, first().tensorLengths().get(t)));
            }
            for (CheckpointShard.Header h : shards) {
                for (CheckpointShard.Buffer b : h.buffers()) {
                    Map<String, Dtype> wanted = perTensor.get(b.tensor());
                    Dtype dtype = wanted.get(b.kind());
                    if (dtype == null || b.dtype() != dtype) {
                        throw new CheckpointException(h.file() + ": " + b.describe(names) + (dtype == null
                                ? " is not a kind this run restores (" + String.join(", ", wanted.keySet()) + ")"
                                : " holds " + b.dtype() + ", expected " + dtype));
                    }
                }
            }
            for (int t = 0; t < names.size(); t++) {
                for (String kind : perTensor.get(t).keySet()) {
                    if (first().tensorLengths().get(t) > 0 && pieces(t, kind).isEmpty()) {
                        throw hole(kind + " of tensor \"" + names.get(t) + "\"", 0,
                                CheckpointShard.units(kind, first().tensorLengths().get(t)));
                    }
                }
            }
        }

        /**
         * Before {@link #restoreInto} fills a plain optimizer over the tensors back to back: its state
         * buffers must be the ones every tensor of the checkpoint holds (an 8-bit optimizer keeps
         * {@code state1}, {@code absmax1}, ...; one below the format's minimum size, fp32 ones); and
         * with 8-bit states each tensor but the last must be whole blocks of 256, or the plain
         * optimizer's blocks would straddle two tensors that the run quantized apart.
         */
        void checkPlainTarget(List<String> targetStates, ZeroConfig config) {
            List<String> names = first().tensorNames();
            List<Long> lengths = first().tensorLengths();
            for (int t = 0; t < names.size(); t++) {
                List<String> states = new ArrayList<>(kinds(config, lengths.get(t)).keySet());
                states.remove(MixedPrecisionOptimizer.MASTER);
                states.remove(PARAMS);
                if (!states.equals(targetStates)) {
                    throw new IllegalArgumentException("target: its optimizer keeps " + targetStates + ", but tensor \""
                            + names.get(t) + "\" (" + lengths.get(t) + " elements) was saved with " + states + " ("
                            + config.optimizer().stateFormat() + " decides by each tensor's size): restore onto"
                            + " devices (ZeroCheckpoint.restore) instead");
                }
                boolean blocks = targetStates.stream().anyMatch(CheckpointShard::perBlock);
                if (blocks && t < names.size() - 1 && lengths.get(t) % StateFormat.BLOCK != 0) {
                    throw new IllegalArgumentException("tensorSizes: tensor \"" + names.get(t) + "\" has " + lengths.get(t)
                            + " elements, not whole blocks of " + StateFormat.BLOCK + ": one 8-bit optimizer over the"
                            + " tensors back to back would quantize blocks that straddle two tensors; restore onto devices"
                            + " (ZeroCheckpoint.restore) instead");
                }
            }
        }

        void checkConfig(Map<String, String> run) {
            Map<String, String> saved = first().config();
            List<String> diffs = new ArrayList<>();
            String savedFormat = stateFormatOf(saved.get("optimizer")), runFormat = stateFormatOf(run.get("optimizer"));
            if (!savedFormat.equals(runFormat)) {
                // Named first: the optimizer's text below differs by it too, and the buffers differ in kind and size.
                diffs.add("optimizer state format: saved " + savedFormat + ", this run " + runFormat);
            }
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
         * {@link #open} has checked that the shards hold each element once; this walk checks it again
         * for the range it reads.
         */
        void read(int t, String kind, long from, MemorySegment target, Dtype dtype) {
            long n = target.byteSize() / dtype.bytes();
            long end = Math.min(from + n, CheckpointShard.units(kind, first().tensorLengths().get(t)));
            long next = from;
            for (Piece p : pieces(t, kind)) {
                CheckpointShard.Buffer b = p.buffer();
                long lo = Math.max(from, b.from()), hi = Math.min(end, p.end());
                if (lo >= hi) {
                    continue;
                }
                if (b.dtype() != dtype) {
                    throw new CheckpointException(p.shard().file() + ": " + b.describe(p.shard().tensorNames())
                            + " holds " + b.dtype() + ", expected " + dtype);
                }
                if (lo != next) {
                    throw new CheckpointException(dir + ": " + kind + " of tensor \"" + first().tensorNames().get(t)
                            + "\": element " + Math.min(lo, next) + " is in " + (lo > next ? "no shard" : "two shards"));
                }
                CheckpointShard.load(p.shard(), b, lo, hi - lo,
                        target.asSlice((lo - from) * dtype.bytes(), (hi - lo) * dtype.bytes()));
                next = hi;
            }
            if (next < end) {
                throw hole(kind + " of tensor \"" + first().tensorNames().get(t) + "\"", next, end);
            }
        }
    }
}
