package dev.adamant.core;

import dev.adamant.core.kernel.RmsPropKernel;
import dev.adamant.core.kernel.RmsPropStep;
import static dev.adamant.core.StepKernel.range;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * RMSProp's rules: state {@code square_avg}, with momentum {@code momentum_buffer}, centered
 * {@code grad_avg}; a step's coefficients and kernel call.
 */
final class RmsPropRules {
    static final String SQUARE_AVG = "square_avg", MOMENTUM_BUFFER = "momentum_buffer", GRAD_AVG = "grad_avg";

    private RmsPropRules() {}

    /** The state buffers {@code c} needs, in PyTorch's names and order. */
    static List<String> stateNames(RmsPropConfig c) {
        List<String> names = new ArrayList<>(List.of(SQUARE_AVG));
        if (c.momentum() > 0) {
            names.add(MOMENTUM_BUFFER);
        }
        if (c.centered()) {
            names.add(GRAD_AVG);
        }
        return names;
    }

    /** Step {@code t}'s float coefficients for gradients as they are. */
    static RmsPropStep coefficients(RmsPropConfig c, long t) {
        return coefficients(c, t, c.maximize() ? -1f : 1f);
    }

    /** Step {@code t}'s float coefficients, each derived in double and rounded once, gradients times {@code gradFactor}. */
    static RmsPropStep coefficients(RmsPropConfig c, long t, float gradFactor) {
        double correction = c.biasCorrection() ? 1 / (1 - Math.pow(c.alpha(), t)) : 1;
        return new RmsPropStep(gradFactor, c.weightDecay() != 0, (float) c.weightDecay(),
                (float) c.alpha(), (float) (1 - c.alpha()), c.centered(), (float) correction, (float) c.eps(),
                c.momentum() > 0, (float) c.momentum(), (float) -c.lr());
    }

    /** Step {@code t}'s kernel call under {@code c}, as {@code AdamRules.prepare(AdamConfig, …)}. */
    static StepKernel prepare(RmsPropConfig c, RmsPropKernel kernel, long t, StepOptions o,
                              Function<String, MemorySegment> state) {
        RmsPropStep s = coefficients(c, t, o.gradFactor(c.maximize()));
        MemorySegment sq = state.apply(SQUARE_AVG), avg = state.apply(GRAD_AVG), buf = state.apply(MOMENTUM_BUFFER);
        return (params, grads, update, from, count) -> kernel.step(s, params, grads, update, range(sq, from, count),
                range(avg, from, count), range(buf, from, count), 0, count);
    }
}
