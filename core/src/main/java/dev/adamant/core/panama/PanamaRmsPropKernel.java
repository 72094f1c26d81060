package dev.adamant.core.panama;

import static dev.adamant.core.panama.Species.FLOATS;
import static dev.adamant.core.panama.Species.ORDER;

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
    public void step(RmsPropStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                     MemorySegment squareAvg,
                     MemorySegment gradAvg, MemorySegment momentumBuffer, long from, long count) {
        final FloatVector sign = FloatVector.broadcast(FLOATS, s.gradFactor());
        final FloatVector wd = FloatVector.broadcast(FLOATS, s.weightDecay());
        final FloatVector alpha = FloatVector.broadcast(FLOATS, s.alpha());
        final FloatVector c = FloatVector.broadcast(FLOATS, s.oneMinusAlpha());
        final FloatVector corr = FloatVector.broadcast(FLOATS, s.correction());
        final FloatVector eps = FloatVector.broadcast(FLOATS, s.eps());
        final FloatVector mu = FloatVector.broadcast(FLOATS, s.momentum());
        final FloatVector negLr = FloatVector.broadcast(FLOATS, s.negLr());
        final boolean l2 = s.l2(), centered = s.centered(), hasMomentum = s.hasMomentum();
        final boolean readP = param != null, toUpdate = update != null;
        final FloatVector zero = FloatVector.zero(FLOATS);
        final long bound = FLOATS.loopBound(count);
        final long stride = FLOATS.vectorByteSize();
        final long end = (from + bound) * Float.BYTES;
        for (long o = from * Float.BYTES; o < end; o += stride) {
            final FloatVector p0 = readP ? FloatVector.fromMemorySegment(FLOATS, param, o, ORDER) : zero;
            FloatVector p = p0;
            FloatVector g = FloatVector.fromMemorySegment(FLOATS, grad, o, ORDER).mul(sign);
            if (l2) {
                g = p.fma(wd, g);
            }
            FloatVector sq = c.mul(g).fma(g, FloatVector.fromMemorySegment(FLOATS, squareAvg, o, ORDER).mul(alpha));
            sq.intoMemorySegment(squareAvg, o, ORDER);
            FloatVector var = sq.mul(corr);
            if (centered) {
                FloatVector a = g.fma(c, FloatVector.fromMemorySegment(FLOATS, gradAvg, o, ORDER).mul(alpha));
                a.intoMemorySegment(gradAvg, o, ORDER);
                FloatVector ah = a.mul(corr);
                var = ah.neg().fma(ah, var).max(0f); // rounding can make it < 0: no NaN
            }
            FloatVector r = var.lanewise(VectorOperators.SQRT).add(eps);
            if (hasMomentum) {
                FloatVector b = FloatVector.fromMemorySegment(FLOATS, momentumBuffer, o, ORDER).mul(mu)
                        .add(g.div(r));
                b.intoMemorySegment(momentumBuffer, o, ORDER);
                p = b.fma(negLr, p);
            } else {
                p = p.add(negLr.mul(g).div(r));
            }
            if (toUpdate) {
                p0.sub(p).intoMemorySegment(update, o, ORDER);
            } else {
                p.intoMemorySegment(param, o, ORDER);
            }
        }
        ScalarRmsPropKernel.INSTANCE.step(s, param, grad, update, squareAvg, gradAvg, momentumBuffer,
                from + bound, count - bound);
    }
}
