package dev.adamant.examples.panama;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.adamant.core.panama.Species;
import dev.adamant.examples.kernel.DenseKernel;
import dev.adamant.examples.scalar.ScalarDenseKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The dense kernels on the Vector API, core's {@link Species}: {@link DenseKernel}'s chains lane-wise.
 * Loaded reflectively by {@link dev.adamant.examples.kernel.DenseKernels}, only when
 * {@code jdk.incubator.vector} is present.
 *
 * <p>{@link #multiply} is a register-blocked "broadcast a, load b, fma" product: a block of 4 rows
 * by 2 vectors of {@code c} (8 accumulators) stays in registers for the whole {@code q} loop, which
 * per step loads 2 vectors of {@code b} and broadcasts 4 floats of {@code a} for 8 fused multiply-adds.
 * (4 x 2: the 8 accumulators, 2 loaded vectors and a broadcast fit AVX2's 16 registers. Measured at
 * about 50 GFLOP/s for 64 x 256 x 256 on one AVX-512 core, half its FMA peak, with this JDK's bounds
 * and liveness checks on every segment access.) Columns left over go one vector at a time, then one
 * masked vector, not a scalar tail: an output layer is often narrower than a vector (8 of 16 lanes),
 * and a masked lane does the same operations as a full one.
 */
public final class PanamaDenseKernel implements DenseKernel {
    static final VectorSpecies<Float> SPECIES = Species.FLOATS;
    static final ByteOrder ORDER = Species.ORDER;
    private static final int V = SPECIES.length();
    private static final long VB = SPECIES.vectorByteSize();
    private static final long F = Float.BYTES;

    /** Lane {@code t} of "interleave the low halves of a and b": a[t/2] for even t, b[t/2] for odd. */
    private static final VectorShuffle<Float> ZIP_LOW = zip(0);
    /** The same for the high halves: a[V/2 + t/2], b[V/2 + t/2]. */
    private static final VectorShuffle<Float> ZIP_HIGH = zip(V / 2);

    public PanamaDenseKernel() {
        Species.requireUsable();
    }

    /** Indexes in [0, 2V) select from the pair (a, b): index V + t is lane t of b. */
    private static VectorShuffle<Float> zip(int from) {
        int[] lanes = new int[V];
        for (int t = 0; t < V; t++) {
            lanes[t] = (t % 2 == 0 ? 0 : V) + from + t / 2;
        }
        return VectorShuffle.fromArray(SPECIES, lanes, 0);
    }

    @Override public String name() { return "panama"; }

    @Override public int lanes() { return V; }

    @Override
    public void multiply(MemorySegment a, long aRowStride, long aColStride, MemorySegment b, MemorySegment init,
                         MemorySegment c, int m, int n, int k) {
        int r = 0;
        for (; r + 4 <= m; r += 4) {
            fourRows(a, r * aRowStride, aRowStride, aColStride, b, init, c, r, n, k);
        }
        for (; r < m; r++) {
            oneRow(a, r * aRowStride, aColStride, b, init, c, r, n, k);
        }
    }

    private static FloatVector start(MemorySegment init, long byteOffset) {
        return init == null ? FloatVector.zero(SPECIES)
                : FloatVector.fromMemorySegment(SPECIES, init, byteOffset, ORDER);
    }

    private static FloatVector start(MemorySegment init, long byteOffset, VectorMask<Float> mask) {
        return init == null ? FloatVector.zero(SPECIES)
                : FloatVector.fromMemorySegment(SPECIES, init, byteOffset, ORDER, mask);
    }

    /**
     * Rows {@code r..r+3} of {@code c}; {@code a0} is the float index of {@code a[r, 0]}. The three
     * column ranges are separate methods so that each stays small enough for C2 to inline every
     * vector intrinsic (a vector operation left as a call runs boxed, hundreds of times slower).
     */
    private static void fourRows(MemorySegment a, long a0, long aRowStride, long aColStride, MemorySegment b,
                                 MemorySegment init, MemorySegment c, int r, int n, int k) {
        final int bound2 = n - n % (2 * V);
        final int bound1 = n - n % V;
        if (bound2 > 0) {
            fourRowsPairs(a, a0, aRowStride, aColStride, b, init, c, r, n, k, bound2);
        }
        if (bound1 > bound2) {
            fourRowsSingles(a, a0, aRowStride, aColStride, b, init, c, r, n, k, bound2, bound1);
        }
        if (n > bound1) {
            fourRowsMasked(a, a0, aRowStride, aColStride, b, init, c, r, n, k, bound1);
        }
    }

    /** Columns {@code [0, bound2)}, two vectors at a time. */
    private static void fourRowsPairs(MemorySegment a, long a0, long aRowStride, long aColStride, MemorySegment b,
                                      MemorySegment init, MemorySegment c, int r, int n, int k, int bound2) {
        final long rowBytes = n * F;
        final long aStep = aColStride * F;
        final long ar0 = a0 * F, ar1 = ar0 + aRowStride * F, ar2 = ar1 + aRowStride * F, ar3 = ar2 + aRowStride * F;
        final long c0 = r * rowBytes, c1 = c0 + rowBytes, c2 = c1 + rowBytes, c3 = c2 + rowBytes;
        for (int j = 0; j < bound2; j += 2 * V) {
            final long jb = j * F;
            FloatVector s00 = start(init, jb), s01 = start(init, jb + VB);
            FloatVector s10 = s00, s11 = s01, s20 = s00, s21 = s01, s30 = s00, s31 = s01;
            long bo = jb, ao = 0;
            for (int q = 0; q < k; q++, bo += rowBytes, ao += aStep) {
                FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, bo, ORDER);
                FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, b, bo + VB, ORDER);
                FloatVector x = FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar0 + ao));
                s00 = b0.fma(x, s00);
                s01 = b1.fma(x, s01);
                x = FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar1 + ao));
                s10 = b0.fma(x, s10);
                s11 = b1.fma(x, s11);
                x = FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar2 + ao));
                s20 = b0.fma(x, s20);
                s21 = b1.fma(x, s21);
                x = FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar3 + ao));
                s30 = b0.fma(x, s30);
                s31 = b1.fma(x, s31);
            }
            s00.intoMemorySegment(c, c0 + jb, ORDER);
            s01.intoMemorySegment(c, c0 + jb + VB, ORDER);
            s10.intoMemorySegment(c, c1 + jb, ORDER);
            s11.intoMemorySegment(c, c1 + jb + VB, ORDER);
            s20.intoMemorySegment(c, c2 + jb, ORDER);
            s21.intoMemorySegment(c, c2 + jb + VB, ORDER);
            s30.intoMemorySegment(c, c3 + jb, ORDER);
            s31.intoMemorySegment(c, c3 + jb + VB, ORDER);
        }
    }

    /** Columns {@code [from, bound1)}, one vector at a time. */
    private static void fourRowsSingles(MemorySegment a, long a0, long aRowStride, long aColStride, MemorySegment b,
                                        MemorySegment init, MemorySegment c, int r, int n, int k, int from,
                                        int bound1) {
        final long rowBytes = n * F;
        final long aStep = aColStride * F;
        final long ar0 = a0 * F, ar1 = ar0 + aRowStride * F, ar2 = ar1 + aRowStride * F, ar3 = ar2 + aRowStride * F;
        final long c0 = r * rowBytes, c1 = c0 + rowBytes, c2 = c1 + rowBytes, c3 = c2 + rowBytes;
        for (int j = from; j < bound1; j += V) {
            final long jb = j * F;
            FloatVector s0 = start(init, jb);
            FloatVector s1 = s0, s2 = s0, s3 = s0;
            long bo = jb, ao = 0;
            for (int q = 0; q < k; q++, bo += rowBytes, ao += aStep) {
                FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, bo, ORDER);
                s0 = b0.fma(FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar0 + ao)), s0);
                s1 = b0.fma(FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar1 + ao)), s1);
                s2 = b0.fma(FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar2 + ao)), s2);
                s3 = b0.fma(FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar3 + ao)), s3);
            }
            s0.intoMemorySegment(c, c0 + jb, ORDER);
            s1.intoMemorySegment(c, c1 + jb, ORDER);
            s2.intoMemorySegment(c, c2 + jb, ORDER);
            s3.intoMemorySegment(c, c3 + jb, ORDER);
        }
    }

    /** Columns {@code [j, n)}, fewer than a vector: one masked vector. */
    private static void fourRowsMasked(MemorySegment a, long a0, long aRowStride, long aColStride, MemorySegment b,
                                       MemorySegment init, MemorySegment c, int r, int n, int k, int j) {
        final long rowBytes = n * F;
        final long aStep = aColStride * F;
        final long ar0 = a0 * F, ar1 = ar0 + aRowStride * F, ar2 = ar1 + aRowStride * F, ar3 = ar2 + aRowStride * F;
        final long c0 = r * rowBytes, c1 = c0 + rowBytes, c2 = c1 + rowBytes, c3 = c2 + rowBytes;
        {
            final long jb = j * F;
            final VectorMask<Float> mask = SPECIES.indexInRange(j, n);
            FloatVector s0 = start(init, jb, mask);
            FloatVector s1 = s0, s2 = s0, s3 = s0;
            long bo = jb, ao = 0;
            for (int q = 0; q < k; q++, bo += rowBytes, ao += aStep) {
                FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, b, bo, ORDER, mask);
                s0 = b0.fma(FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar0 + ao)), s0);
                s1 = b0.fma(FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar1 + ao)), s1);
                s2 = b0.fma(FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar2 + ao)), s2);
                s3 = b0.fma(FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar3 + ao)), s3);
            }
            s0.intoMemorySegment(c, c0 + jb, ORDER, mask);
            s1.intoMemorySegment(c, c1 + jb, ORDER, mask);
            s2.intoMemorySegment(c, c2 + jb, ORDER, mask);
            s3.intoMemorySegment(c, c3 + jb, ORDER, mask);
        }
    }

    /** Row {@code r} of {@code c} alone (rows left after blocks of 4); {@code a0} is the index of {@code a[r, 0]}. */
    private static void oneRow(MemorySegment a, long a0, long aColStride, MemorySegment b, MemorySegment init,
                               MemorySegment c, int r, int n, int k) {
        final int bound2 = n - n % (2 * V);
        final int bound1 = n - n % V;
        oneRowVectors(a, a0, aColStride, b, init, c, r, n, k, bound2, bound1);
        if (n > bound1) {
            oneRowMasked(a, a0, aColStride, b, init, c, r, n, k, bound1);
        }
    }

    /** Columns {@code [0, bound2)} two vectors at a time, then {@code [bound2, bound1)} one at a time. */
    private static void oneRowVectors(MemorySegment a, long a0, long aColStride, MemorySegment b, MemorySegment init,
                                      MemorySegment c, int r, int n, int k, int bound2, int bound1) {
        final long rowBytes = n * F;
        final long aStep = aColStride * F;
        final long ar0 = a0 * F;
        final long c0 = r * rowBytes;
        int j = 0;
        for (; j < bound2; j += 2 * V) {
            final long jb = j * F;
            FloatVector s0 = start(init, jb), s1 = start(init, jb + VB);
            long bo = jb, ao = 0;
            for (int q = 0; q < k; q++, bo += rowBytes, ao += aStep) {
                FloatVector x = FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar0 + ao));
                s0 = FloatVector.fromMemorySegment(SPECIES, b, bo, ORDER).fma(x, s0);
                s1 = FloatVector.fromMemorySegment(SPECIES, b, bo + VB, ORDER).fma(x, s1);
            }
            s0.intoMemorySegment(c, c0 + jb, ORDER);
            s1.intoMemorySegment(c, c0 + jb + VB, ORDER);
        }
        for (; j < bound1; j += V) {
            final long jb = j * F;
            FloatVector s0 = start(init, jb);
            long bo = jb, ao = 0;
            for (int q = 0; q < k; q++, bo += rowBytes, ao += aStep) {
                s0 = FloatVector.fromMemorySegment(SPECIES, b, bo, ORDER)
                        .fma(FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar0 + ao)), s0);
            }
            s0.intoMemorySegment(c, c0 + jb, ORDER);
        }
    }

    /** Columns {@code [j, n)}, fewer than a vector: one masked vector. */
    private static void oneRowMasked(MemorySegment a, long a0, long aColStride, MemorySegment b, MemorySegment init,
                                     MemorySegment c, int r, int n, int k, int j) {
        final long rowBytes = n * F;
        final long aStep = aColStride * F;
        final long ar0 = a0 * F;
        final long c0 = r * rowBytes;
        {
            final long jb = j * F;
            final VectorMask<Float> mask = SPECIES.indexInRange(j, n);
            FloatVector s0 = start(init, jb, mask);
            long bo = jb, ao = 0;
            for (int q = 0; q < k; q++, bo += rowBytes, ao += aStep) {
                s0 = FloatVector.fromMemorySegment(SPECIES, b, bo, ORDER, mask)
                        .fma(FloatVector.broadcast(SPECIES, a.get(JAVA_FLOAT, ar0 + ao)), s0);
            }
            s0.intoMemorySegment(c, c0 + jb, ORDER, mask);
        }
    }

    @Override
    public void columnSums(MemorySegment a, MemorySegment sums, int m, int n) {
        final long rowBytes = n * F;
        for (int j = 0; j < n; j += V) {
            final long jb = j * F;
            final VectorMask<Float> mask = SPECIES.indexInRange(j, n);
            FloatVector s = FloatVector.zero(SPECIES);
            long ao = jb;
            for (int r = 0; r < m; r++, ao += rowBytes) {
                s = s.add(FloatVector.fromMemorySegment(SPECIES, a, ao, ORDER, mask));
            }
            s.intoMemorySegment(sums, jb, ORDER, mask);
        }
    }

    /**
     * Each thread's scratch for {@link #transpose}: two V x V tiles, native (an automatic arena), so
     * that every vector access in this class is a native-segment access and C2's profiles of the
     * JDK's memory accessors stay monomorphic.
     */
    private static final ThreadLocal<MemorySegment> TILES =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(2L * V * VB, 64));

    /**
     * V x V tiles transposed in registers: zipping row k with row k + V/2 (low halves into row 2k,
     * high halves into row 2k+1) log2(V) times transposes a tile (the perfect-shuffle transpose).
     * Between rounds the tile goes through a per-thread scratch, since vectors kept in a Java array
     * would be boxed. Each zip is a two-vector rearrange (one or two permutes). The strips left
     * over when a side is not a multiple of V go to the scalar twin.
     */
    @Override
    public void transpose(MemorySegment src, int rows, int cols, MemorySegment dst) {
        final int rowBound = rows - rows % V, colBound = cols - cols % V;
        if (rowBound > 0 && colBound > 0) {
            final MemorySegment tiles = TILES.get();
            final long tileBytes = V * VB;
            final int half = V / 2, rounds = Integer.numberOfTrailingZeros(V);
            final long srcRow = cols * F, dstRow = rows * F;
            for (int r0 = 0; r0 < rowBound; r0 += V) {
                for (int c0 = 0; c0 < colBound; c0 += V) {
                    // Round 1 reads src and round log2(V) writes dst; rounds between alternate tiles.
                    long in = 0, out = tileBytes;
                    final long base = r0 * srcRow + c0 * F;
                    final long target = c0 * dstRow + r0 * F;
                    for (int round = 1; round <= rounds; round++) {
                        final boolean first = round == 1, last = round == rounds;
                        for (int k = 0; k < half; k++) {
                            FloatVector a = first
                                    ? FloatVector.fromMemorySegment(SPECIES, src, base + k * srcRow, ORDER)
                                    : FloatVector.fromMemorySegment(SPECIES, tiles, in + k * VB, ORDER);
                            FloatVector b = first
                                    ? FloatVector.fromMemorySegment(SPECIES, src, base + (k + half) * srcRow, ORDER)
                                    : FloatVector.fromMemorySegment(SPECIES, tiles, in + (k + half) * VB, ORDER);
                            FloatVector low = a.rearrange(ZIP_LOW, b), high = a.rearrange(ZIP_HIGH, b);
                            if (last) {
                                low.intoMemorySegment(dst, target + 2L * k * dstRow, ORDER);
                                high.intoMemorySegment(dst, target + (2L * k + 1) * dstRow, ORDER);
                            } else {
                                low.intoMemorySegment(tiles, out + 2L * k * VB, ORDER);
                                high.intoMemorySegment(tiles, out + (2L * k + 1) * VB, ORDER);
                            }
                        }
                        long t = in;
                        in = out;
                        out = t;
                    }
                }
            }
        }
        ScalarDenseKernel scalar = ScalarDenseKernel.INSTANCE;
        scalar.transpose(src, rows, cols, dst, 0, rowBound, colBound, cols);
        scalar.transpose(src, rows, cols, dst, rowBound, rows, 0, cols);
    }

    @Override
    public void relu(MemorySegment x, long count) {
        final long bound = SPECIES.loopBound(count);
        final long end = bound * F;
        for (long o = 0; o < end; o += VB) {
            FloatVector.fromMemorySegment(SPECIES, x, o, ORDER).max(0f).intoMemorySegment(x, o, ORDER);
        }
        ScalarDenseKernel.INSTANCE.relu(x.asSlice(end), count - bound);
    }

    @Override
    public void keepWherePositive(MemorySegment x, MemorySegment mask, long count) {
        final FloatVector zero = FloatVector.zero(SPECIES);
        final long bound = SPECIES.loopBound(count);
        final long end = bound * F;
        for (long o = 0; o < end; o += VB) {
            VectorMask<Float> positive = FloatVector.fromMemorySegment(SPECIES, mask, o, ORDER)
                    .compare(VectorOperators.GT, 0f);
            zero.blend(FloatVector.fromMemorySegment(SPECIES, x, o, ORDER), positive).intoMemorySegment(x, o, ORDER);
        }
        ScalarDenseKernel.INSTANCE.keepWherePositive(x.asSlice(end), mask.asSlice(end), count - bound);
    }

    @Override
    public void scaledDifference(MemorySegment y, MemorySegment t, float scale, MemorySegment d, long count) {
        final long bound = SPECIES.loopBound(count);
        final long end = bound * F;
        for (long o = 0; o < end; o += VB) {
            FloatVector.fromMemorySegment(SPECIES, y, o, ORDER)
                    .sub(FloatVector.fromMemorySegment(SPECIES, t, o, ORDER))
                    .mul(scale)
                    .intoMemorySegment(d, o, ORDER);
        }
        ScalarDenseKernel.INSTANCE.scaledDifference(y.asSlice(end), t.asSlice(end), scale, d.asSlice(end),
                count - bound);
    }
}
