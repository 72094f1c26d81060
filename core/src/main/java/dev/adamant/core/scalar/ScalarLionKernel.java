package dev.adamant.core.scalar;

import dev.adamant.core.kernel.LionKernel;
import dev.adamant.core.kernel.LionStep;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The scalar Lion kernel: fallback, vector tail and test oracle, in {@link LionStep}'s order. */
public final class ScalarLionKernel implements LionKernel {
    public static final ScalarLionKernel INSTANCE = new ScalarLionKernel();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ScalarLionKernel() {}

    @Override
    public void step(LionStep s, MemorySegment param, MemorySegment grad, MemorySegment update, MemorySegment expAvg,
                     long from, long count) {
        final float sign = s.gradFactor(), decay = s.decayFactor(), b1 = s.beta1(), c1 = s.oneMinusBeta1();
        final float b2 = s.beta2(), c2 = s.oneMinusBeta2(), negLr = s.negLr();
        final boolean readP = param != null, toUpdate = update != null;
        final long end = from + count;
        for (long i = from; i < end; i++) {
            final float p0 = readP ? param.getAtIndex(F, i) : 0f;
            float g = grad.getAtIndex(F, i) * sign;
            float m = expAvg.getAtIndex(F, i);
            float p = p0 * decay;
            float c = m * b1 + g * c1;
            float d = c > 0f ? 1f : c < 0f ? -1f : 0f;   // NaN: 0, as PyTorch's CPU sign
            p = Math.fma(d, negLr, p);
            expAvg.setAtIndex(F, i, Math.fma(g, c2, m * b2));
            if (toUpdate) {
                update.setAtIndex(F, i, p0 - p);
            } else {
                param.setAtIndex(F, i, p);
            }
        }
    }
}
