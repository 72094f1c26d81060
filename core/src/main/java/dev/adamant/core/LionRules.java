package dev.adamant.core;

import dev.adamant.core.kernel.LionKernel;
import dev.adamant.core.kernel.LionStep;
import static dev.adamant.core.StepKernel.range;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

/**
 * Lion's rules: state {@code exp_avg} (bitsandbytes' {@code state1}); a step's coefficients and
 * kernel call.
 */
final class LionRules {
    static final String EXP_AVG = "exp_avg";

    private LionRules() {}

    /** The state buffers {@code c} needs: always {@code exp_avg}. */
    static List<String> stateNames(LionConfig c) {
        return List.of(EXP_AVG);
    }

    /** Step {@code t}'s float coefficients for gradients as they are. */
    static LionStep coefficients(LionConfig c, long t) {
        return coefficients(c, t, 1f);
    }

    /**
     * Step {@code t}'s float coefficients, each derived in double and rounded once (bitsandbytes'
     * reference computes {@code 1 - lr * wd}, {@code 1 - beta1}, {@code 1 - beta2} and {@code -lr} in
     * Python floats), gradients times {@code gradFactor}. The step number does not enter.
     */
    static LionStep coefficients(LionConfig c, long t, float gradFactor) {
        double decay = c.weightDecay() > 0 ? 1 - c.lr() * c.weightDecay() : 1;
        return new LionStep(gradFactor, (float) decay, (float) c.beta1(), (float) (1 - c.beta1()),
                (float) c.beta2(), (float) (1 - c.beta2()), (float) -c.lr());
    }

    /** Step {@code t}'s kernel call under {@code c}, as {@code AdamRules.prepare(AdamConfig, …)}. */
    static StepKernel prepare(LionConfig c, LionKernel kernel, long t, StepOptions o,
                              Function<String, MemorySegment> state) {
        LionStep s = coefficients(c, t, o.gradFactor(c.maximize()));
        MemorySegment m = state.apply(EXP_AVG);
        return (params, grads, update, from, count) -> kernel.step(s, params, grads, update, range(m, from, count),
                0, count);
    }
}
