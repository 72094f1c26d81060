package dev.adamant.core;

import dev.adamant.core.kernel.RmsPropKernel;
import dev.adamant.core.kernel.RmsPropStep;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** RMSProp: state {@code square_avg}, plus {@code momentum_buffer} and {@code grad_avg} where used. */
final class RmsPropOptimizer extends AbstractOptimizer {
    static final String SQUARE_AVG = "square_avg", MOMENTUM_BUFFER = "momentum_buffer", GRAD_AVG = "grad_avg";

    private final RmsPropConfig config;
    private final RmsPropKernel kernel;

    RmsPropOptimizer(RmsPropConfig config, long n, RmsPropKernel kernel) {
        super(n, stateNames(config));
        this.config = config;
        this.kernel = kernel;
    }

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

    /** Step {@code t}'s float coefficients, each derived in double and rounded once. */
    static RmsPropStep coefficients(RmsPropConfig c, long t) {
        double correction = c.biasCorrection() ? 1 / (1 - Math.pow(c.alpha(), t)) : 1;
        return new RmsPropStep(c.maximize() ? -1f : 1f, c.weightDecay() != 0, (float) c.weightDecay(),
                (float) c.alpha(), (float) (1 - c.alpha()), c.centered(), (float) correction, (float) c.eps(),
                c.momentum() > 0, (float) c.momentum(), (float) -c.lr());
    }

    @Override
    StepKernel prepare(long t) {
        return prepare(config, kernel, t, this::buffer);
    }

    /** Step {@code t}'s kernel call under {@code c}, as {@code AdamOptimizer.prepare(AdamConfig, …)}. */
    static StepKernel prepare(RmsPropConfig c, RmsPropKernel kernel, long t, Function<String, MemorySegment> state) {
        RmsPropStep s = coefficients(c, t);
        MemorySegment sq = state.apply(SQUARE_AVG), avg = state.apply(GRAD_AVG), buf = state.apply(MOMENTUM_BUFFER);
        return (params, grads, from, count) -> kernel.step(s, params, grads, range(sq, from, count),
                range(avg, from, count), range(buf, from, count), 0, count);
    }
}
