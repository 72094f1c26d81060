package dev.adamant.core;

import dev.adamant.core.kernel.Chunks;
import dev.adamant.core.kernel.AdamState;
import dev.adamant.core.kernel.FusibleStep;
import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.memory.Buffers;
import dev.adamant.core.memory.Segments;
import dev.adamant.core.quant.Blockwise8;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * The {@link Optimizer}: one config (replaceable between steps), its state buffers (its own or the
 * caller's), the checks, the step count, the split, and the flag that refuses concurrent use. The
 * maths of each kind is in {@link StepRules}' classes.
 */
final class FlatOptimizer implements Optimizer {
    private final long size;
    private final KernelProvider kernels;
    /** Replaced by setConfig under the busy flag; read by steps under it. */
    private OptimizerConfig config;
    private final StateBuffers state;
    /** Whether the state is 8-bit block-wise ({@link Blockwise8Rules}); then ranges are whole blocks. */
    private final boolean quantized;
    /** The 8-bit step's fp32 tiles, or null for fp32 state. */
    private final Blockwise8Rules.Scratch scratch;
    /**
     * Taken from the start of a step, beginStep() or restore until it ends (a begun step: until it is
     * closed); see {@link CallGuard}.
     */
    private final CallGuard guard = new CallGuard();
    private long steps;
    /** The step begun with beginStep() and not yet closed, or null. */
    private volatile OpenStep open;

    /**
     * An optimizer of {@code n} parameters under {@code config} (checked by the caller) on
     * {@code kernels}: over its own state if {@code callersState} is null (zeroed, but Adagrad's
     * {@code sum} at its initial accumulator value), else over the
     * caller's (see {@link Optimizers#create(OptimizerConfig, long, MemorySegment)}).
     */
    FlatOptimizer(OptimizerConfig config, long n, KernelProvider kernels, MemorySegment callersState,
                  boolean callerOwned) {
        Segments.checkPositive("n", n);
        Buffers.checkFloatCount("n", n);
        this.size = n;
        this.kernels = kernels;
        this.config = config;
        this.quantized = Blockwise8Rules.quantizes(config, n);
        List<String> names = StepRules.stateNames(config, n);
        this.state = callerOwned ? quantized ? new StateBuffers(callersState, names, name -> Blockwise8Rules.bytes(name, n))
                        : new StateBuffers(callersState, n, names)
                : quantized ? new StateBuffers("n: " + n + " parameters", names, name -> Blockwise8Rules.bytes(name, n))
                : new StateBuffers("n: " + n + " parameters", n, names);
        this.scratch = quantized ? new Blockwise8Rules.Scratch() : null;
        if (!callerOwned && !quantized) {
            for (String name : names) {   // Adagrad's sum starts at initial_accumulator_value
                float initial = StepRules.initialValue(config, name);
                if (initial != 0f) {
                    state.fill(name, 0, n, initial);
                }
            }
        }
    }

    @Override public long size() { return size; }
    @Override public long stepCount() { return steps; }
    @Override public OptimizerConfig config() { return config; }

    @Override
    public void setConfig(OptimizerConfig next) {
        Objects.requireNonNull(next, "config");
        acquire("setConfig");
        try {
            StepRules.checkReplacement("config", config, next, "this optimizer's", "this optimizer's");
            config = next;
        } finally {
            guard.release();
        }
    }

    @Override
    public void setLr(double lr) {
        acquire("setLr");
        try {
            config = config.withLr(lr);
        } finally {
            guard.release();
        }
    }

    /** Step {@code t}'s kernel call under the config now, over this optimizer's state. */
    private StepKernel prepare(long t, StepOptions o) {
        return quantized ? Blockwise8Rules.prepare(config, kernels, t, o, state::get, scratch)
                : StepRules.prepare(config, kernels, t, o, state::get);
    }

    @Override
    public void step(MemorySegment params, MemorySegment grads) {
        step(params, grads, Runnable::run, 1);
    }

    @Override
    public void step(MemorySegment params, MemorySegment grads, int parallelism) {
        step(params, grads, ForkJoinPool.commonPool(), parallelism);
    }

    @Override
    public void step(MemorySegment params, MemorySegment grads, Executor executor, int parallelism) {
        acquire("step");
        try {
            Segments.checkFloats("params", params, size, true);
            Segments.checkFloats("grads", grads, size, false);
            Segments.checkDisjoint("params", params, "grads", grads);
            state.checkDisjoint("params", params);
            state.checkDisjoint("grads", grads);
            Chunks.checkSplit(size, parallelism, unit(), executor, params, grads);
            state.checkAccessible(Chunks.count(size, parallelism, unit()));
            StepKernel kernel = prepare(steps + 1, StepOptions.next());
            // All or nothing: a refused hand-off throws before any chunk runs, so the count stays too.
            Chunks.run(size, parallelism, unit(), executor, (from, count) -> kernel.run(
                    params.asSlice(from * Float.BYTES, count * Float.BYTES),
                    grads.asSlice(from * Float.BYTES, count * Float.BYTES), null, from, count));
            steps++;
        } finally {
            guard.release();
        }
    }

    @Override
    public void step(MemorySegment params, MemorySegment grads, Team team) {
        Objects.requireNonNull(team, "team");
        run("step", params, grads, null, StepOptions.next(), team);
    }

    @Override
    public void step(MemorySegment params, MemorySegment grads, StepOptions options) {
        run("step", params, grads, null, Objects.requireNonNull(options, "options"), null);
    }

    @Override
    public void step(MemorySegment params, MemorySegment grads, StepOptions options, Team team) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(team, "team");
        run("step", params, grads, null, options, team);
    }

    @Override
    public void update(MemorySegment params, MemorySegment grads, MemorySegment update, StepOptions options) {
        Objects.requireNonNull(update, "update");
        run("update", params, grads, update, Objects.requireNonNull(options, "options"), null);
    }

    @Override
    public void update(MemorySegment params, MemorySegment grads, MemorySegment update, StepOptions options,
                       Team team) {
        Objects.requireNonNull(update, "update");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(team, "team");
        run("update", params, grads, update, options, team);
    }

    /**
     * A step ({@code update} null) or an update ({@code update} non-null) under {@code o}, on
     * {@code team}, or with {@code team} null on the calling thread alone.
     */
    private void run(String what, MemorySegment params, MemorySegment grads, MemorySegment update, StepOptions o,
                     Team team) {
        acquire(what);
        try {
            if (update == null) {
                Segments.checkFloats("params", params, size, true);
                Segments.checkFloats("grads", grads, size, false);
                Segments.checkDisjoint("params", params, "grads", grads);
            } else {
                checkUpdateArguments(params, grads, update);
            }
            state.checkDisjoint("params", params);
            state.checkDisjoint("grads", grads);
            state.checkDisjoint("update", update);
            int members = team == null ? 1 : team.requireOpen().members(size, Team.MIN_SHARE);
            if (params != null) {
                Segments.checkAccessible("params", params, members);
            }
            Segments.checkAccessible("grads", grads, members);
            if (update != null) {
                Segments.checkAccessible("update", update, members);
            }
            state.checkAccessible(members);
            long t = o.resolve(steps);
            StepKernel kernel = prepare(t, o);
            Team.Range body = (from, to) -> kernel.run(StepKernel.range(params, from, to - from),
                    StepKernel.range(grads, from, to - from), StepKernel.range(update, from, to - from), from, to - from);
            if (team == null) {
                body.run(0, size);
            } else {
                team.parallelFor(size, quantized ? Blockwise8.BLOCK : Team.LINE, Team.MIN_SHARE, body);
            }
            steps = t;
        } finally {
            guard.release();
        }
    }

    /** The checks of an update's segments; see {@link Optimizer#update}. */
    private void checkUpdateArguments(MemorySegment params, MemorySegment grads, MemorySegment update) {
        if (params == null) {
            if (StepRules.readsParams(config)) {
                throw new NullPointerException("params: expected the parameters, which a step under " + config
                        + " reads (weight decay " + config.weightDecay() + "); null is for steps without weight decay");
            }
        } else {
            Segments.checkFloats("params", params, size, false);
        }
        Segments.checkFloats("grads", grads, size, false);
        Segments.checkFloats("update", update, size, true);
        if (params != null) {
            Segments.checkDisjoint("params", params, "grads", grads);
            Segments.checkDisjoint("params", params, "update", update);
        }
        Segments.checkSameOrDisjoint("update", update, "grads", grads);
    }

    @Override
    public Step beginStep() {
        acquire("beginStep");
        try {
            OpenStep step = new OpenStep(steps + 1, prepare(steps + 1, StepOptions.next()));
            open = step;
            return step;
        } catch (RuntimeException | Error e) {
            guard.release();
            throw e;
        }
    }

    @Override
    public void restore(long stepCount, BiConsumer<String, MemorySegment> fill) {
        guard.restore(fill, stepCount, () -> whyBusy("restore"), () -> {
            for (String name : state.names()) {
                fill.accept(name, state.get(name));
            }
            steps = stepCount;
        }, this::close);
    }

    /**
     * Takes the busy flag for {@code what} (a step or beginStep), or refuses: the optimizer is
     * closed, a begun step is still open, or another thread is in a step right now.
     */
    private void acquire(String what) {
        guard.acquire(() -> whyBusy(what));
    }

    private String whyBusy(String what) {
        OpenStep o = open;
        return o != null
                ? what + ": step " + o.t + " begun with beginStep() is still open (on this or another thread):"
                        + " close it first"
                : what + ": another thread is stepping or restoring this optimizer right now; an optimizer"
                        + " takes one step at a time (split a step with step(params, grads, executor,"
                        + " parallelism) or beginStep() instead)";
    }

    /** A step begun with {@link #beginStep()}: ranges applied by any threads, finished by close. */
    private final class OpenStep implements Step, FusibleStep {
        final long t;
        final StepKernel kernel;
        /** Set once, by close or cancel; whichever comes first releases the optimizer. */
        final AtomicBoolean finished = new AtomicBoolean();

        OpenStep(long t, StepKernel kernel) {
            this.t = t;
            this.kernel = kernel;
        }

        @Override
        public long number() {
            return t;
        }

        @Override
        public AdamState adam() {
            checkUnfinished();
            return kernel.adam();
        }

        private void checkUnfinished() {
            if (finished.get() || guard.isClosed()) {
                throw new IllegalStateException("step " + t + " is finished" + (guard.isClosed() ? " (optimizer closed)" : ""));
            }
        }

        @Override
        public void apply(MemorySegment params, MemorySegment grads, long stateOffset) {
            checkUnfinished();
            long count = Segments.checkWhole("params", params, true, Segments.FLOAT_BYTES);
            Segments.checkUsable("grads", grads, false);
            if (params.byteSize() != grads.byteSize()) {
                throw new IllegalArgumentException("grads: expected as many floats as params (" + params.byteSize()
                        + " bytes), got " + grads.byteSize() + " bytes");
            }
            if (stateOffset < 0 || stateOffset > size - count) {
                throw new IllegalArgumentException("stateOffset: floats [" + stateOffset + ", " + stateOffset + " + "
                        + count + ") out of bounds for an optimizer of " + size + " (expected: 0 <= stateOffset <= "
                        + (size - count) + ")");
            }
            if (quantized) {
                Blockwise8Rules.checkBlockAligned("stateOffset", stateOffset, count, size);
            }
            Segments.checkDisjoint("params", params, "grads", grads);
            state.checkDisjoint("params", params);
            state.checkDisjoint("grads", grads);
            Segments.checkAccessible("params", params);
            Segments.checkAccessible("grads", grads);
            state.checkAccessible(1);
            kernel.run(params, grads, null, stateOffset, count);
        }

        @Override
        public void close() {
            if (finished.compareAndSet(false, true)) {
                steps = t;
                open = null;
                guard.release();
            }
        }

        @Override
        public void cancel() {
            if (finished.compareAndSet(false, true)) {
                open = null;
                guard.release();
            }
        }
    }

    @Override
    public List<String> stateNames() {
        return state.names();
    }

    @Override
    public MemorySegment state(String name) {
        guard.checkOpen();
        return state.readOnly(name);
    }

    /** The unit of an executor split: a cache line of floats, or an 8-bit block. */
    private long unit() {
        return quantized ? Blockwise8.BLOCK : Buffers.FLOATS_PER_LINE;
    }

    @Override
    public MemorySegment dequantizedState(String name, Arena arena) {
        Objects.requireNonNull(arena, "arena");
        guard.checkOpen();
        if (!quantized) {
            return Optimizer.super.dequantizedState(name, arena);
        }
        int k = Blockwise8Rules.codesIndex(name);
        if (k < 0 || state.get(name) == null) {
            List<String> codes = state.names().stream().filter(s -> s.startsWith("state")).toList();
            throw new IllegalArgumentException("name: expected one of " + codes + " (8-bit states), got "
                    + (name == null ? "null" : "\"" + name + "\""));
        }
        MemorySegment out = Buffers.allocateFloats(arena, size);
        Blockwise8Rules.quantizer(kernels).dequantize(Blockwise8Rules.map(k), state.get(name),
                state.get(Blockwise8Rules.absmaxName(k)), out, size);
        return out;
    }

    @Override
    public void close() {
        if (guard.close()) {
            state.close();
            if (scratch != null) {
                scratch.close();
            }
        }
    }
}
