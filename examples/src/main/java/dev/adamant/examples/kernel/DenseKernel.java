package dev.adamant.examples.kernel;

import java.lang.foreign.MemorySegment;

/**
 * The arithmetic of a fully connected layer, over fp32 buffers in the platform's byte order.
 *
 * <p>Every operation is element-wise in its result: each output float is computed by its own chain of
 * operations in a fixed order, written below, so the scalar and Panama implementations give the same
 * bits and the result does not depend on vector width, blocking or threads. (No horizontal sums:
 * a dot product would make the order of additions depend on the vector width.)
 *
 * <p>Kernels trust their caller ({@link dev.adamant.examples.Mlp}, {@link dev.adamant.examples.Teacher}):
 * sizes, bounds, alignment, liveness and non-overlap of outputs with inputs are checked there.
 * Indexes and strides are in floats.
 */
public interface DenseKernel {
    /** {@code "panama"} or {@code "scalar"}. */
    String name();

    /** Floats per vector: 1 for scalar. */
    int lanes();

    /**
     * {@code c[r*n + j] = init[j] + sum over q = 0..k-1 of a[r*aRowStride + q*aColStride] * b[q*n + j]}
     * for {@code r < m, j < n}, as the chain
     * <pre>
     *   acc = init == null ? 0f : init[j];
     *   for (q = 0; q &lt; k; q++) acc = Math.fma(a[r*aRowStride + q*aColStride], b[q*n + j], acc);
     *   c[r*n + j] = acc;
     * </pre>
     * {@code b} is row-major {@code k x n}; the strides let {@code a} be row-major ({@code k, 1}) or
     * transposed ({@code 1, lda}). One pass over {@code b} per block of 4 rows of {@code c}.
     * {@code c} must not overlap {@code a}, {@code b} or {@code init}.
     */
    void multiply(MemorySegment a, long aRowStride, long aColStride, MemorySegment b, MemorySegment init,
                  MemorySegment c, int m, int n, int k);

    /**
     * {@code sums[j] = a[0*n + j] + a[1*n + j] + ... + a[(m-1)*n + j]} for {@code j < n}, as the chain
     * {@code acc = 0f; for (r = 0; r < m; r++) acc = acc + a[r*n + j];}.
     */
    void columnSums(MemorySegment a, MemorySegment sums, int m, int n);

    /** {@code x[i] = Math.max(x[i], 0f)} for {@code i < count}, in place. */
    void relu(MemorySegment x, long count);

    /** {@code x[i] = mask[i] > 0f ? x[i] : 0f} for {@code i < count}, in place: ReLU's derivative. */
    void keepWherePositive(MemorySegment x, MemorySegment mask, long count);

    /**
     * {@code dst[c*rows + r] = src[r*cols + c]} for {@code r < rows, c < cols}: data movement only, so
     * every implementation gives the same bits. {@code dst} must not overlap {@code src}.
     */
    void transpose(MemorySegment src, int rows, int cols, MemorySegment dst);

    /** {@code d[i] = scale * (y[i] - t[i])} for {@code i < count} (two roundings: difference, product). */
    void scaledDifference(MemorySegment y, MemorySegment t, float scale, MemorySegment d, long count);
}
