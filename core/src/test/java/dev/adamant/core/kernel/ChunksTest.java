package dev.adamant.core.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Chunks#run}: every chunk runs exactly once whatever the executor does with its helpers (runs
 * them at once, on the caller's thread, later, never); a refused hand-off at any position runs no
 * chunk at all, now or later; a failing chunk's exception is rethrown after every chunk was tried.
 * (The timeout turns a hang, which the old join-every-future split had with an executor that never
 * runs its tasks, into a failure.)
 */
@Timeout(60)
class ChunksTest {
    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        pool = Executors.newFixedThreadPool(3);
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
    }

    /** Records each chunk a body call covered. */
    private static final class Coverage implements Chunks.Body {
        final ConcurrentLinkedQueue<long[]> calls = new ConcurrentLinkedQueue<>();

        @Override
        public void run(long from, long count) {
            calls.add(new long[] {from, count});
        }

        /** Asserts the calls tile [0, total) exactly once, each starting on a multiple of {@code alignment}. */
        void assertTiles(String what, long total, long alignment, int chunks) {
            List<long[]> sorted = new ArrayList<>(calls);
            sorted.sort((a, b) -> Long.compare(a[0], b[0]));
            assertEquals(chunks, sorted.size(), what + ": chunk calls " + describe(sorted));
            long next = 0;
            for (long[] c : sorted) {
                assertEquals(next, c[0], what + ": chunks " + describe(sorted));
                assertEquals(0, c[0] % alignment, what + ": chunk start " + c[0]);
                next = c[0] + c[1];
            }
            assertEquals(total, next, what + ": chunks " + describe(sorted));
        }

        private static String describe(List<long[]> calls) {
            return calls.stream().map(Arrays::toString).toList().toString();
        }
    }

    /** Holds every helper it is given, to run later (or never). */
    private static final class Holding implements Executor {
        final List<Runnable> held = new ArrayList<>();

        @Override
        public void execute(Runnable r) {
            held.add(r);
        }

        void runAll() {
            held.forEach(Runnable::run);
        }
    }

    /** Accepts {@code accept} hand-offs (passing them to {@code then}), then throws {@code refusal} at every one. */
    private static Executor refusingAfter(int accept, Executor then, Supplier<? extends Throwable> refusal) {
        AtomicInteger handedOff = new AtomicInteger();
        return r -> {
            if (handedOff.getAndIncrement() >= accept) {
                Throwable t = refusal.get();
                if (t instanceof RuntimeException e) {
                    throw e;
                }
                throw (Error) t;
            }
            then.execute(r);
        };
    }

    @Test
    void everyChunkOnceWhateverTheExecutorDoesWithItsHelpers() throws Exception {
        ThreadPoolExecutor callerRuns = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new SynchronousQueue<>(),
                new ThreadPoolExecutor.CallerRunsPolicy());
        try {
            for (long alignment : new long[] {16, 16_384}) {
                for (int parallelism = 1; parallelism <= 6; parallelism++) {
                    long total = parallelism * Chunks.MIN_CHUNK + 1 + 2 * alignment;
                    int chunks = Chunks.count(total, parallelism, alignment);
                    Holding later = new Holding();
                    Holding never = new Holding();
                    Executor[] executors = {Runnable::run, pool, callerRuns, later, never,
                        // An execute that waits for its helper to finish on another thread.
                        r -> {
                            Thread t = Thread.ofPlatform().start(r);
                            try {
                                t.join();
                            } catch (InterruptedException e) {
                                throw new AssertionError(e);
                            }
                        }};
                    String[] names = {"Runnable::run", "pool", "caller-runs", "run later", "never run", "execute joins"};
                    for (int e = 0; e < executors.length; e++) {
                        Coverage cover = new Coverage();
                        Chunks.run(total, parallelism, alignment, executors[e], cover);
                        String what = names[e] + ", parallelism " + parallelism + ", alignment " + alignment;
                        cover.assertTiles(what, total, alignment, chunks);
                        later.runAll();   // helpers that run after the step must do nothing
                        cover.assertTiles(what + ", helpers run afterwards", total, alignment, chunks);
                    }
                    assertEquals(chunks - 1, never.held.size(), "one helper a chunk but the caller's");
                }
            }
        } finally {
            callerRuns.shutdownNow();
        }
    }

    @Test
    void aRefusedHandOffAtAnyPositionRunsNoChunkNowOrLater() {
        for (int parallelism = 2; parallelism <= 6; parallelism++) {
            long total = parallelism * Chunks.MIN_CHUNK;
            int chunks = Chunks.count(total, parallelism);
            assertEquals(parallelism, chunks);
            for (int accepted = 0; accepted < chunks - 1; accepted++) {
                for (Executor then : List.of(pool, (Executor) Runnable::run, new Holding())) {
                    AtomicInteger ran = new AtomicInteger();
                    RejectedExecutionException cause = new RejectedExecutionException("saturated");
                    Executor ex = refusingAfter(accepted, then, () -> cause);
                    RejectedExecutionException e = assertThrows(RejectedExecutionException.class,
                            () -> Chunks.run(total, chunks, ex, (from, count) -> ran.incrementAndGet()));
                    assertSame(cause, e.getCause());
                    assertTrue(e.getMessage().startsWith("executor: ") && e.getMessage().contains("nothing was changed"),
                            e.getMessage());
                    if (then instanceof Holding h) {
                        h.runAll();
                    }
                    pause(then == pool ? 20 : 0);   // helpers the pool accepted have run by now (and must do nothing)
                    assertEquals(0, ran.get(), "chunks run after hand-off " + (accepted + 1) + " of " + (chunks - 1)
                            + " was refused");
                }
            }
        }
    }

    @Test
    void otherExceptionsFromTheExecutorAreRefusalsToo() {
        long total = 3 * Chunks.MIN_CHUNK;
        for (Supplier<RuntimeException> thrown : List.<Supplier<RuntimeException>>of(
                () -> new IllegalStateException("pool shut down"), () -> new NullPointerException("no queue"),
                () -> new UnsupportedOperationException())) {
            AtomicInteger ran = new AtomicInteger();
            RejectedExecutionException e = assertThrows(RejectedExecutionException.class,
                    () -> Chunks.run(total, 3, refusingAfter(1, pool, thrown), (from, count) -> ran.incrementAndGet()));
            assertEquals(thrown.get().getClass(), e.getCause().getClass());
            assertTrue(e.getMessage().contains("executor") && e.getMessage().contains(e.getCause().getClass().getName()),
                    e.getMessage());
            pause(20);
            assertEquals(0, ran.get());
        }
        // An Error is not wrapped, and nothing runs either.
        AtomicInteger ran = new AtomicInteger();
        OutOfMemoryError oom = new OutOfMemoryError("unable to create native thread");
        assertSame(oom, assertThrows(OutOfMemoryError.class,
                () -> Chunks.run(total, 3, refusingAfter(1, pool, () -> oom), (from, count) -> ran.incrementAndGet())));
        pause(20);
        assertEquals(0, ran.get());
    }

    @Test
    void aNullExecutorOrParallelismBelowOneIsRefusedBeforeAnyChunk() {
        AtomicInteger ran = new AtomicInteger();
        Chunks.Body body = (from, count) -> ran.incrementAndGet();
        for (long total : new long[] {10, 3 * Chunks.MIN_CHUNK}) {
            assertEquals("executor", assertThrows(NullPointerException.class,
                    () -> Chunks.run(total, 3, null, body)).getMessage());
            for (int parallelism : new int[] {0, -1, Integer.MIN_VALUE}) {
                assertTrue(assertThrows(IllegalArgumentException.class, () -> Chunks.run(total, parallelism, pool, body))
                        .getMessage().startsWith("parallelism: expected >= 1, got " + parallelism));
            }
        }
        assertEquals(0, ran.get());
    }

    @Test
    void theFirstFailingChunkIsRethrownAfterEveryChunkWasTried() {
        long total = 5 * Chunks.MIN_CHUNK;
        for (Executor ex : List.of(pool, (Executor) Runnable::run)) {
            AtomicInteger ran = new AtomicInteger();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Chunks.run(total, 5, ex, (from, count) -> {
                ran.incrementAndGet();
                long chunk = from / Chunks.MIN_CHUNK;
                if (chunk == 1 || chunk == 3) {
                    throw new IllegalStateException("chunk " + chunk);
                }
            }));
            assertEquals("chunk 1", e.getMessage());
            assertEquals(1, e.getSuppressed().length);
            assertEquals("chunk 3", e.getSuppressed()[0].getMessage());
            assertEquals(5, ran.get(), "every chunk is tried");
            // An Error from a chunk comes through as itself.
            AssertionError boom = new AssertionError("boom");
            assertSame(boom, assertThrows(AssertionError.class, () -> Chunks.run(total, 5, ex, (from, count) -> {
                if (from == 4 * Chunks.MIN_CHUNK) {
                    throw boom;
                }
            })));
        }
    }

    @Test
    void anInterruptedCallerWaitsForTheHelpersChunksAndKeepsItsFlag() throws Exception {
        // The executor keeps the helper; the caller starts it from inside its own chunk, which runs only
        // after go, so the helper always finds go set and takes the other chunk (on a loaded machine a
        // helper started by a pool could miss its spin for go and leave both chunks to the caller).
        AtomicReference<Runnable> pending = new AtomicReference<>();
        Executor keep = pending::set;
        long total = 2 * Chunks.MIN_CHUNK;
        Thread caller = Thread.currentThread();
        AtomicBoolean helperStarted = new AtomicBoolean();
        AtomicBoolean helperDone = new AtomicBoolean();
        AtomicReference<Thread> helper = new AtomicReference<>();
        caller.interrupt();
        try {
            Chunks.run(total, 2, keep, (from, count) -> {
                if (Thread.currentThread() != caller) {
                    helperStarted.set(true);
                    pause(100);   // the caller is waiting, interrupted, meanwhile
                    helperDone.set(true);
                } else {
                    helper.set(Thread.ofPlatform().start(pending.get()));
                    long deadline = System.nanoTime() + 5_000_000_000L;   // let the helper take the other chunk
                    while (!helperStarted.get() && System.nanoTime() < deadline) {
                        Thread.onSpinWait();
                    }
                }
            });
            assertTrue(helperStarted.get(), "the helper took a chunk");
            assertTrue(helperDone.get(), "returned before the helper's chunk was done");
            assertTrue(Thread.interrupted(), "the interrupt flag is set again");
        } finally {
            Thread.interrupted();
            if (helper.get() != null) {
                helper.get().join(5_000);
            }
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
