package dev.adamant.zero.comm;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

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
 * {@link CollectiveTimeoutException} naming the collective and the ranks that had and had not
 * arrived. A rank that fails inside a collective, or whose task throws under {@link #run} or
 * {@link #call}, fails the whole group at once: ranks waiting wake with a
 * {@link GroupFailedException} carrying the first failure as its cause, and so does every later
 * collective. Under {@link #run}, a rank that returns from its task while others wait in a
 * collective is a {@link CollectiveMismatchException}. A failed group stays failed.
 */
public final class InProcessGroup {
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
     * A group of {@code n} ranks whose barrier waits give up after {@code timeout}.
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

    /** How long a rank waits at a barrier before the group fails. */
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
     * Runs {@code task} on {@code size()} new platform threads, one per rank, and returns their
     * results in rank order once all have ended. If any rank throws, the group fails at once (see
     * the class comment), and once every thread has ended this rethrows the group's first failure:
     * unchanged if it is unchecked, else as the cause of a {@link GroupFailedException}. A rank
     * busy outside a collective notices the failure at its next collective; this method waits for it,
     * so no rank touches the buffers after it returns or throws.
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
            rendezvous.beginRun();
            Object[] results = new Object[size];
            Thread[] threads = new Thread[size];
            for (int r = 0; r < size; r++) {
                int rank = r;
                threads[r] = Thread.ofPlatform().name("adamant-comm-rank-" + r).start(() -> {
                    try {
                        results[rank] = task.apply(communicators.get(rank));
                        rendezvous.depart(rank);
                    } catch (Throwable t) {
                        rendezvous.fail(t, "rank " + rank);
                    }
                });
            }
            boolean interrupted = false;
            for (Thread t : threads) {
                while (true) {
                    try {
                        t.join();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                        rendezvous.fail(e, "the thread that called InProcessGroup.call (interrupted)");
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            Throwable failure = rendezvous.failure();
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (failure instanceof Error e) {
                throw e;
            }
            if (failure != null) {
                throw new GroupFailedException("a rank failed: " + failure, failure);
            }
            @SuppressWarnings("unchecked")
            List<T> list = (List<T>) Collections.unmodifiableList(Arrays.asList(results));
            return list;
        } finally {
            running.set(false);
        }
    }

    @Override
    public String toString() {
        return "InProcessGroup[" + size + " ranks, timeout " + timeout.toMillis() + " ms"
                + (isFailed() ? ", failed" : "") + "]";
    }
}
