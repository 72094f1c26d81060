package dev.adamant.core;

import dev.adamant.core.kernel.RmsPropKernel;
import dev.adamant.core.kernel.RmsPropStep;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** RMSProp: state {@code square_avg}, plus {@code momentum_buffer} and {@code grad_avg} where used. */
final class RmsPropOptimizer extends AbstractOptimizer {
    static final String SQUARE_AVG = "square_avg", MOMENTUM_BUFFER = "momentum_buffer", GRAD_AVG = "grad_avg";

    private final RmsPropConfig config;
    private final RmsPropKernel kernel;

    RmsPropOptimizer(RmsPropConfig config, long n, RmsPropKernel kernel) {
        super(n, names(config));
        this.config = config;
        this.kernel = kernel;
    }

    private static List<String> names(RmsPropConfig c) {
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
        RmsPropStep s = coefficients(config, t);
        MemorySegment sq = buffer(SQUARE_AVG), avg = buffer(GRAD_AVG), buf = buffer(MOMENTUM_BUFFER);
        return (params, grads, from, count) -> kernel.step(s, params, grads, range(sq, from, count),
                range(avg, from, count), range(buf, from, count), 0, count);
    }
}
