package dev.adamant.core;

import dev.adamant.core.internal.Check;
import java.util.Objects;

/**
 * Hyper-parameters of RMSProp, immutable, with PyTorch's names and defaults
 * ({@code torch.optim.RMSprop}: lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0,
 * centered off, maximize off).
 *
 * <p>Each {@code with…} method checks its argument: lr, weight decay and momentum finite and
 * {@code >= 0}, alpha in [0, 1), eps finite and {@code > 0}.
 *
 * <p>{@code biasCorrection} (off by default, not in PyTorch) selects the textbook variant: the
 * running square (and, centered, the running mean) are divided by {@code 1 - alpha^t} before use.
 * Centered, that makes the first step's variance exactly 0 (one sample has no spread), so its update
 * is {@code lr * g / eps}: use a larger eps with that combination. A variance that rounding makes
 * negative is taken as 0.
 */
public final class RmsPropConfig implements OptimizerConfig {
    private final double lr, alpha, eps, weightDecay, momentum;
    private final boolean centered, maximize, biasCorrection;

    private final StateFormat stateFormat;

    private RmsPropConfig(double lr, double alpha, double eps, double weightDecay, double momentum,
                          boolean centered, boolean maximize, boolean biasCorrection, StateFormat stateFormat) {
        this.stateFormat = stateFormat;
        this.lr = lr;
        this.alpha = alpha;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.momentum = momentum;
        this.centered = centered;
        this.maximize = maximize;
        this.biasCorrection = biasCorrection;
    }

    /** RMSProp with PyTorch's defaults. */
    public static RmsPropConfig rmsProp() {
        return new RmsPropConfig(1e-2, 0.99, 1e-8, 0, 0, false, false, false, StateFormat.FP32);
    }

    public RmsPropConfig withLr(double lr) {
        return new RmsPropConfig(Check.nonNegative("lr", lr), alpha, eps, weightDecay, momentum, centered,
                maximize, biasCorrection, stateFormat);
    }

    public RmsPropConfig withAlpha(double alpha) {
        return new RmsPropConfig(lr, Check.halfOpen("alpha", alpha, 0, 1), eps, weightDecay, momentum, centered,
                maximize, biasCorrection, stateFormat);
    }

    public RmsPropConfig withEps(double eps) {
        return new RmsPropConfig(lr, alpha, Check.positive("eps", eps), weightDecay, momentum, centered, maximize,
                biasCorrection, stateFormat);
    }

    public RmsPropConfig withWeightDecay(double weightDecay) {
        return new RmsPropConfig(lr, alpha, eps, Check.nonNegative("weightDecay", weightDecay), momentum, centered,
                maximize, biasCorrection, stateFormat);
    }

    public RmsPropConfig withMomentum(double momentum) {
        return new RmsPropConfig(lr, alpha, eps, weightDecay, Check.nonNegative("momentum", momentum), centered,
                maximize, biasCorrection, stateFormat);
    }

    public RmsPropConfig withCentered(boolean centered) {
        return new RmsPropConfig(lr, alpha, eps, weightDecay, momentum, centered, maximize, biasCorrection, stateFormat);
    }

    public RmsPropConfig withMaximize(boolean maximize) {
        return new RmsPropConfig(lr, alpha, eps, weightDecay, momentum, centered, maximize, biasCorrection, stateFormat);
    }

    public RmsPropConfig withBiasCorrection(boolean biasCorrection) {
        return new RmsPropConfig(lr, alpha, eps, weightDecay, momentum, centered, maximize, biasCorrection, stateFormat);
    }

    public double lr() { return lr; }
    public double alpha() { return alpha; }
    public double eps() { return eps; }
    public double weightDecay() { return weightDecay; }
    public double momentum() { return momentum; }
    public boolean centered() { return centered; }
    public boolean maximize() { return maximize; }
    public boolean biasCorrection() { return biasCorrection; }

    /**
     * This config with its state kept in {@code stateFormat} ({@link StateFormat#FP32} by default,
     * or {@link StateFormat#BLOCKWISE_8BIT}); what 8-bit supports is checked as an optimizer is made.
     *
     * @throws NullPointerException naming {@code stateFormat} if it is null
     */
    public RmsPropConfig withStateFormat(StateFormat stateFormat) {
        Objects.requireNonNull(stateFormat, "stateFormat");
        return new RmsPropConfig(lr, alpha, eps, weightDecay, momentum, centered, maximize, biasCorrection, stateFormat);
    }

    public StateFormat stateFormat() { return stateFormat; }

    @Override
    public boolean equals(Object o) {
        return o instanceof RmsPropConfig c && Double.compare(c.lr, lr) == 0 && Double.compare(c.alpha, alpha) == 0
                && Double.compare(c.eps, eps) == 0 && Double.compare(c.weightDecay, weightDecay) == 0
                && Double.compare(c.momentum, momentum) == 0 && c.centered == centered && c.maximize == maximize
                && c.biasCorrection == biasCorrection
                && c.stateFormat.equals(stateFormat);
    }

    @Override
    public int hashCode() {
        return Objects.hash(stateFormat, lr, alpha, eps, weightDecay, momentum, centered, maximize, biasCorrection);
    }

    @Override
    public String toString() {
        String s = "RMSprop[lr=" + lr + ", alpha=" + alpha + ", eps=" + eps + ", weight_decay=" + weightDecay
                + ", momentum=" + momentum + ", centered=" + centered + ", maximize=" + maximize
                + ", bias_correction=" + biasCorrection + "]";
        return stateFormat.equals(StateFormat.FP32) ? s : s.substring(0, s.length() - 1) + ", state_format=" + stateFormat + "]";
    }
}
