package dev.adamant.zero.comm.inprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.Collective;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.internal.Reference;
import dev.adamant.zero.comm.internal.RingVolume;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Byte counts against the ring formulas of the ZeRO paper, written out here independently. */
class CommVolumeTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void reduceScatterAndAllGatherMoveNMinusOneSlicesEachWay() {
        for (int n = 1; n <= 4; n++) {
            for (Precision p : Precision.values()) {
                long perRank = 1001;
                List<CommStats> stats = run(n, p, perRank * n, (c, buf, small) -> {
                    c.reduceScatter(buf, small, p);
                    c.allGather(small, buf, p);
                    c.allGatherInPlace(buf, p);
                });
                for (CommStats s : stats) {
                    long slice = (n - 1) * perRank * p.bytes();
                    assertEquals(slice, s.bytesSent(Collective.REDUCE_SCATTER));
                    assertEquals(slice, s.bytesReceived(Collective.REDUCE_SCATTER));
                    assertEquals(2 * slice, s.bytesSent(Collective.ALL_GATHER));
                    assertEquals(2 * slice, s.bytesReceived(Collective.ALL_GATHER));
                    assertEquals(2, s.calls(Collective.ALL_GATHER));
                    assertEquals(3 * slice, s.bytesSent());
                    assertEquals(3 * slice, s.bytesReceived());
                }
            }
        }
    }

    /** 2(N-1)T/N per rank when N divides T; otherwise per the chunks, and 2(N-1)T over the group. */
    @Test
    void allReduceIsReduceScatterPlusAllGather() {
        for (int n = 1; n <= 4; n++) {
            for (long total : new long[] {0, 1, 7, 12, 1001, 1002}) {
                List<CommStats> stats = run(n, Precision.FP16, total,
                        (c, buf, small) -> c.allReduce(buf, Precision.FP16, ReduceOp.SUM));
                long sent = 0, received = 0;
                for (int r = 0; r < n; r++) {
                    CommStats s = stats.get(r);
                    sent += s.bytesSent();
                    received += s.bytesReceived();
                    if (total % n == 0) {
                        assertEquals(2 * (n - 1) * total / n * 2, s.bytesSent(), "N=" + n + " T=" + total);
                        assertEquals(2 * (n - 1) * total / n * 2, s.bytesReceived(), "N=" + n + " T=" + total);
                    } else {
                        // Within one chunk-size difference of the even split, on each side.
                        double even = 2.0 * (n - 1) * total / n * 2;
                        assertTrue(Math.abs(s.bytesSent() - even) <= 2 * 2, "N=" + n + " T=" + total + " sent " + s.bytesSent());
                        assertTrue(Math.abs(s.bytesReceived() - even) <= 2 * 2, "N=" + n + " T=" + total);
                    }
                    // The per-chunk rule: chunk c is [cT/N, (c+1)T/N); rank r sends all but chunks r and r+1.
                    long chunkR = (r + 1) * total / n - r * total / n;
                    long chunkNext = ((r + 1) % n + 1) * total / n - ((r + 1) % n) * total / n;
                    long chunkPrev = ((r - 1 + n) % n + 1) * total / n - ((r - 1 + n) % n) * total / n;
                    assertEquals((2 * total - chunkR - chunkNext) * 2, s.bytesSent(), "N=" + n + " T=" + total + " r=" + r);
                    assertEquals((2 * total - chunkPrev - chunkR) * 2, s.bytesReceived(), "N=" + n + " T=" + total + " r=" + r);
                }
                assertEquals(2L * (n - 1) * total * 2, sent, "group sent, N=" + n + " T=" + total);
                assertEquals(2L * (n - 1) * total * 2, received, "group received, N=" + n + " T=" + total);
            }
        }
    }

    @Test
    void broadcastIsAPipelinedChainFromTheRoot() {
        int n = 4;
        long total = 333;
        for (int root = 0; root < n; root++) {
            int theRoot = root;
            List<CommStats> stats = run(n, Precision.FP32, total,
                    (c, buf, small) -> c.broadcast(buf, Precision.FP32, theRoot));
            for (int r = 0; r < n; r++) {
                boolean last = r == (root + n - 1) % n;
                assertEquals(last ? 0 : total * 4, stats.get(r).bytesSent(), "root " + root + " rank " + r);
                assertEquals(r == root ? 0 : total * 4, stats.get(r).bytesReceived(), "root " + root + " rank " + r);
            }
        }
    }

    /**
     * The ZeRO paper's per-step volumes in elements, Ψ parameters over N ranks: stages 0-2 move
     * 2Ψ(N-1)/N (all-reduce, or reduce-scatter then all-gather); stage 3 3Ψ(N-1)/N (all-gather
     * forward, all-gather backward, reduce-scatter). Control traffic (overflow flag, norm pieces)
     * rides alongside and is counted apart.
     */
    @Test
    void zeroStageVolumes() {
        int n = 4;
        long psi = 4 * 2500;
        Precision p = Precision.BF16;
        List<CommStats> dataParallel = run(n, p, psi, (c, buf, shard) -> {
            c.allReduce(buf, p, ReduceOp.SUM);
            c.anyTrue(false);
            c.allGatherDoubles(new double[3]);
        });
        List<CommStats> stage2 = run(n, p, psi, (c, buf, shard) -> {
            c.reduceScatter(buf, shard, p);
            c.anyTrue(false);
            c.allGatherInPlace(buf, p);
        });
        List<CommStats> stage3 = run(n, p, psi, (c, buf, shard) -> {
            c.allGatherInPlace(buf, p);
            c.allGatherInPlace(buf, p);
            c.reduceScatter(buf, shard, p);
            c.allReduceMax(1f);
        });
        for (int r = 0; r < n; r++) {
            assertEquals(2 * psi * (n - 1) / n * p.bytes(), dataParallel.get(r).bytesSent());
            assertEquals(2 * psi * (n - 1) / n * p.bytes(), stage2.get(r).bytesSent());
            assertEquals(2 * psi * (n - 1) / n * p.bytes(), stage2.get(r).bytesReceived());
            assertEquals(3 * psi * (n - 1) / n * p.bytes(), stage3.get(r).bytesSent());
            assertEquals(3 * psi * (n - 1) / n * p.bytes(), stage3.get(r).bytesReceived());
            assertEquals((n - 1) * (1 + 3 * 8), dataParallel.get(r).controlBytesSent());
            assertEquals(n - 1, stage2.get(r).controlBytesReceived());
            assertEquals((n - 1) * 4, stage3.get(r).controlBytesSent());
        }
    }

    @Test
    void resetStatsZeroesAndBarrierCountsCallsOnly() {
        InProcessGroup group = InProcessGroup.create(2, TIMEOUT);
        List<CommStats> stats = group.call(c -> {
            c.anyTrue(true);
            c.resetStats();
            c.barrier();
            c.barrier();
            return c.stats();
        });
        for (CommStats s : stats) {
            assertEquals(2, s.calls(Collective.BARRIER));
            assertEquals(0, s.calls(Collective.ANY_TRUE));
            assertEquals(0, s.bytesSent() + s.bytesReceived() + s.controlBytesSent() + s.controlBytesReceived());
        }
        assertEquals(4, stats.get(0).plus(stats.get(1)).calls(Collective.BARRIER));
        assertEquals(CommStats.zero(), CommStats.zero().plus(CommStats.zero()));
    }

    /** The model's chunk arithmetic does not overflow for totals near the largest segment. */
    @Test
    void chunkArithmeticHoldsForHugeTotals() {
        long total = Long.MAX_VALUE / 2 - 3;
        for (int n = 1; n <= 7; n++) {
            long sum = 0;
            for (int c = 0; c < n; c++) {
                long size = RingVolume.chunkSize(n, c, total);
                assertTrue(size == total / n || size == total / n + 1, "n=" + n + " chunk " + c + ": " + size);
                sum += size;
            }
            assertEquals(total, sum, "n=" + n);
        }
    }

    @FunctionalInterface
    interface Body {
        void run(Communicator c, MemorySegment buffer, MemorySegment shard);
    }

    /** Runs {@code body} with per-rank buffers of {@code total} elements and shards of total/N; returns each rank's stats. */
    private static List<CommStats> run(int n, Precision p, long total, Body body) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] buf = new MemorySegment[n];
            MemorySegment[] shard = new MemorySegment[n];
            for (int r = 0; r < n; r++) {
                buf[r] = Reference.allocate(arena, p, total);
                shard[r] = Reference.allocate(arena, p, total / n);
            }
            return InProcessGroup.create(n, TIMEOUT).call(c -> {
                body.run(c, buf[c.rank()], shard[c.rank()]);
                return c.stats();
            });
        }
    }
}
