package dev.adamant.core.scalar;

import dev.adamant.core.kernel.SgdKernel;
import dev.adamant.core.kernel.SgdStep;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The scalar SGD kernel: fallback, vector tail and test oracle, in {@link SgdStep}'s order. */
public final class ScalarSgdKernel implements SgdKernel {
    public static final ScalarSgdKernel INSTANCE = new ScalarSgdKernel();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ScalarSgdKernel() {}

    @Override
    public void step(SgdStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                     MemorySegment momentumBuffer, long from, long count) {
        final float sign = s.gradFactor(), wd = s.weightDecay(), mu = s.momentum();
        final float damp = s.oneMinusDampening(), corr = s.correction(), negLr = s.negLr();
        final boolean l2 = s.l2(), hasMomentum = s.hasMomentum(), first = s.firstStep();
        final boolean nesterov = s.nesterov(), readP = param != null, toUpdate = update != null;
        final long end = from + count;
        for (long i = from; i < end; i++) {
            float p = readP ? param.getAtIndex(F, i) : 0f;
            float g = grad.getAtIndex(F, i) * sign;
            if (l2) {
                g = Math.fma(p, wd, g);
            }
            float d = g;
            if (hasMomentum) {
                float b = first ? g : Math.fma(g, damp, momentumBuffer.getAtIndex(F, i) * mu);
                momentumBuffer.setAtIndex(F, i, b);
                float h = b * corr;
                d = nesterov ? Math.fma(h, mu, g) : h;
            }
            float next = Math.fma(d, negLr, p);
            if (toUpdate) {
                update.setAtIndex(F, i, p - next);
            } else {
                param.setAtIndex(F, i, next);
            }
        }
    }
}
