package dev.adamant.zero.comm.inprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.CollectiveTimeoutException;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.GroupFailedException;
import dev.adamant.zero.comm.ReduceOp;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link InProcessGroup#call} returns at its deadline whatever a rank does outside the collectives
 * (stalls, never returns, ignores interrupts), says which rank and where, and accounts for the
 * threads it leaves; an interrupted rank fails the group at once, naming itself.
 *
 * <p>The stalls here last far longer than the bounds asserted ({@link #BOUND}), so a call that
 * waited for the stalled rank, as it did before, fails these tests.
 */
@Timeout(60)
class CommDeadlineTest {
    private static final Duration TIMEOUT = Duration.ofMillis(300);
    /** Long, so that only a prompt failure (not the timeout) can keep a test fast. */
    private static final Duration LONG = Duration.ofSeconds(60);
    /** Timeout + the abandon grace + 1 s for scheduling on a loaded machine. */
    private static final double BOUND = (TIMEOUT.toMillis() + InProcessGroup.ABANDON_AFTER.toMillis() + 1000) / 1e3;

    private static double since(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    /** Waits up to 5 s for {@code t} to end; false if it is still alive. */
    private static boolean ends(Thread t) throws InterruptedException {
        t.join(Duration.ofSeconds(5));
        return !t.isAlive();
    }

    /** The group's rank threads, as their tasks saw themselves. */
    private static Thread[] threads(AtomicReferenceArray<Thread> a) {
        Thread[] t = new Thread[a.length()];
        for (int i = 0; i < t.length; i++) {
            t[i] = a.get(i);
        }
        return t;
    }

    @Test
    void aRankStalledOutsideACollectiveFailsTheCallAtTheDeadline() throws Exception {
        InProcessGroup group = InProcessGroup.create(3, TIMEOUT);
        AtomicReferenceArray<Thread> seen = new AtomicReferenceArray<>(3);
        AtomicReference<Throwable> stalled = new AtomicReference<>();
        long start = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] buf = {arena.allocate(32, 4), arena.allocate(32, 4), arena.allocate(32, 4)};
            CollectiveTimeoutException e = assertThrows(CollectiveTimeoutException.class, () -> group.run(c -> {
                seen.set(c.rank(), Thread.currentThread());
                c.barrier();
                if (c.rank() == 2) {
                    try {
                        Thread.sleep(8000);   // a device that stalls outside any collective
                    } catch (InterruptedException x) {
                        stalled.set(x);
                        throw x;
                    }
                }
                c.allReduce(buf[c.rank()], Precision.FP32, ReduceOp.SUM);
            }));
            double took = since(start);
            assertTrue(took < BOUND, "the call returned after " + took + " s, bound " + BOUND + " s");
            String m = e.getMessage();
            assertTrue(m.contains("timed out after 300 ms in allReduce(FP32, SUM, 8 elements) #1 (phase 1 of 3)"), m);
            assertTrue(m.contains("arrived [0, 1], missing [2] (rank 2 in its own code, outside any collective, since barrier #0)"), m);
        }
        Thread[] t = threads(seen);
        for (Thread x : t) {
            assertTrue(x.isDaemon(), x.getName());
            assertTrue(x.getName().matches("adamant-comm-\\d+-rank-\\d"), x.getName());
            assertTrue(ends(x), x.getName() + " still alive");
        }
        assertInstanceOf(InterruptedException.class, stalled.get(), "the stalled rank was interrupted");
        assertTrue(group.abandoned().isEmpty());
        assertTrue(group.isFailed());
    }

    @Test
    void aRankStuckIgnoringInterruptsIsAbandonedReportedAndRefused() throws Exception {
        InProcessGroup group = InProcessGroup.create(3, TIMEOUT);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger interrupts = new AtomicInteger();
        AtomicReference<Throwable> later = new AtomicReference<>();
        AtomicLong laterNanos = new AtomicLong();
        AtomicReferenceArray<Thread> seen = new AtomicReferenceArray<>(3);
        long start = System.nanoTime();
        CollectiveTimeoutException e = assertThrows(CollectiveTimeoutException.class, () -> group.run(c -> {
            seen.set(c.rank(), Thread.currentThread());
            if (c.rank() == 1) {
                awaitIgnoringInterrupts(release, interrupts);
                long before = System.nanoTime();
                try {
                    c.barrier();
                } catch (Throwable x) {
                    laterNanos.set(System.nanoTime() - before);
                    later.set(x);
                    throw x;
                }
            } else {
                c.barrier();
            }
        }));
        double took = since(start);
        Thread stuck = seen.get(1);
        assertTrue(took < BOUND, "the call returned after " + took + " s, bound " + BOUND + " s");
        assertTrue(stuck.isAlive(), "returned while the stuck rank still runs");
        assertTrue(e.getMessage().contains("barrier() #0: arrived [0, 2], missing [1]"), e.getMessage());
        assertEquals(List.of(stuck), group.abandoned());
        assertTrue(stuck.isDaemon(), "an abandoned thread does not keep the JVM alive");
        assertEquals(1, e.getSuppressed().length, Arrays.toString(e.getSuppressed()));
        Throwable report = e.getSuppressed()[0];
        assertTrue(report.getMessage().startsWith("rank 1 abandoned: its thread " + stuck.getName()), report.getMessage());
        assertTrue(Arrays.stream(report.getStackTrace()).anyMatch(f -> f.getMethodName().equals("awaitIgnoringInterrupts")),
                "the report carries the stuck thread's stack: " + Arrays.toString(report.getStackTrace()));
        assertFalse(group.awaitAbandoned(Duration.ofMillis(50)));

        release.countDown();
        assertTrue(group.awaitAbandoned(Duration.ofSeconds(5)), "the abandoned thread ends once it is let go");
        assertTrue(group.abandoned().isEmpty());
        assertTrue(interrupts.get() >= 1, "the stuck rank was interrupted");
        assertInstanceOf(GroupFailedException.class, later.get());
        assertTrue(later.get().getMessage().startsWith("rank 1: barrier() #0 refused: InProcessGroup.call abandoned this rank"),
                later.get().getMessage());
        assertSame(e, later.get().getCause());
        assertTrue(laterNanos.get() < 100_000_000L, "its later collective failed at once, not after "
                + laterNanos.get() / 1e6 + " ms");
        for (int r : new int[] {0, 2}) {
            assertFalse(seen.get(r).isAlive());
        }
    }

    /** Waits for {@code latch}, counting and then ignoring interrupts, as a thread stuck in uninterruptible code would. */
    static void awaitIgnoringInterrupts(CountDownLatch latch, AtomicInteger interrupts) {
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException x) {
                interrupts.incrementAndGet();
            }
        }
        if (interrupts.get() > 0) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aTaskThatNeverReturnsEndsTheCallAtTheDeadline() throws Exception {
        InProcessGroup group = InProcessGroup.create(3, TIMEOUT);
        AtomicReferenceArray<Thread> seen = new AtomicReferenceArray<>(3);
        long start = System.nanoTime();
        CollectiveTimeoutException e = assertThrows(CollectiveTimeoutException.class, () -> group.run(c -> {
            seen.set(c.rank(), Thread.currentThread());
            while (c.rank() == 2 && !Thread.currentThread().isInterrupted()) {
                LockSupport.park();   // no collective at all, no return
            }
        }));
        double took = since(start);
        assertTrue(took < BOUND, "the call returned after " + took + " s, bound " + BOUND + " s");
        assertTrue(took >= 0.29, "the others' return started the clock; took only " + took + " s");
        assertEquals("timed out after 300 ms waiting for every rank to return from its task: returned [0, 1],"
                + " still running [2] (rank 2 in its own code, outside any collective, before its first)", e.getMessage());
        for (Thread t : threads(seen)) {
            assertTrue(ends(t), t.getName() + " still alive");
        }
        assertTrue(group.abandoned().isEmpty());
    }

    @Test
    void aRankThatReturnsLateButWithinTheTimeoutIsFine() {
        List<Integer> ranks = InProcessGroup.create(3, Duration.ofSeconds(10)).call(c -> {
            c.barrier();
            if (c.rank() == 0) {
                Thread.sleep(200);
            }
            return c.rank();
        });
        assertEquals(List.of(0, 1, 2), ranks);
    }

    /** The end-of-run barrier does not outlive the run: afterwards the caller's own threads may drive the ranks. */
    @Test
    void afterARunTheCommunicatorsServeOtherThreads() throws Exception {
        InProcessGroup group = InProcessGroup.create(2, TIMEOUT);
        group.run(Communicator::barrier);
        Thread other = Thread.ofPlatform().start(() -> group.communicator(1).barrier());
        group.communicator(0).barrier();
        other.join();
        assertFalse(group.isFailed(), String.valueOf(group.failure()));
        assertEquals(List.of(true, true), group.call(c -> c.anyTrue(c.rank() == 1)));
    }

    @Test
    void aRankInterruptedWhileWaitingFailsTheGroupAtOnce() throws Exception {
        InProcessGroup group = InProcessGroup.create(3, LONG);
        AtomicReferenceArray<Thread> seen = new AtomicReferenceArray<>(3);
        ConcurrentHashMap<Integer, Throwable> got = new ConcurrentHashMap<>();
        CountDownLatch started = new CountDownLatch(3);
        Thread interrupter = Thread.ofPlatform().start(() -> {
            try {
                started.await();
                // Interrupt rank 1 once ranks 0 and 1 wait in the barrier (rank 2 never comes).
                while (seen.get(0).getState() != Thread.State.TIMED_WAITING
                        || seen.get(1).getState() != Thread.State.TIMED_WAITING) {
                    Thread.sleep(1);
                }
                seen.get(1).interrupt();
            } catch (InterruptedException x) {
                throw new AssertionError(x);
            }
        });
        long start = System.nanoTime();
        GroupFailedException e = assertThrows(GroupFailedException.class, () -> group.run(c -> {
            seen.set(c.rank(), Thread.currentThread());
            started.countDown();
            try {
                if (c.rank() == 2) {
                    Thread.sleep(LONG.toMillis());
                }
                c.barrier();
            } catch (Throwable x) {
                got.put(c.rank(), x);
                throw x;
            }
        }));
        interrupter.join();
        assertTrue(since(start) < 5, "took " + since(start) + " s");
        assertEquals(GroupFailedException.class, e.getClass());
        assertEquals("rank 1 was interrupted while waiting in barrier() #0 (arrived [0, 1], missing [2])", e.getMessage());
        assertInstanceOf(InterruptedException.class, e.getCause());
        assertSame(e, got.get(1));
        assertSame(e, got.get(0).getCause(), "rank 0 wakes with the interruption as its cause");
        assertInstanceOf(InterruptedException.class, got.get(2), "rank 2 was interrupted out of its sleep");
        for (Thread t : threads(seen)) {
            assertTrue(ends(t), t.getName());
        }
    }

    @Test
    void aRankInterruptedWhileComputingFailsAtItsNextCollective() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] buf = {arena.allocate(40, 4), arena.allocate(40, 4)};
            for (boolean victimFirst : new boolean[] {true, false}) {   // first or last to arrive: both fail
                long start = System.nanoTime();
                GroupFailedException e = assertThrows(GroupFailedException.class, () -> InProcessGroup.create(2, LONG).run(c -> {
                    c.barrier();
                    if (c.rank() == 1) {
                        Thread.currentThread().interrupt();
                        long until = System.nanoTime() + (victimFirst ? 0 : 50_000_000L);
                        while (System.nanoTime() < until) {
                            Thread.onSpinWait();   // computing, not checking for interrupts
                        }
                    } else if (victimFirst) {
                        Thread.sleep(50);
                    }
                    c.allReduce(buf[c.rank()], Precision.FP32, ReduceOp.SUM);
                }));
                assertTrue(since(start) < 5, "took " + since(start) + " s");
                assertEquals(GroupFailedException.class, e.getClass());
                assertEquals("rank 1 was interrupted: its thread's interrupt flag was set on entering"
                        + " allReduce(FP32, SUM, 10 elements) #1 (phase 1 of 3)", e.getMessage());
                assertInstanceOf(InterruptedException.class, e.getCause());
            }
        }
    }

    /** An interrupt that lands after a rank's last collective (or races with its completion) is not lost. */
    @Test
    void aTaskThatReturnsWithItsInterruptFlagSetFailsTheGroup() {
        GroupFailedException e = assertThrows(GroupFailedException.class, () -> InProcessGroup.create(3, LONG).run(c -> {
            c.barrier();
            if (c.rank() == 1) {
                Thread.currentThread().interrupt();
            }
        }));
        assertEquals(GroupFailedException.class, e.getClass());
        assertEquals("rank 1 was interrupted: its thread's interrupt flag was set when its task returned"
                + " (its last collective: barrier #0)", e.getMessage());
        assertInstanceOf(InterruptedException.class, e.getCause());
        // A task that handles its interrupt (clears the flag) is not failed.
        assertEquals(List.of(0, 1), InProcessGroup.create(2, LONG).call(c -> {
            c.barrier();
            Thread.currentThread().interrupt();
            try {
                Thread.sleep(1000);
            } catch (InterruptedException handled) {
                // flag cleared: this rank dealt with it
            }
            return c.rank();
        }));
    }

    @Test
    void aTaskEndedByInterruptedExceptionIsReportedWithItsRank() throws Exception {
        InProcessGroup group = InProcessGroup.create(2, LONG);
        AtomicReferenceArray<Thread> seen = new AtomicReferenceArray<>(2);
        CountDownLatch sleeping = new CountDownLatch(1);
        Thread interrupter = Thread.ofPlatform().start(() -> {
            try {
                sleeping.await();
                while (seen.get(1).getState() != Thread.State.TIMED_WAITING) {
                    Thread.sleep(1);
                }
                seen.get(1).interrupt();
            } catch (InterruptedException x) {
                throw new AssertionError(x);
            }
        });
        GroupFailedException e = assertThrows(GroupFailedException.class, () -> group.run(c -> {
            seen.set(c.rank(), Thread.currentThread());
            if (c.rank() == 1) {
                sleeping.countDown();
                Thread.sleep(LONG.toMillis());
            }
            c.barrier();
        }));
        interrupter.join();
        assertTrue(e.getMessage().startsWith("rank 1 failed: java.lang.InterruptedException"), e.getMessage());
        assertInstanceOf(InterruptedException.class, e.getCause());
    }

    @Test
    void interruptingTheCallerGivesUpARunInWhichNobodyWaits() throws Exception {
        InProcessGroup group = InProcessGroup.create(2, LONG);
        AtomicReferenceArray<Thread> seen = new AtomicReferenceArray<>(2);
        Thread caller = Thread.currentThread();
        CountDownLatch started = new CountDownLatch(2);
        Thread interrupter = Thread.ofPlatform().start(() -> {
            try {
                started.await();
                Thread.sleep(100);
                caller.interrupt();
            } catch (InterruptedException x) {
                throw new AssertionError(x);
            }
        });
        long start = System.nanoTime();
        GroupFailedException e;
        try {
            e = assertThrows(GroupFailedException.class, () -> group.run(c -> {
                seen.set(c.rank(), Thread.currentThread());
                started.countDown();
                while (!Thread.currentThread().isInterrupted()) {
                    LockSupport.park();   // busy in its own code, forever: no deadline applies
                }
            }));
        } finally {
            assertTrue(Thread.interrupted(), "the caller's interrupt flag is set again");
        }
        interrupter.join();
        assertTrue(since(start) < 5, "took " + since(start) + " s");
        assertTrue(e.getMessage().startsWith("the thread that called InProcessGroup.call was interrupted"), e.getMessage());
        assertInstanceOf(InterruptedException.class, e.getCause());
        for (Thread t : threads(seen)) {
            assertNotNull(t);
            assertTrue(ends(t), t.getName());
        }
        assertTrue(group.isFailed());
    }
}
