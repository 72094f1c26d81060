package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * An optimizer is not thread-safe, and says so when misused: a step, beginStep or restore while
 * another thread is in a step (or a begun step is open) is refused with an IllegalStateException
 * that changes nothing; threads racing to step one optimizer end with exactly the state of as many
 * serial steps as succeeded.
 */
@Timeout(120)
class ConcurrentMisuseTest {

    private static void assertRefused(String mentions, Executable call) {
        IllegalStateException e = assertThrows(IllegalStateException.class, call);
        assertTrue(e.getMessage().contains(mentions), "message should mention \"" + mentions + "\": " + e.getMessage());
    }

    @Test
    void callsOnOtherThreadsAreRefusedWhileAStepIsUnderWay() throws Exception {
        int n = 2 * 65_536;
        SplittableRandom r = new SplittableRandom(1);
        float[] p0 = TestData.randomFloats(r, n, 1f, false);
        float[] g0 = TestData.randomFloats(r, n, 1f, false);
        ExecutorService other = Executors.newSingleThreadExecutor();
        try (Arena arena = Arena.ofShared();
             Optimizer opt = Optimizers.adam(AdamConfig.adamW(), n);
             Optimizer twin = Optimizers.adam(AdamConfig.adamW(), n)) {
            MemorySegment p = TestData.nativeCopy(arena, p0), g = TestData.nativeCopy(arena, g0);
            MemorySegment p2 = TestData.nativeCopy(arena, p0);
            // The first step holds still in its hand-off, inside step(), until released.
            CountDownLatch inside = new CountDownLatch(1), release = new CountDownLatch(1);
            Executor holding = task -> {
                inside.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                task.run();
            };
            Future<?> first = other.submit(() -> opt.step(p, g, holding, 2));
            assertTrue(inside.await(30, TimeUnit.SECONDS));
            Snapshot before = Snapshot.of(opt, p2, g);
            assertRefused("another thread is stepping", () -> opt.step(p2, g));
            assertRefused("another thread is stepping", opt::beginStep);
            assertRefused("another thread is stepping", () -> opt.restore(5, (name, s) -> s.fill((byte) 1)));
            before.assertUnchanged("refused while another thread steps", opt, p2, g);
            release.countDown();
            first.get(30, TimeUnit.SECONDS);
            MemorySegment pTwin = TestData.nativeCopy(arena, p0);
            twin.step(pTwin, g);
            assertEquals(1, opt.stepCount());
            assertSameBits("params", TestData.toArray(pTwin), TestData.toArray(p));
            opt.step(p2, g);   // free again
            assertEquals(2, opt.stepCount());
        } finally {
            other.shutdownNow();
        }
    }

    @Test
    void aBegunStepRefusesEveryThreadUntilClosedOrCancelled() throws Exception {
        int n = 1000;
        ExecutorService other = Executors.newSingleThreadExecutor();
        try (Arena arena = Arena.ofShared(); Optimizer opt = Optimizers.sgd(SgdConfig.sgd(0.1).withMomentum(0.9), n)) {
            MemorySegment p = TestData.nativeCopy(arena, TestData.randomFloats(new SplittableRandom(2), n, 1f, false));
            MemorySegment g = TestData.nativeCopy(arena, TestData.randomFloats(new SplittableRandom(3), n, 1f, false));
            opt.step(p, g);
            Optimizer.Step step = opt.beginStep();
            assertEquals(2, step.number());
            Snapshot before = Snapshot.of(opt, p, g);
            for (Consumer<Optimizer> call : List.<Consumer<Optimizer>>of(o -> o.step(p, g), Optimizer::beginStep,
                    o -> o.restore(0, (name, s) -> s.fill((byte) 0)))) {
                Future<?> f = other.submit(() -> call.accept(opt));
                Throwable t = assertThrows(java.util.concurrent.ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS))
                        .getCause();
                assertTrue(t instanceof IllegalStateException && t.getMessage().contains("step 2 begun with beginStep()"
                        + " is still open"), String.valueOf(t));
            }
            before.assertUnchanged("refused while a begun step is open", opt, p, g);
            // Cancelled: the count stays and the next step gets the same number.
            step.cancel();
            step.close();   // nothing after cancel
            before.assertUnchanged("cancelled", opt, p, g);
            try (Optimizer.Step again = other.submit(opt::beginStep).get(30, TimeUnit.SECONDS)) {
                assertEquals(2, again.number());
                again.apply(p, g, 0);
            }
            assertEquals(2, opt.stepCount());
        } finally {
            other.shutdownNow();
        }
    }

    /**
     * Threads racing to step one optimizer (whole steps, and steps begun and applied in two pieces):
     * each call either steps or is refused, and the end state is, bit for bit, that of as many serial
     * steps as succeeded. Without the check, overlapping steps lose updates or tear the moments.
     */
    @Test
    void racingThreadsEndWithTheStateOfTheirSuccessfulSteps() throws Exception {
        int n = 4_000, threads = 3, target = 120;
        SplittableRandom r = new SplittableRandom(4);
        float[] p0 = TestData.randomFloats(r, n, 1f, false);
        float[] g0 = TestData.randomFloats(r, n, 1f, false);
        ExecutorService racers = Executors.newFixedThreadPool(threads);
        try (Arena arena = Arena.ofShared();
             Optimizer opt = Optimizers.adam(AdamConfig.adamW().withAmsgrad(true), n);
             Optimizer twin = Optimizers.adam(AdamConfig.adamW().withAmsgrad(true), n)) {
            MemorySegment p = TestData.nativeCopy(arena, p0), g = TestData.nativeCopy(arena, g0).asReadOnly();
            AtomicInteger stepped = new AtomicInteger(), refused = new AtomicInteger();
            AtomicIntegerArray perThread = new AtomicIntegerArray(threads);
            long deadline = System.nanoTime() + 10_000_000_000L;
            CyclicBarrier start = new CyclicBarrier(threads);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                boolean inPieces = t % 2 == 1;
                done.add(racers.submit(() -> {
                    start.await();
                    while (stepped.get() < target && System.nanoTime() < deadline) {
                        try {
                            if (inPieces) {
                                try (Optimizer.Step step = opt.beginStep()) {
                                    long half = n / 2;
                                    step.apply(p.asSlice(half * 4), g.asSlice(half * 4), half);
                                    step.apply(p.asSlice(0, half * 4), g.asSlice(0, half * 4), 0);
                                }
                            } else {
                                opt.step(p, g);
                            }
                            stepped.incrementAndGet();
                            perThread.incrementAndGet(thread);
                        } catch (IllegalStateException e) {
                            refused.incrementAndGet();
                        }
                        // A pause, so that the flag is free now and then: a thread that re-takes it at
                        // once would otherwise do all its steps while the others are refused.
                        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(10_000, 100_000));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            assertEquals(stepped.get(), opt.stepCount(), "steps counted");
            MemorySegment pTwin = TestData.nativeCopy(arena, p0);
            for (int i = 0; i < stepped.get(); i++) {
                twin.step(pTwin, g);
            }
            assertSameBits("params after " + stepped + " steps", TestData.toArray(pTwin), TestData.toArray(p));
            for (String name : opt.stateNames()) {
                assertSameBits(name, TestData.toArray(twin.state(name)), TestData.toArray(opt.state(name)));
            }
            System.out.println("ConcurrentMisuseTest: " + threads + " threads: " + stepped + " steps (by thread: "
                    + perThread + "), " + refused + " calls refused as concurrent");
        } finally {
            racers.shutdownNow();
        }
    }
}
