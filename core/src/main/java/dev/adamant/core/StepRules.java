package dev.adamant.core;

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
            case AdamConfig a -> AdamRules.stateNames(a);
            case SgdConfig s -> SgdRules.stateNames(s);
            case RmsPropConfig r -> RmsPropRules.stateNames(r);
            case AdagradConfig a -> AdagradRules.stateNames(a);
            case LionConfig l -> LionRules.stateNames(l);
            case AdafactorConfig a -> throw AdafactorOptimizer.notFlat("config");
        };
    }

    /**
     * The state buffers an optimizer of {@code n} parameters keeps under {@code c}: the 8-bit ones
     * where its format quantizes {@code n}, else {@link #stateNames(OptimizerConfig)}.
     */
    static List<String> stateNames(OptimizerConfig c, long n) {
        return Blockwise8Rules.quantizes(c, n) ? Blockwise8Rules.stateNames(c) : stateNames(c);
    }

    /** Every state buffer a config of {@code c}'s kind may need, in PyTorch's order. */
    static List<String> allStateNames(OptimizerConfig c) {
        return switch (c) {
            case AdamConfig a -> AdamRules.stateNames(a.withAmsgrad(true));
            case SgdConfig s -> SgdRules.stateNames(s.withMomentum(1));
            case RmsPropConfig r -> RmsPropRules.stateNames(r.withMomentum(1).withCentered(true));
            case AdagradConfig a -> AdagradRules.stateNames(a);
            case LionConfig l -> LionRules.stateNames(l);
            case AdafactorConfig a -> throw AdafactorOptimizer.notFlat("config");
        };
    }

    /**
     * Step {@code t}'s kernel call under {@code c} on {@code kernels}, with {@code o}'s gradient
     * scale, over the buffers {@code state} names (null for those {@code c} does not keep); the
     * caller has checked {@code c}.
     */
    static StepKernel prepare(OptimizerConfig c, KernelProvider kernels, long t, StepOptions o,
                              Function<String, MemorySegment> state) {
        return switch (c) {
            case AdamConfig a -> AdamRules.prepare(a, kernels.adam(), t, o, state);
            case SgdConfig s -> SgdRules.prepare(s, kernels.sgd(), t, o, state);
            case RmsPropConfig r -> RmsPropRules.prepare(r, kernels.rmsProp(), t, o, state);
            case AdagradConfig a -> AdagradRules.prepare(a, kernels.adagrad(), t, o, state);
            case LionConfig l -> LionRules.prepare(l, kernels.lion(), t, o, state);
            case AdafactorConfig a -> throw AdafactorOptimizer.notFlat("config");
        };
    }

    /**
     * Whether a step under {@code c} reads the parameters for anything but the update itself: weight
     * decay of either kind (L2 for Adam, SGD, RMSProp, Adagrad; decoupled for AdamW and Lion). In
     * update mode a step that does not may be given no parameters.
     */
    static boolean readsParams(OptimizerConfig c) {
        return c.weightDecay() != 0;
    }

    /**
     * Refuses {@code c} in place of {@code old} unless it is of the same kind, keeps the same state
     * buffers and keeps the rules between its parameters; the message starts with {@code name}.
     */
    static void checkReplacement(String name, OptimizerConfig old, OptimizerConfig c, String kindWhose,
                                 String whose) {
        if (c.getClass() != old.getClass()) {
            throw new IllegalArgumentException(name + ": expected " + kindWhose + " optimizer kind, " + kind(old)
                    + ", got " + kind(c));
        }
        checkConsistent(name, c);
        if (!c.stateFormat().equals(old.stateFormat())) {
            throw new IllegalArgumentException(name + ": expected " + whose + " state format, " + old.stateFormat()
                    + ", got " + c.stateFormat() + " (make a new optimizer to change it)");
        }
        List<String> had = stateNames(old), needs = stateNames(c);
        if (!needs.equals(had)) {
            throw new IllegalArgumentException(name + ": expected a config that keeps " + whose + " state " + had
                    + ", got one that needs " + needs + " (amsgrad, momentum zero or not, and centered decide the"
                    + " buffers: make a new optimizer and restore the state into it)");
        }
    }

    /**
     * The rules between {@code c}'s parameters (SGD's nesterov and bias correction; what the 8-bit
     * state format supports), checked as an optimizer is made; the message starts with {@code name}.
     */
    static void checkConsistent(String name, OptimizerConfig c) {
        Blockwise8Rules.checkSupported(name, c);
        if (c instanceof AdafactorConfig) {   // multi-tensor groups: Adafactor is made per tensor
            throw AdafactorOptimizer.notFlat(name);
        }
        if (c instanceof SgdConfig s) {
            try {
                s.checkConsistent();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The value an optimizer that owns its state starts buffer {@code name} at under {@code c}: Adagrad's
     * {@code initial_accumulator_value} for {@code sum}, 0 everywhere else.
     */
    static float initialValue(OptimizerConfig c, String name) {
        return c instanceof AdagradConfig a && name.equals(AdagradRules.SUM) ? AdagradRules.initialSum(a) : 0f;
    }

    /** The kind's name for messages: {@code "AdamConfig"}, {@code "SgdConfig"}, {@code "RmsPropConfig"}. */
    static String kind(OptimizerConfig c) {
        return c.getClass().getSimpleName();
    }
}
