package dev.adamant.core;

import dev.adamant.core.kernel.AdamState;
import dev.adamant.core.kernel.Chunks;
import dev.adamant.core.kernel.FusibleStep;
import dev.adamant.core.memory.Buffers;
import dev.adamant.core.memory.Segments;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * What every optimizer shares: its arena and state buffers, the checks, the step count, the split,
 * and the flag that refuses concurrent use.
 */
abstract class AbstractOptimizer implements Optimizer {
    private final long size;
    private final Arena arena;
    private final Map<String, MemorySegment> state = new LinkedHashMap<>();
    /**
     * Set from the start of a step, beginStep() or restore until it ends (a begun step: until it is
     * closed). One compare-and-set a step, so that two threads stepping at once, which would tear
     * the state, are refused instead; it also publishes the state from one step to the next when
     * they run on different threads.
     */
    private final AtomicBoolean busy = new AtomicBoolean();
    private long steps;
    private volatile boolean closed;
    /** The step begun with beginStep() and not yet closed, or null. */
    private volatile OpenStep open;

    AbstractOptimizer(long size, List<String> stateNames) {
        Segments.checkPositive("n", size);
        Buffers.checkFloatCount("n", size);
        this.size = size;
        this.arena = Arena.ofShared();
        allocateState(arena, "n: " + size + " parameters", size, stateNames, state);
    }

    /**
     * Puts a zeroed, cache-line-aligned buffer of {@code floats} floats from {@code arena} into
     * {@code state} for each name. On failure the arena is closed; memory that is not there is an
     * {@link OutOfMemoryError} that starts with {@code what} and names the buffer and the bytes.
     */
    static void allocateState(Arena arena, String what, long floats, List<String> names,
                              Map<String, MemorySegment> state) {
        String name = null;
        try {
            for (String s : names) {
                name = s;
                state.put(s, Buffers.allocateFloats(arena, floats));
            }
        } catch (OutOfMemoryError e) {
            arena.close();
            OutOfMemoryError named = new OutOfMemoryError(what + " need " + names.size() + " state buffers of "
                    + floats * Float.BYTES + " bytes; " + name + " could not be allocated (" + e.getMessage() + ")");
            named.initCause(e);
            throw named;
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
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
            busy.set(false);
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
            if (team.isClosed()) {
                throw new IllegalStateException("team: expected an open team, got a closed one");
            }
            int members = team.members(size, Team.MIN_SHARE);
            Segments.checkAccessible("params", params, members);
            Segments.checkAccessible("grads", grads, members);
            StepKernel kernel = prepare(steps + 1);
            team.parallelFor(size, Team.LINE, Team.MIN_SHARE, (from, to) -> kernel.run(
                    params.asSlice(from * Float.BYTES, (to - from) * Float.BYTES),
                    grads.asSlice(from * Float.BYTES, (to - from) * Float.BYTES), from, to - from));
            steps++;
        } finally {
            busy.set(false);
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
            busy.set(false);
            throw e;
        }
    }

    @Override
    public final void restore(long stepCount, BiConsumer<String, MemorySegment> fill) {
        Objects.requireNonNull(fill, "fill");
        if (stepCount < 0) {
            throw new IllegalArgumentException("stepCount: expected >= 0, got " + stepCount);
        }
        acquire("restore");
        try {
            for (Map.Entry<String, MemorySegment> e : state.entrySet()) {
                fill.accept(e.getKey(), e.getValue());
            }
            steps = stepCount;
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        } finally {
            busy.set(false);
        }
    }

    /**
     * Takes the busy flag for {@code what} (a step, beginStep or restore), or refuses: the optimizer
     * is closed, a begun step is still open, or another thread is in a step right now.
     */
    private void acquire(String what) {
        if (closed) {
            throw new IllegalStateException("optimizer is closed");
        }
        if (!busy.compareAndSet(false, true)) {
            OpenStep o = open;
            throw new IllegalStateException(o != null
                    ? what + ": step " + o.t + " begun with beginStep() is still open (on this or another thread):"
                            + " close it first"
                    : what + ": another thread is stepping or restoring this optimizer right now; an optimizer"
                            + " takes one step at a time (split a step with step(params, grads, executor,"
                            + " parallelism) or beginStep() instead)");
        }
        if (closed) {   // closed between the first check and the flag
            busy.set(false);
            throw new IllegalStateException("optimizer is closed");
        }
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
            if (finished.get() || closed) {
                throw new IllegalStateException("step " + t + " is finished" + (closed ? " (optimizer closed)" : ""));
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
                busy.set(false);
            }
        }

        @Override
        public void cancel() {
            if (finished.compareAndSet(false, true)) {
                open = null;
                busy.set(false);
            }
        }
    }

    @Override
    public final List<String> stateNames() {
        return List.copyOf(state.keySet());
    }

    @Override
    public final MemorySegment state(String name) {
        if (closed) {
            throw new IllegalStateException("optimizer is closed");
        }
        MemorySegment s = state.get(Objects.requireNonNull(name, "name"));
        if (s == null) {
            throw new IllegalArgumentException("name: expected one of " + state.keySet() + ", got \"" + name + "\"");
        }
        return s.asReadOnly();
    }

    @Override
    public final void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}
