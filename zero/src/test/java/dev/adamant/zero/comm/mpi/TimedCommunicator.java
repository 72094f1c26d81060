package dev.adamant.zero.comm.mpi;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.ReduceOp;
import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

/**
 * A communicator that adds up the wall time its caller spends inside collectives (waiting for the
 * other ranks included): what a step's communication costs the step, for the measurements against
 * the planner. Delegates everything; one thread at a time, as the communicator it wraps.
 */
final class TimedCommunicator implements Communicator {
    private final Communicator inner;
    private long nanos;

    TimedCommunicator(Communicator inner) {
        this.inner = inner;
    }

    /** Nanoseconds spent in collectives so far. */
    long nanos() {
        return nanos;
    }

    private void timed(Runnable collective) {
        long start = System.nanoTime();
        try {
            collective.run();
        } finally {
            nanos += System.nanoTime() - start;
        }
    }

    private <T> T timed(Supplier<T> collective) {
        long start = System.nanoTime();
        try {
            return collective.get();
        } finally {
            nanos += System.nanoTime() - start;
        }
    }

    @Override public int rank() { return inner.rank(); }
    @Override public int size() { return inner.size(); }
    @Override public CommStats stats() { return inner.stats(); }
    @Override public void resetStats() { inner.resetStats(); }

    @Override
    public void reduceScatter(MemorySegment send, MemorySegment recv, Precision precision) {
        timed(() -> inner.reduceScatter(send, recv, precision));
    }

    @Override
    public void reduce(MemorySegment send, MemorySegment recv, Precision precision, int root) {
        timed(() -> inner.reduce(send, recv, precision, root));
    }

    @Override
    public void allGather(MemorySegment send, MemorySegment recv, Precision precision) {
        timed(() -> inner.allGather(send, recv, precision));
    }

    @Override
    public void allGatherInPlace(MemorySegment buffer, Precision precision) {
        timed(() -> inner.allGatherInPlace(buffer, precision));
    }

    @Override
    public void allReduce(MemorySegment buffer, Precision precision, ReduceOp op) {
        timed(() -> inner.allReduce(buffer, precision, op));
    }

    @Override
    public void broadcast(MemorySegment buffer, Precision precision, int root) {
        timed(() -> inner.broadcast(buffer, precision, root));
    }

    @Override
    public void barrier() {
        timed(inner::barrier);
    }

    @Override
    public float allReduceMax(float value) {
        return timed(() -> inner.allReduceMax(value));
    }

    @Override
    public boolean anyTrue(boolean value) {
        return timed(() -> inner.anyTrue(value));
    }

    @Override
    public double[] allGatherDoubles(double[] local) {
        return timed(() -> inner.allGatherDoubles(local));
    }
}
