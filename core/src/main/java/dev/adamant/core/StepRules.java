package dev.adamant.core;

import dev.adamant.core.AbstractOptimizer.StepKernel;
import dev.adamant.core.kernel.KernelProvider;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

/**
 * What a config of any kind decides, dispatched on the sealed {@link OptimizerConfig}: its state
 * buffers and a step's kernel call. The maths stays in each optimizer's own class; this only picks it.
 */
final class StepRules {
    private StepRules() {}

    /** The state buffers {@code c} needs, in PyTorch's names and order. */
    static List<String> stateNames(OptimizerConfig c) {
        return switch (c) {
            case AdamConfig a -> AdamOptimizer.stateNames(a);
            case SgdConfig s -> SgdOptimizer.stateNames(s);
            case RmsPropConfig r -> RmsPropOptimizer.stateNames(r);
        };
    }

    /** Every state buffer a config of {@code c}'s kind may need, in PyTorch's order. */
    static List<String> allStateNames(OptimizerConfig c) {
        return switch (c) {
            case AdamConfig a -> AdamOptimizer.stateNames(a.withAmsgrad(true));
            case SgdConfig s -> SgdOptimizer.stateNames(s.withMomentum(1));
            case RmsPropConfig r -> RmsPropOptimizer.stateNames(r.withMomentum(1).withCentered(true));
        };
    }

    /**
     * Step {@code t}'s kernel call under {@code c} on {@code kernels}, over the buffers {@code state}
     * names (null for those {@code c} does not keep); the caller has checked {@code c}.
     */
    static StepKernel prepare(OptimizerConfig c, KernelProvider kernels, long t,
                              Function<String, MemorySegment> state) {
        return switch (c) {
            case AdamConfig a -> AdamOptimizer.prepare(a, kernels.adam(), t, state);
            case SgdConfig s -> SgdOptimizer.prepare(s, kernels.sgd(), t, state);
            case RmsPropConfig r -> RmsPropOptimizer.prepare(r, kernels.rmsProp(), t, state);
        };
    }

    /**
     * The rules between {@code c}'s parameters (SGD's nesterov and bias correction), checked as an
     * optimizer is made; the message starts with {@code name}.
     */
    static void checkConsistent(String name, OptimizerConfig c) {
        if (c instanceof SgdConfig s) {
            try {
                s.checkConsistent();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
            }
        }
    }

    /** The kind's name for messages: {@code "AdamConfig"}, {@code "SgdConfig"}, {@code "RmsPropConfig"}. */
    static String kind(OptimizerConfig c) {
        return c.getClass().getSimpleName();
    }
}
