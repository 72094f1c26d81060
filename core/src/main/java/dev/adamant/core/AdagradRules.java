package dev.adamant.core;

import dev.adamant.core.kernel.AdagradKernel;
import dev.adamant.core.kernel.AdagradStep;
import static dev.adamant.core.StepKernel.range;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

/** Adagrad's rules: state {@code sum}; a step's coefficients and kernel call. */
final class AdagradRules {
    static final String SUM = "sum";

    private AdagradRules() {}

    /** The state buffers {@code c} needs, in PyTorch's names: always {@code sum}. */
    static List<String> stateNames(AdagradConfig c) {
        return List.of(SUM);
    }

    /** Step {@code t}'s float coefficients for gradients as they are. */
    static AdagradStep coefficients(AdagradConfig c, long t) {
        return coefficients(c, t, c.maximize() ? -1f : 1f);
    }

    /**
     * Step {@code t}'s float coefficients, each derived in double and rounded once (PyTorch computes
     * {@code clr} in Python floats and rounds {@code -clr} to the tensor's float), gradients times
     * {@code gradFactor}.
     */
    static AdagradStep coefficients(AdagradConfig c, long t, float gradFactor) {
        double clr = c.lr() / (1 + (t - 1) * c.lrDecay());
        return new AdagradStep(gradFactor, c.weightDecay() != 0, (float) c.weightDecay(), (float) c.eps(),
                (float) -clr);
    }

    /** Step {@code t}'s kernel call under {@code c}, as {@code AdamRules.prepare(AdamConfig, …)}. */
    static StepKernel prepare(AdagradConfig c, AdagradKernel kernel, long t, StepOptions o,
                              Function<String, MemorySegment> state) {
        AdagradStep s = coefficients(c, t, o.gradFactor(c.maximize()));
        MemorySegment sum = state.apply(SUM);
        return (params, grads, update, from, count) -> kernel.step(s, params, grads, update, range(sum, from, count),
                0, count);
    }

    /** The value an optimizer that owns its state starts {@code sum} at: {@code initial_accumulator_value}. */
    static float initialSum(AdagradConfig c) {
        return (float) c.initialAccumulatorValue();
    }
}
