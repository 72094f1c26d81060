package dev.adamant.zero.comm.inprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.internal.Reference;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** Sums run in rank order, whatever the threads' timing, so they repeat bit for bit. */
class CommDeterminismTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /**
     * With 1e8, 1 and -1e8 the float sum depends on the order: (1e8 + 1) - 1e8 = 0 but
     * (1e8 - 1e8) + 1 = 1. Every assignment of the values to ranks must give the left-to-right
     * sum in rank order, and the assignments must not all agree (else the test proves nothing).
     */
    @Test
    void sumsFollowRankOrderWhereOrderMatters() {
        float[][] orders = {
            {1e8f, 1f, -1e8f}, {1f, 1e8f, -1e8f}, {1e8f, -1e8f, 1f}, {-1e8f, 1e8f, 1f}, {1f, -1e8f, 1e8f},
            {-1e8f, 1f, 1e8f},
        };
        Set<Float> seen = new HashSet<>();
        for (float[] v : orders) {
            float expected = (v[0] + v[1]) + v[2];
            seen.add(expected);
            for (Precision p : new Precision[] {Precision.FP32}) {
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment[] buf = new MemorySegment[3];
                    MemorySegment[] rs = new MemorySegment[3];
                    MemorySegment[] rsOut = new MemorySegment[3];
                    for (int r = 0; r < 3; r++) {
                        buf[r] = arena.allocate(4 * 5, 4);
                        rs[r] = arena.allocate(4 * 3, 4);
                        rsOut[r] = arena.allocate(4, 4);
                        for (int i = 0; i < 5; i++) {
                            buf[r].setAtIndex(Reference.FLOAT, i, v[r]);
                        }
                        for (int i = 0; i < 3; i++) {
                            rs[r].setAtIndex(Reference.FLOAT, i, v[r]);
                        }
                    }
                    InProcessGroup.create(3, TIMEOUT).run(c -> {
                        c.allReduce(buf[c.rank()], p, ReduceOp.SUM);
                        c.reduceScatter(rs[c.rank()], rsOut[c.rank()], p);
                    });
                    for (int r = 0; r < 3; r++) {
                        for (int i = 0; i < 5; i++) {
                            assertEquals(expected, buf[r].getAtIndex(Reference.FLOAT, i),
                                    "allReduce of " + java.util.Arrays.toString(v) + ", rank " + r + ", element " + i);
                        }
                        assertEquals(expected, rsOut[r].get(Reference.FLOAT, 0),
                                "reduceScatter of " + java.util.Arrays.toString(v) + ", rank " + r);
                    }
                }
            }
        }
        assertEquals(Set.of(0f, 1f), seen, "the orders must give different sums, or the test shows nothing");
    }

    /** The same inputs, run three times with different random delays per rank, give the same bits on every rank. */
    @Test
    void repeatedRunsWithJitterGiveIdenticalBits() {
        int n = 4;
        long total = 100_003;
        for (Precision p : Precision.values()) {
            try (Arena arena = Arena.ofShared()) {
                Random rnd = new Random(42);
                MemorySegment[] inputs = new MemorySegment[n];
                for (int r = 0; r < n; r++) {
                    inputs[r] = Reference.random(arena, p, total, rnd);
                }
                MemorySegment first = null;
                for (int run = 0; run < 3; run++) {
                    MemorySegment[] buf = new MemorySegment[n];
                    for (int r = 0; r < n; r++) {
                        buf[r] = Reference.copy(arena, inputs[r]);
                    }
                    long seed = run;
                    InProcessGroup.create(n, TIMEOUT).run(c -> {
                        Random delay = new Random(seed * 31 + c.rank());
                        LockSupport.parkNanos(delay.nextInt(5_000_000));
                        c.allReduce(buf[c.rank()], p, ReduceOp.SUM);
                    });
                    for (int r = 0; r < n; r++) {
                        MemorySegment ref = first == null ? buf[0] : first;
                        assertEquals(-1, Reference.firstDifference(ref, buf[r], p), p + " run " + run + " rank " + r);
                    }
                    if (first == null) {
                        first = buf[0];
                    }
                }
                // And the inputs were such that order matters somewhere: the reversed order differs.
                MemorySegment[] reversed = new MemorySegment[n];
                for (int r = 0; r < n; r++) {
                    reversed[r] = inputs[n - 1 - r];
                }
                assertNotEquals(-1, Reference.firstDifference(first,
                        Reference.fold(arena, reversed, 0, total, p, ReduceOp.SUM), p), p + ": the data cannot tell orders apart");
            }
        }
    }

    /** allGatherDoubles keeps rank order and bits (partial sums for a norm are added in that order). */
    @Test
    void allGatherDoublesIsInRankOrder() {
        List<double[]> got = InProcessGroup.create(3, TIMEOUT).call(c -> {
            LockSupport.parkNanos((3 - c.rank()) * 2_000_000L); // later ranks arrive first
            return c.allGatherDoubles(new double[] {Math.PI * c.rank(), -c.rank()});
        });
        for (double[] g : got) {
            assertEquals(List.of(0.0, 0.0, Math.PI, -1.0, 2 * Math.PI, -2.0),
                    java.util.Arrays.stream(g).boxed().toList());
        }
    }
}
