package dev.adamant.zero;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.StateFormat;
import dev.adamant.core.Team;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.mixed.MixedPrecisionOptimizer;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.fp16.scaling.GradientStats;
import dev.adamant.zero.MemoryLedger.Purpose;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.partition.FlatLayout;
import dev.adamant.zero.partition.FlatLayout.Bucket;
import dev.adamant.zero.partition.FlatLayout.Share;
import dev.adamant.zero.partition.FlatLayout.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One device of a ZeRO run: the engine for stages 0-3, around the fp16 module's mixed-precision
 * optimizer, over a {@link Communicator}.
 *
 * <p>What a device holds (its {@link #ledger()} counts each buffer by purpose), with the
 * {@link FlatLayout}'s padded total T = N·P, Ψ the model's parameters and Ψ_r device r's shares of
 * the tensors (the parameters inside its slices, about Ψ/N; padding has no optimizer):
 * <pre>
 *   stage  16-bit params   16-bit grads        fp32 master + Adam state   extra
 *   0      T (all)         T (all)             12 Ψ                       -
 *   1      T               T                   12 Ψ_r (its shares)        -
 *   2      T               P                   12 Ψ_r                     one bucket (the largest padded one)
 *   3      P               P                   12 Ψ_r                     one bucket + one gathered bucket
 * </pre>
 * With 8-bit block-wise Adam states ({@code config.optimizer().withStateFormat(StateFormat.BLOCKWISE_8BIT)})
 * the 12 becomes 6 (4 master + 1 + 1), plus 8 bytes of absmax per 256 parameters, for every tensor
 * of at least the format's {@code minBlockwiseSize} elements; smaller tensors keep fp32 states (see
 * {@link #tensorOptimizer}). The ledger counts the state buffers' real bytes.
 * A step: forward layer by layer (stage 3 all-gathers each bucket's parameters before its first
 * layer), backward layer by layer from the last (stage 3 gathers each bucket again; stages 2 and 3
 * collect a bucket's gradients in the gradient bucket and reduce-scatter it once its layers are done,
 * keeping only their slice), then stage 0 all-reduces all gradients and stage 1 reduce-scatters them
 * bucket by bucket; every device checks its gradients for inf/NaN and, when clipping, computes its
 * norm blocks; one {@code anyTrue} decides for all (an overflow anywhere skips the step everywhere);
 * the norm is summed from all devices' blocks in the flat buffer's order, so it is the same bits as
 * an unpartitioned run's; each device steps its shares of the tensors; stages 1 and 2 all-gather the
 * new parameters bucket by bucket. Communication per step and device: 2T(N-1)/N elements for stages
 * 0-2, 3T(N-1)/N for stage 3, plus a few control bytes.
 *
 * <p>Adam is elementwise and every reduction has a fixed order, so for the same model, data, N and
 * seed all stages give the same parameters bit for bit.
 *
 * <p>One thread drives a device; its own gradient check and optimizer step may run on a
 * {@link #useTeam(Team) team} of threads (say 4 devices with a team of 4 each on 16 cores), with the
 * same result bit for bit. A collective that fails or times out fails the whole group (see
 * the communicator); the device is then unusable and should be closed.
 */
public final class ZeroDevice implements AutoCloseable {
    private final ZeroConfig config;
    private final ZeroStage stage;
    private final FlatLayout layout;
    private final Communicator comm;
    private final int rank;
    private final Precision precision;
    private final MemoryLedger ledger = new MemoryLedger();
    private final DynamicLossScaler scaler;
    private final List<Tensor> tensors;
    private final List<Bucket> buckets;
    private final MemorySegment params16, grads16, bucket;
    /** Stage 3's gathered buckets: one, or two with prefetch (the one in use and the next). */
    private final MemorySegment[] gathered;
    /** With prefetch, the device's communication thread: every collective of a step runs on it, in order. */
    private final ExecutorService commThread;
    /** With prefetch, the all-gather in flight (of {@link #pendingBuffer}), or null. */
    private Future<?> pending;
    private int pendingBuffer;
    /** Per tensor: this device's optimizer of its share, or null where the share is empty. */
    private final MixedPrecisionOptimizer[] optimizers;
    /** Per tensor: this device's share (stage 0: the whole tensor). */
    private final Share[] shares;
    private Team team;
    private long steps;

    /**
     * Sets up device {@code comm.rank()} with the model's initial fp32 parameters ({@code initial}:
     * the layout's padded total of floats, zeros in the padding; the same on every device).
     */
    public ZeroDevice(ZeroConfig config, FlatLayout layout, Communicator comm, MemorySegment initial) {
        this(config, layout, comm, Objects.requireNonNull(initial, "initial"), null);
    }

    /**
     * Fills a new device's state from a checkpoint instead of initial weights: {@link #load} fills
     * each tensor's optimizer (master, moments, step count) and this device's own 16-bit parameters
     * of it; {@link #finish} sets what is left once every tensor is loaded.
     */
    interface Restorer {
        void load(ZeroDevice device, Tensor t, MixedPrecisionOptimizer optimizer, long from, MemorySegment ownParams);

        void finish(ZeroDevice device);
    }

    /** {@code initial} for a new run, or {@code restorer} (initial null) for a restored one. */
    ZeroDevice(ZeroConfig config, FlatLayout layout, Communicator comm, MemorySegment initial, Restorer restorer) {
        this.config = Objects.requireNonNull(config, "config");
        this.layout = Objects.requireNonNull(layout, "layout");
        this.comm = Objects.requireNonNull(comm, "comm");
        if (layout.devices() != comm.size()) {
            throw new IllegalArgumentException("layout: laid out for " + layout.devices() + " devices, the communicator has "
                    + comm.size());
        }
        long total = layout.paddedSize(), part = layout.partitionSize(), largest = layout.largestPaddedBucket();
        if (initial != null && initial.byteSize() != total * Float.BYTES) {
            throw new IllegalArgumentException("initial: expected " + total * Float.BYTES + " bytes (" + total
                    + " floats, the padded layout), got " + initial.byteSize());
        }
        this.stage = config.stage();
        this.rank = comm.rank();
        this.precision = config.precision();
        this.scaler = config.newLossScaler();
        this.tensors = layout.tensors();
        this.buckets = layout.buckets();
        int h = precision.bytes();
        this.params16 = ledger.allocate(Purpose.PARAMETERS, h * (stage == ZeroStage.PARAMETERS ? part : total));
        this.grads16 = ledger.allocate(Purpose.GRADIENTS, h * (stage.ordinal() >= 2 ? part : total));
        this.bucket = stage.ordinal() >= 2 ? ledger.allocate(Purpose.COMMUNICATION_BUCKETS, h * largest) : null;
        int buffers = stage != ZeroStage.PARAMETERS ? 0 : config.prefetch() ? 2 : 1;
        this.gathered = new MemorySegment[buffers];
        for (int k = 0; k < buffers; k++) {
            gathered[k] = ledger.allocate(Purpose.GATHERED_LAYERS, h * largest);
        }
        this.commThread = config.prefetch() ? Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "adamant-zero-comm-rank" + comm.rank());
            t.setDaemon(true);
            return t;
        }) : null;
        this.optimizers = new MixedPrecisionOptimizer[tensors.size()];
        this.shares = new Share[tensors.size()];
        try {
            for (Tensor t : tensors) {
                Share share = stage == ZeroStage.DATA_PARALLEL ? new Share(0, t.count()) : layout.share(t, rank);
                shares[t.index()] = share;
                if (share.isEmpty()) {
                    continue;
                }
                long count = share.count();
                Optimizer inner = Optimizers.adam(tensorOptimizer(config.optimizer(), t.count()), count);
                long stateBytes = 0;
                for (String name : inner.stateNames()) {   // fp32 states: 4 bytes an element; 8-bit: 1, + absmax
                    stateBytes += inner.state(name).byteSize();
                }
                ledger.record(Purpose.OPTIMIZER_STATE, stateBytes);
                // Stochastic rounding counts from the parameter's place in the unpadded model: the same
                // counters at every N and stage.
                MixedPrecisionOptimizer m = MixedPrecisionOptimizer.builder(inner, precision)
                        .rounding(config.rounding()).partition(layout.modelOffset(t) + share.from(), layout.parameters())
                        .build();
                optimizers[t.index()] = m;
                ledger.record(Purpose.MASTER_WEIGHTS, (long) Float.BYTES * count);
                if (restorer == null) {
                    m.loadMaster(initial.asSlice((t.offset() + share.from()) * Float.BYTES, count * Float.BYTES));
                    m.writeParams(ownParams(t));
                }
            }
            if (restorer != null) {
                // A device that cannot load throws here, which fails the group: the others wait at the
                // barrier, not in an all-gather, and fail with its exception as the cause.
                for (Tensor t : tensors) {
                    if (optimizers[t.index()] != null) {
                        restorer.load(this, t, optimizers[t.index()], ownStart(t), ownParams(t));
                    }
                }
                restorer.finish(this);
                comm.barrier();
            }
            if (stage == ZeroStage.OPTIMIZER_STATE || stage == ZeroStage.GRADIENTS) {
                for (Bucket b : buckets) {
                    comm.allGatherInPlace(wholeBucket(params16, b), precision);
                }
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /**
     * The optimizer config of one tensor of {@code elements} parameters (without padding). Under an
     * 8-bit block-wise state format, whether a tensor keeps 8-bit states is decided by the tensor's
     * own size, as bitsandbytes decides it ({@code p.numel() >= min_8bit_size}), not by the size of a
     * device's slice or of the padded tensor: so a tensor keeps the same format at every stage and
     * on any number of devices, and sharded steps equal unsharded ones bit for bit. Its slices are
     * multiples of the layout's alignment, whole 256-element blocks of the tensor, so each device's
     * blocks are the unsharded optimizer's blocks.
     */
    static AdamConfig tensorOptimizer(AdamConfig optimizer, long elements) {
        StateFormat f = optimizer.stateFormat();
        if (!f.isBlockwise8()) {
            return optimizer;
        }
        return optimizer.withStateFormat(f.quantizes(elements) ? f.withMinBlockwiseSize(0) : StateFormat.FP32);
    }

    /** The first element, within tensor {@code t}, that this device's optimizer for {@code t} covers. */
    long ownStart(Tensor t) {
        return shares[t.index()].from();
    }

    /** This device's optimizer of its share of {@code t}, or null where the share is empty. */
    MixedPrecisionOptimizer optimizer(Tensor t) {
        return optimizers[t.index()];
    }

    /** This device's 16-bit parameters of {@code t} that its optimizer writes (see {@link #ownStart}). */
    MemorySegment ownParamsOf(Tensor t) {
        return ownParams(t);
    }

    DynamicLossScaler scaler() {
        return scaler;
    }

    void restoreSteps(long optimizerSteps) {
        this.steps = optimizerSteps;
    }

    ZeroConfig config() {
        return config;
    }

    FlatLayout layout() {
        return layout;
    }

    Communicator comm() {
        return comm;
    }

    /** This device's ledger. */
    public MemoryLedger ledger() {
        return ledger;
    }

    /** The loss scale of the next step. */
    public float scale() {
        return scaler.scale();
    }

    /** Optimizer steps taken. */
    public long steps() {
        return steps;
    }

    /**
     * One training step on the micro-batch the model holds; every device of the group must call it.
     */
    public StepResult step(LayeredModel model) {
        Objects.requireNonNull(model, "model");
        if (model.layers() != tensors.size()) {
            throw new IllegalArgumentException("model: expected " + tensors.size() + " layers (the layout's), got "
                    + model.layers());
        }
        if (pending != null) {
            throw new IllegalStateException("device: an earlier step failed with a prefetched all-gather in flight;"
                    + " close this device");
        }
        float scale = scaler.scale();
        int h = precision.bytes();
        int last = buckets.size() - 1;
        for (int k = 0; k <= last; k++) {
            Bucket b = buckets.get(k);
            // Stage 3: this bucket's parameters; the next gather is the next bucket's, or after the
            // last the backward's first (the last bucket again).
            MemorySegment params = stage == ZeroStage.PARAMETERS ? gather(b, buckets.get(Math.min(k + 1, last))) : null;
            for (Tensor t : layout.tensorsOf(b)) {
                model.forward(t.index(), layerParams(t, params));
            }
        }
        float loss = model.loss();
        for (int k = last; k >= 0; k--) {
            Bucket b = buckets.get(k);
            MemorySegment params = stage == ZeroStage.PARAMETERS ? gather(b, k > 0 ? buckets.get(k - 1) : null) : null;
            MemorySegment collected = bucket == null ? null : bucket.asSlice(0, b.paddedCount() * h);
            if (collected != null) {
                collected.fill((byte) 0);   // the gaps between tensors and the tail stay zero
            }
            List<Tensor> inBucket = layout.tensorsOf(b);
            for (int l = inBucket.size() - 1; l >= 0; l--) {
                Tensor t = inBucket.get(l);
                model.backward(t.index(), layerParams(t, params), gradTarget(t), scale, config.globalBatch());
            }
            if (collected != null) {
                MemorySegment own = partitionSlice(grads16, b);
                onCommThread(() -> comm.reduceScatter(collected, own, precision));
            }
        }
        if (stage == ZeroStage.DATA_PARALLEL) {
            comm.allReduce(grads16, precision, ReduceOp.SUM);
        } else if (stage == ZeroStage.OPTIMIZER_STATE) {
            for (Bucket b : buckets) {
                MemorySegment whole = wholeBucket(grads16, b);   // in place: the result lands on this device's slice
                comm.reduceScatter(whole, whole.asSlice(rank * b.slice() * precision.bytes(), b.slice() * precision.bytes()),
                        precision);
            }
        }
        return update(scale, loss);
    }

    /**
     * The optimizer part of a step alone, on the gradients this device holds now (reduced, as
     * {@link #step} leaves them before its update): every device checks its gradients, one
     * {@code anyTrue} decides for all, the norm is summed when clipping, each device steps its
     * slices, stages 1 and 2 all-gather the parameters. Every device of the group must call it; for
     * benchmarks of the optimizer part.
     */
    public StepResult update() {
        return update(scaler.scale(), Float.NaN);
    }

    private StepResult update(float scale, float loss) {
        boolean clip = config.maxGradNorm() > 0;
        boolean dp = stage == ZeroStage.DATA_PARALLEL;
        // Norm blocks by place: one slot per NORM_BLOCK elements of what this device holds (the flat
        // buffer at stage 0, its partition otherwise); gaps and padding stay 0.
        double[] slots = clip ? new double[Math.toIntExact((dp ? layout.paddedSize() : layout.partitionSize())
                / MixedPrecisionOptimizer.NORM_BLOCK)] : null;
        boolean nonFinite = false;
        for (Tensor t : tensors) {
            MixedPrecisionOptimizer m = optimizers[t.index()];
            if (m == null) {
                continue;
            }
            double[] blocks = clip ? new double[m.normBlocks()] : null;
            nonFinite |= team == null ? m.checkGradients(ownGrads(t), scale, blocks, Runnable::run, 1)
                    : m.checkGradients(ownGrads(t), scale, blocks, team);
            if (clip) {
                System.arraycopy(blocks, 0, slots, Math.toIntExact(ownPlace(t) / MixedPrecisionOptimizer.NORM_BLOCK), blocks.length);
            }
        }
        nonFinite = comm.anyTrue(nonFinite);
        float meanLoss = Float.NaN;
        if (!Float.isNaN(loss)) {
            double[] losses = comm.allGatherDoubles(new double[] {loss});
            double lossSum = 0;
            for (double x : losses) {
                lossSum += x;
            }
            meanLoss = (float) (lossSum / losses.length);
        }
        float coef = 1f, norm = Float.NaN;
        if (clip && !nonFinite) {
            GradientStats stats = new GradientStats(false, sumOfSquares(slots));
            coef = stats.clipCoefficient(config.maxGradNorm());
            norm = stats.norm();
        }
        // Every device has the same flags and sum, so all skip alike. A coefficient of 0 is a norm that
        // overflows in float, or one above maxGradNorm by more than a float spans: as an infinite norm.
        if (nonFinite || coef == 0f) {
            return new StepResult(steps, true, meanLoss, scale, scaler.update(true), Float.NaN, 1f);
        }
        for (Tensor t : tensors) {
            MixedPrecisionOptimizer m = optimizers[t.index()];
            if (m == null) {
                continue;
            }
            if (team == null) {
                m.applyUpdate(ownParams(t), ownGrads(t), scale, coef, Runnable::run, 1);
            } else {
                m.applyUpdate(ownParams(t), ownGrads(t), scale, coef, team);
            }
        }
        if (stage == ZeroStage.OPTIMIZER_STATE || stage == ZeroStage.GRADIENTS) {
            for (Bucket b : buckets) {
                comm.allGatherInPlace(wholeBucket(params16, b), precision);
            }
        }
        steps++;
        return new StepResult(steps, false, meanLoss, scale, scaler.update(false), norm, coef);
    }

    /** The block sums added in order. */
    private static double total(double[] blocks) {
        double sum = 0;
        for (double b : blocks) {
            sum += b;
        }
        return sum;
    }

    /**
     * The sum of squares of all gradients, from the devices' norm blocks, added in the flat buffer's
     * order (bucket by bucket, each bucket's slices in rank order, each slice's blocks in order), as
     * an unpartitioned device adds its own: the same blocks, the same order, zeros for the padding.
     */
    private double sumOfSquares(double[] local) {
        if (stage == ZeroStage.DATA_PARALLEL) {
            return total(local);
        }
        double[] all = comm.allGatherDoubles(local);   // rank-major: rank r's partition slots at r * local.length
        double sum = 0;
        for (Bucket b : buckets) {
            int first = Math.toIntExact(layout.localOffset(b) / MixedPrecisionOptimizer.NORM_BLOCK);
            int count = Math.toIntExact(b.slice() / MixedPrecisionOptimizer.NORM_BLOCK);
            for (int r = 0; r < comm.size(); r++) {
                for (int k = 0; k < count; k++) {
                    sum += all[r * local.length + first + k];
                }
            }
        }
        return sum;
    }

    /**
     * Writes every parameter, as 16-bit values, into {@code out} (the padded total); a collective in
     * stage 3, where each device holds only its slices.
     */
    public void gatherParams(MemorySegment out) {
        long bytes = layout.paddedSize() * precision.bytes();
        if (out.byteSize() != bytes) {
            throw new IllegalArgumentException("out: expected " + bytes + " bytes, got " + out.byteSize());
        }
        if (stage != ZeroStage.PARAMETERS) {
            MemorySegment.copy(params16, 0, out, 0, bytes);
            return;
        }
        for (Bucket b : buckets) {
            comm.allGather(partitionSlice(params16, b), wholeBucket(out, b), precision);
        }
    }

    /** Layer t's parameters for its forward or backward: at stage 3 in {@code gatheredBucket}, its bucket gathered. */
    private MemorySegment layerParams(Tensor t, MemorySegment gatheredBucket) {
        int h = precision.bytes();
        if (stage != ZeroStage.PARAMETERS) {
            return params16.asSlice(t.offset() * h, t.count() * h);
        }
        return gatheredBucket.asSlice((t.offset() - layout.bucketOf(t).offset()) * h, t.count() * h);
    }

    /**
     * Stage 3: bucket {@code b}'s parameters, all-gathered; the buffer holding them. Without
     * prefetch the all-gather runs here; with it, {@code b}'s was started by the previous call (or
     * starts now, the step's first) and this waits for it, then starts {@code next}'s (null: none)
     * into the other buffer, to run while {@code b}'s layers compute.
     */
    private MemorySegment gather(Bucket b, Bucket next) {
        int h = precision.bytes();
        if (commThread == null) {
            comm.allGather(partitionSlice(params16, b), gathered[0].asSlice(0, b.paddedCount() * h), precision);
            return gathered[0];
        }
        if (pending == null) {
            startGather(b, 0);
        }
        await(pending);
        int mine = pendingBuffer;
        pending = null;
        if (next != null) {
            startGather(next, 1 - mine);
        }
        return gathered[mine];
    }

    private void startGather(Bucket b, int buffer) {
        MemorySegment into = gathered[buffer].asSlice(0, b.paddedCount() * precision.bytes());
        MemorySegment own = partitionSlice(params16, b);
        pendingBuffer = buffer;
        pending = commThread.submit(() -> comm.allGather(own, into, precision));
    }

    /** Runs a collective on the communication thread when there is one (after what is queued there), else here. */
    private void onCommThread(Runnable collective) {
        if (commThread == null) {
            collective.run();
        } else {
            await(commThread.submit(collective));
        }
    }

    /** Waits for a collective on the communication thread, rethrowing what it threw. */
    private static void await(Future<?> f) {
        try {
            f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        } catch (InterruptedException e) {
            f.cancel(true);   // the collective's thread is interrupted too: the group fails, naming it
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a collective on the communication thread", e);
        }
    }

    /** Where backward writes layer t's gradient: the full gradient buffer (stages 0, 1) or its place in the bucket. */
    private MemorySegment gradTarget(Tensor t) {
        int h = precision.bytes();
        if (bucket == null) {
            return grads16.asSlice(t.offset() * h, t.count() * h);
        }
        return bucket.asSlice((t.offset() - layout.bucketOf(t).offset()) * h, t.count() * h);
    }

    /**
     * Where this device's share of t starts in what it holds: the flat buffer's index (stage 0), or
     * the index in its partition (stages 1-3: the bucket's slice place plus the share's place in the
     * slice). A multiple of {@link MixedPrecisionOptimizer#NORM_BLOCK}.
     */
    private long ownPlace(Tensor t) {
        Share share = shares[t.index()];
        if (stage == ZeroStage.DATA_PARALLEL) {
            return t.offset() + share.from();
        }
        Bucket b = layout.bucketOf(t);
        return layout.localOffset(b) + t.offset() + share.from() - b.sliceStart(rank);
    }

    /** The 16-bit parameters this device's optimizer for t writes: its share of t, in the full buffer or its partition. */
    private MemorySegment ownParams(Tensor t) {
        int h = precision.bytes();
        Share share = shares[t.index()];
        long at = stage == ZeroStage.PARAMETERS ? ownPlace(t) : t.offset() + share.from();
        return params16.asSlice(at * h, share.count() * h);
    }

    /** The reduced 16-bit gradients this device's optimizer for t reads: its share of t. */
    private MemorySegment ownGrads(Tensor t) {
        int h = precision.bytes();
        Share share = shares[t.index()];
        long at = stage.ordinal() >= 2 ? ownPlace(t) : t.offset() + share.from();
        return grads16.asSlice(at * h, share.count() * h);
    }

    /** Bucket b, padding included, in a buffer of the whole flat layout. */
    private MemorySegment wholeBucket(MemorySegment full, Bucket b) {
        int h = precision.bytes();
        return full.asSlice(b.offset() * h, b.paddedCount() * h);
    }

    /** This device's slice of bucket b in a buffer of its partition (stage 3's parameters, stage 2 and 3's gradients). */
    private MemorySegment partitionSlice(MemorySegment partition, Bucket b) {
        int h = precision.bytes();
        return partition.asSlice(layout.localOffset(b) * h, b.slice() * h);
    }

    /**
     * Runs this device's gradient check and optimizer update (not its collectives, nor the model's
     * forward and backward) as regions of {@code team} from the next step on: bit-identical to the
     * steps on the driving thread alone. {@code null} goes back to that (the default). The team is
     * the caller's: it is not closed with the device, and is not part of the {@link ZeroConfig} nor
     * of a checkpoint (a restored device steps on the calling thread until given one). Give each
     * device of a process its own team, or they take turns on it (a team runs one region at a time;
     * the others run theirs alone, correctly).
     *
     * @throws IllegalStateException if {@code team} is closed (the device keeps its previous team)
     */
    public void useTeam(Team team) {
        this.team = team == null ? null : team.requireOpen();
    }

    /** The team {@link #useTeam} gave this device, or null: the driving thread alone. */
    public Team team() {
        return team;
    }

    /**
     * Frees everything this device holds: at once, or, if a step failed with a prefetched all-gather
     * in flight, on the communication thread once that all-gather ends (when the group fails).
     */
    @Override
    public void close() {
        if (commThread != null) {
            if (pending != null && !pending.isDone()) {
                // A step failed (in the model, say) with an all-gather in flight. Interrupting it would
                // fail the group before the step's own exception does, under another cause; the
                // all-gather ends when the group fails (or completes), and the buffers it uses are
                // freed after it, on its thread.
                commThread.execute(this::free);
                commThread.shutdown();
                return;
            }
            commThread.shutdownNow();
        }
        free();
    }

    private void free() {
        if (optimizers != null) {
            for (MixedPrecisionOptimizer m : optimizers) {
                if (m != null) {
                    m.close();
                }
            }
        }
        ledger.close();
    }
}
