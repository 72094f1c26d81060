package dev.adamant.core;

import dev.adamant.core.internal.Check;
import java.util.Objects;

/**
 * Hyper-parameters of SGD, immutable, with PyTorch's names and defaults ({@code torch.optim.SGD}:
 * momentum 0, dampening 0, nesterov off, weight_decay 0, maximize off).
 *
 * <p>Each {@code with…} method checks its own argument: lr, momentum and weight decay finite and
 * {@code >= 0}, dampening in [0, 1]. Rules between parameters are checked when the optimizer is
 * made ({@link Optimizers#sgd}): nesterov needs momentum {@code > 0} and dampening 0 (PyTorch's
 * rule); bias correction needs momentum in (0, 1) and dampening 0 or equal to momentum.
 *
 * <p>{@code biasCorrection} (off by default, not in PyTorch) selects the textbook variant: the
 * buffer is the moving average {@code m = momentum * m + (1 - momentum) * g} from {@code m = 0}, and
 * the step uses {@code m / (1 - momentum^t)}.
 */
public final class SgdConfig implements OptimizerConfig {
    private final double lr, momentum, dampening, weightDecay;
    private final boolean nesterov, maximize, biasCorrection;

    private final StateFormat stateFormat;

    private SgdConfig(double lr, double momentum, double dampening, double weightDecay, boolean nesterov,
                      boolean maximize, boolean biasCorrection, StateFormat stateFormat) {
        this.stateFormat = stateFormat;
        this.lr = lr;
        this.momentum = momentum;
        this.dampening = dampening;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
        this.maximize = maximize;
        this.biasCorrection = biasCorrection;
    }

    /** Plain SGD with learning rate {@code lr} (PyTorch has no default lr for SGD). */
    public static SgdConfig sgd(double lr) {
        return new SgdConfig(Check.nonNegative("lr", lr), 0, 0, 0, false, false, false, StateFormat.FP32);
    }

    public SgdConfig withLr(double lr) {
        return new SgdConfig(Check.nonNegative("lr", lr), momentum, dampening, weightDecay, nesterov, maximize,
                biasCorrection, stateFormat);
    }

    public SgdConfig withMomentum(double momentum) {
        return new SgdConfig(lr, Check.nonNegative("momentum", momentum), dampening, weightDecay, nesterov,
                maximize, biasCorrection, stateFormat);
    }

    public SgdConfig withDampening(double dampening) {
        return new SgdConfig(lr, momentum, Check.closed("dampening", dampening, 0, 1), weightDecay, nesterov,
                maximize, biasCorrection, stateFormat);
    }

    public SgdConfig withWeightDecay(double weightDecay) {
        return new SgdConfig(lr, momentum, dampening, Check.nonNegative("weightDecay", weightDecay), nesterov,
                maximize, biasCorrection, stateFormat);
    }

    public SgdConfig withNesterov(boolean nesterov) {
        return new SgdConfig(lr, momentum, dampening, weightDecay, nesterov, maximize, biasCorrection, stateFormat);
    }

    public SgdConfig withMaximize(boolean maximize) {
        return new SgdConfig(lr, momentum, dampening, weightDecay, nesterov, maximize, biasCorrection, stateFormat);
    }

    public SgdConfig withBiasCorrection(boolean biasCorrection) {
        return new SgdConfig(lr, momentum, dampening, weightDecay, nesterov, maximize, biasCorrection, stateFormat);
    }

    public double lr() { return lr; }
    public double momentum() { return momentum; }
    public double dampening() { return dampening; }
    public double weightDecay() { return weightDecay; }
    public boolean nesterov() { return nesterov; }
    public boolean maximize() { return maximize; }
    public boolean biasCorrection() { return biasCorrection; }

    /** The rules between parameters; called when an optimizer is made. */
    void checkConsistent() {
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("nesterov: requires momentum > 0 and dampening == 0, got momentum="
                    + momentum + ", dampening=" + dampening);
        }
        if (biasCorrection && !(momentum > 0 && momentum < 1)) {
            throw new IllegalArgumentException("biasCorrection: requires momentum in (0, 1), got " + momentum);
        }
        if (biasCorrection && dampening != 0 && dampening != momentum) {
            throw new IllegalArgumentException("biasCorrection: the buffer is a moving average with dampening ="
                    + " momentum; expected dampening 0 or " + momentum + ", got " + dampening);
        }
    }

    /**
     * This config with its state kept in {@code stateFormat} ({@link StateFormat#FP32} by default,
     * or {@link StateFormat#BLOCKWISE_8BIT}); what 8-bit supports is checked as an optimizer is made.
     *
     * @throws NullPointerException naming {@code stateFormat} if it is null
     */
    public SgdConfig withStateFormat(StateFormat stateFormat) {
        Objects.requireNonNull(stateFormat, "stateFormat");
        return new SgdConfig(lr, momentum, dampening, weightDecay, nesterov, maximize, biasCorrection, stateFormat);
    }

    public StateFormat stateFormat() { return stateFormat; }

    @Override
    public boolean equals(Object o) {
        return o instanceof SgdConfig c && Double.compare(c.lr, lr) == 0 && Double.compare(c.momentum, momentum) == 0
                && Double.compare(c.dampening, dampening) == 0 && Double.compare(c.weightDecay, weightDecay) == 0
                && c.nesterov == nesterov && c.maximize == maximize && c.biasCorrection == biasCorrection
                && c.stateFormat.equals(stateFormat);
    }

    @Override
    public int hashCode() {
        return Objects.hash(stateFormat, lr, momentum, dampening, weightDecay, nesterov, maximize, biasCorrection);
    }

    @Override
    public String toString() {
        String s = "SGD[lr=" + lr + ", momentum=" + momentum + ", dampening=" + dampening + ", weight_decay="
                + weightDecay + ", nesterov=" + nesterov + ", maximize=" + maximize + ", bias_correction="
                + biasCorrection + "]";
        return stateFormat.equals(StateFormat.FP32) ? s : s.substring(0, s.length() - 1) + ", state_format=" + stateFormat + "]";
    }
}
