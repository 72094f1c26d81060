package dev.adamant.core.scalar;

import dev.adamant.core.kernel.AdafactorKernel;
import dev.adamant.core.kernel.AdafactorStep;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The scalar Adafactor kernel: fallback, vector tail and test oracle, in {@link AdafactorStep}'s
 * order and {@link AdafactorKernel}'s summation order (8 float lanes kept in an array, indexed by
 * the flat element index).
 */
public final class ScalarAdafactorKernel implements AdafactorKernel {
    public static final ScalarAdafactorKernel INSTANCE = new ScalarAdafactorKernel();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ScalarAdafactorKernel() {}

    /** The lanes folded left: {@code ((l0 + l1) + l2) + ...}, as ATen folds its stored vector. */
    public static float fold(float[] lanes) {
        float b = lanes[0];
        for (int j = 1; j < LANES; j++) {
            b += lanes[j];
        }
        return b;
    }

    @Override
    public float sumOfSquares(MemorySegment x, long n) {
        float[] lanes = new float[LANES];
        long m = n - n % LANES;
        for (long k = 0; k < m; k++) {
            float v = x.getAtIndex(F, k);
            lanes[(int) (k % LANES)] += v * v;
        }
        return squaresFrom(x, m, n, fold(lanes));
    }

    /** {@code b} plus the squares of floats {@code [from, to)} of {@code x}, one by one: the tail. */
    public static float squaresFrom(MemorySegment x, long from, long to, float b) {
        for (long k = from; k < to; k++) {
            float v = x.getAtIndex(F, k);
            b += v * v;
        }
        return b;
    }

    @Override
    public void factoredMoments(AdafactorStep s, MemorySegment grad, long rows, long cols, MemorySegment rowVar,
                                MemorySegment colVar, MemorySegment colSums) {
        colSums.asSlice(0, cols * Float.BYTES).fill((byte) 0);
        for (long i = 0; i < rows; i++) {
            rowMoment(s, grad, i, cols, 0, new float[LANES], rowVar, colSums);
        }
        finishColumns(s, rows, cols, colVar, colSums, 0);
    }

    /**
     * Row {@code i}'s squares from column {@code j <= cols - cols % 8} on (the columns before are
     * in {@code lanes}), each added to {@code colSums} too; then {@code rowVar[i]} moves towards the
     * row's mean square. The Panama kernel's row tail.
     */
    public static void rowMoment(AdafactorStep s, MemorySegment grad, long i, long cols, long j, float[] lanes,
                                 MemorySegment rowVar, MemorySegment colSums) {
        final float gf = s.gradFactor();
        final long base = i * cols, m = cols - cols % LANES;
        for (; j < m; j++) {
            float g = grad.getAtIndex(F, base + j) * gf;
            float sq = g * g;
            lanes[(int) (j % LANES)] += sq;
            colSums.setAtIndex(F, j, colSums.getAtIndex(F, j) + sq);
        }
        float b = fold(lanes);
        for (; j < cols; j++) {
            float g = grad.getAtIndex(F, base + j) * gf;
            float sq = g * g;
            b += sq;
            colSums.setAtIndex(F, j, colSums.getAtIndex(F, j) + sq);
        }
        float mean = AdafactorStep.meanSquare(b, (float) cols);
        rowVar.setAtIndex(F, i, s.lerp(rowVar.getAtIndex(F, i), mean));
    }

    /** {@code colVar[j]} towards column {@code j}'s mean square, for {@code j >= from}: the column tail. */
    public static void finishColumns(AdafactorStep s, long rows, long cols, MemorySegment colVar,
                                     MemorySegment colSums, long from) {
        for (long j = from; j < cols; j++) {
            float mean = AdafactorStep.meanSquare(colSums.getAtIndex(F, j), (float) rows);
            colVar.setAtIndex(F, j, s.lerp(colVar.getAtIndex(F, j), mean));
        }
    }

    @Override
    public float factoredUpdateSquares(AdafactorStep s, MemorySegment grad, long rows, long cols,
                                       MemorySegment rowVar, MemorySegment colVar, float rowVarMean) {
        final long n = rows * cols, m = n - n % LANES;
        float[] lanes = new float[LANES];
        factoredLanes(s, grad, cols, rowVar, colVar, rowVarMean, 0, m, lanes);
        return factoredTail(s, grad, cols, rowVar, colVar, rowVarMean, m, n, fold(lanes));
    }

    /** The squared updates of flat elements {@code [from, to)} added to lane {@code k % 8}. */
    public static void factoredLanes(AdafactorStep s, MemorySegment grad, long cols, MemorySegment rowVar,
                                     MemorySegment colVar, float rowVarMean, long from, long to, float[] lanes) {
        final float gf = s.gradFactor();
        long i = from / cols, j = from % cols;
        float r = from < to ? rowVar.getAtIndex(F, i) : 0f;
        for (long k = from; k < to; k++) {
            float v = r * colVar.getAtIndex(F, j) / rowVarMean;
            float u = s.update(v, grad.getAtIndex(F, k) * gf);
            lanes[(int) (k % LANES)] += u * u;
            if (++j == cols && k + 1 < to) {
                j = 0;
                r = rowVar.getAtIndex(F, ++i);
            }
        }
    }

    /** {@code b} plus the squared updates of flat elements {@code [from, to)}, one by one. */
    public static float factoredTail(AdafactorStep s, MemorySegment grad, long cols, MemorySegment rowVar,
                              MemorySegment colVar, float rowVarMean, long from, long to, float b) {
        final float gf = s.gradFactor();
        for (long k = from; k < to; k++) {
            float v = rowVar.getAtIndex(F, k / cols) * colVar.getAtIndex(F, k % cols) / rowVarMean;
            float u = s.update(v, grad.getAtIndex(F, k) * gf);
            b += u * u;
        }
        return b;
    }

    @Override
    public void factoredApply(AdafactorStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                              long cols, MemorySegment rowVar, MemorySegment colVar, float rowVarMean,
                              float negAlpha, long from, long count) {
        final float gf = s.gradFactor(), decay = s.decayFactor();
        final long end = from + count;
        long i = from / cols, j = from % cols;
        float r = count > 0 ? rowVar.getAtIndex(F, i) : 0f;
        for (long k = from; k < end; k++) {
            float v = r * colVar.getAtIndex(F, j) / rowVarMean;
            float u = s.update(v, grad.getAtIndex(F, k) * gf);
            apply(param, update, k, u, negAlpha, decay);
            if (++j == cols && k + 1 < end) {
                j = 0;
                r = rowVar.getAtIndex(F, ++i);
            }
        }
    }

    /**
     * The last operation of a step on element {@code k}: {@code p' = fma(u, negAlpha, p * decay)}
     * into {@code param}, or in update mode ({@code update} non-null) {@code p - p'} into {@code update}.
     */
    private static void apply(MemorySegment param, MemorySegment update, long k, float u, float negAlpha,
                              float decay) {
        float p0 = param.getAtIndex(F, k);
        float p = Math.fma(u, negAlpha, p0 * decay);
        if (update != null) {
            update.setAtIndex(F, k, p0 - p);
        } else {
            param.setAtIndex(F, k, p);
        }
    }

    @Override
    public float vectorMoments(AdafactorStep s, MemorySegment grad, MemorySegment variance, long n) {
        final long m = n - n % LANES;
        float[] lanes = new float[LANES];
        final float gf = s.gradFactor();
        for (long k = 0; k < m; k++) {
            float g = grad.getAtIndex(F, k) * gf;
            float v = s.lerp(variance.getAtIndex(F, k), g * g);
            variance.setAtIndex(F, k, v);
            float u = s.update(v, g);
            lanes[(int) (k % LANES)] += u * u;
        }
        return vectorTail(s, grad, variance, m, n, fold(lanes));
    }

    /** {@code b} plus the squared updates of elements {@code [from, to)}, their variance updated: the tail. */
    public static float vectorTail(AdafactorStep s, MemorySegment grad, MemorySegment variance, long from, long to,
                                   float b) {
        final float gf = s.gradFactor();
        for (long k = from; k < to; k++) {
            float g = grad.getAtIndex(F, k) * gf;
            float v = s.lerp(variance.getAtIndex(F, k), g * g);
            variance.setAtIndex(F, k, v);
            float u = s.update(v, g);
            b += u * u;
        }
        return b;
    }

    @Override
    public void vectorApply(AdafactorStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                            MemorySegment variance, float negAlpha, long from, long count) {
        final float gf = s.gradFactor(), decay = s.decayFactor();
        for (long k = from, end = from + count; k < end; k++) {
            float u = s.update(variance.getAtIndex(F, k), grad.getAtIndex(F, k) * gf);
            apply(param, update, k, u, negAlpha, decay);
        }
    }
}
