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
import dev.adamant.zero.partition.FlatLayout.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

/**
 * One device of a ZeRO run: the engine for stages 0-3, around the fp16 module's mixed-precision
 * optimizer, over a {@link Communicator}.
 *
 * <p>What a device holds (its {@link #ledger()} counts each buffer by purpose), with the
 * {@link FlatLayout}'s padded total T = N·P:
 * <pre>
 *   stage  16-bit params   16-bit grads        fp32 master + Adam state   extra
 *   0      T (all)         T (all)             12 T                       -
 *   1      T               T                   12 P (its slices)          -
 *   2      T               P                   12 P                       one bucket (largest layer)
 *   3      P               P                   12 P                       one bucket + one gathered layer
 * </pre>
 * With 8-bit block-wise Adam states ({@code config.optimizer().withStateFormat(StateFormat.BLOCKWISE_8BIT)})
 * the 12 becomes 6 (4 master + 1 + 1), plus 8 bytes of absmax per 256 parameters, for every tensor
 * of at least the format's {@code minBlockwiseSize} elements; smaller tensors keep fp32 states (see
 * {@link #tensorOptimizer}). The ledger counts the state buffers' real bytes.
 * A step: forward layer by layer (stage 3 all-gathers each layer's parameters first), backward layer
 * by layer from the last (stage 3 gathers again; stages 2 and 3 reduce-scatter each layer's gradient
 * from the bucket at once and keep only their slice), then stage 0 all-reduces all gradients and
 * stage 1 reduce-scatters them; every device checks its gradients for inf/NaN and, when clipping,
 * computes its norm blocks; one {@code anyTrue} decides for all (an overflow anywhere skips the step
 * everywhere); the norm is summed from all devices' blocks in the flat buffer's order, so it is the
 * same bits as an unpartitioned run's; each device steps its slices; stages 1 and 2 all-gather the
 * new parameters. Communication per step and device: 2T(N-1)/N elements for stages 0-2, 3T(N-1)/N
 * for stage 3, plus a few control bytes.
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
    private final MemorySegment params16, grads16, bucket, gathered;
    private final MixedPrecisionOptimizer[] optimizers;
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
        long total = layout.paddedSize(), part = layout.partitionSize(), largest = layout.largestPaddedTensor();
        if (initial != null && initial.byteSize() != total * Float.BYTES) {
            throw new IllegalArgumentException("initial: expected " + total * Float.BYTES + " bytes (" + total
                    + " floats, the padded layout), got " + initial.byteSize());
        }
        checkBlockAligned(config.optimizer(), layout);
        this.stage = config.stage();
        this.rank = comm.rank();
        this.precision = config.precision();
        this.scaler = config.newLossScaler();
        this.tensors = layout.tensors();
        int h = precision.bytes();
        this.params16 = ledger.allocate(Purpose.PARAMETERS, h * (stage == ZeroStage.PARAMETERS ? part : total));
        this.grads16 = ledger.allocate(Purpose.GRADIENTS, h * (stage.ordinal() >= 2 ? part : total));
        this.bucket = stage.ordinal() >= 2 ? ledger.allocate(Purpose.COMMUNICATION_BUCKETS, h * largest) : null;
        this.gathered = stage == ZeroStage.PARAMETERS ? ledger.allocate(Purpose.GATHERED_LAYERS, h * largest) : null;
        this.optimizers = new MixedPrecisionOptimizer[tensors.size()];
        try {
            for (Tensor t : tensors) {
                long count = stage == ZeroStage.DATA_PARALLEL ? t.paddedCount() : t.slice();
                long start = stage == ZeroStage.DATA_PARALLEL ? t.offset() : t.sliceStart(rank);
                Optimizer inner = Optimizers.adam(tensorOptimizer(config.optimizer(), t.count()), count);
                long stateBytes = 0;
                for (String name : inner.stateNames()) {   // fp32 states: 4 bytes an element; 8-bit: 1, + absmax
                    stateBytes += inner.state(name).byteSize();
                }
                ledger.record(Purpose.OPTIMIZER_STATE, stateBytes);
                MixedPrecisionOptimizer m = MixedPrecisionOptimizer.builder(inner, precision)
                        .rounding(config.rounding()).partition(start, total).build();
                optimizers[t.index()] = m;
                ledger.record(Purpose.MASTER_WEIGHTS, (long) Float.BYTES * count);
                if (restorer == null) {
                    m.loadMaster(initial.asSlice(start * Float.BYTES, count * Float.BYTES));
                    m.writeParams(ownParams(t));
                }
            }
            if (restorer != null) {
                // A device that cannot load throws here, which fails the group: the others wait at the
                // barrier, not in an all-gather, and fail with its exception as the cause.
                for (Tensor t : tensors) {
                    restorer.load(this, t, optimizers[t.index()], ownStart(t), ownParams(t));
                }
                restorer.finish(this);
                comm.barrier();
            }
            if (stage == ZeroStage.OPTIMIZER_STATE || stage == ZeroStage.GRADIENTS) {
                for (Tensor t : tensors) {
                    comm.allGatherInPlace(fullTensor(params16, t), precision);
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
     * multiples of {@link FlatLayout#DEFAULT_ALIGNMENT}, whole 256-element blocks, so each device's
     * blocks are the unsharded optimizer's blocks.
     */
    static AdamConfig tensorOptimizer(AdamConfig optimizer, long elements) {
        StateFormat f = optimizer.stateFormat();
        if (!f.isBlockwise8()) {
            return optimizer;
        }
        return optimizer.withStateFormat(f.quantizes(elements) ? f.withMinBlockwiseSize(0) : StateFormat.FP32);
    }

    /** Elements per block of 8-bit block-wise states (bitsandbytes' block size). */
    static final int BLOCK = StateFormat.BLOCK;

    /**
     * Refuses a layout whose slices would cut a 256-element block of an 8-bit tensor between two
     * devices (a {@link FlatLayout} of another alignment than a multiple of 256): each device's
     * blocks must be the unsharded optimizer's, or sharded steps would differ from unsharded ones.
     */
    static void checkBlockAligned(AdamConfig optimizer, FlatLayout layout) {
        if (layout.alignment() % BLOCK == 0) {
            return;
        }
        for (Tensor t : layout.tensors()) {
            if (optimizer.stateFormat().quantizes(t.count())) {
                throw new IllegalArgumentException("layout: alignment " + layout.alignment() + " would split the 8-bit"
                        + " blocks of " + BLOCK + " elements of tensor \"" + t.name() + "\" (" + t.count()
                        + " elements, " + optimizer.stateFormat() + ") between devices: expected an alignment that is a"
                        + " multiple of " + BLOCK + " (FlatLayout.DEFAULT_ALIGNMENT, " + FlatLayout.DEFAULT_ALIGNMENT
                        + ", is)");
            }
        }
    }

    /** The first element, within tensor {@code t}, that this device's optimizer for {@code t} covers. */
    long ownStart(Tensor t) {
        return stage == ZeroStage.DATA_PARALLEL ? 0 : t.sliceStart(rank) - t.offset();
    }

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
        float scale = scaler.scale();
        for (Tensor t : tensors) {
            model.forward(t.index(), layerParams(t));
        }
        float loss = model.loss();
        for (int l = tensors.size() - 1; l >= 0; l--) {
            Tensor t = tensors.get(l);
            MemorySegment p = layerParams(t);
            model.backward(l, p, gradTarget(t), scale, config.globalBatch());
            if (bucket != null) {
                comm.reduceScatter(bucket.asSlice(0, t.paddedCount() * precision.bytes()), ownGrads(t), precision);
            }
        }
        if (stage == ZeroStage.DATA_PARALLEL) {
            comm.allReduce(grads16, precision, ReduceOp.SUM);
        } else if (stage == ZeroStage.OPTIMIZER_STATE) {
            for (Tensor t : tensors) {
                comm.reduceScatter(fullTensor(grads16, t), ownGrads(t), precision);
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
        double[][] blocks = new double[tensors.size()][];
        boolean nonFinite = false;
        for (Tensor t : tensors) {
            MixedPrecisionOptimizer m = optimizers[t.index()];
            blocks[t.index()] = clip ? new double[m.normBlocks()] : null;
            nonFinite |= team == null ? m.checkGradients(ownGrads(t), scale, blocks[t.index()], Runnable::run, 1)
                    : m.checkGradients(ownGrads(t), scale, blocks[t.index()], team);
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
            GradientStats stats = new GradientStats(false, sumOfSquares(blocks));
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
            if (team == null) {
                m.applyUpdate(ownParams(t), ownGrads(t), scale, coef, Runnable::run, 1);
            } else {
                m.applyUpdate(ownParams(t), ownGrads(t), scale, coef, team);
            }
        }
        if (stage == ZeroStage.OPTIMIZER_STATE || stage == ZeroStage.GRADIENTS) {
            for (Tensor t : tensors) {
                comm.allGatherInPlace(fullTensor(params16, t), precision);
            }
        }
        steps++;
        return new StepResult(steps, false, meanLoss, scale, scaler.update(false), norm, coef);
    }

    /**
     * The sum of squares of all gradients, from the devices' norm blocks, added in the flat buffer's
     * order (tensor by tensor, each tensor's slices in rank order), as an unpartitioned device adds
     * its own.
     */
    private double sumOfSquares(double[][] local) {
        double sum = 0;
        if (stage == ZeroStage.DATA_PARALLEL) {
            for (double[] tensorBlocks : local) {
                for (double b : tensorBlocks) {
                    sum += b;
                }
            }
            return sum;
        }
        int mine = 0;
        for (double[] b : local) {
            mine += b.length;
        }
        double[] flat = new double[mine];
        int at = 0;
        for (double[] b : local) {
            System.arraycopy(b, 0, flat, at, b.length);
            at += b.length;
        }
        double[] all = comm.allGatherDoubles(flat);   // rank-major: rank r's blocks at r * mine
        int tensorStart = 0;
        for (double[] b : local) {
            for (int r = 0; r < comm.size(); r++) {
                for (int k = 0; k < b.length; k++) {
                    sum += all[r * mine + tensorStart + k];
                }
            }
            tensorStart += b.length;
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
        for (Tensor t : tensors) {
            comm.allGather(ownParams(t), fullTensor(out, t), precision);
        }
    }

    /** Layer t's parameters for its forward or backward: stage 3 gathers them into the one gathered-layer buffer. */
    private MemorySegment layerParams(Tensor t) {
        int h = precision.bytes();
        if (stage != ZeroStage.PARAMETERS) {
            return params16.asSlice(t.offset() * h, t.count() * h);
        }
        MemorySegment whole = gathered.asSlice(0, t.paddedCount() * h);
        comm.allGather(ownParams(t), whole, precision);
        return whole.asSlice(0, t.count() * h);
    }

    /** Where backward writes layer t's gradient: the full gradient buffer (stages 0, 1) or the bucket, its padding zeroed. */
    private MemorySegment gradTarget(Tensor t) {
        int h = precision.bytes();
        if (bucket == null) {
            return grads16.asSlice(t.offset() * h, t.count() * h);
        }
        bucket.asSlice(t.count() * h, (t.paddedCount() - t.count()) * h).fill((byte) 0);
        return bucket.asSlice(0, t.count() * h);
    }

    /** The 16-bit parameters this device's optimizer for t writes: all of t (stage 0) or its slice. */
    private MemorySegment ownParams(Tensor t) {
        int h = precision.bytes();
        return switch (stage) {
            case DATA_PARALLEL -> fullTensor(params16, t);
            case OPTIMIZER_STATE, GRADIENTS -> params16.asSlice(t.sliceStart(rank) * h, t.slice() * h);
            case PARAMETERS -> params16.asSlice(layout.localOffset(t) * h, t.slice() * h);
        };
    }

    /** The reduced 16-bit gradients this device's optimizer for t reads. */
    private MemorySegment ownGrads(Tensor t) {
        int h = precision.bytes();
        return switch (stage) {
            case DATA_PARALLEL -> fullTensor(grads16, t);
            case OPTIMIZER_STATE -> grads16.asSlice(t.sliceStart(rank) * h, t.slice() * h);
            case GRADIENTS, PARAMETERS -> grads16.asSlice(layout.localOffset(t) * h, t.slice() * h);
        };
    }

    private MemorySegment fullTensor(MemorySegment full, Tensor t) {
        int h = precision.bytes();
        return full.asSlice(t.offset() * h, t.paddedCount() * h);
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

    /** Frees everything this device holds. */
    @Override
    public void close() {
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
