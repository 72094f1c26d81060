package dev.adamant.zero.comm.inprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.internal.Reduction;
import dev.adamant.zero.comm.internal.Reference;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every collective against a serial computation (see {@link Reference}), bit for bit. */
class CommCollectivesTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** Ranks 1-4; per-rank sizes 0, 1, odd, across a block boundary, large-ish; all precisions. */
    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            for (long size : new long[] {0, 1, 17, Reduction.BLOCK + 1, 100_003}) {
                for (Precision p : Precision.values()) {
                    list.add(Arguments.of(n, size, p));
                }
            }
        }
        return list.stream();
    }

    private static MemorySegment[] randomPerRank(Arena arena, int n, Precision p, long elements, long seed) {
        Random rnd = new Random(seed);
        MemorySegment[] s = new MemorySegment[n];
        for (int r = 0; r < n; r++) {
            s[r] = Reference.random(arena, p, elements, rnd);
        }
        return s;
    }

    private static void assertBits(MemorySegment expected, MemorySegment actual, Precision p, String what) {
        long i = Reference.firstDifference(expected, actual, p);
        if (i >= 0) {
            assertEquals(expected.byteSize(), actual.byteSize(), what + ": size");
            assertEquals(Reference.bits(expected, p, i), Reference.bits(actual, p, i),
                    what + ": element " + i + " expected " + Reference.get(expected, p, i) + ", got "
                            + Reference.get(actual, p, i));
        }
    }

    @ParameterizedTest(name = "N={0}, P={1}, {2}")
    @MethodSource("cases")
    void reduceScatterSumsSliceRankInRankOrder(int n, long perRank, Precision p) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] send = randomPerRank(arena, n, p, n * perRank, 11 * n + perRank);
            MemorySegment[] recv = new MemorySegment[n];
            for (int r = 0; r < n; r++) {
                recv[r] = Reference.allocate(arena, p, perRank);
            }
            MemorySegment[] before = copies(arena, send);
            InProcessGroup.create(n, TIMEOUT).run(c -> c.reduceScatter(send[c.rank()], recv[c.rank()], p));
            for (int r = 0; r < n; r++) {
                assertBits(Reference.fold(arena, before, r * perRank, perRank, p, ReduceOp.SUM), recv[r], p, "rank " + r);
                assertBits(before[r], send[r], p, "send of rank " + r + " unchanged");
            }
        }
    }

    @ParameterizedTest(name = "N={0}, P={1}, {2}")
    @MethodSource("cases")
    void reduceSumsInRankOrderOnTheRootOnly(int n, long count, Precision p) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] send = randomPerRank(arena, n, p, count, 17 * n + count);
            MemorySegment[] before = copies(arena, send);
            for (int root = 0; root < n; root++) {
                MemorySegment recv = Reference.allocate(arena, p, count);
                int r0 = root;
                InProcessGroup group = InProcessGroup.create(n, TIMEOUT);
                group.run(c -> c.reduce(send[c.rank()], c.rank() == r0 ? recv : null, p, r0));
                assertBits(Reference.fold(arena, before, 0, count, p, ReduceOp.SUM), recv, p, "root " + root);
                for (int r = 0; r < n; r++) {
                    assertBits(before[r], send[r], p, "send of rank " + r + " unchanged");
                    long bytes = count * p.bytes();
                    assertEquals(r == root ? 0 : bytes, group.communicator(r).stats().bytesSent(), "sent by " + r);
                    assertEquals(r == root ? (n - 1) * bytes : 0, group.communicator(r).stats().bytesReceived());
                }
            }
            // In place on the root.
            InProcessGroup.create(n, TIMEOUT).run(c -> c.reduce(send[c.rank()], c.rank() == 0 ? send[0] : null, p, 0));
            assertBits(Reference.fold(arena, before, 0, count, p, ReduceOp.SUM), send[0], p, "in place");
        }
    }

    @ParameterizedTest(name = "N={0}, P={1}, {2}")
    @MethodSource("cases")
    void reduceScatterInPlaceLeavesTheSumInOwnSlice(int n, long perRank, Precision p) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] buf = randomPerRank(arena, n, p, n * perRank, 13 * n + perRank);
            MemorySegment[] before = copies(arena, buf);
            long slice = perRank * p.bytes();
            InProcessGroup.create(n, TIMEOUT).run(c ->
                    c.reduceScatter(buf[c.rank()], buf[c.rank()].asSlice(c.rank() * slice, slice), p));
            for (int r = 0; r < n; r++) {
                assertBits(Reference.fold(arena, before, r * perRank, perRank, p, ReduceOp.SUM),
                        buf[r].asSlice(r * slice, slice), p, "rank " + r);
            }
        }
    }

    @ParameterizedTest(name = "N={0}, P={1}, {2}")
    @MethodSource("cases")
    void allGatherConcatenatesInRankOrder(int n, long perRank, Precision p) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] send = randomPerRank(arena, n, p, perRank, 17 * n + perRank);
            MemorySegment[] recv = new MemorySegment[n];
            for (int r = 0; r < n; r++) {
                recv[r] = Reference.allocate(arena, p, n * perRank);
            }
            InProcessGroup.create(n, TIMEOUT).run(c -> c.allGather(send[c.rank()], recv[c.rank()], p));
            long slice = perRank * p.bytes();
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < n; j++) {
                    assertBits(send[j], recv[r].asSlice(j * slice, slice), p, "rank " + r + ", slice " + j);
                }
            }
        }
    }

    @ParameterizedTest(name = "N={0}, P={1}, {2}")
    @MethodSource("cases")
    void allGatherInPlaceMixesWithTheOtherForm(int n, long perRank, Precision p) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] mine = randomPerRank(arena, n, p, perRank, 19 * n + perRank);
            long slice = perRank * p.bytes();
            MemorySegment[] buf = new MemorySegment[n];
            for (int r = 0; r < n; r++) {
                buf[r] = Reference.random(arena, p, n * perRank, new Random(r)); // garbage to overwrite
                buf[r].asSlice(r * slice, slice).copyFrom(mine[r]);
            }
            InProcessGroup.create(n, TIMEOUT).run(c -> {
                int r = c.rank();
                switch (r % 3) {
                    case 0 -> c.allGatherInPlace(buf[r], p);
                    case 1 -> c.allGather(buf[r].asSlice(r * slice, slice), buf[r], p); // in place, other form
                    default -> c.allGather(Reference.copy(arena, mine[r]), buf[r], p);
                }
            });
            for (int r = 0; r < n; r++) {
                for (int j = 0; j < n; j++) {
                    assertBits(mine[j], buf[r].asSlice(j * slice, slice), p, "rank " + r + ", slice " + j);
                }
            }
        }
    }

    @ParameterizedTest(name = "N={0}, T={1}, {2}")
    @MethodSource("cases")
    void allReduceSumAndMaxEqualTheSerialFold(int n, long total, Precision p) {
        for (ReduceOp op : ReduceOp.values()) {
            try (Arena arena = Arena.ofShared()) {
                MemorySegment[] buf = randomPerRank(arena, n, p, total, 23 * n + total + op.ordinal());
                MemorySegment expected = Reference.fold(arena, buf, 0, total, p, op);
                InProcessGroup.create(n, TIMEOUT).run(c -> c.allReduce(buf[c.rank()], p, op));
                for (int r = 0; r < n; r++) {
                    assertBits(expected, buf[r], p, op + ", rank " + r);
                }
            }
        }
    }

    @ParameterizedTest(name = "N={0}, T={1}, {2}")
    @MethodSource("cases")
    void broadcastCopiesTheRootsBufferFromEveryRoot(int n, long total, Precision p) {
        for (int root = 0; root < n; root++) {
            int theRoot = root;
            try (Arena arena = Arena.ofShared()) {
                MemorySegment[] buf = randomPerRank(arena, n, p, total, 29 * n + total + root);
                MemorySegment expected = Reference.copy(arena, buf[root]);
                InProcessGroup.create(n, TIMEOUT).run(c -> c.broadcast(
                        c.rank() == theRoot ? buf[c.rank()].asReadOnly() : buf[c.rank()], p, theRoot));
                for (int r = 0; r < n; r++) {
                    assertBits(expected, buf[r], p, "root " + root + ", rank " + r);
                }
            }
        }
    }

    @Test
    void heapAndMisalignedSegmentsWork() {
        int n = 3;
        float[][] arrays = new float[n][1001];
        Random rnd = new Random(5);
        float[] expected = new float[1001];
        for (int i = 0; i < 1001; i++) {
            for (int r = 0; r < n; r++) {
                arrays[r][i] = rnd.nextFloat() - 0.5f;
                expected[i] = r == 0 ? arrays[r][i] : expected[i] + arrays[r][i];
            }
        }
        InProcessGroup.create(n, TIMEOUT).run(c -> c.allReduce(MemorySegment.ofArray(arrays[c.rank()]),
                Precision.FP32, ReduceOp.SUM));
        for (int r = 0; r < n; r++) {
            assertArrayEquals(expected, arrays[r], 0f, "rank " + r);
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] odd = new MemorySegment[n];
            MemorySegment[] aligned = randomPerRank(arena, n, Precision.FP32, 999, 3);
            for (int r = 0; r < n; r++) {
                odd[r] = arena.allocate(999 * 4 + 1, 8).asSlice(1);
                odd[r].copyFrom(aligned[r]);
            }
            MemorySegment want = Reference.fold(arena, aligned, 0, 999, Precision.FP32, ReduceOp.SUM);
            InProcessGroup.create(n, TIMEOUT).run(c -> c.allReduce(odd[c.rank()], Precision.FP32, ReduceOp.SUM));
            for (int r = 0; r < n; r++) {
                assertBits(want, odd[r], Precision.FP32, "misaligned rank " + r);
            }
        }
    }

    @Test
    void specialValuesFollowFloatArithmetic() {
        float[][] values = {
            {Float.POSITIVE_INFINITY, 1f, Float.NaN, 1f, -0f, 65504f},
            {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 2f, -1f, -0f, 65504f},
        };
        float[] sums = {Float.NaN, Float.POSITIVE_INFINITY, Float.NaN, 0f, -0f, 131008f};
        float[] maxes = {Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, 1f, -0f, 65504f};
        for (Precision p : Precision.values()) {
            for (ReduceOp op : ReduceOp.values()) {
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment[] buf = new MemorySegment[2];
                    for (int r = 0; r < 2; r++) {
                        buf[r] = Reference.allocate(arena, p, values[r].length);
                        for (int i = 0; i < values[r].length; i++) {
                            Reference.set(buf[r], p, i, values[r][i]);
                        }
                    }
                    InProcessGroup.create(2, TIMEOUT).run(c -> c.allReduce(buf[c.rank()], p, op));
                    float[] want = op == ReduceOp.SUM ? sums : maxes;
                    for (int i = 0; i < want.length; i++) {
                        MemorySegment one = Reference.allocate(arena, p, 1);
                        Reference.set(one, p, 0, want[i]); // the expected value, rounded to this precision
                        float w = Reference.get(one, p, 0);
                        for (int r = 0; r < 2; r++) {
                            float got = Reference.get(buf[r], p, i);
                            assertEquals(Float.floatToIntBits(w), Float.floatToIntBits(got),
                                    p + " " + op + " element " + i + " rank " + r + ": expected " + w + ", got " + got);
                        }
                    }
                }
            }
        }
    }

    @Test
    void controlCollectives() {
        for (int n = 1; n <= 4; n++) {
            List<Object[]> results = InProcessGroup.create(n, TIMEOUT).call(c -> {
                int r = c.rank();
                float max = c.allReduceMax(r == 1 ? 7.5f : -r);
                boolean none = c.anyTrue(false);
                boolean some = c.anyTrue(r == c.size() - 1);
                double[] all = c.allGatherDoubles(new double[] {r, r + 0.5});
                double[] empty = c.allGatherDoubles(new double[0]);
                c.barrier();
                return new Object[] {max, none, some, all, empty};
            });
            double[] expectedAll = new double[2 * n];
            for (int r = 0; r < n; r++) {
                expectedAll[2 * r] = r;
                expectedAll[2 * r + 1] = r + 0.5;
            }
            for (int r = 0; r < n; r++) {
                Object[] got = results.get(r);
                assertEquals(n > 1 ? 7.5f : 0f, (float) got[0], "max, N=" + n);
                assertEquals(false, got[1]);
                assertEquals(true, got[2]);
                assertArrayEquals(expectedAll, (double[]) got[3]);
                assertEquals(0, ((double[]) got[4]).length);
            }
        }
    }

    private static MemorySegment[] copies(Arena arena, MemorySegment[] s) {
        MemorySegment[] c = new MemorySegment[s.length];
        for (int i = 0; i < s.length; i++) {
            c[i] = Reference.copy(arena, s[i]);
        }
        return c;
    }
}
