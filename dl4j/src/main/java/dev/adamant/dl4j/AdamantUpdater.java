package dev.adamant.dl4j;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.OptimizerConfig;
import dev.adamant.core.RmsPropConfig;
import dev.adamant.core.SgdConfig;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * A Deeplearning4j {@link IUpdater} that steps DL4J's own gradient and state arrays with Adamant's
 * kernels: Adam, SGD (with momentum, Nesterov) and RMSProp. Use it wherever DL4J takes an updater:
 *
 * <pre>{@code
 * new NeuralNetConfiguration.Builder()
 *     .updater(AdamantUpdater.adam(1e-3))
 *     .weightDecay(1e-2)                  // AdamW: DL4J's own decoupled weight decay, lr applied
 *     ...
 * }</pre>
 *
 * <p><b>What a step does.</b> {@link AdamantGradientUpdater#applyUpdater} runs one Adamant step in
 * update mode over DL4J's gradient view (the update is written into it, which DL4J then subtracts
 * from the parameters) and over DL4J's state view (caller-owned state, zero-copy), with DL4J's
 * iteration + 1 as the step number, so the bias corrections are those of DL4J's {@code Adam} and a
 * network restored by {@code ModelSerializer} (which saves the state view) continues exactly. One pass
 * over memory: 16 bytes read and 12 written a parameter for Adam (gradient, two moments), against
 * the several passes of DL4J's own path. The state layout is Adamant's (and, for Adam, DL4J's):
 * {@code exp_avg} then {@code exp_avg_sq}, {@code n} floats each.
 *
 * <p><b>Weight decay</b> is not this updater's: DL4J applies regularization after the updater
 * ({@code .weightDecay(coeff)} on the network or a layer is {@code WeightDecay(coeff, applyLR=true)},
 * decoupled as AdamW's; {@code .l2(coeff)} is L2 added to the gradient before it). The updater's
 * own weight decay stays 0, so it never reads the parameters. DL4J's {@code .weightDecay(coeff)}
 * leaves biases out unless {@code .weightDecayBias(coeff)} is also set; per layer,
 * {@code .regularization(List.of(new WeightDecay(coeff, true)))} decays that layer's weights and
 * {@code .regularizationBias(...)}, left unset, keeps its biases out (a layer's
 * {@code .weightDecayBias(0)} does not undo a network-wide one in DL4J 1.0.0-M2.1).
 *
 * <p><b>Eps placement.</b> {@link EpsPlacement#PYTORCH} (the default) computes Adam as PyTorch does,
 * {@code lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)}; {@link EpsPlacement#DL4J} as DL4J
 * does, {@code lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)} (PyTorch's formula with
 * {@code eps / sqrt(1 - b2^t)}, set per step), and for RMSProp starts the squared average at
 * {@code eps} as DL4J's {@code RmsProp} does (PyTorch starts it at 0).
 *
 * <p><b>Minibatch.</b> With {@code .miniBatch(true)} (DL4J's default) DL4J divides the gradient by the
 * minibatch size in a pass of its own before the updater. With {@code .miniBatch(false)}, set
 * {@link #withGradientScale(double) withGradientScale(1.0 / batch)}: the gradient is scaled as the
 * step reads it, in the same pass (equal within float rounding: a multiply by {@code (float) (1/b)}
 * instead of a divide by {@code b}).
 *
 * <p><b>Threads.</b> {@link #withThreads(int)} (default 1) splits a step over a {@link dev.adamant.core.Team}
 * of that many threads, shared by every updater of that thread count in the JVM (daemon threads,
 * made at first use and kept: an updater instance owns none). The step runs between ND4J's ops, not
 * alongside them, so its threads and ND4J's OpenMP threads ({@code OMP_NUM_THREADS}, or
 * {@code Nd4j.getEnvironment().setMaxMasterThreads}) take turns on the same cores: giving both the
 * number of physical cores is right. Blocks under 65,536 parameters step on the calling thread.
 *
 * <p><b>Learning rate.</b> A fixed rate, or one of DL4J's {@link ISchedule}s
 * ({@link #withSchedule(ISchedule)}), read at each step as {@code schedule.valueAt(iteration, epoch)},
 * as DL4J's updaters do.
 *
 * <p><b>Bad input.</b> Each {@code with…} checks its argument and throws an
 * {@link IllegalArgumentException} naming it (NaN, infinite, negative, out of range); the updater is
 * not changed (each returns a new one). Non-fp32 or non-contiguous arrays are refused at
 * {@link #instantiate} and at each step, with an exception naming the array.
 *
 * <p>Serializable in DL4J's JSON configuration ({@code toJson}/{@code fromJson} give an equal updater)
 * and by Java serialization. Mutable only through {@link #setLrAndSchedule}, as DL4J's updaters are.
 */
public final class AdamantUpdater implements IUpdater {
    private static final long serialVersionUID = 1L;

    /** The optimizer this updater runs. */
    public enum Kind { ADAM, SGD, RMSPROP }

    /** Where eps goes in Adam's denominator (and how RMSProp's squared average starts). */
    public enum EpsPlacement {
        /** PyTorch's: {@code sqrt(v / (1 - b2^t)) + eps}; RMSProp's squared average starts at 0. */
        PYTORCH,
        /** DL4J's: {@code sqrt(v) + eps} before the bias correction; RMSProp's squared average starts at eps. */
        DL4J
    }

    @JsonProperty("kind") private final Kind kind;
    @JsonProperty("learningRate") private double learningRate;
    @JsonProperty("learningRateSchedule") private ISchedule learningRateSchedule;
    @JsonProperty("beta1") private final double beta1;
    @JsonProperty("beta2") private final double beta2;
    @JsonProperty("epsilon") private final double epsilon;
    @JsonProperty("momentum") private final double momentum;
    @JsonProperty("nesterov") private final boolean nesterov;
    @JsonProperty("rmsDecay") private final double rmsDecay;
    @JsonProperty("centered") private final boolean centered;
    @JsonProperty("epsPlacement") private final EpsPlacement epsPlacement;
    @JsonProperty("gradientScale") private final double gradientScale;
    @JsonProperty("threads") private final int threads;

    @JsonCreator
    AdamantUpdater(@JsonProperty("kind") Kind kind,
                   @JsonProperty("learningRate") double learningRate,
                   @JsonProperty("learningRateSchedule") ISchedule learningRateSchedule,
                   @JsonProperty("beta1") double beta1,
                   @JsonProperty("beta2") double beta2,
                   @JsonProperty("epsilon") double epsilon,
                   @JsonProperty("momentum") double momentum,
                   @JsonProperty("nesterov") boolean nesterov,
                   @JsonProperty("rmsDecay") double rmsDecay,
                   @JsonProperty("centered") boolean centered,
                   @JsonProperty("epsPlacement") EpsPlacement epsPlacement,
                   @JsonProperty("gradientScale") double gradientScale,
                   @JsonProperty("threads") int threads) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.learningRate = learningRate;
        this.learningRateSchedule = learningRateSchedule;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.momentum = momentum;
        this.nesterov = nesterov;
        this.rmsDecay = rmsDecay;
        this.centered = centered;
        this.epsPlacement = epsPlacement == null ? EpsPlacement.PYTORCH : epsPlacement;
        this.gradientScale = gradientScale;
        this.threads = threads;
        // Every field is checked here, so a JSON configuration is held to the same rules as the withers.
        toConfig(Double.isNaN(learningRate) && learningRateSchedule != null ? 0 : learningRate);
        if (!(gradientScale > 0) || Double.isInfinite(gradientScale)) {
            throw new IllegalArgumentException("gradientScale: expected a finite value > 0, got " + gradientScale);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads: expected >= 1, got " + threads);
        }
    }

    private AdamantUpdater(Kind kind, double lr) {
        this(kind, lr, null, 0.9, 0.999, 1e-8, 0, false, 0.95, false,
                EpsPlacement.PYTORCH, 1, 1);
    }

    /** Adam with learning rate {@code lr}, betas (0.9, 0.999), eps 1e-8 (PyTorch's and DL4J's defaults). */
    public static AdamantUpdater adam(double lr) {
        return new AdamantUpdater(Kind.ADAM, lr);
    }

    /** Plain SGD with learning rate {@code lr}: DL4J's {@code Sgd}. */
    public static AdamantUpdater sgd(double lr) {
        return new AdamantUpdater(Kind.SGD, lr);
    }

    /**
     * SGD with Nesterov momentum: PyTorch's {@code SGD(nesterov=True)}, which for a fixed learning
     * rate steps as DL4J's {@code Nesterovs} (whose state is {@code -lr} times PyTorch's buffer).
     */
    public static AdamantUpdater nesterovs(double lr, double momentum) {
        return sgd(lr).withMomentum(momentum).withNesterov(true);
    }

    /** RMSProp with learning rate {@code lr}, decay 0.95 and eps 1e-8 (DL4J's {@code RmsProp} defaults). */
    public static AdamantUpdater rmsProp(double lr) {
        return new AdamantUpdater(Kind.RMSPROP, lr);
    }

    private AdamantUpdater with(double lr, ISchedule schedule, double b1, double b2, double eps, double mom,
                                boolean nest, double decay, boolean cent, EpsPlacement placement,
                                double scale, int nThreads) {
        return new AdamantUpdater(kind, lr, schedule, b1, b2, eps, mom, nest, decay, cent, placement, scale, nThreads);
    }

    /** This updater with a fixed learning rate {@code lr} (no schedule). */
    public AdamantUpdater withLearningRate(double lr) {
        return with(lr, null, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    /** This updater with the learning rate {@code schedule.valueAt(iteration, epoch)} at each step. */
    public AdamantUpdater withSchedule(ISchedule schedule) {
        Objects.requireNonNull(schedule, "schedule");
        return with(Double.NaN, schedule, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    /** Adam's betas; refused (naming the argument) outside [0, 1) or for another kind. */
    public AdamantUpdater withBetas(double beta1, double beta2) {
        requireKind("beta1", Kind.ADAM);
        return with(learningRate, learningRateSchedule, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    /** Adam's or RMSProp's eps. */
    public AdamantUpdater withEpsilon(double epsilon) {
        if (kind == Kind.SGD) {
            throw new IllegalArgumentException("epsilon: SGD has no eps (this updater is " + kind + ")");
        }
        return with(learningRate, learningRateSchedule, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    /** SGD's or RMSProp's momentum, in [0, 1). */
    public AdamantUpdater withMomentum(double momentum) {
        if (kind == Kind.ADAM) {
            throw new IllegalArgumentException("momentum: Adam has betas, not a momentum (see withBetas)");
        }
        return with(learningRate, learningRateSchedule, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    /** SGD's Nesterov flag (needs a momentum above 0). */
    public AdamantUpdater withNesterov(boolean nesterov) {
        requireKind("nesterov", Kind.SGD);
        return with(learningRate, learningRateSchedule, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    /** RMSProp's decay of the squared average (PyTorch's {@code alpha}, DL4J's {@code rmsDecay}). */
    public AdamantUpdater withRmsDecay(double rmsDecay) {
        requireKind("rmsDecay", Kind.RMSPROP);
        return with(learningRate, learningRateSchedule, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    /** RMSProp centered (the gradient's average subtracted). */
    public AdamantUpdater withCentered(boolean centered) {
        requireKind("centered", Kind.RMSPROP);
        return with(learningRate, learningRateSchedule, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    /** Where eps goes: {@link EpsPlacement#PYTORCH} (default) or {@link EpsPlacement#DL4J}. */
    public AdamantUpdater withEpsPlacement(EpsPlacement epsPlacement) {
        Objects.requireNonNull(epsPlacement, "epsPlacement");
        return with(learningRate, learningRateSchedule, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    /**
     * Gradients multiplied by {@code (float) scale} as the step reads them: {@code 1.0 / batch} for a
     * network built with {@code .miniBatch(false)}.
     */
    public AdamantUpdater withGradientScale(double scale) {
        return with(learningRate, learningRateSchedule, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, scale, threads);
    }

    /** Threads a step may use (default 1); see the class javadoc for sharing cores with ND4J. */
    public AdamantUpdater withThreads(int threads) {
        return with(learningRate, learningRateSchedule, beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    private void requireKind(String name, Kind expected) {
        if (kind != expected) {
            throw new IllegalArgumentException(name + ": an option of " + expected + ", but this updater is " + kind);
        }
    }

    public Kind getKind() { return kind; }
    public double getLearningRate() { return learningRate; }
    public ISchedule getLearningRateSchedule() { return learningRateSchedule; }
    public double getBeta1() { return beta1; }
    public double getBeta2() { return beta2; }
    public double getEpsilon() { return epsilon; }
    public double getMomentum() { return momentum; }
    public boolean isNesterov() { return nesterov; }
    public double getRmsDecay() { return rmsDecay; }
    public boolean isCentered() { return centered; }
    public EpsPlacement getEpsPlacement() { return epsPlacement; }
    public double getGradientScale() { return gradientScale; }
    public int getThreads() { return threads; }

    /**
     * Adamant's config for a step at learning rate {@code lr}, weight decay 0 (DL4J's regularization
     * does that), eps as PyTorch places it (the DL4J placement is applied per step by the updater).
     */
    OptimizerConfig toConfig(double lr) {
        return switch (kind) {
            case ADAM -> AdamConfig.adam().withLr(lr).withBetas(beta1, beta2).withEps(epsilon);
            case SGD -> {
                if (nesterov && !(momentum > 0)) {
                    throw new IllegalArgumentException("nesterov: needs a momentum > 0, got momentum " + momentum);
                }
                yield SgdConfig.sgd(lr).withMomentum(momentum).withNesterov(nesterov);
            }
            case RMSPROP -> RmsPropConfig.rmsProp().withLr(lr).withAlpha(rmsDecay).withEps(epsilon)
                    .withMomentum(momentum).withCentered(centered);
        };
    }

    /** State floats for {@code numParams} parameters: the Adamant config's {@code stateFloats}. */
    @Override
    public long stateSize(long numParams) {
        if (numParams == 0) {
            return 0;
        }
        return toConfig(0).stateFloats(numParams);
    }

    @Override
    public GradientUpdater instantiate(INDArray viewArray, boolean initializeViewArray) {
        return new AdamantGradientUpdater(this, viewArray, initializeViewArray);
    }

    @Override
    public GradientUpdater instantiate(Map<String, INDArray> updaterState, boolean initializeStateArrays) {
        return new AdamantGradientUpdater(this, updaterState, initializeStateArrays);
    }

    @Override
    public AdamantUpdater clone() {
        return with(learningRate, learningRateSchedule == null ? null : learningRateSchedule.clone(),
                beta1, beta2, epsilon, momentum, nesterov, rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    @Override
    public double getLearningRate(int iteration, int epoch) {
        return learningRateSchedule != null ? learningRateSchedule.valueAt(iteration, epoch) : learningRate;
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public void setLrAndSchedule(double lr, ISchedule lrSchedule) {
        if (lrSchedule == null) {
            toConfig(lr); // checks lr, naming it
        }
        this.learningRate = lr;
        this.learningRateSchedule = lrSchedule;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AdamantUpdater u
                && kind == u.kind
                && Double.compare(learningRate, u.learningRate) == 0
                && Objects.equals(learningRateSchedule, u.learningRateSchedule)
                && Double.compare(beta1, u.beta1) == 0
                && Double.compare(beta2, u.beta2) == 0
                && Double.compare(epsilon, u.epsilon) == 0
                && Double.compare(momentum, u.momentum) == 0
                && nesterov == u.nesterov
                && Double.compare(rmsDecay, u.rmsDecay) == 0
                && centered == u.centered
                && epsPlacement == u.epsPlacement
                && Double.compare(gradientScale, u.gradientScale) == 0
                && threads == u.threads;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, learningRate, learningRateSchedule, beta1, beta2, epsilon, momentum, nesterov,
                rmsDecay, centered, epsPlacement, gradientScale, threads);
    }

    @Override
    public String toString() {
        return "AdamantUpdater[" + kind + ", lr=" + (learningRateSchedule != null ? learningRateSchedule : learningRate)
                + switch (kind) {
                    case ADAM -> ", betas=(" + beta1 + ", " + beta2 + "), eps=" + epsilon;
                    case SGD -> ", momentum=" + momentum + ", nesterov=" + nesterov;
                    case RMSPROP -> ", rmsDecay=" + rmsDecay + ", eps=" + epsilon + ", momentum=" + momentum
                            + ", centered=" + centered;
                }
                + ", eps placement " + epsPlacement + ", gradientScale=" + gradientScale + ", threads=" + threads + "]";
    }
}
