package dev.adamant.zero.comm.inprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.CollectiveMismatchException;
import dev.adamant.zero.comm.CollectiveTimeoutException;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.GroupFailedException;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.internal.Reference;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A group fails as a whole, promptly, with the first cause; it never hangs. */
class CommFailureTest {
    /** Long, so that only a prompt failure (not the timeout) can keep the tests fast. */
    private static final Duration LONG = Duration.ofSeconds(60);

    /** Seconds since {@code start}. */
    private static double since(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    @Test
    void aRankThatThrowsFailsTheOthersPromptlyWithItsCause() {
        IllegalStateException boom = new IllegalStateException("boom on rank 2");
        ConcurrentHashMap<Integer, Throwable> seen = new ConcurrentHashMap<>();
        InProcessGroup group = InProcessGroup.create(4, LONG);
        long start = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] buf = new MemorySegment[4];
            for (int r = 0; r < 4; r++) {
                buf[r] = arena.allocate(4 * 1000, 4);
            }
            RuntimeException thrown = assertThrows(RuntimeException.class, () -> group.run(c -> {
                try {
                    c.allReduce(buf[c.rank()], Precision.FP32, ReduceOp.SUM);
                    if (c.rank() == 2) {
                        Thread.sleep(100); // the others are waiting in the next collective by now
                        throw boom;
                    }
                    c.allReduce(buf[c.rank()], Precision.FP32, ReduceOp.SUM);
                } catch (RuntimeException e) {
                    seen.put(c.rank(), e);
                    throw e;
                }
            }));
            assertSame(boom, thrown, "run rethrows the first failure itself");
        }
        assertTrue(since(start) < 5, "took " + since(start) + " s");
        assertSame(boom, seen.get(2));
        for (int r : new int[] {0, 1, 3}) {
            Throwable e = seen.get(r);
            assertInstanceOf(GroupFailedException.class, e, "rank " + r);
            assertSame(boom, e.getCause(), "rank " + r);
            assertTrue(e.getMessage().contains("allReduce(FP32, SUM, 1000 elements) #1"), e.getMessage());
            assertTrue(e.getMessage().contains("boom on rank 2"), e.getMessage());
        }
        assertTrue(group.isFailed());
        assertSame(boom, group.failure());
        // A failed group stays failed.
        GroupFailedException again = assertThrows(GroupFailedException.class, () -> group.run(Communicator::barrier));
        assertSame(boom, again.getCause());
        assertThrows(GroupFailedException.class, () -> group.communicator(0).barrier());
    }

    @Test
    void aCheckedExceptionComesBackAsTheCause() {
        IOException io = new IOException("disk gone");
        GroupFailedException e = assertThrows(GroupFailedException.class, () -> InProcessGroup.create(2, LONG).run(c -> {
            if (c.rank() == 1) {
                throw io;
            }
            c.barrier();
        }));
        assertSame(io, e.getCause());
    }

    @Test
    void aRankThatNeverArrivesTimesOutWithAClearMessage() {
        InProcessGroup group = InProcessGroup.create(3, Duration.ofMillis(300));
        ConcurrentHashMap<Integer, Double> failedAfter = new ConcurrentHashMap<>();
        long start = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] buf = {arena.allocate(32, 4), arena.allocate(32, 4), arena.allocate(32, 4)};
            CollectiveTimeoutException e = assertThrows(CollectiveTimeoutException.class, () -> group.run(c -> {
                if (c.rank() == 2) {
                    Thread.sleep(1500); // late, not gone: the group must not wait for it
                    return;
                }
                try {
                    c.allReduce(buf[c.rank()], Precision.FP32, ReduceOp.SUM);
                } finally {
                    failedAfter.put(c.rank(), since(start));
                }
            }));
            String m = e.getMessage();
            assertTrue(m.contains("timed out after 300 ms"), m);
            assertTrue(m.contains("allReduce(FP32, SUM, 8 elements) #0"), m);
            assertTrue(m.contains("arrived [0, 1], missing [2]"), m);
        }
        assertTrue(failedAfter.get(0) < 1.4 && failedAfter.get(1) < 1.4, "failed after " + failedAfter);
        assertTrue(failedAfter.get(0) >= 0.29, "failed after " + failedAfter);
    }

    @Test
    void timeoutAlsoGuardsCommunicatorsDrivenByOwnThreads() throws Exception {
        InProcessGroup group = InProcessGroup.create(2, Duration.ofMillis(200));
        Throwable[] got = new Throwable[1];
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                group.communicator(1).barrier();
            } catch (Throwable e) {
                got[0] = e;
            }
        });
        t.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(t.isAlive());
        assertInstanceOf(CollectiveTimeoutException.class, got[0]);
        assertTrue(got[0].getMessage().contains("barrier() #0: arrived [1], missing [0]"), got[0].getMessage());
    }

    @Test
    void mismatchedCollectivesFailEveryRank() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] buf = {arena.allocate(40, 4), arena.allocate(40, 4), arena.allocate(36, 4)};
            expectMismatch("allReduce(FP32, SUM, 10 elements)", c -> {
                if (c.rank() == 1) {
                    c.broadcast(buf[1], Precision.FP32, 0);
                } else {
                    c.allReduce(buf[c.rank()], Precision.FP32, ReduceOp.SUM);
                }
            }, "rank 1 broadcast(FP32, 10 elements, root 0)");
            expectMismatch("sizes", c -> c.allReduce(buf[c.rank()], Precision.FP32, ReduceOp.SUM),
                    "rank 2 allReduce(FP32, SUM, 9 elements)");
            expectMismatch("precision", c -> c.allReduce(buf[c.rank()].asSlice(0, 36),
                    c.rank() == 0 ? Precision.FP32 : Precision.BF16, ReduceOp.SUM), "rank 1 allReduce(BF16, SUM, 18 elements)");
            expectMismatch("op", c -> c.allReduce(buf[c.rank()].asSlice(0, 36), Precision.FP32,
                    c.rank() == 2 ? ReduceOp.MAX : ReduceOp.SUM), "rank 2 allReduce(FP32, MAX, 9 elements)");
            expectMismatch("root", c -> c.broadcast(buf[c.rank()].asSlice(0, 36), Precision.FP32, c.rank() == 0 ? 0 : 1),
                    "rank 0 broadcast(FP32, 9 elements, root 0)");
            expectMismatch("doubles", c -> c.allGatherDoubles(new double[c.rank() + 1]), "rank 2 allGatherDoubles(3 doubles)");
            expectMismatch("scalar kinds", c -> {
                if (c.rank() == 0) {
                    c.anyTrue(true);
                } else {
                    c.allReduceMax(1f);
                }
            }, "rank 0 anyTrue()");
        }
    }

    private static void expectMismatch(String what, InProcessGroup.RankTask task, String expectedInMessage) {
        ConcurrentHashMap<Integer, Throwable> seen = new ConcurrentHashMap<>();
        long start = System.nanoTime();
        Throwable thrown = assertThrows(CollectiveMismatchException.class, () -> InProcessGroup.create(3, LONG).run(c -> {
            try {
                task.run(c);
            } catch (RuntimeException e) {
                seen.put(c.rank(), e);
                throw e;
            }
        }), what);
        assertTrue(since(start) < 5, what + ": took " + since(start) + " s");
        assertTrue(thrown.getMessage().startsWith("collective mismatch"), thrown.getMessage());
        assertTrue(thrown.getMessage().contains(expectedInMessage), what + ": " + thrown.getMessage());
        assertEquals(3, seen.size(), what + ": every rank throws");
        for (Throwable e : seen.values()) {
            assertTrue(e == thrown || e.getCause() == thrown, what + ": " + e);
        }
    }

    @Test
    void aRankThatReturnsEarlyIsReportedNotWaitedFor() {
        long start = System.nanoTime();
        CollectiveMismatchException e = assertThrows(CollectiveMismatchException.class,
                () -> InProcessGroup.create(3, LONG).run(c -> {
                    c.barrier();
                    if (c.rank() != 1) {
                        c.anyTrue(false);
                    }
                }));
        assertTrue(since(start) < 5, "took " + since(start) + " s");
        assertTrue(e.getMessage().contains("rank 1"), e.getMessage());
        assertTrue(e.getMessage().contains("anyTrue() #1"), e.getMessage());
    }

    @Test
    void ranksMustNotWriteMemoryAnotherRankUses() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment shared = arena.allocate(4 * 12, 4);
            MemorySegment other = arena.allocate(4 * 8, 4);
            ConcurrentHashMap<Integer, Throwable> seen = new ConcurrentHashMap<>();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> InProcessGroup.create(2, LONG).run(c -> {
                        try {
                            c.allReduce(shared.asSlice(c.rank() * 16, 32), Precision.FP32, ReduceOp.SUM);
                        } catch (RuntimeException x) {
                            seen.put(c.rank(), x);
                            throw x;
                        }
                    }));
            assertTrue(e.getMessage().contains("rank 0 overlaps buffer of rank 1"), e.getMessage());
            assertEquals(2, seen.size());
            // Broadcast: a non-root must not write the root's buffer.
            IllegalArgumentException b = assertThrows(IllegalArgumentException.class,
                    () -> InProcessGroup.create(2, LONG).run(c -> c.broadcast(shared, Precision.FP32, 0)));
            assertTrue(b.getMessage().contains("buffer of rank 1 overlaps buffer of rank 0"), b.getMessage());
            // Reading the same memory is fine: every rank may send the same segment.
            shared.setAtIndex(Reference.FLOAT, 0, 3f);
            MemorySegment[] recv = {arena.allocate(32, 4), other};
            InProcessGroup.create(2, LONG).run(c -> c.allGather(shared.asSlice(0, 16).asReadOnly(), recv[c.rank()],
                    Precision.FP32));
            assertEquals(3f, other.getAtIndex(Reference.FLOAT, 4));
        }
    }

    @Test
    void oneCommunicatorServesOneThreadAtATime() throws Exception {
        InProcessGroup group = InProcessGroup.create(2, LONG);
        Thread waiting = Thread.ofPlatform().start(() -> group.communicator(0).barrier());
        while (waiting.getState() != Thread.State.TIMED_WAITING) {
            Thread.onSpinWait();
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> group.communicator(0).anyTrue(true));
        assertTrue(e.getMessage().contains("rank 0: anyTrue() #1 called while thread"), e.getMessage());
        group.communicator(1).barrier(); // releases the waiting thread
        waiting.join();
        assertFalse(group.isFailed());
    }

    /** Refused arguments name the argument and change nothing: not the buffers, the stats, nor the group. */
    @Test
    void badArgumentsAreRefusedBeforeJoiningThePeers() {
        InProcessGroup group = InProcessGroup.create(2, LONG);
        Communicator c = group.communicator(0);
        try (Arena arena = Arena.ofShared(); Arena confined = Arena.ofConfined()) {
            MemorySegment eight = arena.allocate(32, 4);
            MemorySegment four = arena.allocate(16, 4);
            eight.setAtIndex(Reference.FLOAT, 0, 42f);
            MemorySegment closed;
            try (Arena gone = Arena.ofShared()) {
                closed = gone.allocate(16, 4);
            }
            refused(NullPointerException.class, "precision", () -> c.allReduce(eight, null, ReduceOp.SUM));
            refused(NullPointerException.class, "op", () -> c.allReduce(eight, Precision.FP32, null));
            refused(NullPointerException.class, "buffer", () -> c.allReduce(null, Precision.FP32, ReduceOp.SUM));
            refused(NullPointerException.class, "send", () -> c.reduceScatter(null, four, Precision.FP32));
            refused(NullPointerException.class, "recv", () -> c.allGather(four, null, Precision.FP32));
            refused(NullPointerException.class, "local", () -> c.allGatherDoubles(null));
            refused(IllegalArgumentException.class, "buffer: expected a writable segment",
                    () -> c.allReduce(eight.asReadOnly(), Precision.FP32, ReduceOp.SUM));
            refused(IllegalArgumentException.class, "recv: expected a writable segment",
                    () -> c.reduceScatter(eight, four.asReadOnly(), Precision.FP32));
            refused(IllegalArgumentException.class, "buffer: expected a segment whose arena is open, got one whose arena is closed",
                    () -> c.allReduce(closed, Precision.FP32, ReduceOp.SUM));
            refused(WrongThreadException.class, "send: expected a segment that all 2 threads of the call can access",
                    () -> c.allGather(confined.allocate(16, 4), eight, Precision.FP32));
            refused(IllegalArgumentException.class, "send: expected 8 FP32 elements (32 bytes) (2 ranks x the recv's 4), got 7",
                    () -> c.reduceScatter(eight.asSlice(0, 28), four, Precision.FP32));
            refused(IllegalArgumentException.class, "recv: expected 8 FP16 elements (16 bytes) (2 ranks x the send's 4), got 16",
                    () -> c.allGather(arena.allocate(8, 4), eight, Precision.FP16));
            refused(IllegalArgumentException.class, "buffer: expected a multiple of 2 FP32 elements (one equal slice per rank), got 7",
                    () -> c.allGatherInPlace(eight.asSlice(0, 28), Precision.FP32));
            refused(IllegalArgumentException.class, "buffer: expected whole FP16 elements (a multiple of 2 bytes), got 7 bytes",
                    () -> c.allReduce(eight.asSlice(0, 7), Precision.FP16, ReduceOp.SUM));
            refused(IllegalArgumentException.class, "root: expected a rank in [0, 2), got 2",
                    () -> c.broadcast(eight, Precision.FP32, 2));
            refused(IllegalArgumentException.class, "root: expected a rank in [0, 2), got -1",
                    () -> c.broadcast(eight, Precision.FP32, -1));
            refused(IllegalArgumentException.class, "recv and send overlap: expected disjoint segments, or recv exactly slice 0 of send (bytes [0, 16)), got bytes [4, 20)",
                    () -> c.reduceScatter(eight, eight.asSlice(4, 16), Precision.FP32));
            refused(IllegalArgumentException.class, "send and recv overlap",
                    () -> c.allGather(eight.asSlice(16, 16), eight, Precision.FP32)); // slice 1 is not rank 0's
            assertEquals(42f, eight.getAtIndex(Reference.FLOAT, 0));
            assertEquals(CommStats.zero(), c.stats());
            assertFalse(group.isFailed());
            // The group still works.
            group.run(x -> x.allReduce(x.rank() == 0 ? eight : arena.allocate(32, 4), Precision.FP32, ReduceOp.SUM));
            assertEquals(42f, eight.getAtIndex(Reference.FLOAT, 0));
        }
        refused(IllegalArgumentException.class, "n: expected >= 1 ranks, got 0", () -> InProcessGroup.create(0, LONG));
        refused(IllegalArgumentException.class, "timeout: expected > 0, got PT0S", () -> InProcessGroup.create(2, Duration.ZERO));
        refused(NullPointerException.class, "timeout", () -> InProcessGroup.create(2, null));
    }

    /** Under {@link InProcessGroup#run}, a refused argument on one rank fails the group at once rather than by timeout. */
    @Test
    void aRefusedArgumentUnderRunFailsTheGroupPromptly() {
        long start = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] buf = {arena.allocate(32, 4), arena.allocate(32, 4)};
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InProcessGroup.create(2, LONG)
                    .run(c -> c.allReduce(c.rank() == 1 ? buf[1].asReadOnly() : buf[0], Precision.FP32, ReduceOp.SUM)));
            assertTrue(e.getMessage().startsWith("buffer: expected a writable segment"), e.getMessage());
        }
        assertTrue(since(start) < 5, "took " + since(start) + " s");
    }

    private static void refused(Class<? extends Throwable> type, String message, Runnable call) {
        Throwable e = assertThrows(type, call::run);
        assertNotNull(e.getMessage());
        assertTrue(e.getMessage().startsWith(message), "expected a message starting \"" + message + "\", got \"" + e.getMessage() + "\"");
    }

}
