package dev.adamant.core;

import dev.adamant.core.kernel.SgdKernel;
import dev.adamant.core.kernel.SgdStep;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** SGD: state {@code momentum_buffer} when momentum is on. */
final class SgdOptimizer extends AbstractOptimizer {
    static final String MOMENTUM_BUFFER = "momentum_buffer";

    private final SgdConfig config;
    private final SgdKernel kernel;

    SgdOptimizer(SgdConfig config, long n, SgdKernel kernel) {
        super(n, config.momentum() != 0 ? List.of(MOMENTUM_BUFFER) : List.of());
        this.config = config;
        this.kernel = kernel;
    }

    /** Step {@code t}'s float coefficients, each derived in double and rounded once. */
    static SgdStep coefficients(SgdConfig c, long t) {
        boolean hasMomentum = c.momentum() != 0;
        boolean textbook = c.biasCorrection();
        // Textbook: a moving average from zero (dampening = momentum), divided by 1 - momentum^t.
        double dampening = textbook ? c.momentum() : c.dampening();
        double correction = textbook ? 1 / (1 - Math.pow(c.momentum(), t)) : 1;
        return new SgdStep(c.maximize() ? -1f : 1f, c.weightDecay() != 0, (float) c.weightDecay(), hasMomentum,
                hasMomentum && !textbook && t == 1, (float) c.momentum(), (float) (1 - dampening),
                (float) correction, c.nesterov(), (float) -c.lr());
    }

    @Override
    StepKernel prepare(long t) {
        SgdStep s = coefficients(config, t);
        MemorySegment buf = buffer(MOMENTUM_BUFFER);
        return (params, grads, from, count) -> kernel.step(s, params, grads, range(buf, from, count), 0, count);
    }
}
