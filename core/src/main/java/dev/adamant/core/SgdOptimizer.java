package dev.adamant.core;

import dev.adamant.core.kernel.SgdKernel;
import dev.adamant.core.kernel.SgdStep;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

/** SGD: state {@code momentum_buffer} when momentum is on. */
final class SgdOptimizer extends AbstractOptimizer {
    static final String MOMENTUM_BUFFER = "momentum_buffer";

    private final SgdConfig config;
    private final SgdKernel kernel;

    SgdOptimizer(SgdConfig config, long n, SgdKernel kernel) {
        super(n, stateNames(config));
        this.config = config;
        this.kernel = kernel;
    }

    /** The state buffers {@code c} needs, in PyTorch's names. */
    static List<String> stateNames(SgdConfig c) {
        return c.momentum() != 0 ? List.of(MOMENTUM_BUFFER) : List.of();
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
        return prepare(config, kernel, t, this::buffer);
    }

    /** Step {@code t}'s kernel call under {@code c}, as {@code AdamOptimizer.prepare(AdamConfig, …)}. */
    static StepKernel prepare(SgdConfig c, SgdKernel kernel, long t, Function<String, MemorySegment> state) {
        SgdStep s = coefficients(c, t);
        MemorySegment buf = state.apply(MOMENTUM_BUFFER);
        return (params, grads, from, count) -> kernel.step(s, params, grads, range(buf, from, count), 0, count);
    }
}
