package dev.adamant.core.panama;

import static dev.adamant.core.panama.Species.FLOATS;
import static dev.adamant.core.panama.Species.ORDER;

import dev.adamant.core.kernel.LionKernel;
import dev.adamant.core.kernel.LionStep;
import dev.adamant.core.scalar.ScalarLionKernel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The vector Lion kernel, {@link LionStep}'s operations lane-wise; the tail goes to the scalar twin.
 * The sign is two compares and two blends (a NaN compares false both ways: 0, as the twin). No
 * division or square root: in cache a few cycles a vector, beyond L3 bound by memory at 20 bytes an
 * element.
 */
final class PanamaLionKernel implements LionKernel {
    static final PanamaLionKernel INSTANCE = new PanamaLionKernel();

    private PanamaLionKernel() {}

    @Override
    public void step(LionStep s, MemorySegment param, MemorySegment grad, MemorySegment update, MemorySegment expAvg,
                     long from, long count) {
        final FloatVector sign = FloatVector.broadcast(FLOATS, s.gradFactor());
        final FloatVector decay = FloatVector.broadcast(FLOATS, s.decayFactor());
        final FloatVector b1 = FloatVector.broadcast(FLOATS, s.beta1());
        final FloatVector c1 = FloatVector.broadcast(FLOATS, s.oneMinusBeta1());
        final FloatVector b2 = FloatVector.broadcast(FLOATS, s.beta2());
        final FloatVector c2 = FloatVector.broadcast(FLOATS, s.oneMinusBeta2());
        final FloatVector negLr = FloatVector.broadcast(FLOATS, s.negLr());
        final FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        final FloatVector minusOne = FloatVector.broadcast(FLOATS, -1f);
        final boolean readP = param != null, toUpdate = update != null;
        final FloatVector zero = FloatVector.zero(FLOATS);
        final long bound = FLOATS.loopBound(count);
        final long stride = FLOATS.vectorByteSize();
        final long end = (from + bound) * Float.BYTES;
        for (long o = from * Float.BYTES; o < end; o += stride) {
            final FloatVector p0 = readP ? FloatVector.fromMemorySegment(FLOATS, param, o, ORDER) : zero;
            FloatVector g = FloatVector.fromMemorySegment(FLOATS, grad, o, ORDER).mul(sign);
            FloatVector m = FloatVector.fromMemorySegment(FLOATS, expAvg, o, ORDER);
            FloatVector p = p0.mul(decay);
            FloatVector c = m.mul(b1).add(g.mul(c1));
            FloatVector d = zero.blend(one, c.compare(VectorOperators.GT, zero))
                    .blend(minusOne, c.compare(VectorOperators.LT, zero));
            p = d.fma(negLr, p);
            g.fma(c2, m.mul(b2)).intoMemorySegment(expAvg, o, ORDER);
            if (toUpdate) {
                p0.sub(p).intoMemorySegment(update, o, ORDER);
            } else {
                p.intoMemorySegment(param, o, ORDER);
            }
        }
        ScalarLionKernel.INSTANCE.step(s, param, grad, update, expAvg, from + bound, count - bound);
    }
}
