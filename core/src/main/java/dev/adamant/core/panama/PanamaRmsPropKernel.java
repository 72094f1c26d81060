package dev.adamant.core.panama;

import static dev.adamant.core.panama.PanamaKernelProvider.ORDER;
import static dev.adamant.core.panama.PanamaKernelProvider.SPECIES;

import dev.adamant.core.kernel.RmsPropKernel;
import dev.adamant.core.kernel.RmsPropStep;
import dev.adamant.core.scalar.ScalarRmsPropKernel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** The vector RMSProp kernel, {@link RmsPropStep}'s operations lane-wise; the tail goes to the scalar twin. */
final class PanamaRmsPropKernel implements RmsPropKernel {
    static final PanamaRmsPropKernel INSTANCE = new PanamaRmsPropKernel();

    private PanamaRmsPropKernel() {}

    @Override
    public void step(RmsPropStep s, MemorySegment param, MemorySegment grad, MemorySegment squareAvg,
                     MemorySegment gradAvg, MemorySegment momentumBuffer, long from, long count) {
        final FloatVector sign = FloatVector.broadcast(SPECIES, s.gradSign());
        final FloatVector wd = FloatVector.broadcast(SPECIES, s.weightDecay());
        final FloatVector alpha = FloatVector.broadcast(SPECIES, s.alpha());
        final FloatVector c = FloatVector.broadcast(SPECIES, s.oneMinusAlpha());
        final FloatVector corr = FloatVector.broadcast(SPECIES, s.correction());
        final FloatVector eps = FloatVector.broadcast(SPECIES, s.eps());
        final FloatVector mu = FloatVector.broadcast(SPECIES, s.momentum());
        final FloatVector negLr = FloatVector.broadcast(SPECIES, s.negLr());
        final boolean l2 = s.l2(), centered = s.centered(), hasMomentum = s.hasMomentum();
        final long bound = SPECIES.loopBound(count);
        final long stride = SPECIES.vectorByteSize();
        final long end = (from + bound) * Float.BYTES;
        for (long o = from * Float.BYTES; o < end; o += stride) {
            FloatVector p = FloatVector.fromMemorySegment(SPECIES, param, o, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(SPECIES, grad, o, ORDER).mul(sign);
            if (l2) {
                g = p.fma(wd, g);
            }
            FloatVector sq = c.mul(g).fma(g, FloatVector.fromMemorySegment(SPECIES, squareAvg, o, ORDER).mul(alpha));
            sq.intoMemorySegment(squareAvg, o, ORDER);
            FloatVector var = sq.mul(corr);
            if (centered) {
                FloatVector a = g.fma(c, FloatVector.fromMemorySegment(SPECIES, gradAvg, o, ORDER).mul(alpha));
                a.intoMemorySegment(gradAvg, o, ORDER);
                FloatVector ah = a.mul(corr);
                var = ah.neg().fma(ah, var).max(0f); // rounding can make it < 0: no NaN
            }
            FloatVector r = var.lanewise(VectorOperators.SQRT).add(eps);
            if (hasMomentum) {
                FloatVector b = FloatVector.fromMemorySegment(SPECIES, momentumBuffer, o, ORDER).mul(mu)
                        .add(g.div(r));
                b.intoMemorySegment(momentumBuffer, o, ORDER);
                p = b.fma(negLr, p);
            } else {
                p = p.add(negLr.mul(g).div(r));
            }
            p.intoMemorySegment(param, o, ORDER);
        }
        ScalarRmsPropKernel.INSTANCE.step(s, param, grad, squareAvg, gradAvg, momentumBuffer,
                from + bound, count - bound);
    }
}
