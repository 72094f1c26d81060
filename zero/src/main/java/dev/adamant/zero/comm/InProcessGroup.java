package dev.adamant.zero.comm;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The in-process backend under its 0.1 name: every member forwards to a
 * {@link dev.adamant.zero.comm.inprocess.InProcessGroup}, which has the documentation, so code
 * written against the old import compiles and runs unchanged. The nested {@link RankTask} and
 * {@link RankFunction} have the new ones' shape, so lambdas and method references fit either; a
 * group made here is not a new {@code InProcessGroup}, though, so keep to one name per program.
 *
 * @deprecated use {@link dev.adamant.zero.comm.inprocess.InProcessGroup}; this name goes in a later
 *     release.
 */
@Deprecated(since = "0.2", forRemoval = true)
public final class InProcessGroup {
    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#ABANDON_AFTER}. */
    public static final Duration ABANDON_AFTER = dev.adamant.zero.comm.inprocess.InProcessGroup.ABANDON_AFTER;

    private final dev.adamant.zero.comm.inprocess.InProcessGroup group;

    private InProcessGroup(dev.adamant.zero.comm.inprocess.InProcessGroup group) {
        this.group = group;
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#create}. */
    public static InProcessGroup create(int n, Duration timeout) {
        return new InProcessGroup(dev.adamant.zero.comm.inprocess.InProcessGroup.create(n, timeout));
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#size}. */
    public int size() {
        return group.size();
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#timeout}. */
    public Duration timeout() {
        return group.timeout();
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#communicator}. */
    public Communicator communicator(int rank) {
        return group.communicator(rank);
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#communicators}. */
    public List<Communicator> communicators() {
        return group.communicators();
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#isFailed}. */
    public boolean isFailed() {
        return group.isFailed();
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#failure}. */
    public Throwable failure() {
        return group.failure();
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#abandoned}. */
    public List<Thread> abandoned() {
        return group.abandoned();
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#awaitAbandoned}. */
    public boolean awaitAbandoned(Duration timeout) throws InterruptedException {
        return group.awaitAbandoned(timeout);
    }

    /**
     * {@link dev.adamant.zero.comm.inprocess.InProcessGroup.RankTask}.
     *
     * @deprecated use {@link dev.adamant.zero.comm.inprocess.InProcessGroup.RankTask}
     */
    @Deprecated(since = "0.2", forRemoval = true)
    @FunctionalInterface
    public interface RankTask {
        void run(Communicator communicator) throws Exception;
    }

    /**
     * {@link dev.adamant.zero.comm.inprocess.InProcessGroup.RankFunction}.
     *
     * @deprecated use {@link dev.adamant.zero.comm.inprocess.InProcessGroup.RankFunction}
     */
    @Deprecated(since = "0.2", forRemoval = true)
    @FunctionalInterface
    public interface RankFunction<T> {
        T apply(Communicator communicator) throws Exception;
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#run}. */
    public void run(RankTask task) {
        Objects.requireNonNull(task, "task");
        group.run(task::run);
    }

    /** {@link dev.adamant.zero.comm.inprocess.InProcessGroup#call}. */
    public <T> List<T> call(RankFunction<T> task) {
        Objects.requireNonNull(task, "task");
        return group.call(task::apply);
    }

    @Override
    public String toString() {
        return group.toString();
    }
}
