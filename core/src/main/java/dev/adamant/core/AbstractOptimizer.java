package dev.adamant.core;

import dev.adamant.core.kernel.Chunks;
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

/** What every optimizer shares: its arena and state buffers, the checks, the step count, the split. */
abstract class AbstractOptimizer implements Optimizer {
    private final long size;
    private final Arena arena;
    private final Map<String, MemorySegment> state = new LinkedHashMap<>();
    private long steps;
    private boolean closed;

    AbstractOptimizer(long size, List<String> stateNames) {
        Segments.checkPositive("n", size);
        this.size = size;
        this.arena = Arena.ofShared();
        try {
            for (String name : stateNames) {
                state.put(name, Buffers.allocateFloats(arena, size));
            }
        } catch (RuntimeException | OutOfMemoryError e) {
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
        if (closed) {
            throw new IllegalStateException("optimizer is closed");
        }
        Segments.checkFloats("params", params, size, true);
        Segments.checkFloats("grads", grads, size, false);
        Segments.checkDisjoint("params", params, "grads", grads);
        Objects.requireNonNull(executor, "executor");
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism: expected >= 1, got " + parallelism);
        }
        if (Chunks.count(size, parallelism) > 1) {
            Segments.checkShared("params", params);
            Segments.checkShared("grads", grads);
        }
        ChunkStep chunk = chunkStep(steps + 1, params, grads);
        Chunks.run(size, parallelism, executor, chunk::run);
        steps++;
    }

    /** The kernel call for one chunk of step {@code t}, coefficients computed once for all chunks. */
    abstract ChunkStep chunkStep(long t, MemorySegment params, MemorySegment grads);

    /** One step's kernel call over a chunk. */
    @FunctionalInterface
    interface ChunkStep {
        void run(long from, long count);
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
