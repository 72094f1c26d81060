package dev.adamant.core;

/**
 * The hyper-parameters of one optimizer kind: {@link AdamConfig} (Adam and AdamW), {@link SgdConfig}
 * or {@link RmsPropConfig}. Immutable; each {@code with…} method checks its argument and names it.
 * What the three share is here, so that a {@link ParamGroup} can hold any of them and
 * {@link MultiTensorOptimizer#setLr} can change any group's learning rate.
 */
public sealed interface OptimizerConfig permits AdamConfig, SgdConfig, RmsPropConfig {
    /** The learning rate. */
    double lr();

    /** The weight decay (L2 for Adam, SGD and RMSProp; decoupled for AdamW). */
    double weightDecay();

    /** Whether the objective is maximized (the gradient's sign flipped). */
    boolean maximize();

    /**
     * This config with learning rate {@code lr}.
     *
     * @throws IllegalArgumentException naming {@code lr} if it is NaN, infinite or negative
     */
    OptimizerConfig withLr(double lr);

    /**
     * This config with weight decay {@code weightDecay}.
     *
     * @throws IllegalArgumentException naming {@code weightDecay} if it is NaN, infinite or negative
     */
    OptimizerConfig withWeightDecay(double weightDecay);
}
