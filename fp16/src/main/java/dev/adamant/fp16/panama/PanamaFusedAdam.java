package dev.adamant.fp16.panama;

import static dev.adamant.fp16.panama.HalfVectors.FLOATS;
import static dev.adamant.fp16.panama.HalfVectors.HALVES;
import static dev.adamant.fp16.panama.HalfVectors.INTS;
import static dev.adamant.fp16.panama.HalfVectors.ORDER;

import dev.adamant.core.kernel.AdamState;
import dev.adamant.core.kernel.AdamStep;
import dev.adamant.core.panama.Species;
import dev.adamant.fp16.kernel.FusedAdamKernel;
import dev.adamant.fp16.kernel.Widening;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link FusedAdamKernel} in the Vector API. Per vector of parameters: the gradients widened as
 * {@code PanamaScalingKernel.widenScaled} widens them (the magnitude bits placed in a float, times
 * the widening's scale folded into the unscaling where that is exact, the sign put back), then
 * core's {@code PanamaAdamKernel} operation for operation (the loop-invariant tests are unswitched
 * by C2).
 *
 * <p>Written out in one method, with no calls of ours in the loop, and without the narrowing: a
 * helper called from the loop while it is still interpreted gets hot, is compiled on its own, and
 * is then refused for inlining ("already compiled into a big method"), and a loop that also
 * narrowed (fp16's 16 operations or bf16's 10) came out, in some JVMs and not others, past the
 * budget of C2's late inlining, with the narrowing's compare and blend left as calls on boxed
 * vectors: the step then took 21 ms at 2^24 instead of 12. See {@link HalfVectors} on both limits.
 * The segments must be native (see {@code PanamaHalfCodec} on the JDK's shared type profiles).
 *
 * <p>Its twin is core's {@code PanamaAdamKernel} (after {@code ScalarScalingKernel.widenScaled} into
 * an fp32 tile): {@code FusedAdamTwinTest} holds the two to the same bits over random Adam and AdamW
 * configurations, loss scales, clip coefficients, formats and sizes, so a change to the operations of
 * either loop is made in both.
 */
public final class PanamaFusedAdam implements FusedAdamKernel {
    private static final Class<?> NATIVE = MemorySegment.NULL.getClass();
    private static final int L = FLOATS.length();
    private static final int SIGN = 0x8000_0000;

    public PanamaFusedAdam() {
        Species.requireUsable();
    }

    @Override
    public long step(AdamState adam, Widening w, MemorySegment grads16, MemorySegment master, float invScale,
                     float coef, long from, long count) {
        if (grads16.getClass() != NATIVE || master.getClass() != NATIVE || adam.expAvg().getClass() != NATIVE
                || adam.expAvgSq().getClass() != NATIVE
                || (adam.maxExpAvgSq() != null && adam.maxExpAvgSq().getClass() != NATIVE)) {
            return 0;
        }
        AdamStep s = adam.coefficients();
        float folded = w.folded(invScale);
        boolean twice = folded == 0f, clip = coef != 1f, l2 = s.l2(), amsgrad = s.amsgrad();
        boolean unitBc2 = s.biasCorrection2Sqrt() == 1f;
        int shift = w.shift();
        IntVector mask = IntVector.broadcast(INTS, w.mask());
        FloatVector first = FloatVector.broadcast(FLOATS, twice ? w.scale() : folded);
        FloatVector second = FloatVector.broadcast(FLOATS, invScale);
        FloatVector clipping = FloatVector.broadcast(FLOATS, coef);
        FloatVector sign = FloatVector.broadcast(FLOATS, s.gradFactor());
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
            long o = i * Float.BYTES;
            IntVector wide = (IntVector) ShortVector.fromMemorySegment(HALVES, grads16, i * Short.BYTES, ORDER)
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
        }
        return bound;
    }
}
