package dev.adamant.core.panama;

import static dev.adamant.core.panama.Species.FLOATS;
import static dev.adamant.core.panama.Species.ORDER;

import dev.adamant.core.kernel.AdagradKernel;
import dev.adamant.core.kernel.AdagradStep;
import dev.adamant.core.scalar.ScalarAdagradKernel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The vector Adagrad kernel, {@link AdagradStep}'s operations lane-wise; the tail goes to the scalar
 * twin. In cache it is bound by the square root and the division (one each a vector), beyond L3 by
 * memory (20 bytes an element).
 */
final class PanamaAdagradKernel implements AdagradKernel {
    static final PanamaAdagradKernel INSTANCE = new PanamaAdagradKernel();

    private PanamaAdagradKernel() {}

    @Override
    public void step(AdagradStep s, MemorySegment param, MemorySegment grad, MemorySegment update, MemorySegment sum,
                     long from, long count) {
        final FloatVector sign = FloatVector.broadcast(FLOATS, s.gradFactor());
        final FloatVector wd = FloatVector.broadcast(FLOATS, s.weightDecay());
        final FloatVector eps = FloatVector.broadcast(FLOATS, s.eps());
        final FloatVector negClr = FloatVector.broadcast(FLOATS, s.negClr());
        final boolean l2 = s.l2(), readP = param != null, toUpdate = update != null;
        final FloatVector zero = FloatVector.zero(FLOATS);
        final long bound = FLOATS.loopBound(count);
        final long stride = FLOATS.vectorByteSize();
        final long end = (from + bound) * Float.BYTES;
        for (long o = from * Float.BYTES; o < end; o += stride) {
            final FloatVector p0 = readP ? FloatVector.fromMemorySegment(FLOATS, param, o, ORDER) : zero;
            FloatVector g = FloatVector.fromMemorySegment(FLOATS, grad, o, ORDER).mul(sign);
            if (l2) {
                g = p0.fma(wd, g);
            }
            FloatVector acc = g.fma(g, FloatVector.fromMemorySegment(FLOATS, sum, o, ORDER));
            acc.intoMemorySegment(sum, o, ORDER);
            FloatVector std = acc.lanewise(VectorOperators.SQRT).add(eps);
            FloatVector p = p0.add(negClr.mul(g).div(std));
            if (toUpdate) {
                p0.sub(p).intoMemorySegment(update, o, ORDER);
            } else {
                p.intoMemorySegment(param, o, ORDER);
            }
        }
        ScalarAdagradKernel.INSTANCE.step(s, param, grad, update, sum, from + bound, count - bound);
    }
}
