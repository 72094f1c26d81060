package dev.adamant.zero.comm.inprocess;

import dev.adamant.zero.comm.CollectiveMismatchException;
import dev.adamant.zero.comm.CollectiveTimeoutException;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.GroupFailedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A group of {@code n} ranks that are threads of this JVM: the in-process backend of
 * {@link Communicator}, for tests, single-machine runs and the stage 0-3 benchmarks.
 *
 * <p>At each collective every rank publishes its call and segments, all meet at a barrier, then
 * each rank computes its own output by reading its peers' segments in rank order, and all meet
 * again before anyone may touch the buffers. Nothing is copied through intermediate buffers: a
 * reduce-scatter reads {@code N} input slices and writes one output slice per rank; an all-reduce
 * reduces about {@code T/N} elements per rank then copies the rest from its peers. The work is
 * spread evenly over the ranks' threads.
 *
 * <p><b>Memory.</b> Segments must be accessible from every thread: from {@code Arena.ofShared()},
 * {@code ofAuto()} or {@code global()}, or heap arrays (fine here, though a backend across processes
 * may want native memory); thread-confined segments are refused. A segment that a collective
 * writes must not overlap any segment another rank passes to the same call (each rank owns its
 * buffers, as separate processes would); this is checked, and all ranks get the same
 * {@link IllegalArgumentException} (as the cause of a {@link GroupFailedException} on all but the
 * rank that found it). Alignment is not required.
 *
 * <p><b>Failure.</b> Every wait at a barrier gives up after the group's timeout with a
 * {@link CollectiveTimeoutException} naming the collective, the ranks that had and had not arrived,
 * and where the missing ones were (in their own code, since which collective). A rank that fails
 * inside a collective, or whose task throws under {@link #run} or {@link #call}, fails the whole
 * group at once: ranks waiting wake with a {@link GroupFailedException} carrying the first failure
 * as its cause, and so does every later collective. Under {@link #run}, a rank that returns from its
 * task while others wait in a collective is a {@link CollectiveMismatchException}. A failed group
 * stays failed.
 *
 * <p><b>Interrupts.</b> A rank whose thread is interrupted fails the group with a
 * {@link GroupFailedException} naming the rank and the collective (cause: an
 * {@link InterruptedException}): at once if it is waiting in a collective, else when it enters its
 * next one or, under {@link #call}, when its task returns with the flag still set (so an interrupt
 * that lands while the task runs is never lost, even one that races with the end of a collective,
 * which then completes); a task that lets an {@code InterruptedException} escape fails it too. The
 * flag stays set. A task that handles an interrupt itself (clears the flag) is not failed.
 *
 * <p><b>Deadlines and stuck ranks.</b> Under {@link #call} nothing waits without a deadline:
 * <ul>
 * <li>a rank waiting in a collective for a peer that does not come fails the group after the
 *     timeout (above), whatever the peer is doing: computing, sleeping, stuck;
 * <li>the end of a run is a barrier too: once one rank has returned from its task, every other
 *     must return within the timeout, else the group fails with a {@link CollectiveTimeoutException}
 *     naming the ranks still running (so a task that never returns, with no collective at all,
 *     ends the call at its deadline);
 * <li>once the group has failed, {@code call} interrupts every rank thread still running, waits
 *     {@link #ABANDON_AFTER} for them to end, and then returns (throws) anyway. A thread still
 *     running then is <em>abandoned</em>: it is a daemon (it does not keep the JVM alive), its
 *     interrupt flag is set, each of its later collectives throws {@link GroupFailedException} at
 *     once ("abandoned"), {@link #abandoned()} lists it until it ends, and the exception {@code call}
 *     throws carries, as a suppressed exception, one report per abandoned rank with that thread's
 *     stack at the time. Its task's own code may still run until it notices: memory it writes is
 *     the caller's to free only once {@link #awaitAbandoned} says it has ended (segments of a
 *     closed shared arena are safe: their accesses fail).
 * </ul>
 * So {@code call} returns at most the timeout plus {@link #ABANDON_AFTER} after a rank first waits
 * in vain. A run in which no rank waits for another (every rank busy in its own code, or a single
 * rank) has no deadline: the timeout bounds waiting, not work; interrupt the thread that called
 * {@code call} to give up on it (the group then fails and its ranks are stopped as above).
 */
public final class InProcessGroup {
    /**
     * How long {@link #call}, once the group has failed, waits for its ranks' threads to end after
     * interrupting them, before it abandons those still running and returns. Long enough for a
     * thread woken from a wait to finish; short next to any sensible timeout.
     */
    public static final Duration ABANDON_AFTER = Duration.ofMillis(250);
    private static final AtomicLong GROUPS = new AtomicLong();
    private final long id = GROUPS.incrementAndGet();
    /** The threads {@link #call} gave up on; {@link #abandoned()} drops those that have ended. */
    private final List<Thread> abandoned = new CopyOnWriteArrayList<>();
    private final int size;
    private final Duration timeout;
    private final Rendezvous rendezvous;
    private final List<Communicator> communicators;
    private final AtomicBoolean running = new AtomicBoolean();

    private InProcessGroup(int size, Duration timeout) {
        this.size = size;
        this.timeout = timeout;
        this.rendezvous = new Rendezvous(size, timeout);
        List<Communicator> list = new ArrayList<>(size);
        for (int r = 0; r < size; r++) {
            list.add(new InProcessCommunicator(r, size, rendezvous));
        }
        this.communicators = Collections.unmodifiableList(list);
    }

    /**
     * A group of {@code n} ranks whose barrier waits give up after {@code timeout} (see the class
     * comment for what else it bounds).
     *
     * @throws IllegalArgumentException if {@code n < 1} or {@code timeout} is not positive
     * @throws NullPointerException if {@code timeout} is null
     */
    public static InProcessGroup create(int n, Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (n < 1) {
            throw new IllegalArgumentException("n: expected >= 1 ranks, got " + n);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: expected > 0, got " + timeout);
        }
        return new InProcessGroup(n, timeout);
    }

    /** Ranks in the group. */
    public int size() {
        return size;
    }

    /**
     * How long a rank waits at a barrier before the group fails, and, under {@link #call}, how long
     * the other ranks may run on after the first has returned from its task.
     */
    public Duration timeout() {
        return timeout;
    }

    /** Rank {@code rank}'s communicator, to drive from a thread of the caller's own. */
    public Communicator communicator(int rank) {
        Objects.checkIndex(rank, size);
        return communicators.get(rank);
    }

    /** All communicators, in rank order. */
    public List<Communicator> communicators() {
        return communicators;
    }

    /** Whether the group has failed: every further collective throws {@link GroupFailedException}. */
    public boolean isFailed() {
        return rendezvous.failure() != null;
    }

    /** What failed the group first, or null. */
    public Throwable failure() {
        return rendezvous.failure();
    }

    /**
     * The threads of ranks that {@link #call} abandoned (see the class comment) and that are still
     * alive, in rank order; empty unless the group failed.
     */
    public List<Thread> abandoned() {
        return abandoned.stream().filter(Thread::isAlive).toList();
    }

    /**
     * Waits up to {@code timeout} for every abandoned thread to end; returns whether none is left
     * alive. After {@code true}, no thread of this group touches the caller's memory any more.
     *
     * @throws InterruptedException if the calling thread is interrupted while waiting
     */
    public boolean awaitAbandoned(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Thread t : abandoned) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                t.join(Duration.ofNanos(left));
            }
        }
        return abandoned().isEmpty();
    }

    /** A rank's task, which may throw. */
    @FunctionalInterface
    public interface RankTask {
        void run(Communicator communicator) throws Exception;
    }

    /** A rank's task with a result. */
    @FunctionalInterface
    public interface RankFunction<T> {
        T apply(Communicator communicator) throws Exception;
    }

    /** {@link #call} without results. */
    public void run(RankTask task) {
        Objects.requireNonNull(task, "task");
        call(c -> {
            task.run(c);
            return null;
        });
    }

    /**
     * Runs {@code task} on {@code size()} new daemon platform threads, one per rank (named
     * {@code adamant-comm-<group>-rank-<r>}), and returns their results in rank order once all
     * have ended. If any rank throws, the group fails at once (see the class comment) and this
     * rethrows the group's first failure: unchanged if it is unchecked, else as the cause of a
     * {@link GroupFailedException} naming the rank. Before it does, it interrupts the ranks still
     * running and waits up to {@link #ABANDON_AFTER} for them; those that have not ended by then are
     * abandoned and reported (class comment, "Deadlines and stuck ranks"). Every other rank's thread
     * has ended when this returns or throws, so none of them touches the buffers any more.
     *
     * <p>If the calling thread is interrupted while it waits, the group fails with a
     * {@link GroupFailedException} saying so, the ranks are stopped as above, and this throws it
     * with the interrupt flag set again.
     *
     * @throws IllegalStateException if a run is already in progress on this group
     * @throws GroupFailedException if the group had already failed (nothing runs)
     */
    public <T> List<T> call(RankFunction<T> task) {
        Objects.requireNonNull(task, "task");
        Throwable earlier = rendezvous.failure();
        if (earlier != null) {
            throw new GroupFailedException("the group failed earlier; create a new one", earlier);
        }
        if (!running.compareAndSet(false, true)) {
            throw new IllegalStateException("a run is already in progress on this group");
        }
        try {
            rendezvous.clearRun();
            Object[] results = new Object[size];
            Thread[] threads = new Thread[size];
            for (int r = 0; r < size; r++) {
                int rank = r;
                try {
                    threads[r] = Thread.ofPlatform().daemon(true).name("adamant-comm-" + id + "-rank-" + r).start(() -> {
                        try {
                            results[rank] = task.apply(communicators.get(rank));
                            rendezvous.depart(rank, Thread.currentThread().isInterrupted());
                        } catch (Throwable t) {
                            rendezvous.fail(t, "rank " + rank);
                        } finally {
                            rendezvous.ended(rank);
                        }
                    });
                } catch (Throwable t) {   // no thread (OutOfMemoryError: unable to create native thread, ...)
                    rendezvous.fail(t, "starting rank " + rank + "'s thread");
                    for (int k = r; k < size; k++) {
                        rendezvous.ended(k);
                    }
                    break;
                }
            }
            boolean interrupted = false;
            try {
                rendezvous.awaitRun();
            } catch (InterruptedException e) {
                interrupted = true;
                rendezvous.fail(new GroupFailedException("the thread that called InProcessGroup.call was interrupted"
                        + " while the ranks ran; the run is given up", e), "the thread that called InProcessGroup.call");
            }
            Throwable failure = rendezvous.failure();
            if (failure != null) {
                stop(threads, failure);
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (failure instanceof Error e) {
                throw e;
            }
            if (failure != null) {
                throw new GroupFailedException(rendezvous.failureSource() + " failed: " + failure, failure);
            }
            rendezvous.clearRun();   // every thread has ended
            @SuppressWarnings("unchecked")
            List<T> list = (List<T>) Collections.unmodifiableList(Arrays.asList(results));
            return list;
        } finally {
            running.set(false);
        }
    }

    /**
     * After the group failed: interrupts the rank threads still running (those waiting in a
     * collective are already waking; the interrupt reaches those that sleep, wait or do I/O in their
     * own code), gives them {@link #ABANDON_AFTER} to end, and abandons the rest, each with a report
     * on {@code failure} that carries its thread's stack.
     */
    private void stop(Thread[] threads, Throwable failure) {
        for (int r = 0; r < size; r++) {
            if (threads[r] != null && !rendezvous.hasEnded(r)) {
                threads[r].interrupt();
            }
        }
        for (int r : rendezvous.awaitEnded(ABANDON_AFTER.toNanos())) {
            Thread t = threads[r];
            rendezvous.abandon(r);
            abandoned.add(t);
            GroupFailedException report = new GroupFailedException("rank " + r + " abandoned: its thread " + t.getName()
                    + " (" + t.getState() + ") had not ended " + ABANDON_AFTER.toMillis() + " ms after the group failed and"
                    + " it was interrupted; it is a daemon, its later collectives throw GroupFailedException, and"
                    + " InProcessGroup.abandoned() lists it until it ends. Its stack when abandoned is this exception's");
            report.setStackTrace(t.getStackTrace());
            failure.addSuppressed(report);
        }
    }

    @Override
    public String toString() {
        return "InProcessGroup[" + size + " ranks, timeout " + timeout.toMillis() + " ms"
                + (isFailed() ? ", failed" : "") + "]";
    }
}
