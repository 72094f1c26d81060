package dev.adamant.core;

import dev.adamant.core.kernel.AdamState;
import dev.adamant.core.kernel.Chunks;
import dev.adamant.core.kernel.FusibleStep;
import dev.adamant.core.memory.Buffers;
import dev.adamant.core.memory.Segments;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * What every optimizer shares: its state buffers, the checks, the step count, the split,
 * and the flag that refuses concurrent use.
 */
abstract class AbstractOptimizer implements Optimizer {
    private final long size;
    private final StateBuffers state;
    /**
     * Taken from the start of a step, beginStep() or restore until it ends (a begun step: until it is
     * closed); see {@link CallGuard}.
     */
    private final CallGuard guard = new CallGuard();
    private long steps;
    /** The step begun with beginStep() and not yet closed, or null. */
    private volatile OpenStep open;

    AbstractOptimizer(long size, List<String> stateNames) {
        Segments.checkPositive("n", size);
        Buffers.checkFloatCount("n", size);
        this.size = size;
        this.state = new StateBuffers("n: " + size + " parameters", size, stateNames);
    }

    /** The writable state buffer {@code name}, which the subclass asked for. */
    final MemorySegment buffer(String name) {
        return state.get(name);
    }

    @Override public final long size() { return size; }
    @Override public final long stepCount() { return steps; }

    @Override
    public final void step(MemorySegment params, MemorySegment grads) {
        step(params, grads, Runnable::run, 1);
    }

    @Override
    public final void step(MemorySegment params, MemorySegment grads, int parallelism) {
        step(params, grads, ForkJoinPool.commonPool(), parallelism);
    }

    @Override
    public final void step(MemorySegment params, MemorySegment grads, Executor executor, int parallelism) {
        acquire("step");
        try {
            Segments.checkFloats("params", params, size, true);
            Segments.checkFloats("grads", grads, size, false);
            Segments.checkDisjoint("params", params, "grads", grads);
            Chunks.checkSplit(size, parallelism, Buffers.FLOATS_PER_LINE, executor, params, grads);
            StepKernel kernel = prepare(steps + 1);
            // All or nothing: a refused hand-off throws before any chunk runs, so the count stays too.
            Chunks.run(size, parallelism, executor, (from, count) -> kernel.run(
                    params.asSlice(from * Float.BYTES, count * Float.BYTES),
                    grads.asSlice(from * Float.BYTES, count * Float.BYTES), from, count));
            steps++;
        } finally {
            guard.release();
        }
    }

    @Override
    public final void step(MemorySegment params, MemorySegment grads, Team team) {
        Objects.requireNonNull(team, "team");
        acquire("step");
        try {
            Segments.checkFloats("params", params, size, true);
            Segments.checkFloats("grads", grads, size, false);
            Segments.checkDisjoint("params", params, "grads", grads);
            int members = team.requireOpen().members(size, Team.MIN_SHARE);
            Segments.checkAccessible("params", params, members);
            Segments.checkAccessible("grads", grads, members);
            StepKernel kernel = prepare(steps + 1);
            team.parallelFor(size, Team.LINE, Team.MIN_SHARE, (from, to) -> kernel.run(
                    params.asSlice(from * Float.BYTES, (to - from) * Float.BYTES),
                    grads.asSlice(from * Float.BYTES, (to - from) * Float.BYTES), from, to - from));
            steps++;
        } finally {
            guard.release();
        }
    }

    @Override
    public final Step beginStep() {
        acquire("beginStep");
        try {
            OpenStep step = new OpenStep(steps + 1, prepare(steps + 1));
            open = step;
            return step;
        } catch (RuntimeException | Error e) {
            guard.release();
            throw e;
        }
    }

    @Override
    public final void restore(long stepCount, BiConsumer<String, MemorySegment> fill) {
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

    /**
     * Step {@code t}'s kernel call, its coefficients computed once: {@code params} and {@code grads}
     * hold {@code count} floats each and pair with state floats {@code [stateFrom, stateFrom + count)}.
     * The caller has checked everything.
     */
    abstract StepKernel prepare(long t);

    /** One step's kernel call over a range; see {@link #prepare}. */
    @FunctionalInterface
    interface StepKernel {
        void run(MemorySegment params, MemorySegment grads, long stateFrom, long count);

        /** The step's Adam coefficients and state, for {@link FusibleStep}; null but for Adam. */
        default AdamState adam() {
            return null;
        }
    }

    /** {@code count} floats of {@code buffer} from float {@code from}, or null for an absent buffer. */
    static MemorySegment range(MemorySegment buffer, long from, long count) {
        return buffer == null ? null : buffer.asSlice(from * Float.BYTES, count * Float.BYTES);
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
            Segments.checkDisjoint("params", params, "grads", grads);
            Segments.checkAccessible("params", params);
            Segments.checkAccessible("grads", grads);
            kernel.run(params, grads, stateOffset, count);
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
    public final List<String> stateNames() {
        return state.names();
    }

    @Override
    public final MemorySegment state(String name) {
        guard.checkOpen();
        return state.readOnly(name);
    }

    @Override
    public final void close() {
        if (guard.close()) {
            state.close();
        }
    }
}
