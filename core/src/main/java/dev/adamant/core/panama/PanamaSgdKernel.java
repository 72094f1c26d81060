package dev.adamant.core.panama;

import static dev.adamant.core.panama.Species.FLOATS;
import static dev.adamant.core.panama.Species.ORDER;

import dev.adamant.core.kernel.SgdKernel;
import dev.adamant.core.kernel.SgdStep;
import dev.adamant.core.scalar.ScalarSgdKernel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** The vector SGD kernel, {@link SgdStep}'s operations lane-wise; the tail goes to the scalar twin. */
final class PanamaSgdKernel implements SgdKernel {
    static final PanamaSgdKernel INSTANCE = new PanamaSgdKernel();

    private PanamaSgdKernel() {}

    @Override
    public void step(SgdStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                     MemorySegment momentumBuffer, long from, long count) {
        final FloatVector sign = FloatVector.broadcast(FLOATS, s.gradFactor());
        final FloatVector wd = FloatVector.broadcast(FLOATS, s.weightDecay());
        final FloatVector mu = FloatVector.broadcast(FLOATS, s.momentum());
        final FloatVector damp = FloatVector.broadcast(FLOATS, s.oneMinusDampening());
        final FloatVector corr = FloatVector.broadcast(FLOATS, s.correction());
        final FloatVector negLr = FloatVector.broadcast(FLOATS, s.negLr());
        final boolean l2 = s.l2(), hasMomentum = s.hasMomentum(), first = s.firstStep();
        final boolean nesterov = s.nesterov(), readP = param != null, toUpdate = update != null;
        final FloatVector zero = FloatVector.zero(FLOATS);
        final long bound = FLOATS.loopBound(count);
        final long stride = FLOATS.vectorByteSize();
        final long end = (from + bound) * Float.BYTES;
        for (long o = from * Float.BYTES; o < end; o += stride) {
            FloatVector p = readP ? FloatVector.fromMemorySegment(FLOATS, param, o, ORDER) : zero;
            FloatVector g = FloatVector.fromMemorySegment(FLOATS, grad, o, ORDER).mul(sign);
            if (l2) {
                g = p.fma(wd, g);
            }
            FloatVector d = g;
            if (hasMomentum) {
                FloatVector b = first ? g
                        : g.fma(damp, FloatVector.fromMemorySegment(FLOATS, momentumBuffer, o, ORDER).mul(mu));
                b.intoMemorySegment(momentumBuffer, o, ORDER);
                FloatVector h = b.mul(corr);
                d = nesterov ? h.fma(mu, g) : h;
            }
            FloatVector next = d.fma(negLr, p);
            if (toUpdate) {
                p.sub(next).intoMemorySegment(update, o, ORDER);
            } else {
                next.intoMemorySegment(param, o, ORDER);
            }
        }
        ScalarSgdKernel.INSTANCE.step(s, param, grad, update, momentumBuffer, from + bound, count - bound);
    }
}
