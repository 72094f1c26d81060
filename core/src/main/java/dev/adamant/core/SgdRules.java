package dev.adamant.core;

import dev.adamant.core.kernel.SgdKernel;
import dev.adamant.core.kernel.SgdStep;
import static dev.adamant.core.StepKernel.range;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

/** SGD's rules: state {@code momentum_buffer} when momentum is on; a step's coefficients and kernel call. */
final class SgdRules {
    static final String MOMENTUM_BUFFER = "momentum_buffer";

    private SgdRules() {}

    /** The state buffers {@code c} needs, in PyTorch's names. */
    static List<String> stateNames(SgdConfig c) {
        return c.momentum() != 0 ? List.of(MOMENTUM_BUFFER) : List.of();
    }

    /** Step {@code t}'s float coefficients for gradients as they are. */
    static SgdStep coefficients(SgdConfig c, long t) {
        return coefficients(c, t, c.maximize() ? -1f : 1f);
    }

    /** Step {@code t}'s float coefficients, each derived in double and rounded once, gradients times {@code gradFactor}. */
    static SgdStep coefficients(SgdConfig c, long t, float gradFactor) {
        boolean hasMomentum = c.momentum() != 0;
        boolean textbook = c.biasCorrection();
        // Textbook: a moving average from zero (dampening = momentum), divided by 1 - momentum^t.
        double dampening = textbook ? c.momentum() : c.dampening();
        double correction = textbook ? 1 / (1 - Math.pow(c.momentum(), t)) : 1;
        return new SgdStep(gradFactor, c.weightDecay() != 0, (float) c.weightDecay(), hasMomentum,
                hasMomentum && !textbook && t == 1, (float) c.momentum(), (float) (1 - dampening),
                (float) correction, c.nesterov(), (float) -c.lr());
    }

    /** Step {@code t}'s kernel call under {@code c}, as {@code AdamRules.prepare(AdamConfig, …)}. */
    static StepKernel prepare(SgdConfig c, SgdKernel kernel, long t, StepOptions o,
                              Function<String, MemorySegment> state) {
        SgdStep s = coefficients(c, t, o.gradFactor(c.maximize()));
        MemorySegment buf = state.apply(MOMENTUM_BUFFER);
        return (params, grads, update, from, count) -> kernel.step(s, params, grads, update, range(buf, from, count),
                0, count);
    }
}
