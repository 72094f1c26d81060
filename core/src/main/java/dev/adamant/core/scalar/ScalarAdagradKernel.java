package dev.adamant.core.scalar;

import dev.adamant.core.kernel.AdagradKernel;
import dev.adamant.core.kernel.AdagradStep;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** The scalar Adagrad kernel: fallback, vector tail and test oracle, in {@link AdagradStep}'s order. */
public final class ScalarAdagradKernel implements AdagradKernel {
    public static final ScalarAdagradKernel INSTANCE = new ScalarAdagradKernel();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ScalarAdagradKernel() {}

    @Override
    public void step(AdagradStep s, MemorySegment param, MemorySegment grad, MemorySegment update, MemorySegment sum,
                     long from, long count) {
        final float sign = s.gradFactor(), wd = s.weightDecay(), eps = s.eps(), negClr = s.negClr();
        final boolean l2 = s.l2(), readP = param != null, toUpdate = update != null;
        final long end = from + count;
        for (long i = from; i < end; i++) {
            final float p0 = readP ? param.getAtIndex(F, i) : 0f;
            float g = grad.getAtIndex(F, i) * sign;
            if (l2) {
                g = Math.fma(p0, wd, g);
            }
            float acc = Math.fma(g, g, sum.getAtIndex(F, i));
            sum.setAtIndex(F, i, acc);
            float std = (float) Math.sqrt(acc) + eps;
            float p = p0 + (negClr * g) / std;
            if (toUpdate) {
                update.setAtIndex(F, i, p0 - p);
            } else {
                param.setAtIndex(F, i, p);
            }
        }
    }
}
