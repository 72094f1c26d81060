package dev.adamant.core;

import dev.adamant.core.internal.Check;
import java.util.List;
import java.util.Objects;

/**
 * Hyper-parameters of Adafactor (Shazeer and Stern, 2018) as PyTorch implements it, immutable, with
 * PyTorch's names and defaults ({@code torch.optim.Adafactor}, PyTorch 2.5+: lr 1e-2, beta2_decay
 * -0.8, eps (None, 1e-3), d 1.0, weight_decay 0, maximize off).
 *
 * <p>Each {@code with…} method checks its argument and names it, with PyTorch's ranges: lr, eps2 and
 * weight decay finite and {@code >= 0}, beta2 decay finite and {@code <= 0}, d finite and
 * {@code >= 1}, eps1 finite and {@code >= 0} or NaN. <b>eps1 NaN stands for PyTorch's
 * {@code None}</b> (the default): the step then uses {@code torch.finfo(float32).eps}, 2^-23
 * ({@link #effectiveEps1()}).
 *
 * <p>Step {@code t}: {@code 1 - beta2_t = t^beta2Decay} (the weight of the new squared gradient),
 * relative step {@code rho_t = min(lr, 1/sqrt(t))}, step size {@code max(eps2, RMS(p)) * rho_t}
 * divided by {@code max(1, RMS(update) / d)}; weight decay is decoupled, {@code p *= 1 - lr * wd}.
 *
 * <p>Adafactor is not elementwise: every step needs whole-tensor norms, and its state depends on the
 * tensor's shape ({@code row_var} of {@code rows} and {@code col_var} of {@code cols} floats for a
 * matrix, {@code variance} of {@code n} floats for a vector). So an optimizer is made per tensor,
 * with its shape: {@link Optimizers#adafactor(AdafactorConfig, long, long)} or
 * {@link Optimizers#adafactor(AdafactorConfig, long)}. {@link #stateNames()} and
 * {@link #stateFloats(long)}, which describe a shape-free layout, are refused with an
 * {@link UnsupportedOperationException} that says so; the optimizer's own
 * {@link Optimizer#stateNames()} answers.
 */
public final class AdafactorConfig implements OptimizerConfig {
    /** {@code torch.finfo(torch.float32).eps}: 2^-23, eps1's value where it is None (NaN). */
    public static final double FLOAT32_EPS = 0x1p-23;

    private final double lr, beta2Decay, eps1, eps2, d, weightDecay;
    private final boolean maximize;

    private AdafactorConfig(double lr, double beta2Decay, double eps1, double eps2, double d, double weightDecay,
                            boolean maximize) {
        this.lr = lr;
        this.beta2Decay = beta2Decay;
        this.eps1 = eps1;
        this.eps2 = eps2;
        this.d = d;
        this.weightDecay = weightDecay;
        this.maximize = maximize;
    }

    /** Adafactor with PyTorch's defaults. */
    public static AdafactorConfig adafactor() {
        return new AdafactorConfig(1e-2, -0.8, Double.NaN, 1e-3, 1.0, 0, false);
    }

    public AdafactorConfig withLr(double lr) {
        return new AdafactorConfig(Check.nonNegative("lr", lr), beta2Decay, eps1, eps2, d, weightDecay, maximize);
    }

    /** The decay exponent of beta2: {@code 1 - beta2_t = t^beta2Decay}; finite and {@code <= 0}. */
    public AdafactorConfig withBeta2Decay(double beta2Decay) {
        if (!(beta2Decay <= 0 && beta2Decay > Double.NEGATIVE_INFINITY)) {
            throw new IllegalArgumentException("beta2Decay: expected a finite value <= 0, got " + beta2Decay);
        }
        return new AdafactorConfig(lr, beta2Decay, eps1, eps2, d, weightDecay, maximize);
    }

    /**
     * eps1, the floor of the variance estimate's square root (and of {@code row_var}'s mean):
     * finite and {@code >= 0}, or NaN for PyTorch's {@code None} (float32's eps, 2^-23).
     */
    public AdafactorConfig withEps1(double eps1) {
        if (!Double.isNaN(eps1)) {
            Check.nonNegative("eps1", eps1);
        }
        return new AdafactorConfig(lr, beta2Decay, eps1, eps2, d, weightDecay, maximize);
    }

    /** eps2, the floor of the parameters' RMS in the step size: finite and {@code >= 0}. */
    public AdafactorConfig withEps2(double eps2) {
        return new AdafactorConfig(lr, beta2Decay, eps1, Check.nonNegative("eps2", eps2), d, weightDecay, maximize);
    }

    /** The clipping threshold d: the update is scaled down where its RMS exceeds d; finite and {@code >= 1}. */
    public AdafactorConfig withD(double d) {
        if (!(d >= 1 && d < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("d: expected a finite value >= 1, got " + d);
        }
        return new AdafactorConfig(lr, beta2Decay, eps1, eps2, d, weightDecay, maximize);
    }

    public AdafactorConfig withWeightDecay(double weightDecay) {
        return new AdafactorConfig(lr, beta2Decay, eps1, eps2, d, Check.nonNegative("weightDecay", weightDecay),
                maximize);
    }

    public AdafactorConfig withMaximize(boolean maximize) {
        return new AdafactorConfig(lr, beta2Decay, eps1, eps2, d, weightDecay, maximize);
    }

    /** Always {@link StateFormat#FP32}: Adafactor has no 8-bit states (bitsandbytes has none either). */
    @Override
    public StateFormat stateFormat() {
        return StateFormat.FP32;
    }

    /**
     * This config for {@link StateFormat#FP32}; any other format is refused: Adafactor's factored second
     * moment is already small (rows + cols floats for a matrix) and bitsandbytes has no 8-bit Adafactor.
     *
     * @throws IllegalArgumentException naming {@code stateFormat} unless it is FP32
     * @throws NullPointerException naming {@code stateFormat} if it is null
     */
    @Override
    public AdafactorConfig withStateFormat(StateFormat stateFormat) {
        Objects.requireNonNull(stateFormat, "stateFormat");
        if (!stateFormat.equals(StateFormat.FP32)) {
            throw new IllegalArgumentException("stateFormat: Adafactor keeps fp32 state only (its factored second"
                    + " moment is rows + cols floats; bitsandbytes has no 8-bit Adafactor), got " + stateFormat);
        }
        return this;
    }

    public double lr() { return lr; }
    public double beta2Decay() { return beta2Decay; }
    /** eps1 as given: NaN for PyTorch's None. */
    public double eps1() { return eps1; }
    /** eps1 as a step uses it: {@link #FLOAT32_EPS} where it is None (NaN). */
    public double effectiveEps1() { return Double.isNaN(eps1) ? FLOAT32_EPS : eps1; }
    public double eps2() { return eps2; }
    public double d() { return d; }
    public double weightDecay() { return weightDecay; }
    public boolean maximize() { return maximize; }

    /**
     * Refused: Adafactor's state depends on the tensor's shape, which a config does not know.
     *
     * @throws UnsupportedOperationException always, saying where to ask instead
     */
    @Override
    public List<String> stateNames() {
        throw AdafactorOptimizer.shapeFree("stateNames()");
    }

    /**
     * Refused, as {@link #stateNames()}: Adafactor keeps {@code rows + cols} floats for a matrix and
     * {@code n} for a vector, and has no caller-owned layout.
     *
     * @throws UnsupportedOperationException always
     */
    @Override
    public long stateFloats(long n) {
        throw AdafactorOptimizer.shapeFree("stateFloats(n)");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AdafactorConfig c && Double.compare(c.lr, lr) == 0
                && Double.compare(c.beta2Decay, beta2Decay) == 0 && Double.compare(c.eps1, eps1) == 0
                && Double.compare(c.eps2, eps2) == 0 && Double.compare(c.d, d) == 0
                && Double.compare(c.weightDecay, weightDecay) == 0 && c.maximize == maximize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(lr, beta2Decay, eps1, eps2, d, weightDecay, maximize);
    }

    @Override
    public String toString() {
        return "Adafactor[lr=" + lr + ", beta2_decay=" + beta2Decay + ", eps=(" + (Double.isNaN(eps1) ? "None" : eps1)
                + ", " + eps2 + "), d=" + d + ", weight_decay=" + weightDecay + ", maximize=" + maximize + "]";
    }
}
