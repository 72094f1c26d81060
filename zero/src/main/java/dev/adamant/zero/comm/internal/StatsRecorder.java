package dev.adamant.zero.comm.internal;

import dev.adamant.zero.comm.Collective;
import dev.adamant.zero.comm.CommStats;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One rank's running byte counts. Atomic so that another thread may take a snapshot while the
 * rank works (the snapshot is then some consistent-per-counter mix of before and after).
 */
public final class StatsRecorder {
    private static final int KINDS = Collective.values().length;
    private final AtomicLongArray calls = new AtomicLongArray(KINDS);
    private final AtomicLongArray sent = new AtomicLongArray(KINDS);
    private final AtomicLongArray received = new AtomicLongArray(KINDS);

    public void record(Collective kind, long bytesSent, long bytesReceived) {
        int i = kind.ordinal();
        calls.incrementAndGet(i);
        sent.addAndGet(i, bytesSent);
        received.addAndGet(i, bytesReceived);
    }

    /** A reduce-scatter or all-gather of {@code perRank} elements of {@code bytes} bytes each, per the ring model. */
    public void scatterOrGather(Collective kind, int size, long perRank, int bytes) {
        long b = RingVolume.scatterOrGather(size, perRank) * bytes;
        record(kind, b, b);
    }

    /** A reduce of {@code count} elements to {@code root}: each non-root sends its buffer, the root receives N-1. */
    public void reduce(int size, boolean isRoot, long count, int bytes) {
        long b = count * bytes;
        record(Collective.REDUCE, isRoot ? 0 : b, isRoot ? (size - 1) * b : 0);
    }

    /** An all-reduce of {@code total} elements on {@code rank}, per the ring model. */
    public void allReduce(int size, int rank, long total, int bytes) {
        record(Collective.ALL_REDUCE, RingVolume.allReduceSent(size, rank, total) * bytes,
                RingVolume.allReduceReceived(size, rank, total) * bytes);
    }

    /** A broadcast of {@code total} elements from {@code root}, per the chain model. */
    public void broadcast(int size, int rank, int root, long total, int bytes) {
        record(Collective.BROADCAST, RingVolume.broadcastSent(size, rank, root, total) * bytes,
                RingVolume.broadcastReceived(rank, root, total) * bytes);
    }

    public CommStats snapshot() {
        long[] c = new long[KINDS], s = new long[KINDS], r = new long[KINDS];
        for (int i = 0; i < KINDS; i++) {
            c[i] = calls.get(i);
            s[i] = sent.get(i);
            r[i] = received.get(i);
        }
        return CommStats.of(c, s, r);
    }

    public void reset() {
        for (int i = 0; i < KINDS; i++) {
            calls.set(i, 0);
            sent.set(i, 0);
            received.set(i, 0);
        }
    }
}
