package dev.adamant.zero.comm.internal;

import dev.adamant.zero.comm.CommStats;

/**
 * The ring volume model that {@link CommStats} documents, in elements (callers multiply by the
 * element size). Every backend counts with these, whatever it really does, so that byte counts
 * compare across backends and against the ZeRO paper's formulas.
 */
public final class RingVolume {
    private RingVolume() {}

    /** First element of chunk {@code c} of {@code total} split in {@code n}: {@code c*total/n}, without overflow. */
    public static long chunkStart(int n, int c, long total) {
        long q = total / n, rem = total % n;
        return c * q + (c * rem) / n;
    }

    /** Elements in chunk {@code c}: {@code total/n} or one more. */
    public static long chunkSize(int n, int c, long total) {
        return chunkStart(n, c + 1, total) - chunkStart(n, c, total);
    }

    /** Elements sent, and also received, by a ring reduce-scatter or all-gather of {@code perRank} per rank. */
    public static long scatterOrGather(int n, long perRank) {
        return (n - 1) * perRank;
    }

    public static long allReduceSent(int n, int rank, long total) {
        return 2 * total - chunkSize(n, rank, total) - chunkSize(n, (rank + 1) % n, total);
    }

    public static long allReduceReceived(int n, int rank, long total) {
        return 2 * total - chunkSize(n, (rank - 1 + n) % n, total) - chunkSize(n, rank, total);
    }

    public static long broadcastSent(int n, int rank, int root, long total) {
        return n > 1 && rank != (root - 1 + n) % n ? total : 0;
    }

    public static long broadcastReceived(int rank, int root, long total) {
        return rank != root ? total : 0;
    }
}
