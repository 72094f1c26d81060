package dev.adamant.core;

import dev.adamant.core.internal.Check;
import java.util.Objects;

/**
 * Hyper-parameters of Adagrad, immutable, with PyTorch's names and defaults
 * ({@code torch.optim.Adagrad}: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0,
 * eps 1e-10, maximize off).
 *
 * <p>Each {@code with…} method checks its argument and names it: lr, lr decay, weight decay and the
 * initial accumulator value finite and {@code >= 0}, eps finite and {@code > 0}.
 *
 * <p>State: one buffer, {@code sum} (4 bytes a parameter). An optimizer that owns its state fills
 * it with {@code initialAccumulatorValue} when it is made; caller-owned state is used as it is, so
 * the caller fills it (with {@code initialAccumulatorValue} for a fresh start); a config set later
 * ({@code setConfig}) with another value leaves the sum as it is. Step {@code t}'s
 * learning rate is {@code lr / (1 + (t - 1) * lrDecay)}.
 */
public final class AdagradConfig implements OptimizerConfig {
    private final double lr, lrDecay, weightDecay, initialAccumulatorValue, eps;
    private final boolean maximize;

    private final StateFormat stateFormat;

    private AdagradConfig(double lr, double lrDecay, double weightDecay, double initialAccumulatorValue, double eps,
                          boolean maximize, StateFormat stateFormat) {
        this.stateFormat = stateFormat;
        this.lr = lr;
        this.lrDecay = lrDecay;
        this.weightDecay = weightDecay;
        this.initialAccumulatorValue = initialAccumulatorValue;
        this.eps = eps;
        this.maximize = maximize;
    }

    /** Adagrad with PyTorch's defaults. */
    public static AdagradConfig adagrad() {
        return new AdagradConfig(1e-2, 0, 0, 0, 1e-10, false, StateFormat.FP32);
    }

    public AdagradConfig withLr(double lr) {
        return new AdagradConfig(Check.nonNegative("lr", lr), lrDecay, weightDecay, initialAccumulatorValue, eps,
                maximize, stateFormat);
    }

    public AdagradConfig withLrDecay(double lrDecay) {
        return new AdagradConfig(lr, Check.nonNegative("lrDecay", lrDecay), weightDecay, initialAccumulatorValue,
                eps, maximize, stateFormat);
    }

    public AdagradConfig withWeightDecay(double weightDecay) {
        return new AdagradConfig(lr, lrDecay, Check.nonNegative("weightDecay", weightDecay), initialAccumulatorValue,
                eps, maximize, stateFormat);
    }

    public AdagradConfig withInitialAccumulatorValue(double initialAccumulatorValue) {
        return new AdagradConfig(lr, lrDecay, weightDecay,
                Check.nonNegative("initialAccumulatorValue", initialAccumulatorValue), eps, maximize, stateFormat);
    }

    public AdagradConfig withEps(double eps) {
        return new AdagradConfig(lr, lrDecay, weightDecay, initialAccumulatorValue, Check.positive("eps", eps),
                maximize, stateFormat);
    }

    public AdagradConfig withMaximize(boolean maximize) {
        return new AdagradConfig(lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize, stateFormat);
    }

    public double lr() { return lr; }
    public double lrDecay() { return lrDecay; }
    public double weightDecay() { return weightDecay; }
    public double initialAccumulatorValue() { return initialAccumulatorValue; }
    public double eps() { return eps; }
    public boolean maximize() { return maximize; }

    /**
     * This config with its state kept in {@code stateFormat} ({@link StateFormat#FP32} by default,
     * or {@link StateFormat#BLOCKWISE_8BIT}); what 8-bit supports is checked as an optimizer is made.
     *
     * @throws NullPointerException naming {@code stateFormat} if it is null
     */
    public AdagradConfig withStateFormat(StateFormat stateFormat) {
        Objects.requireNonNull(stateFormat, "stateFormat");
        return new AdagradConfig(lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize, stateFormat);
    }

    public StateFormat stateFormat() { return stateFormat; }

    @Override
    public boolean equals(Object o) {
        return o instanceof AdagradConfig c && Double.compare(c.lr, lr) == 0 && Double.compare(c.lrDecay, lrDecay) == 0
                && Double.compare(c.weightDecay, weightDecay) == 0
                && Double.compare(c.initialAccumulatorValue, initialAccumulatorValue) == 0
                && Double.compare(c.eps, eps) == 0 && c.maximize == maximize
                && c.stateFormat.equals(stateFormat);
    }

    @Override
    public int hashCode() {
        return Objects.hash(stateFormat, lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize);
    }

    @Override
    public String toString() {
        String s = "Adagrad[lr=" + lr + ", lr_decay=" + lrDecay + ", weight_decay=" + weightDecay
                + ", initial_accumulator_value=" + initialAccumulatorValue + ", eps=" + eps + ", maximize=" + maximize
                + "]";
        return stateFormat.equals(StateFormat.FP32) ? s : s.substring(0, s.length() - 1) + ", state_format=" + stateFormat + "]";
    }
}
