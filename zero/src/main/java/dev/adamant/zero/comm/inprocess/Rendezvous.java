package dev.adamant.zero.comm.inprocess;

import dev.adamant.zero.comm.Collective;
import dev.adamant.zero.comm.CollectiveMismatchException;
import dev.adamant.zero.comm.CollectiveTimeoutException;
import dev.adamant.zero.comm.GroupFailedException;
import dev.adamant.zero.comm.internal.Call;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The barrier an in-process group's ranks meet at, one generation per phase of a collective, that
 * can fail. Unlike {@link java.util.concurrent.CyclicBarrier} it carries a cause: once any rank
 * fails (throws, times out, leaves, or publishes a call the others do not agree with) every rank
 * waiting now or arriving later throws at once, with that first failure attached.
 *
 * <p>At the first phase of a collective each rank publishes its {@link Call}; the last to arrive
 * checks that they agree and hands every rank the same snapshot of them, so a rank may read its
 * peers' calls after the barrier without further locking (the lock orders the writes before them).
 *
 * <p>Under {@link InProcessGroup#call} it also tracks the run: which ranks' tasks have returned
 * (a rank that returns while others wait can never be met), which threads have ended, and which
 * ranks the group gave up on ({@link #abandon}). The end of a run is a barrier too: once one rank
 * has returned, the others must return within the timeout ({@link #awaitRun}).
 *
 * <p>An interrupted rank fails the group: one whose interrupt flag is set when it enters a phase
 * or when its task returns, or that is interrupted while it waits.
 */
final class Rendezvous {
    private final int size;
    private final Duration timeout;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** The calls of the ranks waiting in the current phase (for messages and, at a first phase, the check). */
    private final Call[] published;
    private final boolean[] arrived;
    private final boolean[] departed;
    /** The last collective each rank entered, for messages about the ranks that are missing. */
    private final Collective[] lastKind;
    private final long[] lastSeq;
    /** Signalled when a rank returns from its task or its thread ends, or the group fails: {@link #awaitRun}'s. */
    private final Condition runChanged = lock.newCondition();
    private final boolean[] ended;
    private final boolean[] abandoned;
    private int departedCount;
    private int endedCount;
    private long firstDepartureNanos;
    private int arrivedCount;
    private long generation;
    private Call[] snapshot;
    /** The first failure: what broke the group. */
    private Throwable failure;
    private String failureSource;

    Rendezvous(int size, Duration timeout) {
        this.size = size;
        this.timeout = timeout;
        this.published = new Call[size];
        this.arrived = new boolean[size];
        this.departed = new boolean[size];
        this.lastKind = new Collective[size];
        this.lastSeq = new long[size];
        this.ended = new boolean[size];
        this.abandoned = new boolean[size];
    }

    /**
     * Waits until every rank has reached this phase. With {@code publish} (the first phase of a
     * collective) stores {@code call}, checks that all ranks' calls agree, and returns all of them in
     * rank order; otherwise returns null. {@code call} names the collective in messages.
     *
     * @throws GroupFailedException if the group failed before or while waiting, or this thread is
     *     interrupted (its flag set on entry, or interrupted while waiting; the flag stays set); the
     *     rank that detects a timeout, a mismatch or its own interruption throws that exception
     *     itself, the others one whose cause it is
     * @throws IllegalArgumentException if this rank was the last to arrive and the ranks' buffers
     *     overlap (the others get a {@link GroupFailedException} with it as the cause)
     */
    Call[] await(int rank, Call call, boolean publish, int phase, int phases) {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            throwIfFailed(rank, call);
            if (Thread.currentThread().isInterrupted()) {
                // As a blocking method would: a rank whose thread was interrupted while it computed
                // fails here, whether or not it would have had to wait.
                GroupFailedException e = new GroupFailedException("rank " + rank + " was interrupted: its thread's"
                        + " interrupt flag was set on entering " + describe(call, phase, phases),
                        new InterruptedException("interrupt flag set on entering " + call.describe()));
                failLocked(e, "rank " + rank);
                throw e;
            }
            if (phase == 0) {
                lastKind[rank] = call.kind();
                lastSeq[rank] = call.seq();
            }
            for (int r = 0; r < size; r++) {
                if (departed[r]) {
                    failLocked(new CollectiveMismatchException("rank " + rank + " called " + call.describe()
                            + ", but rank " + r + " had already returned from its task"), "rank " + rank);
                    throw (GroupFailedException) failure;
                }
            }
            long myGeneration = generation;
            arrived[rank] = true;
            published[rank] = call;
            if (++arrivedCount == size) {
                Call[] calls = publish ? published.clone() : null;
                RuntimeException problem = publish ? Call.checkGroup(calls) : null;
                if (problem != null) {
                    failLocked(problem, "rank " + rank);
                    throw problem;
                }
                snapshot = calls;
                Arrays.fill(published, null);
                Arrays.fill(arrived, false);
                arrivedCount = 0;
                generation++;
                changed.signalAll();
                return calls;
            }
            while (generation == myGeneration) {
                throwIfFailed(rank, call);
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    List<Integer> missing = ranks(false);
                    CollectiveTimeoutException e = new CollectiveTimeoutException("rank " + rank + " timed out after "
                            + timeout.toMillis() + " ms in " + describe(call, phase, phases) + ": arrived " + ranks(true)
                            + ", missing " + missing + " (" + whereabouts(missing) + ")");
                    failLocked(e, "rank " + rank);
                    throw e;
                }
                try {
                    changed.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throwIfFailed(rank, call);   // interrupted because the group failed: report that failure
                    GroupFailedException g = new GroupFailedException("rank " + rank + " was interrupted while waiting in "
                            + describe(call, phase, phases) + " (arrived " + ranks(true) + ", missing " + ranks(false) + ")", e);
                    failLocked(g, "rank " + rank);
                    throw g;
                }
            }
            return snapshot;
        } finally {
            lock.unlock();
        }
    }

    /** Fails the group with {@code cause} unless it failed already; wakes every waiting rank. */
    void fail(Throwable cause, String source) {
        lock.lock();
        try {
            failLocked(cause, source);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Records that {@code rank} returned from its task: a rank waiting for it now can never finish,
     * and the others must now return within the timeout (see {@link #awaitRun}). With
     * {@code interrupted} (its thread's flag was still set) the group fails: an interrupt that
     * raced with the completion of the rank's last collective, or that landed after it, would
     * otherwise go unseen.
     */
    void depart(int rank, boolean interrupted) {
        lock.lock();
        try {
            if (interrupted) {
                failLocked(new GroupFailedException("rank " + rank + " was interrupted: its thread's interrupt flag was set"
                        + " when its task returned (" + (lastKind[rank] == null ? "it made no collective"
                        : "its last collective: " + last(rank)) + ")",
                        new InterruptedException("interrupt flag set when rank " + rank + "'s task returned")), "rank " + rank);
            }
            departed[rank] = true;
            if (departedCount++ == 0) {
                firstDepartureNanos = System.nanoTime();
            }
            runChanged.signalAll();
            if (arrivedCount > 0 && failure == null) {
                failLocked(new CollectiveMismatchException("rank " + rank + " returned from its task while ranks "
                        + ranks(true) + " wait in " + firstPublished()), "rank " + rank);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Records that {@code rank}'s thread under {@link InProcessGroup#call} has finished its task, either way. */
    void ended(int rank) {
        lock.lock();
        try {
            if (!ended[rank]) {
                ended[rank] = true;
                endedCount++;
                runChanged.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Clears the departures and ends, at the start of a run and after one that succeeded (so that
     * threads of the caller's own may drive the communicators afterwards).
     */
    void clearRun() {
        lock.lock();
        try {
            Arrays.fill(departed, false);
            Arrays.fill(ended, false);
            departedCount = 0;
            endedCount = 0;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The caller's side of a run: waits until every rank's thread has ended or the group has failed.
     * Once a rank has returned from its task, the others must return within the timeout, as if the
     * end of the run were one more barrier; if they do not, this fails the group with a
     * {@link CollectiveTimeoutException} naming them. Nothing bounds a run in which no rank waits for
     * another (every rank busy in its own code): the timeout bounds waiting, not work.
     *
     * @throws InterruptedException if the calling thread is interrupted (the group is not failed here)
     */
    void awaitRun() throws InterruptedException {
        lock.lock();
        try {
            while (endedCount < size && failure == null) {
                if (departedCount == 0 || departedCount == size) {
                    runChanged.await();
                    continue;
                }
                long left = firstDepartureNanos + timeout.toNanos() - System.nanoTime();
                if (left <= 0) {
                    List<Integer> returned = new ArrayList<>(), running = new ArrayList<>();
                    for (int r = 0; r < size; r++) {
                        (departed[r] ? returned : running).add(r);
                    }
                    failLocked(new CollectiveTimeoutException("timed out after " + timeout.toMillis()
                            + " ms waiting for every rank to return from its task: returned " + returned
                            + ", still running " + running + " (" + whereabouts(running) + ")"),
                            "the thread that called InProcessGroup.call");
                    return;
                }
                runChanged.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits up to {@code nanos} for every rank's thread to end; returns the ranks whose threads have
     * not. Returns early, with them, if the calling thread is interrupted (its flag set again).
     */
    List<Integer> awaitEnded(long nanos) {
        long deadline = System.nanoTime() + nanos;
        lock.lock();
        try {
            long left;
            while (endedCount < size && (left = deadline - System.nanoTime()) > 0) {
                try {
                    runChanged.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            List<Integer> running = new ArrayList<>();
            for (int r = 0; r < size; r++) {
                if (!ended[r]) {
                    running.add(r);
                }
            }
            return running;
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code rank}'s thread has finished its task in the current run. */
    boolean hasEnded(int rank) {
        lock.lock();
        try {
            return ended[rank];
        } finally {
            lock.unlock();
        }
    }

    /**
     * Marks {@code rank} as given up on by {@link InProcessGroup#call}: the group has failed, and the
     * messages of this rank's later collectives say that it was abandoned.
     */
    void abandon(int rank) {
        lock.lock();
        try {
            abandoned[rank] = true;
        } finally {
            lock.unlock();
        }
    }

    /** Who found the first failure ("rank 2", ...), or null. */
    String failureSource() {
        lock.lock();
        try {
            return failureSource;
        } finally {
            lock.unlock();
        }
    }

    /** The first failure, or null. */
    Throwable failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    void throwIfFailed(int rank, Call call) {
        lock.lock();
        try {
            if (failure != null && abandoned[rank]) {
                throw new GroupFailedException("rank " + rank + ": " + call.describe() + " refused: InProcessGroup.call"
                        + " abandoned this rank (its thread did not end after the group failed and it was interrupted);"
                        + " the group failed (" + failureSource + ": " + failure + ")", failure);
            }
            if (failure != null) {
                throw new GroupFailedException("rank " + rank + ": " + call.describe() + " abandoned: the group failed ("
                        + failureSource + ": " + failure + ")", failure);
            }
        } finally {
            lock.unlock();
        }
    }

    private void failLocked(Throwable cause, String source) {
        if (failure == null) {
            failure = cause;
            failureSource = source;
            changed.signalAll();
            runChanged.signalAll();
        }
    }

    private static String describe(Call call, int phase, int phases) {
        return call.describe() + (phases > 1 ? " (phase " + (phase + 1) + " of " + phases + ")" : "");
    }

    /** Where the given ranks are, none of them in the current phase: "rank 2 in its own code since barrier #4". */
    private String whereabouts(List<Integer> ranks) {
        StringBuilder b = new StringBuilder();
        for (int r : ranks) {
            b.append(b.isEmpty() ? "" : "; ").append("rank ").append(r).append(' ');
            if (ended[r]) {
                b.append("has ended");
            } else if (departed[r]) {
                b.append("has returned from its task");
            } else {
                b.append("in its own code, outside any collective, ")
                        .append(lastKind[r] == null ? "before its first" : "since " + last(r));
            }
        }
        return b.toString();
    }

    /** The last collective rank {@code r} entered, "barrier #4"; there is one. */
    private String last(int r) {
        return lastKind[r].methodName() + " #" + lastSeq[r];
    }

    private String firstPublished() {
        for (Call c : published) {
            if (c != null) {
                return c.describe();
            }
        }
        return "a collective";
    }

    private List<Integer> ranks(boolean present) {
        List<Integer> list = new ArrayList<>();
        for (int r = 0; r < size; r++) {
            if (arrived[r] == present) {
                list.add(r);
            }
        }
        return list;
    }

}
