package dev.adamant.fp16.mixed;

import dev.adamant.core.Optimizer;
import dev.adamant.core.kernel.AdamState;
import dev.adamant.core.Team;
import dev.adamant.core.kernel.Chunks;
import dev.adamant.core.kernel.FusibleStep;
import dev.adamant.core.memory.Buffers;
import dev.adamant.core.memory.Segments;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.internal.Codec;
import dev.adamant.fp16.internal.Codecs;
import dev.adamant.fp16.kernel.Fp16Kernels;
import dev.adamant.fp16.kernel.FusedAdamKernel;
import dev.adamant.fp16.kernel.ScalingKernel;
import dev.adamant.fp16.kernel.SquareSums;
import dev.adamant.fp16.kernel.Widening;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.fp16.scaling.GradientStats;
import dev.adamant.fp16.scaling.Gradients;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * Mixed-precision training state around any core {@link Optimizer}: 16-bit (fp16 or bf16)
 * parameters and gradients, fp32 master weights and optimizer state, dynamic loss scaling, overflow
 * skipping and clipping by global norm.
 *
 * <p>Memory per parameter, with Adam's 8 bytes of state: with master weights (the default),
 * 2 (parameters) + 2 (gradients) + 4 (master) + 8 (moments) = 16 bytes; without master weights
 * (bf16 parameters with stochastic rounding, {@link Builder#masterWeights(boolean)}), 2 + 2 + 8 = 12.
 * Over Adam with 8-bit block-wise states ({@code StateFormat.BLOCKWISE_8BIT}, {@code n >= 4096}):
 * 2 + 2 + 4 + 1 + 1 = 10 bytes a parameter plus 8 bytes of absmax per 256. Such an optimizer steps
 * whole blocks of 256 only, and every split here is block-aligned: tiles of {@value #TILE}, executor
 * chunks of whole tiles, team shares of whole fused-loop calls (512); its steps take the tile path
 * (there is no fused 8-bit loop), with the same bit-for-bit guarantee.
 * The 16-bit parameters and gradients are the caller's; this object owns the master weights and the
 * wrapped optimizer (closed with it).
 *
 * <p>A step makes two passes over memory. The first reads the gradients (2 bytes a parameter): any
 * inf or NaN, or any finite value that overflows when unscaled by {@code 1/scale}? and, when
 * clipping, the sum of squares of the unscaled gradients. If any gradient is not finite, or the
 * norm overflows (see {@link GradientStats#normOverflows()}), the step stops there: master weights,
 * state, parameters and step count are untouched, and the loss scaler backs off. Otherwise the second pass reads and writes each buffer once: 2 + 12
 * bytes read and 12 + 2 written per parameter with Adam. For Adam and AdamW with master weights (on
 * the Panama kernels) one loop widens each gradient, unscales it ({@code g * (1/scale)}), clips it
 * ({@code g * coef}) and steps the master weight and the moments in registers, 512 parameters a call,
 * and the codec then narrows those 512 master weights to the 16-bit parameters while they are in
 * L1. For the other optimizers, without master weights, and in the scalar mode, the pass works in
 * tiles of {@value #TILE}: widen, unscale and clip the tile's gradients into fp32 scratch, step the
 * wrapped optimizer on it, and encode. Either way the result is, bit for bit, what decoding the
 * gradients, unscaling them, running the core optimizer on fp32 and encoding the master weights
 * would give.
 *
 * <p>For ZeRO, one instance steps one partition: pass the partition's slices of the 16-bit buffers
 * and set {@link Builder#partition} to its first global index and the model's size (stochastic rounding then draws
 * the same bits as an unpartitioned run).
 *
 * <p>Bad input (sizes that do not agree with {@link #size()}, a float buffer where a 16-bit one is
 * expected, read-only or closed segments: {@link IllegalArgumentException}; a segment a thread of
 * the call may not access, such as an {@code Arena.ofConfined()} one in a step split across
 * threads: {@link WrongThreadException}) is refused with an exception naming the argument, before
 * anything is modified. Not thread-safe: a step, {@link #checkGradients} or {@link #applyUpdate}
 * called while another thread is in one is refused ({@link IllegalStateException}, nothing changed);
 * a step may be split across threads itself: over an executor (chunks of whole {@value #TILE}s) or
 * on a {@link Team} (the check pass in shares of whole norm blocks, the update in shares of whole
 * fused-loop calls, each at least {@link Team#MIN_SHARE}), bit-identical to the serial step either way.
 */
public final class MixedPrecisionOptimizer implements AutoCloseable {
    /**
     * Parameters per tile: 16,384, a whole number of {@link SquareSums} blocks, 64 KiB of fp32 scratch
     * that stays in L2. (Tiles of 4096 measured 20% slower at 2^24: the per-tile calls cost more than
     * the cache saves.)
     */
    public static final int TILE = 16_384;
    /**
     * Parameters per norm block of {@link #checkGradients} ({@code SquareSums.BLOCK}, 256): block
     * {@code k} sums elements {@code [256k, 256(k+1))} of this optimizer's parameters.
     */
    public static final int NORM_BLOCK = SquareSums.BLOCK;

    static {
        if (TILE % SquareSums.BLOCK != 0) {
            throw new AssertionError("TILE must be whole norm blocks");
        }
    }
    /**
     * Parameters per call of the fused Adam loop, whose new master weights are then narrowed while in
     * L1. At 2^24 (2-core EPYC, bf16 / fp16, best of 3 JVMs): 512 took 12.8-14.1 / 13.4-14.0 ms, 256
     * 13.5-14.0 / 14.6-14.8, 1024 13.9-14.2 / 14.1-16.2, 2048 14.3-15.7 / 15.4-16.5.
     */
    private static final int FUSED_TILE = 512;

    private final Optimizer inner;
    private final Precision precision;
    private final Codec codec;
    private final ScalingKernel scaling;
    private final FusedAdamKernel fusedAdam;
    private final Widening widening;
    private final DynamicLossScaler scaler;
    private final double maxGradNorm;
    private final Rounding rounding;
    private final long counterOffset, counterStride;
    private final long n;
    private final Arena arena;
    private final MemorySegment master;
    /**
     * Scratch tiles from this optimizer's own arena, reused across steps and threads: one per chunk
     * running at a time. (A fresh arena per chunk and step costs little to allocate but gives the JIT
     * new memory sessions to speculate on; the kernels then deoptimized and recompiled for seconds.)
     */
    private final ConcurrentLinkedQueue<MemorySegment> scratch = new ConcurrentLinkedQueue<>();
    private boolean closed;
    /** Held for the length of a step, checkGradients or applyUpdate call: see {@link #enter}. */
    private final AtomicBoolean busy = new AtomicBoolean();

    private MixedPrecisionOptimizer(Builder b) {
        this.inner = b.inner;
        this.precision = b.precision;
        this.codec = precision == Precision.FP16 ? Codecs.provider().half() : Codecs.provider().bfloat16();
        this.scaling = Fp16Kernels.scaling();
        this.fusedAdam = Fp16Kernels.fusedAdam();
        this.widening = Widening.of(precision);
        this.scaler = b.scaler;
        this.maxGradNorm = b.maxGradNorm;
        this.rounding = b.rounding;
        this.counterOffset = b.counterOffset;
        this.n = inner.size();
        this.counterStride = b.counterStride > 0 ? b.counterStride : n;
        this.arena = Arena.ofShared();
        this.master = b.masterWeights ? Buffers.allocateFloats(arena, n) : null;
    }

    /**
     * Starts a builder around {@code inner} (its size is the number of parameters; it is owned by
     * the result) for 16-bit buffers of {@code precision} (FP16 or BF16).
     */
    public static Builder builder(Optimizer inner, Precision precision) {
        return new Builder(inner, precision);
    }

    /** Parameters. */
    public long size() {
        return n;
    }

    /** How many norm blocks {@link #checkGradients} fills: one per {@value SquareSums#BLOCK} parameters. */
    public int normBlocks() {
        return SquareSums.blocks(n);
    }

    /** The 16-bit format of the parameters and gradients. */
    public Precision precision() {
        return precision;
    }

    /** The loss scaler: multiply the loss by {@code scaler().scale()} before backward. */
    public DynamicLossScaler scaler() {
        return scaler;
    }

    /** The wrapped optimizer (its state is the optimizer state of the fp32 master weights). */
    public Optimizer optimizer() {
        return inner;
    }

    /** Whether fp32 master weights are kept. */
    public boolean hasMasterWeights() {
        return master != null;
    }

    /** A read-only view of the fp32 master weights. */
    public MemorySegment masterWeights() {
        checkOpen();
        requireMaster();
        return master.asReadOnly();
    }

    /** Sets the master weights from fp32 values ({@link #size()} floats), for example the model's initial weights. */
    public void loadMaster(MemorySegment floats) {
        checkOpen();
        requireMaster();
        Segments.checkFloats("floats", floats, n, false);
        MemorySegment.copy(floats, 0, master, 0, n * Float.BYTES);
    }

    /** The name {@link #restore} gives the fp32 master weights. */
    public static final String MASTER = "master";

    /**
     * Restores a checkpoint: {@code fill} receives writable views by name: the fp32 master weights
     * ({@value #MASTER}, {@link #size()} floats, when kept), then each of the wrapped optimizer's state
     * buffers ({@link Optimizer#stateNames()}) at its own size ({@link #size()} floats for fp32 states;
     * for 8-bit block-wise ones {@code state1}/{@code state2} of {@link #size()} bytes and
     * {@code absmax1}/{@code absmax2} of {@code ceil(size() / 256)} floats), and must fill each; then the wrapped
     * optimizer's step count becomes {@code steps} (which also places stochastic rounding's counters)
     * and the loss scaler takes {@code scaler}, unless that is null.
     *
     * @throws IllegalArgumentException if {@code steps} is negative or the scaler refuses the state
     *     (nothing changed)
     * @throws IllegalStateException if this optimizer is closed
     * @throws RuntimeException whatever {@code fill} throws: the state is then partly overwritten, so
     *     this optimizer is closed before the exception propagates
     */
    public void restore(long steps, DynamicLossScaler.State scaler, BiConsumer<String, MemorySegment> fill) {
        checkOpen();
        Objects.requireNonNull(fill, "fill");
        if (steps < 0) {
            throw new IllegalArgumentException("steps: expected >= 0, got " + steps);
        }
        DynamicLossScaler.State before = this.scaler.state();
        if (scaler != null) {
            this.scaler.restore(scaler);   // validates first; undone below if the fill fails
        }
        try {
            if (master != null) {
                fill.accept(MASTER, master);
            }
            inner.restore(steps, fill);
        } catch (RuntimeException | Error e) {
            this.scaler.restore(before);
            close();
            throw e;
        }
    }

    /** Sets the master weights by decoding 16-bit parameters ({@link #size()} values). */
    public void loadMasterFromHalf(MemorySegment params) {
        checkOpen();
        requireMaster();
        check16("params", params, false);
        codec.decode(params, 0, master, 0, n);
    }

    /** Writes the master weights, rounded as configured for step 0, into the 16-bit parameters. */
    public void writeParams(MemorySegment params) {
        checkOpen();
        requireMaster();
        check16("params", params, true);
        encode(master, 0, params, 0, n, inner.stepCount());
    }

    /**
     * One training step on the calling thread; see the class description.
     *
     * @param params the 16-bit parameters, {@link #size()} values, written unless the step is skipped
     * @param grads the 16-bit gradients under the current loss scale, {@link #size()} values
     */
    public StepReport step(MemorySegment params, MemorySegment grads) {
        return step(params, grads, Runnable::run, 1);
    }

    /** One training step split into up to {@code parallelism} tile-aligned chunks; bit-identical to the serial step. */
    public StepReport step(MemorySegment params, MemorySegment grads, Executor executor, int parallelism) {
        enter("step");
        try {
            return stepAlone(params, grads, executor, parallelism);
        } finally {
            busy.set(false);
        }
    }

    /**
     * One training step with both passes as regions of {@code team}: the check pass in shares of whole
     * {@link SquareSums} blocks, the update pass in shares of whole fused-loop calls, each share at
     * least {@link Team#MIN_SHARE} parameters. Bit-identical to the serial step for any team size.
     * Does not close the team.
     *
     * @throws IllegalStateException if {@code team} is closed (nothing changed)
     */
    public StepReport step(MemorySegment params, MemorySegment grads, Team team) {
        Runner runner = onTeam(team);
        enter("step");
        try {
            return stepAlone(params, grads, runner);
        } finally {
            busy.set(false);
        }
    }

    private StepReport stepAlone(MemorySegment params, MemorySegment grads, Executor executor, int parallelism) {
        checkStep(params, grads, executor, parallelism);
        return stepAlone(params, grads, new OnExecutor(executor, parallelism));
    }

    private StepReport stepAlone(MemorySegment params, MemorySegment grads, Runner runner) {
        checkStep(params, grads, runner);
        float scale = scaler.scale();
        double[] blocks = maxGradNorm > 0 ? new double[SquareSums.blocks(n)] : null;
        boolean nonFinite = check(grads, scale, blocks, runner);
        GradientStats stats = new GradientStats(false, blocks == null ? Double.NaN : SquareSums.total(blocks));
        float coef = nonFinite || blocks == null ? 1f : stats.clipCoefficient(maxGradNorm);
        // A coefficient of 0 is a norm that overflows in float, or one above maxGradNorm by more than a
        // float spans: as an infinite norm.
        if (nonFinite || coef == 0f) {
            return new StepReport(inner.stepCount(), true, scale, scaler.update(true), Float.NaN, 1f);
        }
        update(params, grads, scale, coef, runner);
        return new StepReport(inner.stepCount(), false, scale, scaler.update(false), stats.norm(), coef);
    }

    /**
     * The first pass alone, for sharded training: whether any gradient is inf or NaN, or overflows
     * when unscaled by {@code 1/scale} (a finite gradient times {@code 1/scale} rounds to infinity,
     * as it can when the scale is below 1; PyTorch's check sees only the first kind), and, if
     * {@code blockSums} is not null, the {@link SquareSums} block sums of the unscaled gradients into
     * it (one per block of {@value SquareSums#BLOCK}, {@code SquareSums.blocks(size())} of them; when the answer
     * is true they are not specified). Writes nothing else.
     */
    public boolean checkGradients(MemorySegment grads, float scale, double[] blockSums, Executor executor,
                                  int parallelism) {
        enter("checkGradients");
        try {
            return check(grads, scale, blockSums, executor, parallelism);
        } finally {
            busy.set(false);
        }
    }

    /**
     * {@link #checkGradients(MemorySegment, float, double[], Executor, int)} as a region of {@code team}, in
     * shares of whole {@link SquareSums} blocks: the same answer and block sums for any team size.
     *
     * @throws IllegalStateException if {@code team} is closed
     */
    public boolean checkGradients(MemorySegment grads, float scale, double[] blockSums, Team team) {
        Runner runner = onTeam(team);
        enter("checkGradients");
        try {
            return check(grads, scale, blockSums, runner);
        } finally {
            busy.set(false);
        }
    }

    private boolean check(MemorySegment grads, float scale, double[] blockSums, Executor executor, int parallelism) {
        Objects.requireNonNull(executor, "executor");
        return check(grads, scale, blockSums, new OnExecutor(executor, parallelism));
    }

    private boolean check(MemorySegment grads, float scale, double[] blockSums, Runner runner) {
        checkOpen();
        check16("grads", grads, false);
        int threads = runner.threads(n, SquareSums.BLOCK);
        if (threads >= 1) {   // executor, parallelism below 1: Chunks.run refuses it, naming parallelism
            Segments.checkAccessible("grads", grads, threads);
        }
        Gradients.checkScale(scale);
        float inv = 1f / scale;
        if (blockSums != null && blockSums.length != SquareSums.blocks(n)) {
            throw new IllegalArgumentException("blockSums: expected " + SquareSums.blocks(n) + " blocks, got "
                    + blockSums.length);
        }
        AtomicBoolean found = new AtomicBoolean();
        if (blockSums == null) {
            short threshold = widening.overflowThreshold(inv);
            runner.run(n, SquareSums.BLOCK, (from, count) -> {
                if (scaling.anyMagnitudeAtLeast16(grads, threshold, from, count)) {
                    found.set(true);
                }
            });
            return found.get();
        }
        runner.run(n, SquareSums.BLOCK, (from, count) -> {
            if (scaling.unscaleHalves(grads, precision, inv, from, count, blockSums, (int) (from / SquareSums.BLOCK))) {
                found.set(true);
            }
        });
        return found.get();
    }

    /**
     * The second pass alone, for sharded training: unscale by {@code 1/scale}, multiply by
     * {@code clipCoefficient}, step the wrapped optimizer and write the 16-bit parameters. The caller
     * has made sure no gradient is inf or NaN (on every device); what it makes of one is not
     * specified. Advances the step count.
     */
    public void applyUpdate(MemorySegment params, MemorySegment grads, float scale, float clipCoefficient,
                            Executor executor, int parallelism) {
        enter("applyUpdate");
        try {
            update(params, grads, scale, clipCoefficient, executor, parallelism);
        } finally {
            busy.set(false);
        }
    }

    /**
     * {@link #applyUpdate(MemorySegment, MemorySegment, float, float, Executor, int)} as a region of
     * {@code team}: bit-identical to the serial pass for any team size.
     *
     * @throws IllegalStateException if {@code team} is closed (nothing changed)
     */
    public void applyUpdate(MemorySegment params, MemorySegment grads, float scale, float clipCoefficient, Team team) {
        Runner runner = onTeam(team);
        enter("applyUpdate");
        try {
            checkStep(params, grads, runner);
            update(params, grads, scale, clipCoefficient, runner);
        } finally {
            busy.set(false);
        }
    }

    private void update(MemorySegment params, MemorySegment grads, float scale, float clipCoefficient,
                        Executor executor, int parallelism) {
        checkStep(params, grads, executor, parallelism);
        update(params, grads, scale, clipCoefficient, new OnExecutor(executor, parallelism));
    }

    /** The update pass; the caller has run {@code checkStep}. */
    private void update(MemorySegment params, MemorySegment grads, float scale, float clipCoefficient, Runner runner) {
        Gradients.checkScale(scale);
        if (!(clipCoefficient > 0 && clipCoefficient <= 1)) {
            throw new IllegalArgumentException("clipCoefficient: expected a value in (0, 1], got " + clipCoefficient);
        }
        float inv = 1f / scale;
        Optimizer.Step step = inner.beginStep();
        AtomicBoolean started = new AtomicBoolean();
        try {
            long t = step.number();
            AdamState adam = fusedAdam != null && master != null && step instanceof FusibleStep f ? f.adam() : null;
            runner.run(n, FUSED_TILE, (from, count) -> {
                started.set(true);
                long done = 0;
                while (adam != null && done < count) {
                    long len = Math.min(FUSED_TILE, count - done);
                    long fused = fusedAdam.step(adam, widening, grads, master, inv, clipCoefficient, from + done, len);
                    encode(master, from + done, params, from + done, fused, t);   // from cache
                    done += fused;
                    if (fused < len) {
                        break;
                    }
                }
                updateTiles(step, params, grads, inv, clipCoefficient, from + done, count - done, t);
            });
        } catch (RejectedExecutionException e) {
            step.cancel();   // Chunks.run started no chunk: the step did not happen
            throw e;
        } catch (IllegalStateException e) {
            if (runner instanceof OnTeam && !started.get()) {
                step.cancel();   // the team was closed before any share ran: the step did not happen
            }
            throw e;
        } finally {
            step.close();    // a no-op after cancel()
        }
    }

    /** The update pass the long way, over parameters {@code [from, from + count)}: tile by tile, see the class description. */
    private void updateTiles(Optimizer.Step step, MemorySegment params, MemorySegment grads, float inv,
                             float clipCoefficient, long from, long count, long t) {
        if (count == 0) {
            return;
        }
        MemorySegment g = takeScratch();
        MemorySegment p = master == null ? takeScratch() : null;
        try {
            for (long i = from; i < from + count; i += TILE) {
                int len = (int) Math.min(TILE, from + count - i);
                long bytes = (long) len * Float.BYTES;
                scaling.widenScaled(grads, precision, i, g, 0, inv, clipCoefficient, len);
                if (master != null) {
                    step.apply(master.asSlice(i * Float.BYTES, bytes), g.asSlice(0, bytes), i);
                    encode(master, i, params, i, len, t);
                } else {
                    codec.decode(params, i, p, 0, len);
                    step.apply(p.asSlice(0, bytes), g.asSlice(0, bytes), i);
                    encode(p, 0, params, i, len, t);
                }
            }
        } finally {
            scratch.add(g);
            if (p != null) {
                scratch.add(p);
            }
        }
    }

    /** A scratch tile of {@value #TILE} floats: a free one, or a new one from this optimizer's arena. */
    private MemorySegment takeScratch() {
        MemorySegment tile = scratch.poll();
        if (tile != null) {
            return tile;
        }
        synchronized (arena) {
            return Buffers.allocateFloats(arena, TILE);
        }
    }

    private void encode(MemorySegment floats, long floatIndex, MemorySegment params, long index, long count, long t) {
        if (rounding instanceof Rounding.Stochastic s) {
            codec.encodeStochastic(floats, floatIndex, params, index, count, s.key(),
                    t * counterStride + counterOffset + index);
        } else {
            codec.encode(floats, floatIndex, params, index, count);
        }
    }

    private void checkStep(MemorySegment params, MemorySegment grads, Executor executor, int parallelism) {
        checkOpen();
        check16("params", params, true);
        check16("grads", grads, false);
        Segments.checkDisjoint("params", params, "grads", grads);
        Chunks.checkSplit(n, parallelism, TILE, executor, params, grads);
    }

    private void checkStep(MemorySegment params, MemorySegment grads, Runner runner) {
        checkOpen();
        check16("params", params, true);
        check16("grads", grads, false);
        Segments.checkDisjoint("params", params, "grads", grads);
        if (runner instanceof OnTeam) {   // the executor path has run Chunks.checkSplit
            int threads = runner.threads(n, FUSED_TILE);
            Segments.checkAccessible("params", params, threads);
            Segments.checkAccessible("grads", grads, threads);
        }
    }

    private static Runner onTeam(Team team) {
        return new OnTeam(Objects.requireNonNull(team, "team").requireOpen());
    }

    /**
     * Where a pass runs: split over an executor, or as a region of a team. Either way every share
     * starts at a multiple of the pass's unit, so the split never changes a bit of the result.
     */
    private sealed interface Runner permits OnExecutor, OnTeam {
        /** How many threads a pass over {@code n} parameters in units of {@code unit} uses (below 1: refused by {@link #run}). */
        int threads(long n, long unit);

        void run(long n, long unit, Chunks.Body body);
    }

    /**
     * The executor path, unchanged: chunks of whole {@link #TILE}s for both passes (a multiple of both
     * units), so its split is the one it always had.
     */
    private record OnExecutor(Executor executor, int parallelism) implements Runner {
        @Override
        public int threads(long n, long unit) {
            return parallelism < 1 ? 0 : Chunks.count(n, parallelism, TILE);
        }

        @Override
        public void run(long n, long unit, Chunks.Body body) {
            Chunks.run(n, parallelism, TILE, executor, body);
        }
    }

    /**
     * The team path: shares of whole units ({@link SquareSums#BLOCK} for the check pass, whose block
     * sums are indexed by block; {@link #FUSED_TILE} for the update, so no fused call is split), each
     * at least {@link Team#MIN_SHARE} parameters.
     */
    private record OnTeam(Team team) implements Runner {
        private static long minShare(long unit) {
            return Math.max(unit, Team.MIN_SHARE);
        }

        @Override
        public int threads(long n, long unit) {
            return team.members(n, minShare(unit));
        }

        @Override
        public void run(long n, long unit, Chunks.Body body) {
            team.parallelFor(n, unit, minShare(unit), (from, to) -> body.run(from, to - from));
        }
    }

    /** A buffer of exactly {@link #size()} 16-bit values: a float buffer of n floats is refused by its size. */
    private void check16(String name, MemorySegment segment, boolean writable) {
        Segments.checkUsable(name, segment, writable, Short.BYTES);
        long expected = n * Short.BYTES;
        if (segment.byteSize() != expected) {
            String hint = segment.byteSize() == n * Float.BYTES ? " (that is " + n + " floats: expected "
                    + precision + " values, 2 bytes each)" : "";
            throw new IllegalArgumentException(name + ": expected " + expected + " bytes (" + n + " " + precision
                    + " values), got " + segment.byteSize() + " bytes" + hint);
        }
    }

    /**
     * Claims this optimizer for one call, or refuses: two threads stepping it at once would race on
     * the master weights, the state and the scaler. One compare-and-set a call.
     */
    private void enter(String call) {
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException(call + ": another thread is stepping this mixed-precision optimizer"
                    + " (it is not thread-safe; to use several threads, pass a team, or an executor and a"
                    + " parallelism, to one step); nothing was changed");
        }
    }

    private void requireMaster() {
        if (master == null) {
            throw new IllegalStateException("this optimizer keeps no fp32 master weights (masterWeights(false))");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("mixed-precision optimizer is closed");
        }
    }

    /** Frees the master weights and closes the wrapped optimizer. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            arena.close();
            inner.close();
        }
    }

    /** Options; each checked when set. */
    public static final class Builder {
        private final Optimizer inner;
        private final Precision precision;
        private DynamicLossScaler scaler = DynamicLossScaler.create();
        private double maxGradNorm;
        private Rounding rounding = Rounding.nearestEven();
        private boolean masterWeights = true;
        private long counterOffset, counterStride;

        private Builder(Optimizer inner, Precision precision) {
            this.inner = Objects.requireNonNull(inner, "inner");
            this.precision = Objects.requireNonNull(precision, "precision");
            if (precision == Precision.FP32) {
                throw new IllegalArgumentException("precision: expected FP16 or BF16, got FP32");
            }
        }

        /** The loss scaler (default: PyTorch's defaults). */
        public Builder lossScaler(DynamicLossScaler scaler) {
            this.scaler = Objects.requireNonNull(scaler, "scaler");
            return this;
        }

        /** Clip the unscaled gradients to this global L2 norm (PyTorch's clip_grad_norm_); 0 turns clipping off. */
        public Builder maxGradNorm(double maxGradNorm) {
            this.maxGradNorm = Gradients.checkMaxGradNorm(maxGradNorm);
            return this;
        }

        /** How the new parameters are rounded to 16 bits (default: nearest even). */
        public Builder rounding(Rounding rounding) {
            this.rounding = Objects.requireNonNull(rounding, "rounding");
            return this;
        }

        /**
         * Whether to keep fp32 master weights (default true). Without them the 16-bit parameters are
         * the only copy: allowed for BF16 with stochastic rounding only, where rounding is unbiased.
         */
        public Builder masterWeights(boolean masterWeights) {
            this.masterWeights = masterWeights;
            return this;
        }

        /**
         * For one partition of a larger model: the global index of its first parameter, and the
         * model's parameter count; stochastic rounding's counters then follow global indices.
         */
        public Builder partition(long counterOffset, long globalSize) {
            if (counterOffset < 0 || globalSize < 1) {
                throw new IllegalArgumentException("partition: expected offset >= 0 and globalSize >= 1, got "
                        + counterOffset + ", " + globalSize);
            }
            this.counterOffset = counterOffset;
            this.counterStride = globalSize;
            return this;
        }

        public MixedPrecisionOptimizer build() {
            if (!masterWeights && !(precision == Precision.BF16 && rounding instanceof Rounding.Stochastic)) {
                throw new IllegalArgumentException("masterWeights: training without fp32 master weights needs BF16"
                        + " parameters with stochastic rounding, got " + precision + " with " + rounding);
            }
            return new MixedPrecisionOptimizer(this);
        }
    }
}
