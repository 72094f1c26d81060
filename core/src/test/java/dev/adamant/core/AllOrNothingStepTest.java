package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.kernel.Chunks;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A parallel step whose executor refuses a helper changes nothing, whichever hand-off is refused;
 * the step retried on a working executor then gives the serial step's bits. Executors that run
 * helpers on the caller's thread, or drop them, still give the serial step's bits.
 */
@Timeout(120)
class AllOrNothingStepTest {
    /** The issue's size: three chunks and a tail. */
    private static final int N = 3 * 65_536 + 5;
    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        pool = Executors.newFixedThreadPool(3);
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
    }

    private static List<LongFunction<Optimizer>> optimizers() {
        return List.of(
                n -> Optimizers.adam(AdamConfig.adamW().withAmsgrad(true), n),
                n -> Optimizers.sgd(SgdConfig.sgd(0.1).withMomentum(0.9), n),
                n -> Optimizers.rmsProp(RmsPropConfig.rmsProp().withCentered(true).withMomentum(0.5), n));
    }

    /** Accepts {@code accept} hand-offs, passing them to the pool, then refuses every one. */
    private static Executor refusingAfter(int accept) {
        AtomicInteger handedOff = new AtomicInteger();
        return r -> {
            if (handedOff.getAndIncrement() >= accept) {
                throw new RejectedExecutionException("saturated");
            }
            pool.execute(r);
        };
    }

    /** An optimizer and its twin stepped serially, both one step in, over the same random buffers. */
    private record Pair(Optimizer opt, Optimizer twin, MemorySegment p, MemorySegment pTwin, MemorySegment g)
            implements AutoCloseable {
        static Pair make(Arena arena, LongFunction<Optimizer> make, int n, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            float[] p0 = TestData.randomFloats(r, n, 1f, false);
            Pair pair = new Pair(make.apply(n), make.apply(n), TestData.nativeCopy(arena, p0), TestData.nativeCopy(arena, p0),
                    TestData.nativeCopy(arena, TestData.randomFloats(r, n, 1f, false)));
            pair.opt.step(pair.p, pair.g);
            pair.twin.step(pair.pTwin, pair.g);
            return pair;
        }

        void twinSteps() {
            twin.step(pTwin, g);
        }

        void assertSame(String what) {
            assertEquals(twin.stepCount(), opt.stepCount(), what + ": step count");
            assertSameBits(what + ": params", TestData.toArray(pTwin), TestData.toArray(p));
            for (String name : opt.stateNames()) {
                assertSameBits(what + ": " + name, TestData.toArray(twin.state(name)), TestData.toArray(opt.state(name)));
            }
        }

        @Override
        public void close() {
            opt.close();
            twin.close();
        }
    }

    @Test
    void aRefusalAtAnyHandOffChangesNothingAndTheRetryGivesTheSerialBits() {
        int parallelism = 4;
        int chunks = Chunks.count(N, parallelism);
        assertEquals(4, chunks);
        for (LongFunction<Optimizer> make : optimizers()) {
            try (Arena arena = Arena.ofShared(); Pair pair = Pair.make(arena, make, N, 11)) {
                for (int accepted = 0; accepted < chunks - 1; accepted++) {
                    String what = pair.opt.stateNames() + ", hand-off " + (accepted + 1) + " of " + (chunks - 1) + " refused";
                    Snapshot before = Snapshot.of(pair.opt, pair.p, pair.g);
                    Executor ex = refusingAfter(accepted);
                    RejectedExecutionException e = assertThrows(RejectedExecutionException.class,
                            () -> pair.opt.step(pair.p, pair.g, ex, parallelism));
                    assertTrue(e.getMessage().startsWith("executor: ") && e.getMessage().contains("nothing was changed"),
                            e.getMessage());
                    pause();   // the helpers the pool accepted run now, and must do nothing
                    before.assertUnchanged(what, pair.opt, pair.p, pair.g);
                    pair.opt.step(pair.p, pair.g, pool, parallelism);
                    pair.twinSteps();
                    pair.assertSame(what + ", then retried");
                }
            }
        }
    }

    /**
     * The issue's reproduction: a pool of one thread and no queue accepts a helper only while its
     * thread is idle, so each try either steps (the serial bits) or is refused (nothing changed).
     */
    @Test
    void theIssuesOneThreadPoolWithoutQueue() {
        ThreadPoolExecutor one = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new SynchronousQueue<>());
        try (Arena arena = Arena.ofShared(); Pair pair = Pair.make(arena, optimizers().get(0), N, 5)) {
            int refused = 0;
            for (int attempt = 0; attempt < 20; attempt++) {
                Snapshot before = Snapshot.of(pair.opt, pair.p, pair.g);
                try {
                    pair.opt.step(pair.p, pair.g, one, 3);
                    pair.twinSteps();
                } catch (RejectedExecutionException e) {
                    refused++;
                    before.assertUnchanged("attempt " + attempt + " refused", pair.opt, pair.p, pair.g);
                }
                pair.assertSame("attempt " + attempt);
            }
            System.out.println("AllOrNothingStepTest: one-thread pool without queue: " + refused + " of 20 steps refused");
        } finally {
            one.shutdownNow();
        }
    }

    @Test
    void executorsThatRunHelpersHereOrDropThemGiveTheSerialBits() {
        ThreadPoolExecutor callerRuns = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new SynchronousQueue<>(),
                new ThreadPoolExecutor.CallerRunsPolicy());
        // Shut down with a caller-runs policy: accepts every task and silently discards it.
        ThreadPoolExecutor discards = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new SynchronousQueue<>(),
                new ThreadPoolExecutor.CallerRunsPolicy());
        discards.shutdown();
        try {
            for (LongFunction<Optimizer> make : optimizers()) {
                try (Arena arena = Arena.ofShared(); Pair pair = Pair.make(arena, make, N, 7)) {
                    for (Executor ex : List.of((Executor) Runnable::run, callerRuns, discards, pool)) {
                        pair.opt.step(pair.p, pair.g, ex, 3);
                        pair.twinSteps();
                        pair.assertSame(pair.opt.stateNames() + " on " + ex);
                    }
                }
            }
        } finally {
            callerRuns.shutdownNow();
        }
    }

    private static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
