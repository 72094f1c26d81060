package dev.adamant.core;

import dev.adamant.core.internal.Check;
import java.util.Objects;

/**
 * Hyper-parameters of Lion (Chen et al., 2023), immutable, with bitsandbytes' defaults
 * ({@code bnb.optim.Lion}: lr 1e-4, betas (0.9, 0.99), weight_decay 0). Lion has no maximize flag in
 * bitsandbytes; {@link #maximize()} is false (a {@link StepOptions} grad scale still applies).
 *
 * <p>Each {@code with…} method checks its argument and names it: lr and weight decay finite and
 * {@code >= 0}, each beta in [0, 1).
 *
 * <p>State: one buffer, the momentum, named {@code exp_avg} (bitsandbytes keeps it as
 * {@code state1}; lion-pytorch and PyTorch call it {@code exp_avg}), 4 bytes a parameter, zero at
 * the start. A step reads the parameter, gradient and momentum and writes the parameter and
 * momentum: 20 bytes an element, against AdamW's 28. Weight decay is decoupled:
 * {@code p *= 1 - lr * wd}.
 */
public final class LionConfig implements OptimizerConfig {
    private final double lr, beta1, beta2, weightDecay;

    private final StateFormat stateFormat;

    private LionConfig(double lr, double beta1, double beta2, double weightDecay, StateFormat stateFormat) {
        this.stateFormat = stateFormat;
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.weightDecay = weightDecay;
    }

    /** Lion with bitsandbytes' defaults. */
    public static LionConfig lion() {
        return new LionConfig(1e-4, 0.9, 0.99, 0, StateFormat.FP32);
    }

    public LionConfig withLr(double lr) {
        return new LionConfig(Check.nonNegative("lr", lr), beta1, beta2, weightDecay, stateFormat);
    }

    /** Betas {@code (beta1, beta2)}: beta1 mixes the sign's argument, beta2 the momentum. */
    public LionConfig withBetas(double beta1, double beta2) {
        return new LionConfig(lr, Check.halfOpen("beta1", beta1, 0, 1), Check.halfOpen("beta2", beta2, 0, 1),
                weightDecay, stateFormat);
    }

    public LionConfig withWeightDecay(double weightDecay) {
        return new LionConfig(lr, beta1, beta2, Check.nonNegative("weightDecay", weightDecay), stateFormat);
    }

    public double lr() { return lr; }
    public double beta1() { return beta1; }
    public double beta2() { return beta2; }
    public double weightDecay() { return weightDecay; }
    /** Always false: bitsandbytes' Lion has no maximize. */
    public boolean maximize() { return false; }

    /**
     * This config with its state kept in {@code stateFormat} ({@link StateFormat#FP32} by default,
     * or {@link StateFormat#BLOCKWISE_8BIT}); what 8-bit supports is checked as an optimizer is made.
     *
     * @throws NullPointerException naming {@code stateFormat} if it is null
     */
    public LionConfig withStateFormat(StateFormat stateFormat) {
        Objects.requireNonNull(stateFormat, "stateFormat");
        return new LionConfig(lr, beta1, beta2, weightDecay, stateFormat);
    }

    public StateFormat stateFormat() { return stateFormat; }

    @Override
    public boolean equals(Object o) {
        return o instanceof LionConfig c && Double.compare(c.lr, lr) == 0 && Double.compare(c.beta1, beta1) == 0
                && Double.compare(c.beta2, beta2) == 0 && Double.compare(c.weightDecay, weightDecay) == 0
                && c.stateFormat.equals(stateFormat);
    }

    @Override
    public int hashCode() {
        return Objects.hash(stateFormat, lr, beta1, beta2, weightDecay);
    }

    @Override
    public String toString() {
        String s = "Lion[lr=" + lr + ", betas=(" + beta1 + ", " + beta2 + "), weight_decay=" + weightDecay + "]";
        return stateFormat.equals(StateFormat.FP32) ? s : s.substring(0, s.length() - 1) + ", state_format=" + stateFormat + "]";
    }
}
