package dev.adamant.core;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A team of threads that stays alive between parallel regions, for steps that must hand out work
 * in about a microsecond: {@link #create(int) create(threads)} starts {@code threads - 1} platform
 * daemon threads, and the thread that calls {@link #parallelFor} is the first member.
 *
 * <p><b>Static schedule.</b> A region over {@code [0, n)} gives each member one contiguous share,
 * a whole number of {@code align}-element units (a cache line, 16 floats, by default), as OpenMP's
 * {@code schedule(static)} does: member {@code i} of {@code m} gets units
 * {@code [i * u / m, (i + 1) * u / m)} of the {@code u} units. A region uses
 * {@code m = min(threads(), n / minShare)} members (at least one), so that no member is handed less
 * than {@link #MIN_SHARE} elements, and the calling thread runs share 0. A member's share is run by
 * the member, unless the caller, done with its own, finds it not yet started: then the caller runs it
 * (one compare-and-set a share decides), so a member that the OS has not scheduled (a machine busy
 * with other work) delays a region by no more than its share's work. Every kernel of ours is
 * elementwise (and norms sum in fixed blocks), so the split never changes a bit of the result.
 *
 * <p><b>Cost.</b> Members wait for work by spinning (pausing with {@link Thread#onSpinWait()} only
 * now and then: see {@code spin}) for {@value #SPIN_MICROS} µs after their last share, then park. A hand-off to spinning members costs
 * one volatile write and the cache-line transfers: about a microsecond (see {@code TeamBenchmark}
 * in bench for the numbers); to parked members add an unpark each, some tens of microseconds. So a
 * training loop that steps every few milliseconds keeps its team spinning only briefly after each
 * step, and an idle team costs no CPU after {@value #SPIN_MICROS} µs. The caller joins the same way:
 * it spins, then parks until the last member is done.
 *
 * <p><b>Failures.</b> A share that throws does not stop the others; the region ends when all are
 * done, and the caller gets the first exception (others added to it as suppressed): the same
 * {@link RuntimeException} or {@link Error} object the member threw, so its cause and stack are
 * the member's. The team stays usable. An interrupt of the calling thread does not end the wait
 * (the members are writing the caller's buffers); its flag is set again on return.
 *
 * <p><b>Sharing.</b> One region runs at a time. A region started while another runs on this team
 * (from another thread, or from inside a share) runs all its shares on its own calling thread, in
 * the same split: correct, deterministic, only not parallel. Several teams may run at once; a
 * machine's cores are best shared out (for example 4 ZeRO devices with a team of 4 each on 16
 * cores).
 *
 * <p>{@link #close()} stops the threads (idempotent) after the region in progress, if any; a
 * closed team refuses work with an {@link IllegalStateException}. {@link #common()} is a
 * process-wide team sized to the available processors, made at first use and never closed.
 */
public final class Team implements AutoCloseable {
    /**
     * The smallest share worth handing to a member, in elements: below it the hand-off, the join and
     * the second core's cache misses cost more than the member saves. Measured with AdamW, the most
     * expensive elementwise step per byte of ours, as {@code step(p, g, team)} runs it but with
     * {@code minShare} 0 ({@code TeamBenchmark.adamWShares}, 3 JVMs, best iteration of 5-7 x 200 ms)
     * on the 2-vCPU development machine (AMD EPYC, shared): 2 threads against 1 take
     * <pre>
     *   n (floats)   1 thread, us   2 threads, us   speed-up
     *   16,384        2.4            5.7-6.5         0.4x
     *   32,768        4.5-5.0        8.3-10.9        0.5x
     *   65,536       12.2-16.3      13.7-17.0        0.9-1.1x (break-even)
     *   131,072      27.0-28.3      17.7-19.9        1.4-1.6x
     *   262,144      56-69          34-47            1.5-2.0x
     *   1,048,576    272-279        138-157          1.8-2.0x
     * </pre>
     * so a second member pays from 65,536 elements each (n = 131,072), and a team never splits a
     * region where the split measured slower. An empty region costs 0.7-1.0 us on 2 spinning threads.
     * The README's "Thread team" section has the command; a machine with cores that share less cache
     * may want less, which a caller can pass to {@link #parallelFor(long, long, long, Range)}.
     */
    public static final long MIN_SHARE = 65_536;
    /** Elements per unit of a share by default: one 64-byte cache line of floats. */
    public static final long LINE = 16;
    /** How long members (and the caller, joining) spin before they park. */
    public static final long SPIN_MICROS = 200;
    private static final long SPIN_NANOS = SPIN_MICROS * 1_000;

    /** The work of one share: elements {@code [from, to)}. */
    @FunctionalInterface
    public interface Range {
        void run(long from, long to);
    }

    /** One region: what the members run, and how they report back. */
    private static final class Job {
        final long epoch;
        final long n, unit;
        final int members;
        final Range body;
        final Thread caller;
        /** Shares 1.. not yet finished; a share is run by whoever claims it first. */
        final AtomicInteger pending;
        /** 1 once share i is claimed, by its member or by the caller. */
        final AtomicIntegerArray claimed;
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile boolean callerParked;
        final boolean stop;

        Job(long epoch, long n, long unit, int members, Range body, Thread caller, boolean stop) {
            this.epoch = epoch;
            this.n = n;
            this.unit = unit;
            this.members = members;
            this.body = body;
            this.caller = caller;
            this.pending = new AtomicInteger(members - 1);
            this.claimed = new AtomicIntegerArray(members);
            this.stop = stop;
        }

        /**
         * Runs share {@code i} (i >= 1) if no one has claimed it yet; true if this thread ran it. The
         * last share to finish wakes a parked caller.
         */
        boolean claimAndRun(int i) {
            if (claimed.get(i) != 0 || !claimed.compareAndSet(i, 0, 1)) {
                return false;
            }
            runShare(i);
            if (pending.decrementAndGet() == 0 && callerParked) {
                LockSupport.unpark(caller);
            }
            return true;
        }

        /** Runs member {@code i}'s share; records a failure rather than throwing it. */
        void runShare(int i) {
            long units = (n + unit - 1) / unit;
            long from = Math.min(n, i * units / members * unit);
            long to = Math.min(n, (i + 1) * units / members * unit);
            if (from >= to) {
                return;
            }
            try {
                body.run(from, to);
            } catch (Throwable t) {
                if (!failure.compareAndSet(null, t)) {
                    Throwable first = failure.get();
                    if (first != t) {
                        first.addSuppressed(t);
                    }
                }
            }
        }
    }

    private static final class CommonHolder {
        static final Team COMMON = new Team(Runtime.getRuntime().availableProcessors(), true);
    }

    private final int threads;
    private final boolean common;
    private final Worker[] workers;
    private final AtomicBoolean inUse = new AtomicBoolean();
    private volatile Job job = new Job(0, 0, 1, 1, (a, b) -> { }, null, false);
    private volatile boolean closed;
    private long epoch;

    private Team(int threads, boolean common) {
        this.threads = threads;
        this.common = common;
        this.workers = new Worker[threads - 1];
        String prefix = common ? "adamant-team-common-" : "adamant-team-" + Integer.toHexString(System.identityHashCode(this)) + "-";
        try {
            for (int i = 0; i < workers.length; i++) {
                workers[i] = new Worker(i + 1);
                workers[i].thread = Thread.ofPlatform().daemon().name(prefix + (i + 1)).unstarted(workers[i]);
            }
            for (Worker w : workers) {
                w.thread.start();
            }
        } catch (RuntimeException | Error e) {
            stopWorkers();
            throw e;
        }
    }

    /**
     * A new team of {@code threads} members: the calling thread of each region and {@code threads -
     * 1} threads started now.
     *
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public static Team create(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads: expected >= 1, got " + threads);
        }
        return new Team(threads, false);
    }

    /** The process-wide team, {@code Runtime.availableProcessors()} members, made at first use. */
    public static Team common() {
        return CommonHolder.COMMON;
    }

    /** Members of a region at most: the calling thread and the team's own threads. */
    public int threads() {
        return threads;
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * The check every step on a team makes before it touches anything: returns this team if it is
     * open.
     *
     * @throws IllegalStateException {@code "team: expected an open team, got a closed one"}
     */
    public Team requireOpen() {
        if (closed) {
            throw new IllegalStateException("team: expected an open team, got a closed one");
        }
        return this;
    }

    /** How many members a region over {@code n} elements uses: at most {@link #threads()}, each at least {@code minShare}. */
    public int members(long n, long minShare) {
        long byShare = minShare <= 0 ? n : n / minShare;
        return (int) Math.max(1, Math.min(threads, byShare));
    }

    /** {@link #parallelFor(long, long, long, Range)} with cache-line units and {@link #MIN_SHARE}. */
    public void parallelFor(long n, Range body) {
        parallelFor(n, LINE, MIN_SHARE, body);
    }

    /**
     * Runs {@code body} over {@code [0, n)} in one share per member (see the class comment), the
     * calling thread taking share 0, and returns when every share is done.
     *
     * @param unit each share but the last is a multiple of it (elements)
     * @param minShare no member gets less (elements); 0 allows any split
     * @throws IllegalArgumentException if {@code n < 0}, {@code unit < 1} or {@code minShare < 0}
     * @throws IllegalStateException if the team is closed
     * @throws RuntimeException or {@link Error}: the first that a share threw
     */
    public void parallelFor(long n, long unit, long minShare, Range body) {
        Objects.requireNonNull(body, "body");
        if (n < 0) {
            throw new IllegalArgumentException("n: expected >= 0, got " + n);
        }
        if (unit < 1) {
            throw new IllegalArgumentException("unit: expected >= 1, got " + unit);
        }
        if (minShare < 0) {
            throw new IllegalArgumentException("minShare: expected >= 0, got " + minShare);
        }
        checkOpen();
        if (n == 0) {
            return;
        }
        int members = members(n, minShare);
        if (members == 1) {
            body.run(0, n);   // one share, the whole range: no job to allocate (every step below 2 shares)
            return;
        }
        if (!inUse.compareAndSet(false, true)) {
            // The team is busy (another thread's region, or this call is inside a share): every share
            // on this thread, in the same split.
            Job local = new Job(0, n, unit, members, body, null, false);
            for (int i = 0; i < members; i++) {
                local.runShare(i);
            }
            rethrow(local.failure.get());
            return;
        }
        Job j;
        try {
            if (closed) {
                throw new IllegalStateException("team is closed");
            }
            j = new Job(++epoch, n, unit, members, body, Thread.currentThread(), false);
            job = j;
            for (int i = 0; i < members - 1; i++) {
                Worker w = workers[i];
                if (w.parked) {
                    LockSupport.unpark(w.thread);
                }
            }
            j.runShare(0);
            // Shares whose member has not started yet (descheduled on a busy machine, or still waking
            // up) are run here rather than waited for: the split stays, so the bits do too.
            for (int i = 1; i < members; i++) {
                j.claimAndRun(i);
            }
            join(j);
        } finally {
            inUse.set(false);
        }
        rethrow(j.failure.get());
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("team is closed" + (common ? "" : ": make a new one with Team.create"));
        }
    }

    /** Waits until the other members are done, spinning, then parking; keeps waiting through interrupts. */
    private static void join(Job j) {
        if (j.pending.get() == 0) {
            return;
        }
        boolean interrupted = false;
        long start = System.nanoTime();
        int spins = 0;
        while (j.pending.get() != 0) {
            if (spin(++spins, start)) {
                continue;
            }
            j.callerParked = true;
            if (j.pending.get() != 0) {
                LockSupport.park(j);
                interrupted |= Thread.interrupted();
            }
            j.callerParked = false;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * One turn of a wait that began at {@code start}: true to keep spinning, false once
     * {@link #SPIN_MICROS} have passed (park then). Only every 32nd turn pauses
     * ({@link Thread#onSpinWait()}): on the virtual machines measured, a tight loop of pauses is
     * trapped by the hypervisor (pause-loop exiting), which made a hand-off take 7 µs instead of 2.
     * No turn yields: a yielded virtual CPU went idle and woke late; a member the OS has not
     * scheduled is covered by the caller running its share instead.
     */
    private static boolean spin(int spins, long start) {
        if ((spins & 31) == 0) {
            Thread.onSpinWait();
        }
        return (spins & 63) != 0 || System.nanoTime() - start < SPIN_NANOS;
    }

    private static void rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        if (t != null) {
            throw new IllegalStateException("a share threw " + t, t);
        }
    }

    /**
     * Stops the team's threads, after the region in progress if any, and waits for them to end.
     * Idempotent. The common team cannot be closed.
     *
     * @throws UnsupportedOperationException for {@link #common()}
     */
    @Override
    public void close() {
        if (common) {
            throw new UnsupportedOperationException("the common team lives as long as the process; close teams made"
                    + " with Team.create");
        }
        if (closed) {
            return;
        }
        closed = true;
        while (!inUse.compareAndSet(false, true)) {   // wait for the region in progress
            Thread.onSpinWait();
        }
        try {
            stopWorkers();
        } finally {
            inUse.set(false);
        }
    }

    private void stopWorkers() {
        job = new Job(++epoch, 0, 1, 1, (a, b) -> { }, null, true);
        boolean interrupted = false;
        for (Worker w : workers) {
            if (w != null && w.thread != null) {
                LockSupport.unpark(w.thread);
            }
        }
        for (Worker w : workers) {
            if (w == null || w.thread == null || !w.thread.isAlive() && w.thread.getState() == Thread.State.NEW) {
                continue;
            }
            while (true) {
                try {
                    w.thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "Team[" + threads + " threads" + (common ? ", common" : "") + (closed ? ", closed" : "") + "]";
    }

    /** A team thread: waits for the next job, runs its share if it has one, reports. */
    private final class Worker implements Runnable {
        final int index;
        Thread thread;
        volatile boolean parked;

        Worker(int index) {
            this.index = index;
        }

        @Override
        public void run() {
            long seen = 0;
            while (true) {
                Job j = next(seen);
                seen = j.epoch;
                if (j.stop) {
                    return;
                }
                if (index < j.members) {
                    j.claimAndRun(index);
                }
            }
        }

        /** The first job after epoch {@code seen}: spins, then parks. */
        private Job next(long seen) {
            long start = System.nanoTime();
            int spins = 0;
            while (true) {
                Job j = job;
                if (j.epoch != seen) {
                    return j;
                }
                if (spin(++spins, start)) {
                    continue;
                }
                parked = true;
                if (job.epoch == seen) {
                    LockSupport.park(this);
                }
                parked = false;
                start = System.nanoTime();
            }
        }
    }
}
