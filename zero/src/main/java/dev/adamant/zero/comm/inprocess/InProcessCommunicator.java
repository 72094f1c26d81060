package dev.adamant.zero.comm.inprocess;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.Collective;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.internal.Call;
import dev.adamant.zero.comm.internal.CommChecks;
import dev.adamant.zero.comm.internal.Reduction;
import dev.adamant.zero.comm.internal.RingVolume;
import dev.adamant.zero.comm.internal.StatsRecorder;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One rank of an {@link InProcessGroup}. Every collective has the same shape: check this rank's
 * arguments, publish the call at the group's {@link Rendezvous} (phase 1, where the ranks' calls
 * are checked against each other), compute this rank's own output by reading the peers' published
 * segments in rank order, then meet again so that no rank reuses a buffer a peer may still be
 * reading. All-reduce has a third phase: reduce own chunk in place, meet, gather the others' chunks, meet.
 */
final class InProcessCommunicator implements Communicator {
    private final int rank;
    private final int size;
    /** The segment check of every collective: the other ranks' threads touch this rank's buffers. */
    private final CommChecks.SegmentCheck check;
    private final Rendezvous rendezvous;
    private final Reduction reduction = new Reduction();
    private final StatsRecorder stats = new StatsRecorder();
    private final AtomicReference<Thread> busy = new AtomicReference<>();
    private long seq;

    InProcessCommunicator(int rank, int size, Rendezvous rendezvous) {
        this.rank = rank;
        this.size = size;
        this.check = (name, segment, precision, writable) -> CommChecks.elements(name, segment, precision, writable, size);
        this.rendezvous = rendezvous;
    }

    @Override public int rank() { return rank; }
    @Override public int size() { return size; }

    @Override
    public void reduceScatter(MemorySegment send, MemorySegment recv, Precision precision) {
        long p = CommChecks.reduceScatter(check, send, recv, precision, rank, size);
        long sliceBytes = p * precision.bytes();
        Call call = Call.data(Collective.REDUCE_SCATTER, seq, precision, ReduceOp.SUM, p, -1, "send", send, "recv", recv);
        run(call, () -> {
            Call[] calls = rendezvous.await(rank, call, true, 0, 2);
            MemorySegment[] inputs = new MemorySegment[size];
            for (int k = 0; k < size; k++) {
                inputs[k] = calls[k].read().asSlice(rank * sliceBytes, sliceBytes);
            }
            reduction.reduce(inputs, recv, p, precision, ReduceOp.SUM);
            rendezvous.await(rank, call, false, 1, 2);
            stats.scatterOrGather(Collective.REDUCE_SCATTER, size, p, precision.bytes());
        });
    }

    @Override
    public void reduce(MemorySegment send, MemorySegment recv, Precision precision, int root) {
        long count = CommChecks.reduce(check, send, recv, precision, root, rank, size);
        boolean isRoot = rank == root;
        Call call = Call.data(Collective.REDUCE, seq, precision, ReduceOp.SUM, count, root, "send", send,
                isRoot ? "recv" : null, isRoot ? recv : null);
        run(call, () -> {
            Call[] calls = rendezvous.await(rank, call, true, 0, 2);
            if (isRoot) {
                MemorySegment[] inputs = new MemorySegment[size];
                for (int k = 0; k < size; k++) {
                    inputs[k] = calls[k].read();
                }
                reduction.reduce(inputs, recv, count, precision, ReduceOp.SUM);
            }
            rendezvous.await(rank, call, false, 1, 2);
            stats.reduce(size, isRoot, count, precision.bytes());
        });
    }

    @Override
    public void allGather(MemorySegment send, MemorySegment recv, Precision precision) {
        long p = CommChecks.allGather(check, send, recv, precision, rank, size);
        gather(send, "send", recv, "recv", p, precision);
    }

    @Override
    public void allGatherInPlace(MemorySegment buffer, Precision precision) {
        long p = CommChecks.allGatherInPlace(check, buffer, precision, size);
        long sliceBytes = p * precision.bytes();
        gather(buffer.asSlice(rank * sliceBytes, sliceBytes), "buffer", buffer, "buffer", p, precision);
    }

    private void gather(MemorySegment send, String sendName, MemorySegment recv, String recvName, long p,
                        Precision precision) {
        Call call = Call.data(Collective.ALL_GATHER, seq, precision, null, p, -1, sendName, send, recvName, recv);
        run(call, () -> {
            Call[] calls = rendezvous.await(rank, call, true, 0, 2);
            long sliceBytes = p * precision.bytes();
            for (int j = 0; j < size; j++) {
                MemorySegment target = recv.asSlice(j * sliceBytes, sliceBytes);
                if (!(j == rank && target.asOverlappingSlice(send).isPresent())) {
                    MemorySegment.copy(calls[j].read(), 0, target, 0, sliceBytes);
                }
            }
            rendezvous.await(rank, call, false, 1, 2);
            stats.scatterOrGather(Collective.ALL_GATHER, size, p, precision.bytes());
        });
    }

    @Override
    public void allReduce(MemorySegment buffer, Precision precision, ReduceOp op) {
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(op, "op");
        long total = CommChecks.elements("buffer", buffer, precision, true, size);
        Call call = Call.data(Collective.ALL_REDUCE, seq, precision, op, total, -1, "buffer", buffer, "buffer", buffer);
        run(call, () -> {
            Call[] calls = rendezvous.await(rank, call, true, 0, 3);
            int b = precision.bytes();
            // Phase 2: reduce chunk `rank` of every buffer into our own buffer's chunk. Only this rank
            // touches chunk `rank` of any buffer in this phase.
            long from = RingVolume.chunkStart(size, rank, total);
            long count = RingVolume.chunkSize(size, rank, total);
            MemorySegment[] inputs = new MemorySegment[size];
            for (int k = 0; k < size; k++) {
                inputs[k] = calls[k].read().asSlice(from * b, count * b);
            }
            reduction.reduce(inputs, buffer.asSlice(from * b, count * b), count, precision, op);
            rendezvous.await(rank, call, false, 1, 3);
            // Phase 3: copy chunk j from rank j, which no longer writes it.
            for (int j = 0; j < size; j++) {
                if (j != rank) {
                    long start = RingVolume.chunkStart(size, j, total) * b;
                    long bytes = RingVolume.chunkSize(size, j, total) * b;
                    MemorySegment.copy(calls[j].read(), start, buffer, start, bytes);
                }
            }
            rendezvous.await(rank, call, false, 2, 3);
            stats.allReduce(size, rank, total, b);
        });
    }

    @Override
    public void broadcast(MemorySegment buffer, Precision precision, int root) {
        Objects.requireNonNull(precision, "precision");
        CommChecks.root(root, size);
        boolean isRoot = rank == root;
        long total = CommChecks.elements("buffer", buffer, precision, !isRoot, size);
        Call call = isRoot
                ? Call.data(Collective.BROADCAST, seq, precision, null, total, root, "buffer", buffer, null, null)
                : Call.data(Collective.BROADCAST, seq, precision, null, total, root, null, null, "buffer", buffer);
        run(call, () -> {
            Call[] calls = rendezvous.await(rank, call, true, 0, 2);
            if (!isRoot) {
                MemorySegment.copy(calls[root].read(), 0, buffer, 0, buffer.byteSize());
            }
            rendezvous.await(rank, call, false, 1, 2);
            stats.broadcast(size, rank, root, total, precision.bytes());
        });
    }

    @Override
    public void barrier() {
        Call call = Call.control(Collective.BARRIER, seq, 0, 0f, false, null);
        run(call, () -> {
            rendezvous.await(rank, call, true, 0, 1);
            stats.record(Collective.BARRIER, 0, 0);
        });
    }

    @Override
    public float allReduceMax(float value) {
        Call call = Call.control(Collective.ALL_REDUCE_MAX, seq, 1, value, false, null);
        float[] result = new float[1];
        run(call, () -> {
            result[0] = Call.maxOf(rendezvous.await(rank, call, true, 0, 1));
            stats.scatterOrGather(Collective.ALL_REDUCE_MAX, size, 1, Float.BYTES);
        });
        return result[0];
    }

    @Override
    public boolean anyTrue(boolean value) {
        Call call = Call.control(Collective.ANY_TRUE, seq, 1, 0f, value, null);
        boolean[] result = new boolean[1];
        run(call, () -> {
            result[0] = Call.anyOf(rendezvous.await(rank, call, true, 0, 1));
            stats.scatterOrGather(Collective.ANY_TRUE, size, 1, 1);
        });
        return result[0];
    }

    @Override
    public double[] allGatherDoubles(double[] local) {
        Objects.requireNonNull(local, "local");
        // Published as a copy: the caller may change its array as soon as this returns, before a peer reads it.
        double[] mine = local.clone();
        Call call = Call.control(Collective.ALL_GATHER_DOUBLES, seq, mine.length, 0f, false, mine);
        double[] all = new double[Math.multiplyExact(size, mine.length)];
        run(call, () -> {
            Call[] calls = rendezvous.await(rank, call, true, 0, 1);
            for (int k = 0; k < size; k++) {
                System.arraycopy(calls[k].doubles(), 0, all, k * mine.length, mine.length);
            }
            stats.scatterOrGather(Collective.ALL_GATHER_DOUBLES, size, mine.length, Double.BYTES);
        });
        return all;
    }

    @Override
    public CommStats stats() {
        return stats.snapshot();
    }

    @Override
    public void resetStats() {
        stats.reset();
    }

    /**
     * Runs one collective's rendezvous and work. A failure after this rank has joined its peers
     * breaks the group, so that they do not wait for a rank that has left.
     */
    private void run(Call call, Runnable body) {
        Thread me = Thread.currentThread();
        Thread other = busy.compareAndExchange(null, me);
        if (other != null) {
            throw new IllegalStateException("rank " + rank + ": " + call.describe() + " called while "
                    + (other == me ? "this thread" : "thread " + other.getName())
                    + " is in another collective on the same rank; a communicator serves one thread at a time");
        }
        seq++;
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            rendezvous.fail(e, "rank " + rank + " in " + call.describe());
            throw e;
        } finally {
            busy.set(null);
        }
    }

    @Override
    public String toString() {
        return "InProcessCommunicator[rank " + rank + " of " + size + "]";
    }
}
