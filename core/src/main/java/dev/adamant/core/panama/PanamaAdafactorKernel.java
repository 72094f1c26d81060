package dev.adamant.core.panama;

import static dev.adamant.core.panama.Species.FLOATS;
import static dev.adamant.core.panama.Species.ORDER;

import dev.adamant.core.kernel.AdafactorKernel;
import dev.adamant.core.kernel.AdafactorStep;
import dev.adamant.core.scalar.ScalarAdafactorKernel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector Adafactor kernel. The sums follow {@link AdafactorKernel}'s 8-lane order exactly, so
 * they run on 256-bit vectors of 8 floats ({@link #LANES8}), one accumulator whose lane {@code q}
 * is the order's lane {@code q}, folded in the scalar twin's order; where the library's vectors
 * are narrower than 8 floats the sums go to the twin. The elementwise apply passes run on
 * {@link Species#FLOATS}. Tails (and row heads that do not start on a multiple of 8 in the flat
 * order) go to {@link ScalarAdafactorKernel}, which does the same operations in the same order.
 *
 * <p>Cost: a matrix step reads the parameters once (their norm), the gradient three times (row and
 * column sums, the update's norm, the apply) and writes the parameters once: 24 bytes an element,
 * plus {@code O(rows + cols)}; a vector step reads and writes the variance once more (32 bytes an
 * element). The norm accumulations are one dependent chain of vector adds (their order is fixed),
 * so they do not unroll.
 */
final class PanamaAdafactorKernel implements AdafactorKernel {
    static final PanamaAdafactorKernel INSTANCE = new PanamaAdafactorKernel();
    /** 8 floats, the summation order's lanes; 256-bit vectors exist wherever FLOATS has 8 lanes or more. */
    static final VectorSpecies<Float> LANES8 = FloatVector.SPECIES_256;
    /** Whether the sums run on vectors here (the library's vectors hold at least 8 floats). */
    static final boolean VECTOR_SUMS = FLOATS.length() >= LANES;
    private static final long STRIDE8 = LANES * Float.BYTES;
    private static final ScalarAdafactorKernel TWIN = ScalarAdafactorKernel.INSTANCE;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private PanamaAdafactorKernel() {}

    @Override
    public float sumOfSquares(MemorySegment x, long n) {
        if (!VECTOR_SUMS) {
            return TWIN.sumOfSquares(x, n);
        }
        final long m = n - n % LANES;
        FloatVector acc = FloatVector.zero(LANES8);
        for (long o = 0, end = m * Float.BYTES; o < end; o += STRIDE8) {
            FloatVector v = FloatVector.fromMemorySegment(LANES8, x, o, ORDER);
            acc = acc.add(v.mul(v));   // two roundings, as ATen's mul then add
        }
        return ScalarAdafactorKernel.squaresFrom(x, m, n, ScalarAdafactorKernel.fold(acc.toArray()));
    }

    @Override
    public void factoredMoments(AdafactorStep s, MemorySegment grad, long rows, long cols, MemorySegment rowVar,
                                MemorySegment colVar, MemorySegment colSums) {
        if (!VECTOR_SUMS) {
            TWIN.factoredMoments(s, grad, rows, cols, rowVar, colVar, colSums);
            return;
        }
        colSums.asSlice(0, cols * Float.BYTES).fill((byte) 0);
        final FloatVector gf = FloatVector.broadcast(LANES8, s.gradFactor());
        final long m = cols - cols % LANES, end = m * Float.BYTES;
        for (long i = 0; i < rows; i++) {
            final long base = i * cols * Float.BYTES;
            FloatVector acc = FloatVector.zero(LANES8);
            for (long o = 0; o < end; o += STRIDE8) {
                FloatVector g = FloatVector.fromMemorySegment(LANES8, grad, base + o, ORDER).mul(gf);
                FloatVector sq = g.mul(g);
                acc = acc.add(sq);
                FloatVector.fromMemorySegment(LANES8, colSums, o, ORDER).add(sq).intoMemorySegment(colSums, o, ORDER);
            }
            ScalarAdafactorKernel.rowMoment(s, grad, i, cols, m, acc.toArray(), rowVar, colSums);
        }
        ScalarAdafactorKernel.finishColumns(s, rows, cols, colVar, colSums, 0);
    }

    @Override
    public float factoredUpdateSquares(AdafactorStep s, MemorySegment grad, long rows, long cols,
                                       MemorySegment rowVar, MemorySegment colVar, float rowVarMean) {
        if (!VECTOR_SUMS) {
            return TWIN.factoredUpdateSquares(s, grad, rows, cols, rowVar, colVar, rowVarMean);
        }
        final long n = rows * cols, m = n - n % LANES;
        final FloatVector gf = FloatVector.broadcast(LANES8, s.gradFactor());
        final FloatVector mean = FloatVector.broadcast(LANES8, rowVarMean);
        final FloatVector eps = FloatVector.broadcast(LANES8, s.eps1Squared());
        final FloatVector one = FloatVector.broadcast(LANES8, 1f);
        float[] lanes = new float[LANES];
        for (long i = 0; i < rows && i * cols < m; i++) {
            final long base = i * cols, limit = Math.min(base + cols, m);
            long k = base;
            long head = Math.min(limit, (k + LANES - 1) / LANES * LANES);   // to the next lane 0
            ScalarAdafactorKernel.factoredLanes(s, grad, cols, rowVar, colVar, rowVarMean, k, head, lanes);
            k = head;
            long vectorEnd = limit - limit % LANES;
            if (k < vectorEnd) {
                final FloatVector r = FloatVector.broadcast(LANES8, rowVar.getAtIndex(F, i));
                FloatVector acc = FloatVector.fromArray(LANES8, lanes, 0);
                for (; k < vectorEnd; k += LANES) {
                    FloatVector c = FloatVector.fromMemorySegment(LANES8, colVar, (k - base) * Float.BYTES, ORDER);
                    FloatVector g = FloatVector.fromMemorySegment(LANES8, grad, k * Float.BYTES, ORDER).mul(gf);
                    FloatVector u = one.div(r.mul(c).div(mean).max(eps).sqrt()).mul(g);
                    acc = acc.add(u.mul(u));
                }
                acc.intoArray(lanes, 0);
            }
            ScalarAdafactorKernel.factoredLanes(s, grad, cols, rowVar, colVar, rowVarMean, k, limit, lanes);
        }
        return ScalarAdafactorKernel.factoredTail(s, grad, cols, rowVar, colVar, rowVarMean, m, n,
                ScalarAdafactorKernel.fold(lanes));
    }

    @Override
    public void factoredApply(AdafactorStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                              long cols, MemorySegment rowVar, MemorySegment colVar, float rowVarMean,
                              float negAlpha, long from, long count) {
        final FloatVector gf = FloatVector.broadcast(FLOATS, s.gradFactor());
        final FloatVector decay = FloatVector.broadcast(FLOATS, s.decayFactor());
        final FloatVector mean = FloatVector.broadcast(FLOATS, rowVarMean);
        final FloatVector eps = FloatVector.broadcast(FLOATS, s.eps1Squared());
        final FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        final FloatVector negA = FloatVector.broadcast(FLOATS, negAlpha);
        final long stride = FLOATS.vectorByteSize(), end = from + count;
        long k = from;
        while (k < end) {
            final long i = k / cols, j = k % cols, segmentEnd = Math.min(end, (i + 1) * cols);
            final long bound = FLOATS.loopBound(segmentEnd - k);
            final FloatVector r = FloatVector.broadcast(FLOATS, rowVar.getAtIndex(F, i));
            final long o0 = k * Float.BYTES, c0 = j * Float.BYTES;
            for (long q = 0, qEnd = bound * Float.BYTES; q < qEnd; q += stride) {
                final long o = o0 + q;
                FloatVector c = FloatVector.fromMemorySegment(FLOATS, colVar, c0 + q, ORDER);
                FloatVector g = FloatVector.fromMemorySegment(FLOATS, grad, o, ORDER).mul(gf);
                apply(param, update, o, one.div(r.mul(c).div(mean).max(eps).sqrt()).mul(g), negA, decay);
            }
            TWIN.factoredApply(s, param, grad, update, cols, rowVar, colVar, rowVarMean, negAlpha, k + bound,
                    segmentEnd - k - bound);
            k = segmentEnd;
        }
    }

    @Override
    public float vectorMoments(AdafactorStep s, MemorySegment grad, MemorySegment variance, long n) {
        if (!VECTOR_SUMS) {
            return TWIN.vectorMoments(s, grad, variance, n);
        }
        final FloatVector gf = FloatVector.broadcast(LANES8, s.gradFactor());
        final FloatVector coefficient = FloatVector.broadcast(LANES8, s.lerpCoefficient());
        final FloatVector eps = FloatVector.broadcast(LANES8, s.eps1Squared());
        final FloatVector one = FloatVector.broadcast(LANES8, 1f);
        final boolean fromStart = s.lerpFromStart();
        final long m = n - n % LANES;
        FloatVector acc = FloatVector.zero(LANES8);
        for (long o = 0, end = m * Float.BYTES; o < end; o += STRIDE8) {
            FloatVector g = FloatVector.fromMemorySegment(LANES8, grad, o, ORDER).mul(gf);
            FloatVector old = FloatVector.fromMemorySegment(LANES8, variance, o, ORDER);
            FloatVector sq = g.mul(g);
            FloatVector v = coefficient.fma(sq.sub(old), fromStart ? old : sq);
            v.intoMemorySegment(variance, o, ORDER);
            FloatVector u = one.div(v.max(eps).sqrt()).mul(g);
            acc = acc.add(u.mul(u));
        }
        return ScalarAdafactorKernel.vectorTail(s, grad, variance, m, n, ScalarAdafactorKernel.fold(acc.toArray()));
    }

    @Override
    public void vectorApply(AdafactorStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                            MemorySegment variance, float negAlpha, long from, long count) {
        final FloatVector gf = FloatVector.broadcast(FLOATS, s.gradFactor());
        final FloatVector decay = FloatVector.broadcast(FLOATS, s.decayFactor());
        final FloatVector eps = FloatVector.broadcast(FLOATS, s.eps1Squared());
        final FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        final FloatVector negA = FloatVector.broadcast(FLOATS, negAlpha);
        final long bound = FLOATS.loopBound(count), stride = FLOATS.vectorByteSize();
        for (long o = from * Float.BYTES, end = (from + bound) * Float.BYTES; o < end; o += stride) {
            FloatVector g = FloatVector.fromMemorySegment(FLOATS, grad, o, ORDER).mul(gf);
            FloatVector v = FloatVector.fromMemorySegment(FLOATS, variance, o, ORDER);
            apply(param, update, o, one.div(v.max(eps).sqrt()).mul(g), negA, decay);
        }
        TWIN.vectorApply(s, param, grad, update, variance, negAlpha, from + bound, count - bound);
    }

    /** The twin's {@code apply} on the vector at byte offset {@code o}. */
    private static void apply(MemorySegment param, MemorySegment update, long o, FloatVector u, FloatVector negA,
                              FloatVector decay) {
        FloatVector p0 = FloatVector.fromMemorySegment(FLOATS, param, o, ORDER);
        FloatVector p = u.fma(negA, p0.mul(decay));
        if (update != null) {
            p0.sub(p).intoMemorySegment(update, o, ORDER);
        } else {
            p.intoMemorySegment(param, o, ORDER);
        }
    }
}
