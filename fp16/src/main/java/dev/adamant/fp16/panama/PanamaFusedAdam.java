package dev.adamant.fp16.panama;

import static dev.adamant.fp16.panama.HalfVectors.FLOATS;
import static dev.adamant.fp16.panama.HalfVectors.HALVES;
import static dev.adamant.fp16.panama.HalfVectors.INTS;
import static dev.adamant.fp16.panama.HalfVectors.ORDER;

import dev.adamant.core.kernel.AdamState;
import dev.adamant.core.kernel.AdamStep;
import dev.adamant.fp16.kernel.FusedAdamKernel;
import dev.adamant.fp16.kernel.Widening;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The fused mixed-precision Adam update ({@link FusedAdamKernel}) in the Vector API. Per vector of
 * parameters: the gradients widened as {@link Widening} does (the sign put back, the unscaling
 * folded into the widening's multiplication where that is exact, as {@code PanamaScalingKernel}'s
 * {@code widenScaled} does), then core's {@code PanamaAdamKernel} operation for operation (the
 * l2, amsgrad and unit-bias-correction tests are loop-invariant; C2 unswitches them), then
 * {@link HalfVectors#store} or {@link BFloat16Vectors#store}.
 *
 * <p>The loop is written twice, one per format, deliberately: each copy is in the method that tests
 * that the segments are native (see {@code PanamaHalfCodec} on the JDK's shared type profiles for
 * segments), and the Adam operations are written out in it rather than called: a helper called
 * from the loop while it is still interpreted gets hot and compiled on its own first, and C2 then
 * refuses to inline it ("already compiled into a big method", see {@link HalfVectors}), which boxes
 * every vector it takes (measured: 45 ms instead of 14 at 2^24). With the narrowing, a loop is
 * some 35 Vector API calls, under C2's inlining cutoff. From DRAM it reaches about what core's Adam
 * kernel alone does on fp32 gradients; the tiled pass it replaces made four passes over each tile
 * in cache and took about their sum.
 */
public final class PanamaFusedAdam implements FusedAdamKernel {
    private static final Class<?> NATIVE = MemorySegment.NULL.getClass();
    private static final int L = FLOATS.length();
    private static final int SIGN = 0x8000_0000;

    private static boolean allNative(AdamState adam, MemorySegment grads16, MemorySegment params16,
                                     MemorySegment master) {
        return grads16.getClass() == NATIVE && params16.getClass() == NATIVE && master.getClass() == NATIVE
                && adam.expAvg().getClass() == NATIVE && adam.expAvgSq().getClass() == NATIVE
                && (adam.maxExpAvgSq() == null || adam.maxExpAvgSq().getClass() == NATIVE);
    }

    @Override
    public long stepHalf(AdamState adam, MemorySegment grads16, MemorySegment params16, MemorySegment master,
                         float invScale, float coef, long from, long count) {
        if (!allNative(adam, grads16, params16, master)) {
            return 0;
        }
        Widening w = Widening.FP16;
        AdamStep s = adam.coefficients();
        float folded = w.folded(invScale);
        boolean twice = folded == 0f, clip = coef != 1f, l2 = s.l2(), amsgrad = s.amsgrad();
        boolean unitBc2 = s.biasCorrection2Sqrt() == 1f;
        int shift = w.shift();
        IntVector mask = IntVector.broadcast(INTS, w.mask());
        FloatVector first = FloatVector.broadcast(FLOATS, twice ? w.scale() : folded);
        FloatVector second = FloatVector.broadcast(FLOATS, invScale);
        FloatVector clipping = FloatVector.broadcast(FLOATS, coef);
        FloatVector sign = FloatVector.broadcast(FLOATS, s.gradSign());
        FloatVector wd = FloatVector.broadcast(FLOATS, s.weightDecay());
        FloatVector decay = FloatVector.broadcast(FLOATS, s.decayFactor());
        FloatVector b1 = FloatVector.broadcast(FLOATS, s.beta1());
        FloatVector c1 = FloatVector.broadcast(FLOATS, s.oneMinusBeta1());
        FloatVector b2 = FloatVector.broadcast(FLOATS, s.beta2());
        FloatVector c2 = FloatVector.broadcast(FLOATS, s.oneMinusBeta2());
        FloatVector bc2 = FloatVector.broadcast(FLOATS, s.biasCorrection2Sqrt());
        FloatVector eps = FloatVector.broadcast(FLOATS, s.eps());
        FloatVector negStep = FloatVector.broadcast(FLOATS, s.negStepSize());
        MemorySegment expAvg = adam.expAvg(), expAvgSq = adam.expAvgSq(), maxExpAvgSq = adam.maxExpAvgSq();
        final long bound = FLOATS.loopBound(count);
        for (long i = from; i < from + bound; i += L) {
            long o = i * Float.BYTES, h = i * Short.BYTES;
            IntVector wide = (IntVector) ShortVector.fromMemorySegment(HALVES, grads16, h, ORDER)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            FloatVector g = wide.lanewise(VectorOperators.LSHL, shift).and(mask).reinterpretAsFloats().mul(first);
            if (twice) {
                g = g.mul(second);
            }
            if (clip) {
                g = g.mul(clipping);
            }
            g = g.reinterpretAsInts().or(wide.and(SIGN)).reinterpretAsFloats().mul(sign);
            FloatVector p = FloatVector.fromMemorySegment(FLOATS, master, o, ORDER);
            if (l2) {
                g = p.fma(wd, g);
            }
            p = p.mul(decay);
            FloatVector m = g.fma(c1, FloatVector.fromMemorySegment(FLOATS, expAvg, o, ORDER).mul(b1));
            FloatVector v = c2.mul(g).fma(g, FloatVector.fromMemorySegment(FLOATS, expAvgSq, o, ORDER).mul(b2));
            FloatVector vd = v;
            if (amsgrad) {
                vd = FloatVector.fromMemorySegment(FLOATS, maxExpAvgSq, o, ORDER).max(v);
                vd.intoMemorySegment(maxExpAvgSq, o, ORDER);
            }
            FloatVector root = vd.lanewise(VectorOperators.SQRT);
            FloatVector denom = (unitBc2 ? root : root.div(bc2)).add(eps);
            p = p.add(negStep.mul(m).div(denom));
            p.intoMemorySegment(master, o, ORDER);
            m.intoMemorySegment(expAvg, o, ORDER);
            v.intoMemorySegment(expAvgSq, o, ORDER);
            HalfVectors.store(p, params16, h);
        }
        return bound;
    }

    /** {@link #stepHalf}'s loop with bf16's widening and narrowing. */
    @Override
    public long stepBFloat16(AdamState adam, MemorySegment grads16, MemorySegment params16, MemorySegment master,
                             float invScale, float coef, long from, long count) {
        if (!allNative(adam, grads16, params16, master)) {
            return 0;
        }
        Widening w = Widening.BF16;
        AdamStep s = adam.coefficients();
        float folded = w.folded(invScale);
        boolean twice = folded == 0f, clip = coef != 1f, l2 = s.l2(), amsgrad = s.amsgrad();
        boolean unitBc2 = s.biasCorrection2Sqrt() == 1f;
        int shift = w.shift();
        IntVector mask = IntVector.broadcast(INTS, w.mask());
        FloatVector first = FloatVector.broadcast(FLOATS, twice ? w.scale() : folded);
        FloatVector second = FloatVector.broadcast(FLOATS, invScale);
        FloatVector clipping = FloatVector.broadcast(FLOATS, coef);
        FloatVector sign = FloatVector.broadcast(FLOATS, s.gradSign());
        FloatVector wd = FloatVector.broadcast(FLOATS, s.weightDecay());
        FloatVector decay = FloatVector.broadcast(FLOATS, s.decayFactor());
        FloatVector b1 = FloatVector.broadcast(FLOATS, s.beta1());
        FloatVector c1 = FloatVector.broadcast(FLOATS, s.oneMinusBeta1());
        FloatVector b2 = FloatVector.broadcast(FLOATS, s.beta2());
        FloatVector c2 = FloatVector.broadcast(FLOATS, s.oneMinusBeta2());
        FloatVector bc2 = FloatVector.broadcast(FLOATS, s.biasCorrection2Sqrt());
        FloatVector eps = FloatVector.broadcast(FLOATS, s.eps());
        FloatVector negStep = FloatVector.broadcast(FLOATS, s.negStepSize());
        MemorySegment expAvg = adam.expAvg(), expAvgSq = adam.expAvgSq(), maxExpAvgSq = adam.maxExpAvgSq();
        final long bound = FLOATS.loopBound(count);
        for (long i = from; i < from + bound; i += L) {
            long o = i * Float.BYTES, h = i * Short.BYTES;
            IntVector wide = (IntVector) ShortVector.fromMemorySegment(HALVES, grads16, h, ORDER)
                    .convertShape(VectorOperators.S2I, INTS, 0);
            FloatVector g = wide.lanewise(VectorOperators.LSHL, shift).and(mask).reinterpretAsFloats().mul(first);
            if (twice) {
                g = g.mul(second);
            }
            if (clip) {
                g = g.mul(clipping);
            }
            g = g.reinterpretAsInts().or(wide.and(SIGN)).reinterpretAsFloats().mul(sign);
            FloatVector p = FloatVector.fromMemorySegment(FLOATS, master, o, ORDER);
            if (l2) {
                g = p.fma(wd, g);
            }
            p = p.mul(decay);
            FloatVector m = g.fma(c1, FloatVector.fromMemorySegment(FLOATS, expAvg, o, ORDER).mul(b1));
            FloatVector v = c2.mul(g).fma(g, FloatVector.fromMemorySegment(FLOATS, expAvgSq, o, ORDER).mul(b2));
            FloatVector vd = v;
            if (amsgrad) {
                vd = FloatVector.fromMemorySegment(FLOATS, maxExpAvgSq, o, ORDER).max(v);
                vd.intoMemorySegment(maxExpAvgSq, o, ORDER);
            }
            FloatVector root = vd.lanewise(VectorOperators.SQRT);
            FloatVector denom = (unitBc2 ? root : root.div(bc2)).add(eps);
            p = p.add(negStep.mul(m).div(denom));
            p.intoMemorySegment(master, o, ORDER);
            m.intoMemorySegment(expAvg, o, ORDER);
            v.intoMemorySegment(expAvgSq, o, ORDER);
            BFloat16Vectors.store(p, params16, h);
        }
        return bound;
    }
}
