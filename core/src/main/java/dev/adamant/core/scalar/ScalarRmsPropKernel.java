package dev.adamant.core.scalar;

import dev.adamant.core.kernel.RmsPropKernel;
import dev.adamant.core.kernel.RmsPropStep;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The scalar RMSProp kernel: fallback, vector tail and test oracle, in {@link RmsPropStep}'s order. */
public final class ScalarRmsPropKernel implements RmsPropKernel {
    public static final ScalarRmsPropKernel INSTANCE = new ScalarRmsPropKernel();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ScalarRmsPropKernel() {}

    @Override
    public void step(RmsPropStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                     MemorySegment squareAvg,
                     MemorySegment gradAvg, MemorySegment momentumBuffer, long from, long count) {
        final float sign = s.gradFactor(), wd = s.weightDecay(), alpha = s.alpha();
        final float c = s.oneMinusAlpha(), corr = s.correction(), eps = s.eps();
        final float mu = s.momentum(), negLr = s.negLr();
        final boolean l2 = s.l2(), centered = s.centered(), hasMomentum = s.hasMomentum();
        final boolean readP = param != null, toUpdate = update != null;
        final long end = from + count;
        for (long i = from; i < end; i++) {
            final float p0 = readP ? param.getAtIndex(F, i) : 0f;
            float p = p0;
            float g = grad.getAtIndex(F, i) * sign;
            if (l2) {
                g = Math.fma(p, wd, g);
            }
            float sq = Math.fma(c * g, g, squareAvg.getAtIndex(F, i) * alpha);
            squareAvg.setAtIndex(F, i, sq);
            float var = sq * corr;
            if (centered) {
                float a = Math.fma(g, c, gradAvg.getAtIndex(F, i) * alpha);
                gradAvg.setAtIndex(F, i, a);
                float ah = a * corr;
                var = Math.max(Math.fma(-ah, ah, var), 0f); // rounding can make it < 0: no NaN
            }
            float r = (float) Math.sqrt(var) + eps;
            if (hasMomentum) {
                float b = momentumBuffer.getAtIndex(F, i) * mu + g / r;
                momentumBuffer.setAtIndex(F, i, b);
                p = Math.fma(b, negLr, p);
            } else {
                p = p + (negLr * g) / r;
            }
            if (toUpdate) {
                update.setAtIndex(F, i, p0 - p);
            } else {
                param.setAtIndex(F, i, p);
            }
        }
    }
}
