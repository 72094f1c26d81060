package dev.adamant.zero.comm;

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
    }

    /**
     * Waits until every rank has reached this phase. With {@code publish} (the first phase of a
     * collective) stores {@code call}, checks that all ranks' calls agree, and returns all of them in
     * rank order; otherwise returns null. {@code call} names the collective in messages.
     *
     * @throws GroupFailedException if the group failed before or while waiting; the rank that
     *     detects a timeout or a mismatch throws that exception itself, the others one whose cause it is
     * @throws IllegalArgumentException if this rank was the last to arrive and the ranks' buffers
     *     overlap (the others get a {@link GroupFailedException} with it as the cause)
     */
    Call[] await(int rank, Call call, boolean publish, int phase, int phases) {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            throwIfFailed(rank, call);
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
                    String what = call.describe() + (phases > 1 ? " (phase " + (phase + 1) + " of " + phases + ")" : "");
                    CollectiveTimeoutException e = new CollectiveTimeoutException("rank " + rank + " timed out after "
                            + timeout.toMillis() + " ms in " + what + ": arrived " + ranks(true) + ", missing " + ranks(false));
                    failLocked(e, "rank " + rank);
                    throw e;
                }
                try {
                    changed.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failLocked(e, "rank " + rank + " (interrupted in " + call.describe() + ")");
                    throw new GroupFailedException("rank " + rank + ": interrupted while waiting in "
                            + call.describe(), e);
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

    /** Records that {@code rank} returned from its task: a rank waiting for it now can never finish. */
    void depart(int rank) {
        lock.lock();
        try {
            departed[rank] = true;
            if (arrivedCount > 0 && failure == null) {
                failLocked(new CollectiveMismatchException("rank " + rank + " returned from its task while ranks "
                        + ranks(true) + " wait in " + firstPublished()), "rank " + rank);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Clears the departures at the start of a run. */
    void beginRun() {
        lock.lock();
        try {
            Arrays.fill(departed, false);
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
        }
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
