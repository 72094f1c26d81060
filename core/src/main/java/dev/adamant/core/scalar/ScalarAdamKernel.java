package dev.adamant.core.scalar;

import dev.adamant.core.kernel.AdamKernel;
import dev.adamant.core.kernel.AdamStep;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The scalar Adam kernel: the fallback, the vector kernel's tail, and the test oracle. It does
 * {@link AdamStep}'s operations in the same order as the Panama kernel, one float at a time.
 */
public final class ScalarAdamKernel implements AdamKernel {
    public static final ScalarAdamKernel INSTANCE = new ScalarAdamKernel();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ScalarAdamKernel() {}

    @Override
    public void step(AdamStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                     MemorySegment expAvg, MemorySegment expAvgSq, MemorySegment maxExpAvgSq, long from, long count) {
        final float sign = s.gradFactor(), wd = s.weightDecay(), decay = s.decayFactor();
        final float b1 = s.beta1(), c1 = s.oneMinusBeta1(), b2 = s.beta2(), c2 = s.oneMinusBeta2();
        final float bc2 = s.biasCorrection2Sqrt(), eps = s.eps(), negStep = s.negStepSize();
        final boolean l2 = s.l2(), amsgrad = s.amsgrad(), readP = param != null, toUpdate = update != null;
        final long end = from + count;
        for (long i = from; i < end; i++) {
            final float p0 = readP ? param.getAtIndex(F, i) : 0f;
            float p = p0;
            float g = grad.getAtIndex(F, i) * sign;
            if (l2) {
                g = Math.fma(p, wd, g);
            }
            p = p * decay;
            float m = Math.fma(g, c1, expAvg.getAtIndex(F, i) * b1);
            float v = Math.fma(c2 * g, g, expAvgSq.getAtIndex(F, i) * b2);
            float vd = v;
            if (amsgrad) {
                vd = Math.max(maxExpAvgSq.getAtIndex(F, i), v);
                maxExpAvgSq.setAtIndex(F, i, vd);
            }
            float denom = (float) Math.sqrt(vd) / bc2 + eps;
            p = p + (negStep * m) / denom;
            if (toUpdate) {
                update.setAtIndex(F, i, p0 - p);
            } else {
                param.setAtIndex(F, i, p);
            }
            expAvg.setAtIndex(F, i, m);
            expAvgSq.setAtIndex(F, i, v);
        }
    }
}
