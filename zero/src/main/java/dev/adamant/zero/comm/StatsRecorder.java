package dev.adamant.zero.comm;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One rank's running byte counts. Atomic so that another thread may take a snapshot while the
 * rank works (the snapshot is then some consistent-per-counter mix of before and after).
 */
final class StatsRecorder {
    private static final int KINDS = Collective.values().length;
    private final AtomicLongArray calls = new AtomicLongArray(KINDS);
    private final AtomicLongArray sent = new AtomicLongArray(KINDS);
    private final AtomicLongArray received = new AtomicLongArray(KINDS);

    void record(Collective kind, long bytesSent, long bytesReceived) {
        int i = kind.ordinal();
        calls.incrementAndGet(i);
        sent.addAndGet(i, bytesSent);
        received.addAndGet(i, bytesReceived);
    }

    CommStats snapshot() {
        long[] c = new long[KINDS], s = new long[KINDS], r = new long[KINDS];
        for (int i = 0; i < KINDS; i++) {
            c[i] = calls.get(i);
            s[i] = sent.get(i);
            r[i] = received.get(i);
        }
        return new CommStats(c, s, r);
    }

    void reset() {
        for (int i = 0; i < KINDS; i++) {
            calls.set(i, 0);
            sent.set(i, 0);
            received.set(i, 0);
        }
    }
}
