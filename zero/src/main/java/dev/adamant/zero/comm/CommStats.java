package dev.adamant.zero.comm;

import java.util.Arrays;
import java.util.Objects;

/**
 * Bytes one rank sent and received, per {@link Collective}, as a ring algorithm would move them
 * (the volume model of the ZeRO paper, Rajbhandari et al. 2020, section 7). An immutable snapshot:
 * {@link Communicator#stats()} returns a new one each call.
 *
 * <p>The model, for {@code N} ranks and {@code b} bytes per element (only completed collectives count):
 * <ul>
 *   <li><b>reduceScatter</b>, send of {@code N*P} elements: sends and receives {@code (N-1)*P*b}.
 *   <li><b>allGather</b> (either form), recv of {@code N*P}: sends and receives {@code (N-1)*P*b}.
 *   <li><b>allReduce</b> of {@code T} elements: a ring reduce-scatter then a ring all-gather over
 *       {@code N} chunks, chunk {@code c} being elements {@code [c*T/N, (c+1)*T/N)} (so chunk sizes
 *       differ by at most one when {@code N} does not divide {@code T}). After the reduce-scatter
 *       rank {@code r} holds chunk {@code r}. Rank {@code r} sends every chunk but {@code r} in the
 *       first phase and every chunk but {@code r+1} in the second, and receives every chunk but
 *       {@code r-1}, then every chunk but {@code r} (indices mod {@code N}): sent
 *       {@code 2T - |chunk r| - |chunk r+1|}, received {@code 2T - |chunk r-1| - |chunk r|}, each
 *       times {@code b}. That is {@code 2(N-1)T/N * b} exactly when {@code N} divides {@code T}; over
 *       the group, sent and received both total {@code 2(N-1)T*b} for any {@code T}.
 *   <li><b>broadcast</b> of {@code T} elements: a pipelined chain {@code root -> root+1 -> ... -> root-1}:
 *       every rank but the root receives {@code T*b}; every rank but the last of the chain
 *       ({@code root-1 mod N}) sends {@code T*b}. Group totals: {@code (N-1)T*b} each way.
 *   <li><b>control</b>: {@code allReduceMax} (4 bytes), {@code anyTrue} (1 byte) and
 *       {@code allGatherDoubles} ({@code 8L} bytes per rank) count as a ring all-gather of each
 *       rank's value: {@code (N-1)} values sent and received. {@code barrier} moves nothing.
 * </ul>
 * With one rank everything is 0 bytes. {@link #bytesSent()} and {@link #bytesReceived()} cover the
 * data collectives only; the control ones are in {@link #controlBytesSent()} and
 * {@link #controlBytesReceived()}.
 */
public final class CommStats {
    private static final Collective[] KINDS = Collective.values();
    private static final CommStats ZERO = new CommStats(new long[KINDS.length], new long[KINDS.length],
            new long[KINDS.length]);

    private final long[] calls;
    private final long[] sent;
    private final long[] received;

    CommStats(long[] calls, long[] sent, long[] received) {
        this.calls = calls;
        this.sent = sent;
        this.received = received;
    }

    /**
     * A snapshot of counts indexed by {@link Collective#ordinal()}: completed calls, bytes sent and
     * bytes received per the model above. For backends, which keep running counts and hand out
     * snapshots; the arrays are copied.
     *
     * @throws NullPointerException if an array is null
     * @throws IllegalArgumentException if an array's length is not the number of collectives
     */
    public static CommStats of(long[] calls, long[] bytesSent, long[] bytesReceived) {
        return new CommStats(copy("calls", calls), copy("bytesSent", bytesSent), copy("bytesReceived", bytesReceived));
    }

    private static long[] copy(String name, long[] counts) {
        Objects.requireNonNull(counts, name);
        if (counts.length != KINDS.length) {
            throw new IllegalArgumentException(name + ": expected " + KINDS.length + " counts (one per Collective), got "
                    + counts.length);
        }
        return counts.clone();
    }

    /** No calls, no bytes. */
    public static CommStats zero() {
        return ZERO;
    }

    /** Completed calls of {@code kind}. */
    public long calls(Collective kind) {
        return calls[kind.ordinal()];
    }

    /** Bytes sent by {@code kind}'s completed calls, per the ring model. */
    public long bytesSent(Collective kind) {
        return sent[kind.ordinal()];
    }

    /** Bytes received by {@code kind}'s completed calls, per the ring model. */
    public long bytesReceived(Collective kind) {
        return received[kind.ordinal()];
    }

    /** Bytes sent by the data collectives (reduceScatter, allGather, allReduce, broadcast). */
    public long bytesSent() {
        return total(sent, false);
    }

    /** Bytes received by the data collectives. */
    public long bytesReceived() {
        return total(received, false);
    }

    /** Bytes sent by the control collectives (allReduceMax, anyTrue, allGatherDoubles). */
    public long controlBytesSent() {
        return total(sent, true);
    }

    /** Bytes received by the control collectives. */
    public long controlBytesReceived() {
        return total(received, true);
    }

    /** Both snapshots added kind by kind: a group's totals from its ranks' stats. */
    public CommStats plus(CommStats other) {
        long[] c = calls.clone(), s = sent.clone(), r = received.clone();
        for (int i = 0; i < KINDS.length; i++) {
            c[i] += other.calls[i];
            s[i] += other.sent[i];
            r[i] += other.received[i];
        }
        return new CommStats(c, s, r);
    }

    private static long total(long[] bytes, boolean control) {
        long sum = 0;
        for (Collective kind : KINDS) {
            if (kind.isControl() == control) {
                sum += bytes[kind.ordinal()];
            }
        }
        return sum;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CommStats s && Arrays.equals(calls, s.calls) && Arrays.equals(sent, s.sent)
                && Arrays.equals(received, s.received);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(calls) * 31 * 31 + Arrays.hashCode(sent) * 31 + Arrays.hashCode(received);
    }

    /** {@code "CommStats[sent 96 B, received 96 B; control sent 4 B, received 4 B; allReduce 1 call, ...]"}. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("CommStats[sent ").append(bytesSent()).append(" B, received ")
                .append(bytesReceived()).append(" B; control sent ").append(controlBytesSent())
                .append(" B, received ").append(controlBytesReceived()).append(" B");
        for (Collective kind : KINDS) {
            int i = kind.ordinal();
            if (calls[i] != 0) {
                b.append("; ").append(kind.methodName()).append(' ').append(calls[i])
                        .append(calls[i] == 1 ? " call" : " calls").append(", sent ").append(sent[i])
                        .append(" B, received ").append(received[i]).append(" B");
            }
        }
        return b.append(']').toString();
    }
}
