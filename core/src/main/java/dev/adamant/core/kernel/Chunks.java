package dev.adamant.core.kernel;

import dev.adamant.core.memory.Buffers;
import dev.adamant.core.memory.Segments;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Splits one step over {@code [0, count)} into cache-line-aligned chunks run in parallel. Every
 * kernel is elementwise, so the split changes no bit of the result.
 *
 * <p>All or nothing: no chunk starts before every hand-off to the executor has succeeded. Each
 * hand-off is a helper that, when it runs, claims chunks from a shared counter only once the caller
 * has said go, and otherwise returns at once; after the last hand-off the caller says go and claims
 * chunks itself. A refused hand-off therefore changes nothing, helpers never wait for anything (so
 * direct executors, {@code Runnable::run} and caller-runs policies work), and an executor that
 * accepts helpers but never runs them only costs parallelism: the caller does the work.
 */
public final class Chunks {
    /**
     * Below this many floats a chunk costs more to hand over than to run: handing a chunk to a pool
     * thread and joining it costs some 20-30 us, what AdamW takes for about 50,000 floats in cache
     * (measured: 2^16 floats on 2 threads with 16K-float chunks ran 2.4x slower than on one).
     */
    public static final long MIN_CHUNK = 65_536;

    private Chunks() {}

    /** A kernel call over floats {@code [from, from + count)}. */
    @FunctionalInterface
    public interface Body {
        void run(long from, long count);
    }

    /** Floats per chunk: a whole number of cache lines, at least {@link #MIN_CHUNK}. */
    static long perChunk(long count, int parallelism, long alignment) {
        long perChunk = Math.max(MIN_CHUNK, (count + parallelism - 1) / parallelism);
        return (perChunk + alignment - 1) / alignment * alignment;
    }

    /** How many chunks {@link #run} makes of {@code count} floats: 1 means the caller does it all. */
    public static int count(long count, int parallelism) {
        return count(count, parallelism, Buffers.FLOATS_PER_LINE);
    }

    /** How many chunks {@link #run(long, int, long, Executor, Body)} makes with chunks aligned to {@code alignment}. */
    public static int count(long count, int parallelism, long alignment) {
        long perChunk = perChunk(count, parallelism, alignment);
        return (int) Math.max(1, (count + perChunk - 1) / perChunk);
    }

    /**
     * The checks of a public step that may be split: {@code executor} non-null, {@code parallelism >=
     * 1}, and {@code params} and {@code grads} accessible from every thread the step will run on
     * (the calling thread alone, or it and helpers: see {@link Segments#checkAccessible(String,
     * MemorySegment, int)}). Throws naming the argument; changes nothing.
     */
    public static void checkSplit(long count, int parallelism, long alignment, Executor executor,
                                  MemorySegment params, MemorySegment grads) {
        Objects.requireNonNull(executor, "executor");
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism: expected >= 1, got " + parallelism);
        }
        int threads = count(count, parallelism, alignment);
        Segments.checkAccessible("params", params, threads);
        Segments.checkAccessible("grads", grads, threads);
    }

    /**
     * Runs {@code body} over {@code [0, count)} in at most {@code parallelism} chunks, each a
     * multiple of 16 floats (one cache line) but the last, on the calling thread and on up to
     * {@code parallelism - 1} helpers handed to {@code executor}. Returns when all chunks are done;
     * see {@link #run(long, int, long, Executor, Body)} for failures.
     */
    public static void run(long count, int parallelism, Executor executor, Body body) {
        run(count, parallelism, Buffers.FLOATS_PER_LINE, executor, body);
    }

    /**
     * As {@link #run(long, int, Executor, Body)}, with chunks starting at multiples of
     * {@code alignment} floats (a multiple of 16), for kernels whose results depend on block
     * boundaries.
     *
     * <p>The wait for the chunks other threads claimed ignores interrupts (they write the caller's
     * memory, so returning early would hand it back half written) and sets the interrupt flag again
     * before returning.
     *
     * @throws NullPointerException if {@code executor} is null
     * @throws IllegalArgumentException if {@code parallelism < 1}
     * @throws RejectedExecutionException if {@code executor} throws any {@code RuntimeException} from
     *     a hand-off (its cause): no chunk has run, nothing was changed. (Not IllegalStateException:
     *     nothing is wrong with the caller's state, and the step may simply be retried; callers of an
     *     {@code Executor} already expect this type when it is saturated or shut down.)
     * @throws Error whatever Error {@code executor} throws from a hand-off, also before any chunk ran
     * @throws RuntimeException the first failure of {@code body}, by chunk order, with any others
     *     suppressed; every chunk has then been attempted, so memory is partly updated
     */
    public static void run(long count, int parallelism, long alignment, Executor executor, Body body) {
        // Cheap, and the facades that call this without checkSplit then still name the argument.
        Objects.requireNonNull(executor, "executor");
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism: expected >= 1, got " + parallelism);
        }
        long perChunk = perChunk(count, parallelism, alignment);
        int chunks = count(count, parallelism, alignment);
        if (chunks == 1) {
            body.run(0, count);
            return;
        }
        Split split = new Split(count, perChunk, chunks, body);
        for (int helper = 1; helper < chunks; helper++) {
            try {
                executor.execute(split);
            } catch (RuntimeException e) {
                split.state = Split.CANCELLED;
                throw new RejectedExecutionException("executor: refused helper " + helper + " of " + (chunks - 1)
                        + " of a step split into " + chunks + " chunks (" + e + "); no chunk was started and nothing"
                        + " was changed", e);
            } catch (Error e) {
                split.state = Split.CANCELLED;
                throw e;
            }
        }
        split.state = Split.GO;
        split.work();
        split.awaitChunks();
        split.rethrowFailure();
    }

    /** One split step: the chunk counter, the go flag, and what each chunk threw. */
    private static final class Split implements Runnable {
        static final int WAITING = 0, GO = 1, CANCELLED = 2;
        /**
         * How long a helper that starts before go spins for it: the caller's remaining hand-offs take
         * about a microsecond each. Bounded, so that an executor whose {@code execute} waits for the
         * helper to finish costs this much a hand-off and never deadlocks.
         */
        static final long SPIN_NANOS = 50_000;

        private final Thread caller = Thread.currentThread();

        private final long count, perChunk;
        private final int chunks;
        private final Body body;
        private final AtomicInteger next = new AtomicInteger();
        private final CountDownLatch finished;
        /** Written by the thread that ran the chunk; read after {@link #finished} reaches zero. */
        private final Throwable[] failures;
        /** Set by the caller only: WAITING while it hands out helpers, then GO or CANCELLED. */
        volatile int state = WAITING;

        Split(long count, long perChunk, int chunks, Body body) {
            this.count = count;
            this.perChunk = perChunk;
            this.chunks = chunks;
            this.body = body;
            this.finished = new CountDownLatch(chunks);
            this.failures = new Throwable[chunks];
        }

        /**
         * A helper: claims chunks once the caller said go; once cancelled, or if go does not come
         * soon, does nothing. It waits for go only on another thread than the caller's, and only for
         * {@link #SPIN_NANOS}: a pool thread that picks a helper up at once would otherwise leave
         * the whole step to the caller (about 1 helper run in 12 on a 2-core machine, measured).
         */
        @Override
        public void run() {
            if (state == WAITING && Thread.currentThread() != caller) {
                long deadline = System.nanoTime() + SPIN_NANOS;
                while (state == WAITING && System.nanoTime() - deadline < 0) {
                    Thread.onSpinWait();
                }
            }
            if (state == GO) {
                work();
            }
        }

        /** Claims and runs chunks until none is left. */
        void work() {
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                long from = c * perChunk;
                try {
                    body.run(from, Math.min(perChunk, count - from));
                } catch (Throwable t) {
                    failures[c] = t;
                } finally {
                    finished.countDown();
                }
            }
        }

        /** Waits for the chunks that helpers claimed, ignoring interrupts until they are done. */
        void awaitChunks() {
            boolean interrupted = false;
            while (true) {
                try {
                    finished.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        void rethrowFailure() {
            Throwable first = null;
            for (Throwable t : failures) {
                if (t == null) {
                    continue;
                }
                if (first == null) {
                    first = t;
                } else if (t != first) {
                    first.addSuppressed(t);
                }
            }
            switch (first) {
                case null -> { }
                case RuntimeException e -> throw e;
                case Error e -> throw e;
                default -> throw new CompletionException(first);   // a checked exception thrown sneakily
            }
        }
    }
}
