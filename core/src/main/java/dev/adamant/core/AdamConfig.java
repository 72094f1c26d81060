package dev.adamant.core;

import dev.adamant.core.internal.Check;
import java.util.Objects;

/**
 * Hyper-parameters of Adam and AdamW, immutable, with PyTorch's names and defaults
 * ({@code torch.optim.Adam}: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0;
 * {@code torch.optim.AdamW}: the same with weight_decay 1e-2).
 *
 * <p>Values are held as double, as PyTorch's Python floats are; each step derives its float
 * coefficients from them once. Every {@code with…} method checks its argument and throws
 * {@link IllegalArgumentException} naming it: lr finite and {@code >= 0}, each beta in [0, 1), eps
 * finite and {@code > 0}, weight decay finite and {@code >= 0}.
 *
 * <p>{@code biasCorrection} (on by default) divides the moments by {@code 1 - beta^t}; turning it
 * off gives DeepSpeed's {@code bias_correction=False}.
 */
public final class AdamConfig implements OptimizerConfig {
    private final boolean decoupledWeightDecay;
    private final double lr, beta1, beta2, eps, weightDecay;
    private final boolean amsgrad, maximize, biasCorrection;

    private final StateFormat stateFormat;

    private AdamConfig(boolean decoupledWeightDecay, double lr, double beta1, double beta2, double eps,
                       double weightDecay, boolean amsgrad, boolean maximize, boolean biasCorrection, StateFormat stateFormat) {
        this.stateFormat = stateFormat;
        this.decoupledWeightDecay = decoupledWeightDecay;
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.amsgrad = amsgrad;
        this.maximize = maximize;
        this.biasCorrection = biasCorrection;
    }

    /** Adam: weight decay is added to the gradient (L2), PyTorch's defaults. */
    public static AdamConfig adam() {
        return new AdamConfig(false, 1e-3, 0.9, 0.999, 1e-8, 0, false, false, true, StateFormat.FP32);
    }

    /** AdamW: weight decay is decoupled ({@code p *= 1 - lr * wd}), PyTorch's defaults (wd 0.01). */
    public static AdamConfig adamW() {
        return new AdamConfig(true, 1e-3, 0.9, 0.999, 1e-8, 1e-2, false, false, true, StateFormat.FP32);
    }

    public AdamConfig withLr(double lr) {
        return new AdamConfig(decoupledWeightDecay, Check.nonNegative("lr", lr), beta1, beta2, eps,
                weightDecay, amsgrad, maximize, biasCorrection, stateFormat);
    }

    public AdamConfig withBetas(double beta1, double beta2) {
        Check.halfOpen("beta1", beta1, 0, 1);
        Check.halfOpen("beta2", beta2, 0, 1);
        return new AdamConfig(decoupledWeightDecay, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize,
                biasCorrection, stateFormat);
    }

    public AdamConfig withEps(double eps) {
        return new AdamConfig(decoupledWeightDecay, lr, beta1, beta2, Check.positive("eps", eps), weightDecay,
                amsgrad, maximize, biasCorrection, stateFormat);
    }

    public AdamConfig withWeightDecay(double weightDecay) {
        return new AdamConfig(decoupledWeightDecay, lr, beta1, beta2, eps,
                Check.nonNegative("weightDecay", weightDecay), amsgrad, maximize, biasCorrection, stateFormat);
    }

    public AdamConfig withAmsgrad(boolean amsgrad) {
        return new AdamConfig(decoupledWeightDecay, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize,
                biasCorrection, stateFormat);
    }

    public AdamConfig withMaximize(boolean maximize) {
        return new AdamConfig(decoupledWeightDecay, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize,
                biasCorrection, stateFormat);
    }

    public AdamConfig withBiasCorrection(boolean biasCorrection) {
        return new AdamConfig(decoupledWeightDecay, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize,
                biasCorrection, stateFormat);
    }

    /** True for AdamW (decay applied to the parameter), false for Adam (decay added to the gradient). */
    public boolean decoupledWeightDecay() { return decoupledWeightDecay; }
    public double lr() { return lr; }
    public double beta1() { return beta1; }
    public double beta2() { return beta2; }
    public double eps() { return eps; }
    public double weightDecay() { return weightDecay; }
    public boolean amsgrad() { return amsgrad; }
    public boolean maximize() { return maximize; }
    public boolean biasCorrection() { return biasCorrection; }

    /**
     * This config with its state kept in {@code stateFormat} ({@link StateFormat#FP32} by default,
     * or {@link StateFormat#BLOCKWISE_8BIT}); what 8-bit supports is checked as an optimizer is made.
     *
     * @throws NullPointerException naming {@code stateFormat} if it is null
     */
    public AdamConfig withStateFormat(StateFormat stateFormat) {
        Objects.requireNonNull(stateFormat, "stateFormat");
        return new AdamConfig(decoupledWeightDecay, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, biasCorrection, stateFormat);
    }

    public StateFormat stateFormat() { return stateFormat; }

    @Override
    public boolean equals(Object o) {
        return o instanceof AdamConfig c && c.decoupledWeightDecay == decoupledWeightDecay
                && Double.compare(c.lr, lr) == 0 && Double.compare(c.beta1, beta1) == 0
                && Double.compare(c.beta2, beta2) == 0 && Double.compare(c.eps, eps) == 0
                && Double.compare(c.weightDecay, weightDecay) == 0 && c.amsgrad == amsgrad
                && c.maximize == maximize && c.biasCorrection == biasCorrection
                && c.stateFormat.equals(stateFormat);
    }

    @Override
    public int hashCode() {
        return Objects.hash(stateFormat, decoupledWeightDecay, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize,
                biasCorrection);
    }

    @Override
    public String toString() {
        String s = (decoupledWeightDecay ? "AdamW" : "Adam") + "[lr=" + lr + ", betas=(" + beta1 + ", " + beta2
                + "), eps=" + eps + ", weight_decay=" + weightDecay + ", amsgrad=" + amsgrad + ", maximize="
                + maximize + ", bias_correction=" + biasCorrection + "]";
        return stateFormat.equals(StateFormat.FP32) ? s : s.substring(0, s.length() - 1) + ", state_format=" + stateFormat + "]";
    }
}
