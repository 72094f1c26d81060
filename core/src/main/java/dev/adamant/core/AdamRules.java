package dev.adamant.core;

import dev.adamant.core.kernel.AdamKernel;
import dev.adamant.core.kernel.AdamState;
import dev.adamant.core.kernel.AdamStep;
import static dev.adamant.core.StepKernel.range;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

/**
 * Adam's and AdamW's rules: state {@code exp_avg}, {@code exp_avg_sq} and, with amsgrad,
 * {@code max_exp_avg_sq}; a step's coefficients and kernel call.
 */
final class AdamRules {
    static final String EXP_AVG = "exp_avg", EXP_AVG_SQ = "exp_avg_sq", MAX_EXP_AVG_SQ = "max_exp_avg_sq";

    private AdamRules() {}

    /** The state buffers {@code c} needs, in PyTorch's names and order. */
    static List<String> stateNames(AdamConfig c) {
        return c.amsgrad() ? List.of(EXP_AVG, EXP_AVG_SQ, MAX_EXP_AVG_SQ) : List.of(EXP_AVG, EXP_AVG_SQ);
    }

    /** Step {@code t}'s float coefficients for gradients as they are. */
    static AdamStep coefficients(AdamConfig c, long t) {
        return coefficients(c, t, c.maximize() ? -1f : 1f);
    }

    /**
     * Step {@code t}'s float coefficients, each derived in double and rounded once (PyTorch 1.13),
     * the gradients multiplied by {@code gradFactor} (see {@link StepOptions#gradFactor}).
     */
    static AdamStep coefficients(AdamConfig c, long t, float gradFactor) {
        double bc1 = c.biasCorrection() ? 1 - Math.pow(c.beta1(), t) : 1;
        double bc2 = c.biasCorrection() ? 1 - Math.pow(c.beta2(), t) : 1;
        boolean l2 = !c.decoupledWeightDecay() && c.weightDecay() != 0;
        double decay = c.decoupledWeightDecay() ? 1 - c.lr() * c.weightDecay() : 1;
        return new AdamStep(gradFactor, l2, (float) c.weightDecay(), (float) decay,
                (float) c.beta1(), (float) (1 - c.beta1()), (float) c.beta2(), (float) (1 - c.beta2()),
                (float) Math.sqrt(bc2), (float) c.eps(), (float) (-c.lr() / bc1), c.amsgrad());
    }

    /**
     * Step {@code t}'s kernel call under {@code c} over the state buffers that {@code state} names
     * (null for those {@code c} does not keep), indexed by the call's {@code stateFrom}.
     */
    static StepKernel prepare(AdamConfig c, AdamKernel kernel, long t, StepOptions o,
                              Function<String, MemorySegment> state) {
        return new AdamCall(kernel, new AdamState(coefficients(c, t, o.gradFactor(c.maximize())), state.apply(EXP_AVG), state.apply(EXP_AVG_SQ),
                state.apply(MAX_EXP_AVG_SQ)));
    }

    /** Step {@code t}'s kernel call, which also hands its state to fused loops ({@link FusibleStep}). */
    private record AdamCall(AdamKernel kernel, AdamState adam) implements StepKernel {
        @Override
        public void run(MemorySegment params, MemorySegment grads, MemorySegment update, long from, long count) {
            kernel.step(adam.coefficients(), params, grads, update, range(adam.expAvg(), from, count),
                    range(adam.expAvgSq(), from, count), range(adam.maxExpAvgSq(), from, count), 0, count);
        }
    }
}
