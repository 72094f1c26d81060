package dev.adamant.zero;

import dev.adamant.core.StateFormat;
import dev.adamant.fp16.Precision;
import dev.adamant.zero.MemoryLedger.Purpose;
import dev.adamant.zero.comm.mpi.MpiCommunicator;
import dev.adamant.zero.partition.FlatLayout;
import dev.adamant.zero.partition.FlatLayout.Bucket;
import dev.adamant.zero.partition.FlatLayout.Tensor;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Predicts, without running anything, what one device of a ZeRO run of a model holds and what it
 * sends per step, and how long that communication takes on a given link. No MPI, no memory beyond
 * the model's {@link FlatLayout}.
 *
 * <h2>Memory: the ledger of a real run, exactly</h2>
 * The tensors are laid out by {@link FlatLayout#of(Map, int)} (the engine's layout: buckets of
 * consecutive tensors, each bucket padded to whole slices): {@code T} the padded total, {@code P = T/N}
 * a device's partition, {@code L} the largest padded bucket, {@code h} the 16-bit width (2), and
 * {@code Ψ_r} the parameters of device r's shares of the tensors (about Ψ/N; padding has no
 * optimizer). Per device, by {@link Purpose}, as {@link ZeroDevice} allocates and records them:
 * <pre>
 *   purpose                 stage 0   stage 1   stage 2   stage 3
 *   PARAMETERS              h T       h T       h T       h P
 *   GRADIENTS               h T       h T       h P       h P
 *   MASTER_WEIGHTS          4 Ψ       4 Ψ_r     4 Ψ_r     4 Ψ_r
 *   OPTIMIZER_STATE         Σ over its shares of state(count); at stage 0 the whole tensors
 *   COMMUNICATION_BUCKETS   0         0         h L       h L
 *   GATHERED_LAYERS         0         0         0         h L (2 h L with prefetch)
 * </pre>
 * with {@code state(c) = 8c} for fp32 Adam states (m and v) and, for a tensor that the 8-bit format
 * quantizes ({@link StateFormat#quantizes(long)} of its own size, bitsandbytes' rule),
 * {@code state(c) = 2c + 8·ceil(c/256)} (a byte per state and element, a float of absmax per state
 * and block). This is the ledger's {@link MemoryLedger#snapshot()} after a run
 * ({@link #deviceBytes} for any device; a {@link Plan} gives the device that holds the most). The
 * model-state part is within the layout's padding of {@link MemoryPlan#bytesPerDevice} at Ψ: under
 * 1% with the default buckets once a device's share is large against 128 alignments per tensor.

 * <h2>Communication: what the communicators count, and a ring's alpha-beta time</h2>
 * Bytes sent per device and optimizer step (a step that is taken; a skipped step omits stage 1 and
 * 2's final all-gathers), as {@link dev.adamant.zero.comm.CommStats#bytesSent()} counts them:
 * stage 0 one all-reduce of the gradients, {@code 2(N-1)P h}; stages 1 and 2 a reduce-scatter and
 * an all-gather per bucket, {@code 2(N-1)P h}; stage 3 adds the forward's and the backward's
 * all-gather per bucket, {@code 3(N-1)P h}: the ZeRO paper's 2Ψ and 3Ψ (1.5x). Control traffic
 * ({@code anyTrue} and the loss's {@code allGatherDoubles}: {@code 9(N-1)} bytes) is apart, as in
 * {@code CommStats}; the planner assumes no gradient clipping (which adds a gather of norm blocks).
 *
 * <p>Time: each collective as ZeroDevice issues it (one all-reduce at stage 0, one per bucket and
 * phase at the other stages), each a ring of {@code N-1} steps; a step moves a rank's chunk of {@code c}
 * elements in {@code ceil(c / pieceElements)} messages (the MPI backend's pieces,
 * {@link MpiCommunicator.Settings#DEFAULT_PIECE_ELEMENTS} by default), each message paying the
 * latency α once:
 * <pre>
 *   reduce-scatter or all-gather   (N-1) (pieces α + c h / B)
 *   all-reduce                     2 (N-1) (pieces α + c h / B)    (a reduce-scatter then an all-gather)
 *   control collective of v bytes  (N-1) (α + v / B)
 * </pre>
 * With pieces = 1 this is the textbook {@code (N-1)(α + S/(N B))} for a collective of S bytes. It
 * does not model overlap of communication with compute, nor contention, nor the MPI backend's
 * direct (not ring) exchange, nor a limit other than the link's: over simulated hosts with links
 * shaped to 1 Gbit/s it is within 25% of the measured communication time per step, and a lower
 * bound where the hosts' processors cannot keep up with the link (README, "Measured against the
 * planner").
 *
 * <p>Bad input (null, no tensors, a tensor of 0 elements, N &lt; 1, FP32 precision, a bandwidth
 * that is not positive and finite, a negative or non-finite latency, a piece &lt; 1) throws before
 * anything is computed, naming the argument. Costs a pass over the tensors, and N per bucket.
 */
public final class ZeroPlanner {
    /** Bytes of an fp32 master weight. */
    private static final int MASTER_BYTES = Float.BYTES;
    /** Bytes of fp32 Adam state per element: m and v. */
    private static final int FP32_STATE_BYTES = 2 * Float.BYTES;
    /** 8-bit Adam: a byte per element for each of the two states, and a float of absmax per state and block. */
    private static final int BLOCKWISE8_STATE_BYTES = 2, BLOCKWISE8_ABSMAX_BYTES = 2 * Float.BYTES;
    /** Control collectives per step: anyTrue (1 byte) and the loss's allGatherDoubles (8 bytes). */
    private static final int[] CONTROL_VALUE_BYTES = {1, Double.BYTES};

    private ZeroPlanner() {}

    /**
     * A link: bandwidth in bytes per second and latency per message in seconds.
     *
     * @throws IllegalArgumentException naming the component if the bandwidth is not positive and
     *     finite, or the latency negative or not finite
     */
    public record Link(double bytesPerSecond, double latencySeconds) {
        public Link {
            if (!(bytesPerSecond > 0) || Double.isInfinite(bytesPerSecond)) {
                throw new IllegalArgumentException("bytesPerSecond: expected a positive finite bandwidth, got "
                        + bytesPerSecond);
            }
            if (!(latencySeconds >= 0) || Double.isInfinite(latencySeconds)) {
                throw new IllegalArgumentException("latencySeconds: expected a finite latency >= 0, got " + latencySeconds);
            }
        }

        /** A link of {@code gbps} Gbit/s (10^9 bits) and {@code latencyMicros} µs per message. */
        public static Link ofGbps(double gbps, double latencyMicros) {
            return new Link(gbps * 1e9 / 8, latencyMicros * 1e-6);
        }
    }

    /**
     * One device's prediction.
     *
     * @param stage the stage
     * @param devices N
     * @param parameters Ψ, without padding
     * @param paddedParameters T, the layout's padded total
     * @param device the device whose bytes these are: the one that holds the most (the first such)
     * @param bytes that device's bytes by purpose (every purpose present), as its ledger in a real run
     * @param bytesSentPerStep data bytes one device sends per taken step, as {@code CommStats.bytesSent()}
     * @param controlBytesSentPerStep control bytes sent per step, as {@code CommStats.controlBytesSent()}
     * @param collectivesPerStep data and control collectives per step
     * @param commSecondsPerStep the alpha-beta time of a step's collectives, one after the other
     */
    public record Plan(ZeroStage stage, int devices, long parameters, long paddedParameters, int device,
                       Map<Purpose, Long> bytes,
                       long bytesSentPerStep, long controlBytesSentPerStep, int collectivesPerStep,
                       double commSecondsPerStep) {
        public Plan {
            bytes = Collections.unmodifiableMap(new EnumMap<>(bytes));
        }

        /** Bytes per device for {@code purpose}. */
        public long bytes(Purpose purpose) {
            return bytes.get(Objects.requireNonNull(purpose, "purpose"));
        }

        /** Bytes per device, all purposes. */
        public long totalBytes() {
            long sum = 0;
            for (long b : bytes.values()) {
                sum += b;
            }
            return sum;
        }

        /** The model states alone: 16-bit parameters and gradients, master weights, optimizer state. */
        public long modelStateBytes() {
            return bytes(Purpose.PARAMETERS) + bytes(Purpose.GRADIENTS) + bytes(Purpose.MASTER_WEIGHTS)
                    + bytes(Purpose.OPTIMIZER_STATE);
        }
    }

    /** As {@link #plan(long[], ZeroStage, int, Precision, StateFormat, Link, int)} with the MPI backend's default piece. */
    public static Plan plan(long[] sizes, ZeroStage stage, int devices, Precision precision, StateFormat states,
                            Link link) {
        return plan(sizes, stage, devices, precision, states, link, MpiCommunicator.Settings.DEFAULT_PIECE_ELEMENTS);
    }

    /** As the array form, for a list of tensor sizes. */
    public static Plan plan(List<Long> sizes, ZeroStage stage, int devices, Precision precision, StateFormat states,
                            Link link, int pieceElements) {
        Objects.requireNonNull(sizes, "sizes");
        long[] a = new long[sizes.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = Objects.requireNonNull(sizes.get(i), "sizes[" + i + "]");
        }
        return plan(a, stage, devices, precision, states, link, pieceElements);
    }

    /**
     * Predicts one device of a run of a model with these tensors (one per layer, in order).
     *
     * @param sizes elements of each tensor, each {@code > 0}; at least one
     * @param stage the ZeRO stage
     * @param devices N, {@code >= 1}
     * @param precision FP16 or BF16
     * @param states Adam's state format (fp32, or 8-bit block-wise for the tensors it quantizes)
     * @param link bandwidth and latency
     * @param pieceElements the most elements one message moves ({@code >= 1})
     * @throws NullPointerException naming the argument that is null
     * @throws IllegalArgumentException naming the argument that is out of range
     */
    public static Plan plan(long[] sizes, ZeroStage stage, int devices, Precision precision, StateFormat states,
                            Link link, int pieceElements) {
        Objects.requireNonNull(sizes, "sizes");
        Objects.requireNonNull(stage, "stage");
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(states, "states");
        Objects.requireNonNull(link, "link");
        if (sizes.length == 0) {
            throw new IllegalArgumentException("sizes: expected at least one tensor");
        }
        Map<String, Long> named = new LinkedHashMap<>();
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] <= 0) {
                throw new IllegalArgumentException("sizes[" + i + "]: expected > 0 elements, got " + sizes[i]);
            }
            named.put("t" + i, sizes[i]);
        }
        if (devices < 1) {
            throw new IllegalArgumentException("devices: expected >= 1, got " + devices);
        }
        if (precision == Precision.FP32) {
            throw new IllegalArgumentException("precision: expected FP16 or BF16, got FP32");
        }
        if (pieceElements < 1) {
            throw new IllegalArgumentException("pieceElements: expected >= 1, got " + pieceElements);
        }
        return plan(FlatLayout.of(named, devices), stage, precision, states, link, pieceElements);
    }

    /**
     * Predicts one device of a run over {@code layout} (its tensors one per layer, its N, alignment
     * and buckets): for a layout of other buckets than the default.
     *
     * @throws NullPointerException naming the argument that is null
     * @throws IllegalArgumentException naming the argument that is out of range
     */
    public static Plan plan(FlatLayout layout, ZeroStage stage, Precision precision, StateFormat states, Link link,
                            int pieceElements) {
        return plan(layout, stage, precision, states, false, link, pieceElements);
    }

    /**
     * Predicts one device of a run of {@code config} over {@code layout}: its stage, precision,
     * optimizer state format and prefetch (one more gathered bucket at stage 3; the time model does
     * not count the overlap).
     *
     * @throws NullPointerException naming the argument that is null
     * @throws IllegalArgumentException naming the argument that is out of range
     */
    public static Plan plan(FlatLayout layout, ZeroConfig config, Link link, int pieceElements) {
        Objects.requireNonNull(config, "config");
        return plan(layout, config.stage(), config.precision(), config.optimizer().stateFormat(), config.prefetch(), link,
                pieceElements);
    }

    private static Plan plan(FlatLayout layout, ZeroStage stage, Precision precision, StateFormat states,
                             boolean prefetch, Link link, int pieceElements) {
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(stage, "stage");
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(states, "states");
        Objects.requireNonNull(link, "link");
        if (precision == Precision.FP32) {
            throw new IllegalArgumentException("precision: expected FP16 or BF16, got FP32");
        }
        if (pieceElements < 1) {
            throw new IllegalArgumentException("pieceElements: expected >= 1, got " + pieceElements);
        }
        int devices = layout.devices();
        long h = precision.bytes(), n = devices;
        long total = layout.paddedSize();
        boolean dp = stage == ZeroStage.DATA_PARALLEL;
        int fullest = fullestDevice(layout, stage, states);
        Map<Purpose, Long> bytes = deviceBytes(layout, stage, precision, states, prefetch, fullest);

        // Collectives of a taken step, as ZeroDevice.step issues them: chunks (elements per rank) of each.
        double alpha = link.latencySeconds(), beta = 1 / link.bytesPerSecond();
        double seconds = 0;
        long sent = 0;
        int collectives = 0;
        if (dp) {   // one all-reduce of the whole gradient buffer: two ring phases over chunks of P
            long part = layout.partitionSize();
            sent += 2 * (n - 1) * part * h;
            seconds += 2 * ringPhase(n, part, h, pieceElements, alpha, beta);
            collectives++;
        } else {
            int phasesPerBucket = stage == ZeroStage.PARAMETERS ? 3 : 2;   // RS + AG, or AG + AG + RS
            for (Bucket b : layout.buckets()) {
                sent += phasesPerBucket * (n - 1) * b.slice() * h;
                seconds += phasesPerBucket * ringPhase(n, b.slice(), h, pieceElements, alpha, beta);
                collectives += phasesPerBucket;
            }
        }
        long control = 0;
        for (int v : CONTROL_VALUE_BYTES) {
            control += (n - 1) * v;
            seconds += (n - 1) * (alpha + v * beta);
            collectives++;
        }
        return new Plan(stage, devices, layout.parameters(), total, fullest, bytes, sent, control, collectives, seconds);
    }

    /**
     * What device {@code rank} of a run over {@code layout} holds, by purpose: its ledger after a run
     * (see the class description).
     *
     * @throws IllegalArgumentException if {@code rank} is not a device of the layout, or precision is FP32
     */
    public static Map<Purpose, Long> deviceBytes(FlatLayout layout, ZeroStage stage, Precision precision,
                                                 StateFormat states, int rank) {
        return deviceBytes(layout, stage, precision, states, false, rank);
    }

    /** What device {@code rank} of a run of {@code config} over {@code layout} holds, by purpose. */
    public static Map<Purpose, Long> deviceBytes(FlatLayout layout, ZeroConfig config, int rank) {
        Objects.requireNonNull(config, "config");
        return deviceBytes(layout, config.stage(), config.precision(), config.optimizer().stateFormat(), config.prefetch(),
                rank);
    }

    private static Map<Purpose, Long> deviceBytes(FlatLayout layout, ZeroStage stage, Precision precision,
                                                  StateFormat states, boolean prefetch, int rank) {
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(stage, "stage");
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(states, "states");
        if (precision == Precision.FP32) {
            throw new IllegalArgumentException("precision: expected FP16 or BF16, got FP32");
        }
        if (rank < 0 || rank >= layout.devices()) {
            throw new IllegalArgumentException("rank: expected 0 to " + (layout.devices() - 1) + ", got " + rank);
        }
        long h = precision.bytes();
        long total = layout.paddedSize(), part = layout.partitionSize(), largest = layout.largestPaddedBucket();
        boolean dp = stage == ZeroStage.DATA_PARALLEL;
        long master = 0, state = 0;
        for (Tensor t : layout.tensors()) {
            long count = dp ? t.count() : layout.share(t, rank).count();
            master += MASTER_BYTES * count;
            state += stateBytes(states, t.count(), count);
        }
        Map<Purpose, Long> bytes = new EnumMap<>(Purpose.class);
        bytes.put(Purpose.PARAMETERS, h * (stage == ZeroStage.PARAMETERS ? part : total));
        bytes.put(Purpose.GRADIENTS, h * (stage.ordinal() >= 2 ? part : total));
        bytes.put(Purpose.MASTER_WEIGHTS, master);
        bytes.put(Purpose.OPTIMIZER_STATE, state);
        bytes.put(Purpose.COMMUNICATION_BUCKETS, stage.ordinal() >= 2 ? h * largest : 0);
        bytes.put(Purpose.GATHERED_LAYERS, stage == ZeroStage.PARAMETERS ? (prefetch ? 2 : 1) * h * largest : 0);
        return bytes;
    }

    /** Adam state bytes of a share of {@code count} elements of a tensor of {@code tensorCount}. */
    private static long stateBytes(StateFormat states, long tensorCount, long count) {
        return states.quantizes(tensorCount)
                ? BLOCKWISE8_STATE_BYTES * count + BLOCKWISE8_ABSMAX_BYTES * ((count + StateFormat.BLOCK - 1) / StateFormat.BLOCK)
                : FP32_STATE_BYTES * count;
    }

    /**
     * The device that holds the most (its master weights and optimizer state are the only parts that
     * differ by device): shares are counted bucket by bucket, each tensor adding to the few devices
     * whose slices it crosses, so this costs a pass over the tensors and N per bucket.
     */
    private static int fullestDevice(FlatLayout layout, ZeroStage stage, StateFormat states) {
        int n = layout.devices();
        if (stage == ZeroStage.DATA_PARALLEL || n == 1) {
            return 0;
        }
        long[] held = new long[n];
        for (Tensor t : layout.tensors()) {
            Bucket b = layout.bucketOf(t);
            int first = (int) ((t.offset() - b.offset()) / b.slice());
            int last = (int) ((t.offset() + t.count() - 1 - b.offset()) / b.slice());
            for (int r = first; r <= last; r++) {
                long count = layout.share(t, r).count();
                held[r] += MASTER_BYTES * count + stateBytes(states, t.count(), count);
            }
        }
        int best = 0;
        for (int r = 1; r < n; r++) {
            if (held[r] > held[best]) {
                best = r;
            }
        }
        return best;
    }

    /** One ring reduce-scatter or all-gather: N-1 steps, each a chunk of {@code chunk} elements in pieces. */
    private static double ringPhase(long n, long chunk, long h, int pieceElements, double alpha, double beta) {
        if (n == 1 || chunk == 0) {
            return 0;
        }
        long pieces = (chunk + pieceElements - 1) / pieceElements;
        return (n - 1) * (pieces * alpha + chunk * h * beta);
    }
}
