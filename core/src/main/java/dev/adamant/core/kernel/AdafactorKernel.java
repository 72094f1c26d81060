package dev.adamant.core.kernel;

import java.lang.foreign.MemorySegment;

/**
 * The passes of one Adafactor step ({@link AdafactorStep}'s formula), over one whole tensor: a
 * matrix of {@code rows x cols} floats, row-major, or a vector of {@code n}. The optimizer calls, for
 * a matrix: {@link #sumOfSquares} of the parameters, {@link #factoredMoments},
 * {@link #factoredUpdateSquares}, then {@link #factoredApply} over any ranges; for a vector:
 * {@link #sumOfSquares}, {@link #vectorMoments}, then {@link #vectorApply}.
 *
 * <p><b>Summation order</b>, the same in every implementation, so that the Panama kernel and its
 * scalar twin agree bit for bit: PyTorch's CPU fast path for a 2-norm over contiguous floats
 * ({@code norm_kernel_tensor_iterator_impl}) with {@link #LANES} = 8 lanes (its AVX2 build):
 * element {@code k < m = n - n % 8} is added to lane {@code k % 8} in the order of {@code k}, in
 * float, the square rounded before the add (no FMA); the lanes are folded left,
 * {@code ((l0 + l1) + l2) + ...}; the last {@code n % 8} squares are added one by one. Row sums
 * use that order per row; column sums add the rows' squares in row order, one float per column
 * (ATen's strided reduction). The whole-tensor sums (parameters, update) index lanes by the
 * flat, row-major index. Everything is in float, as PyTorch's {@code acc_type} for float32 on CPU.
 *
 * <p>Callers have checked everything: segments live, large enough, 4-byte aligned, writable where
 * written, {@code update} null or disjoint from {@code param} (it may be {@code grad} itself: each
 * gradient is read before its update is written). Shapes are at least 1 x 1.
 */
public interface AdafactorKernel {
    /** Lanes of the summation order (see the class comment): PyTorch's 256-bit vectors of floats. */
    int LANES = 8;

    /** The sum of squares of floats {@code [0, n)} of {@code x}, in the order of the class comment. */
    float sumOfSquares(MemorySegment x, long n);

    /**
     * Updates {@code rowVar} (rows floats) and {@code colVar} (cols floats) from the gradient:
     * {@code rowVar[i] = lerp(rowVar[i], meanSquare(row i))}, {@code colVar[j] = lerp(colVar[j],
     * meanSquare(column j))}. {@code colSums} (cols floats) is scratch, overwritten.
     */
    void factoredMoments(AdafactorStep s, MemorySegment grad, long rows, long cols, MemorySegment rowVar,
                         MemorySegment colVar, MemorySegment colSums);

    /**
     * The sum of squares of the update {@code u} of every element (flat order), {@code v} estimated
     * as {@code rowVar[i] * colVar[j] / rowVarMean}, {@code rowVarMean} already clamped to eps1.
     */
    float factoredUpdateSquares(AdafactorStep s, MemorySegment grad, long rows, long cols, MemorySegment rowVar,
                                MemorySegment colVar, float rowVarMean);

    /**
     * Steps elements {@code [from, from + count)} (flat, row-major) of a matrix of {@code cols}
     * columns: {@code p = fma(u, negAlpha, p * decayFactor)}, or in update mode ({@code update}
     * non-null) {@code update = p - p'} and the parameters left alone. Elementwise: any split of the
     * range gives the same bits.
     */
    void factoredApply(AdafactorStep s, MemorySegment param, MemorySegment grad, MemorySegment update, long cols,
                       MemorySegment rowVar, MemorySegment colVar, float rowVarMean, float negAlpha, long from,
                       long count);

    /**
     * Updates {@code variance = lerp(variance, g * g)} over floats {@code [0, n)} and returns the sum
     * of squares of the update {@code u}, in the order of the class comment.
     */
    float vectorMoments(AdafactorStep s, MemorySegment grad, MemorySegment variance, long n);

    /** {@link #factoredApply} for a vector, {@code u} from the (already updated) {@code variance}. */
    void vectorApply(AdafactorStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                     MemorySegment variance, float negAlpha, long from, long count);
}
