package dev.adamant.core.panama;

import static dev.adamant.core.panama.Species.FLOATS;
import static dev.adamant.core.panama.Species.ORDER;

import dev.adamant.core.kernel.AdamKernel;
import dev.adamant.core.kernel.AdamStep;
import dev.adamant.core.scalar.ScalarAdamKernel;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The vector Adam kernel: {@link AdamStep}'s operations lane-wise, the tail handed to
 * {@link ScalarAdamKernel}, which does the same operations in the same order, so the two agree bit
 * for bit. Maximize and AdamW's decay are exact multiplications (by -1/+1 and by 1 - lr*wd, which is
 * 1 for Adam); the L2 and amsgrad tests are loop-invariant and C2 unswitches them out of the loop.
 *
 * <p>While the buffers are in cache the loop is bound by the divide/square-root unit (one square root
 * and two divisions per vector, about 20 cycles a 512-bit vector on Zen 4), beyond L3 by memory.
 * Unrolling by hand measured no gain.
 *
 * <p>Its twin in fp16 is {@code dev.adamant.fp16.panama.PanamaFusedAdam}, which repeats this loop
 * body with the widening, unscaling and clipping of 16-bit gradients in front; fp16's
 * {@code FusedAdamTwinTest} holds the two to the same bits, so a change to the operations here is made
 * there too.
 */
final class PanamaAdamKernel implements AdamKernel {
    static final PanamaAdamKernel INSTANCE = new PanamaAdamKernel();

    private PanamaAdamKernel() {}

    @Override
    public void step(AdamStep s, MemorySegment param, MemorySegment grad, MemorySegment update,
                     MemorySegment expAvg, MemorySegment expAvgSq, MemorySegment maxExpAvgSq, long from, long count) {
        final FloatVector sign = FloatVector.broadcast(FLOATS, s.gradFactor());
        final FloatVector wd = FloatVector.broadcast(FLOATS, s.weightDecay());
        final FloatVector decay = FloatVector.broadcast(FLOATS, s.decayFactor());
        final FloatVector b1 = FloatVector.broadcast(FLOATS, s.beta1());
        final FloatVector c1 = FloatVector.broadcast(FLOATS, s.oneMinusBeta1());
        final FloatVector b2 = FloatVector.broadcast(FLOATS, s.beta2());
        final FloatVector c2 = FloatVector.broadcast(FLOATS, s.oneMinusBeta2());
        final FloatVector bc2 = FloatVector.broadcast(FLOATS, s.biasCorrection2Sqrt());
        final FloatVector eps = FloatVector.broadcast(FLOATS, s.eps());
        final FloatVector negStep = FloatVector.broadcast(FLOATS, s.negStepSize());
        final boolean l2 = s.l2(), amsgrad = s.amsgrad(), readP = param != null, toUpdate = update != null;
        final FloatVector zero = FloatVector.zero(FLOATS);
        // x / 1f == x exactly: once (float) sqrt(1 - beta2^t) has rounded to 1 (t > ~16,600 at
        // beta2 = 0.999; always without bias correction) the division is skipped. Bit-identical to
        // the scalar twin, which divides by 1; C2 unswitches the test like l2 and amsgrad.
        final boolean unitBc2 = s.biasCorrection2Sqrt() == 1f;
        final long bound = FLOATS.loopBound(count);
        final long stride = FLOATS.vectorByteSize();
        final long end = (from + bound) * Float.BYTES;
        for (long o = from * Float.BYTES; o < end; o += stride) {
            final FloatVector p0 = readP ? FloatVector.fromMemorySegment(FLOATS, param, o, ORDER) : zero;
            FloatVector g = FloatVector.fromMemorySegment(FLOATS, grad, o, ORDER).mul(sign);
            if (l2) {
                g = p0.fma(wd, g);
            }
            FloatVector p = p0.mul(decay);
            FloatVector m = g.fma(c1, FloatVector.fromMemorySegment(FLOATS, expAvg, o, ORDER).mul(b1));
            FloatVector v = c2.mul(g).fma(g, FloatVector.fromMemorySegment(FLOATS, expAvgSq, o, ORDER).mul(b2));
            FloatVector vd = v;
            if (amsgrad) {
                vd = FloatVector.fromMemorySegment(FLOATS, maxExpAvgSq, o, ORDER).max(v);
                vd.intoMemorySegment(maxExpAvgSq, o, ORDER);
            }
            FloatVector root = vd.lanewise(VectorOperators.SQRT);
            FloatVector denom = (unitBc2 ? root : root.div(bc2)).add(eps);
            p = p.add(negStep.mul(m).div(denom));
            if (toUpdate) {
                p0.sub(p).intoMemorySegment(update, o, ORDER);
            } else {
                p.intoMemorySegment(param, o, ORDER);
            }
            m.intoMemorySegment(expAvg, o, ORDER);
            v.intoMemorySegment(expAvgSq, o, ORDER);
        }
        ScalarAdamKernel.INSTANCE.step(s, param, grad, update, expAvg, expAvgSq, maxExpAvgSq, from + bound,
                count - bound);
    }
}
