package dev.adamant.examples.scalar;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.adamant.examples.kernel.DenseKernel;
import java.lang.foreign.MemorySegment;

/**
 * The scalar dense kernels: the fallback and the test oracle. Each output float goes through exactly
 * the chain {@link DenseKernel} writes down, as in the Panama kernels, so the two agree bit for bit.
 * Loops run the inner index over contiguous columns ({@code j}), the order that keeps rows in cache.
 */
public final class ScalarDenseKernel implements DenseKernel {
    public static final ScalarDenseKernel INSTANCE = new ScalarDenseKernel();

    private ScalarDenseKernel() {}

    @Override public String name() { return "scalar"; }

    @Override public int lanes() { return 1; }

    @Override
    public void multiply(MemorySegment a, long aRowStride, long aColStride, MemorySegment b, MemorySegment init,
                         MemorySegment c, int m, int n, int k) {
        for (int r = 0; r < m; r++) {
            long cRow = (long) r * n;
            for (int j = 0; j < n; j++) {
                c.setAtIndex(JAVA_FLOAT, cRow + j, init == null ? 0f : init.getAtIndex(JAVA_FLOAT, j));
            }
            long aIndex = r * aRowStride;
            for (int q = 0; q < k; q++, aIndex += aColStride) {
                float x = a.getAtIndex(JAVA_FLOAT, aIndex);
                long bRow = (long) q * n;
                for (int j = 0; j < n; j++) {
                    float acc = c.getAtIndex(JAVA_FLOAT, cRow + j);
                    c.setAtIndex(JAVA_FLOAT, cRow + j, Math.fma(x, b.getAtIndex(JAVA_FLOAT, bRow + j), acc));
                }
            }
        }
    }

    @Override
    public void columnSums(MemorySegment a, MemorySegment sums, int m, int n) {
        for (int j = 0; j < n; j++) {
            sums.setAtIndex(JAVA_FLOAT, j, 0f);
        }
        for (int r = 0; r < m; r++) {
            long row = (long) r * n;
            for (int j = 0; j < n; j++) {
                sums.setAtIndex(JAVA_FLOAT, j, sums.getAtIndex(JAVA_FLOAT, j) + a.getAtIndex(JAVA_FLOAT, row + j));
            }
        }
    }

    @Override
    public void transpose(MemorySegment src, int rows, int cols, MemorySegment dst) {
        transpose(src, rows, cols, dst, 0, rows, 0, cols);
    }

    /** Tile edge: two 16 x 16 tiles of floats (1 KiB each) stay in L1 while both are walked. */
    private static final int TILE = 16;

    /**
     * {@link #transpose} of the block rows {@code [rowFrom, rowTo)}, columns {@code [colFrom, colTo)}
     * only: the Panama kernel's edges.
     */
    public void transpose(MemorySegment src, int rows, int cols, MemorySegment dst, int rowFrom, int rowTo,
                          int colFrom, int colTo) {
        for (int r0 = rowFrom; r0 < rowTo; r0 += TILE) {
            int r1 = Math.min(rowTo, r0 + TILE);
            for (int c0 = colFrom; c0 < colTo; c0 += TILE) {
                int c1 = Math.min(colTo, c0 + TILE);
                for (int r = r0; r < r1; r++) {
                    long s = (long) r * cols;
                    for (int c = c0; c < c1; c++) {
                        dst.setAtIndex(JAVA_FLOAT, (long) c * rows + r, src.getAtIndex(JAVA_FLOAT, s + c));
                    }
                }
            }
        }
    }

    @Override
    public void relu(MemorySegment x, long count) {
        for (long i = 0; i < count; i++) {
            x.setAtIndex(JAVA_FLOAT, i, Math.max(x.getAtIndex(JAVA_FLOAT, i), 0f));
        }
    }

    @Override
    public void keepWherePositive(MemorySegment x, MemorySegment mask, long count) {
        for (long i = 0; i < count; i++) {
            if (!(mask.getAtIndex(JAVA_FLOAT, i) > 0f)) {
                x.setAtIndex(JAVA_FLOAT, i, 0f);
            }
        }
    }

    @Override
    public void scaledDifference(MemorySegment y, MemorySegment t, float scale, MemorySegment d, long count) {
        for (long i = 0; i < count; i++) {
            d.setAtIndex(JAVA_FLOAT, i, scale * (y.getAtIndex(JAVA_FLOAT, i) - t.getAtIndex(JAVA_FLOAT, i)));
        }
    }
}
