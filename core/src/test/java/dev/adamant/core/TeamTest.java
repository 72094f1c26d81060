package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;
import org.quicktheories.generators.Generate;

/**
 * The thread team: every element in exactly one share, the static schedule's shares, failures,
 * closing, sharing, interrupts, parking, no leaked threads; and steps on a team bit-identical to the
 * serial step for every optimizer.
 */
class TeamTest {
    /** Live threads named as the team names its own. */
    private static long teamThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("adamant-team-") && !t.getName().startsWith("adamant-team-common-"))
                .filter(Thread::isAlive).count();
    }

    @Test
    void everyElementIsInExactlyOneShareOfTheStaticSchedule() {
        qt().withExamples(200).forAll(Generate.range(1, 8), Generate.range(0, 70_000), Generate.pick(List.of(1, 16, 100)),
                Generate.pick(List.of(0, 1, 1000, 8192)))
            .checkAssert((threads, n, unit, minShare) -> {
                try (Team team = Team.create(threads)) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(n);
                    List<long[]> shares = java.util.Collections.synchronizedList(new ArrayList<>());
                    Set<Thread> ran = ConcurrentHashMap.newKeySet();
                    team.parallelFor(n, unit, minShare, (from, to) -> {
                        shares.add(new long[] {from, to});
                        ran.add(Thread.currentThread());
                        for (long i = from; i < to; i++) {
                            hits.incrementAndGet((int) i);
                        }
                    });
                    for (int i = 0; i < n; i++) {
                        assertEquals(1, hits.get(i), "element " + i + " of " + n);
                    }
                    int members = n == 0 ? 0 : team.members(n, minShare);
                    long units = (n + unit - 1) / unit;
                    shares.sort((a, b) -> Long.compare(a[0], b[0]));
                    int m = 0;
                    for (int i = 0; i < members; i++) {   // the formula's shares, empty ones left out
                        long from = Math.min(n, i * units / members * unit), to = Math.min(n, (i + 1) * units / members * unit);
                        if (from < to) {
                            assertEquals(from, shares.get(m)[0]);
                            assertEquals(to, shares.get(m)[1]);
                            m++;
                        }
                    }
                    assertEquals(m, shares.size());
                    assertTrue(ran.size() <= m, "at most one thread a share");
                    assertTrue(members <= threads && (n == 0 || minShare == 0 || members == 1 || n / members >= minShare));
                }
            });
    }

    @Test
    void aShareThatThrowsReachesTheCallerAndTheTeamStaysUsable() {
        try (Team team = Team.create(4)) {
            IllegalStateException boom = new IllegalStateException("boom");
            RuntimeException got = assertThrows(RuntimeException.class, () -> team.parallelFor(4000, 1, 1000, (from, to) -> {
                if (from == 2000) {
                    throw boom;
                }
            }));
            assertSame(boom, got, "the member's own exception, with its stack");
            // Two shares throw: the first thrown wins, the other is suppressed.
            RuntimeException two = assertThrows(RuntimeException.class, () -> team.parallelFor(4000, 1, 1000, (from, to) -> {
                if (from >= 2000) {
                    throw new IllegalArgumentException("share at " + from);
                }
            }));
            assertEquals(1, two.getSuppressed().length);
            AtomicIntegerArray hits = new AtomicIntegerArray(4000);
            team.parallelFor(4000, 1, 1000, (from, to) -> {
                for (long i = from; i < to; i++) {
                    hits.incrementAndGet((int) i);
                }
            });
            for (int i = 0; i < 4000; i++) {
                assertEquals(1, hits.get(i));
            }
        }
    }

    @Test
    void closeStopsTheThreadsIsIdempotentAndRefusesLaterWork() throws Exception {
        long before = teamThreads();
        Team team = Team.create(5);
        assertEquals(before + 4, teamThreads());
        team.parallelFor(100_000, (from, to) -> { });
        team.close();
        team.close();
        assertTrue(team.isClosed());
        assertEquals(before, teamThreads(), "threads left after close");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> team.parallelFor(10, (a, b) -> { }));
        assertTrue(e.getMessage().startsWith("team is closed"), e.getMessage());
        // Closing an idle, parked team ends its threads too.
        Team idle = Team.create(3);
        Thread.sleep(50);
        idle.close();
        assertEquals(before, teamThreads());
        assertThrows(UnsupportedOperationException.class, () -> Team.common().close());
        assertThrows(IllegalArgumentException.class, () -> Team.create(0));
    }

    @Test
    void anIdleTeamParks() throws Exception {
        try (Team team = Team.create(3)) {
            team.parallelFor(100_000, (from, to) -> { });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            List<Thread> mine;
            do {
                Thread.sleep(10);
                mine = Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t.getName().startsWith("adamant-team-") && !t.getName().contains("common")
                                && t.getState() != Thread.State.WAITING).toList();
            } while (!mine.isEmpty() && System.nanoTime() < deadline);
            assertTrue(mine.isEmpty(), "still running after " + Team.SPIN_MICROS + " us idle: " + mine);
            // And wakes up for the next region.
            AtomicIntegerArray hits = new AtomicIntegerArray(3);
            team.parallelFor(3 * 8192, 1, 8192, (from, to) -> hits.incrementAndGet((int) (from / 8192)));
            assertEquals(1, hits.get(0) & hits.get(1) & hits.get(2));
        }
    }

    @Test
    void manyTeamsAtOnceAndOneTeamFromManyThreads() throws Exception {
        long before = teamThreads();
        List<Team> teams = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            teams.add(Team.create(3));
        }
        Team shared = Team.create(3);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> callers = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int c = 0; c < 8; c++) {
            Team team = c < 4 ? teams.get(c) : shared;   // four on their own teams, four on one team
            callers.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    for (int round = 0; round < 200; round++) {
                        int n = 1 + round * 997 % 60_000;
                        AtomicIntegerArray hits = new AtomicIntegerArray(n);
                        team.parallelFor(n, 16, 1000, (from, to) -> {
                            for (long i = from; i < to; i++) {
                                hits.incrementAndGet((int) i);
                            }
                        });
                        for (int i = 0; i < n; i++) {
                            if (hits.get(i) != 1) {
                                throw new AssertionError("round " + round + ", element " + i + ": " + hits.get(i));
                            }
                        }
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        go.countDown();
        for (Thread t : callers) {
            t.join();
        }
        assertEquals(List.of(), failures);
        for (Team t : teams) {
            t.close();
        }
        shared.close();
        assertEquals(before, teamThreads());
    }

    @Test
    void aRegionInsideAShareRunsOnItsCallerAndAnInterruptedCallerWaitsForItsMembers() {
        try (Team team = Team.create(3)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(30_000);
            team.parallelFor(30_000, 1, 10_000, (from, to) -> team.parallelFor(to - from, 1, 100, (a, b) -> {
                for (long i = from + a; i < from + b; i++) {
                    hits.incrementAndGet((int) i);
                }
            }));
            for (int i = 0; i < 30_000; i++) {
                assertEquals(1, hits.get(i));
            }
            // The caller is interrupted while members still work: the region still completes.
            AtomicIntegerArray done = new AtomicIntegerArray(3);
            Thread caller = Thread.currentThread();
            team.parallelFor(3, 1, 1, (from, to) -> {
                if (from == 0) {
                    caller.interrupt();
                } else {
                    long until = System.nanoTime() + 50_000_000;   // busy, not sleeping: the caller may run it
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                }
                done.set((int) from, 1);
            });
            assertTrue(Thread.interrupted(), "the caller's interrupt flag is set again");
            assertEquals(1, done.get(0) & done.get(1) & done.get(2));
        }
    }

    @Test
    void stepsOnATeamEqualTheSerialStepAndTwoOptimizersShareOneTeam() {
        try (Team team = Team.create(4)) {
            // Sizes around MIN_SHARE's multiples, so that teams of 1-4 members split (MIN_SHARE is measured, so it moves).
            int share = (int) Team.MIN_SHARE;
            qt().withExamples(10).forAll(Generate.range(1, 4 * share + 1000).mix(Generate.pick(List.of(1, share - 1,
                    share + 1, 2 * share + 17, 3 * share + 1, 4 * share + 15)), 30),
                    Generate.longRange(0, Long.MAX_VALUE))
                .checkAssert((n, seed) -> {
                    SplittableRandom r = new SplittableRandom(seed);
                    float[] p0 = TestData.randomFloats(r, n, 1f, false);
                    float[][] grads = {TestData.randomFloats(r, n, 1f, false), TestData.randomFloats(r, n, 1f, false)};
                    for (LongFunction<Optimizer> make : ParallelStepTest.optimizers()) {
                        try (Arena arena = Arena.ofShared(); Optimizer serial = make.apply(n); Optimizer teamed = make.apply(n)) {
                            MemorySegment a = arena.allocate(n * 4L, 64), b = arena.allocate(n * 4L, 64);
                            MemorySegment g = arena.allocate(n * 4L, 64);
                            MemorySegment.copy(MemorySegment.ofArray(p0), 0, a, 0, n * 4L);
                            MemorySegment.copy(MemorySegment.ofArray(p0), 0, b, 0, n * 4L);
                            for (float[] grad : grads) {
                                MemorySegment.copy(MemorySegment.ofArray(grad), 0, g, 0, n * 4L);
                                serial.step(a, g);
                                teamed.step(b, g, team);   // two optimizers on one team, in turn
                            }
                            assertSameBits("team of 4, n = " + n, a.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT),
                                    b.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT));
                            assertEquals(2, teamed.stepCount());
                        }
                    }
                });
        }
    }

    @Test
    void aStepOnAClosedTeamIsRefusedWithNothingChanged() {
        Team team = Team.create(2);
        team.close();
        try (Arena arena = Arena.ofShared(); Optimizer opt = Optimizers.adam(AdamConfig.adamW(), 100_000)) {
            MemorySegment p = arena.allocate(400_000, 64), g = arena.allocate(400_000, 64);
            g.fill((byte) 1);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> opt.step(p, g, team));
            assertEquals("team: expected an open team, got a closed one", e.getMessage());
            assertEquals(0, opt.stepCount());
            assertEquals(-1, p.mismatch(arena.allocate(400_000, 64)));
            assertThrows(NullPointerException.class, () -> opt.step(p, g, (Team) null));
        }
    }
}
