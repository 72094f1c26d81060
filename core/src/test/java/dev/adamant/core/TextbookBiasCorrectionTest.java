package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The variants PyTorch does not have, against references written here from the maths in double:
 * SGD and RMSProp with textbook bias correction ({@code withBiasCorrection(true)}) and Adam without
 * it (DeepSpeed's {@code bias_correction=False}), plus Adam with it as a control. Each runs 25 steps
 * over 1031 parameters (the vector loop and its tail) on the JVM-wide kernels and on each
 * implementation by name.
 *
 * <h2>Tolerance: a running error bound</h2>
 * The optimizers compute in float and the references in double, so they differ by float rounding,
 * which this test bounds element by element as the reference runs (a running error analysis, as in
 * Higham, <i>Accuracy and Stability of Numerical Algorithms</i>, §3.3). With {@code u = 2^-24} (half an
 * ulp, relative):
 * <ul>
 *   <li>One step, from gradient to update, is at most about a dozen float roundings, each of the
 *       results or of a coefficient rounded once from double: under {@code 12u}. Each moving average
 *       carries its error forward and adds at most 3 roundings a step (coefficient, product, sum), so
 *       after {@code t} steps it is off by at most {@code 3tu} of its <em>magnitude</em>; Adam has two
 *       (the second under a square root, which halves it). So {@code K(t) = (16 + 8t)u}, about twice
 *       that, bounds the relative error of the update.</li>
 *   <li>"Magnitude" matters where terms cancel: a moving average of gradients of both signs can be
 *       near zero while its error is not. So the reference also keeps each average's companion over
 *       {@code |g|}, and bounds the update's error by {@code K(t)} times the update built from the
 *       companions. Centered RMSProp subtracts {@code ga^2} from {@code s}: its relative error is
 *       amplified by {@code κ = (s + |ga|^2) / (s - ga^2)}; the bound multiplies in {@code 1 + κ}.</li>
 *   <li>Adding the update to the parameter rounds it once more, by at most {@code u|p|} (half an
 *       ulp). AdamW rounds it twice more: {@code 1 - lr * wd} to float, and the product.</li>
 * </ul>
 * So after step {@code t}: {@code |p_float - p_ref| <= B_t = B_{t-1} + r u|p| + K(t) * |update_t|_companion},
 * with {@code r} those roundings of p (1, AdamW 3). The parameter's error also feeds back through
 * weight decay ({@code wd * B_t}, under {@code 1e-7} here), far inside {@code K}'s factor of two; it is
 * not modelled. The state buffers get {@code K(t)} times their companions. The largest errors seen
 * are 0.4-0.75 of the bound, early, on parameters near 2, where rounding p is all of it (and that
 * term is tight by nature); {@link #notBiasCorrectedRunsFail} and {@link #offByOneStepFails}
 * show the bound still catches a wrong variant, or a bias correction one step off, by orders of
 * magnitude.
 *
 * <h2>Data</h2>
 * Gradients alternate in sign from step to step around a small per-element bias, so consecutive ones
 * differ by at least 1: centered RMSProp's variance {@code s - ga^2} then stays well-conditioned after
 * step 1. At step 1 the bias-corrected variance is exactly 0 (one sample has no spread), so the update
 * is {@code lr * g / eps}. In float it is rounding noise of either sign on general data (and a
 * negative one gives sqrt's NaN), so to make that step exact in float too, step 1's gradients and the
 * initial parameters lie on a 1/16 grid, weight decay is 1/16 and centered alpha is {@code 1 - 2^-7}:
 * every product there is exact and {@code s_hat - ga_hat^2} is exactly 0 in float as in double. The
 * centered runs use eps 0.1 so that this first step ({@code lr/eps * g}) is an ordinary size.
 */
class TextbookBiasCorrectionTest {
    private static final int N = 1031, STEPS = 25;
    private static final long SEED = 0x5EED_ADA3L;
    private static final double U = 0x1p-24;
    /** Exact in float and a power of two: see the class comment. */
    private static final double WD = 1.0 / 16;
    /** {@code 1 - 2^-7}: {@code 1 - alpha} and {@code 1/(1 - alpha)} exact, for centered RMSProp's first step. */
    private static final double CENTERED_ALPHA = 1 - 0x1p-7;

    /** The relative error bound of an update after {@code t} steps: see the class comment. */
    private static double k(int t) {
        return (16 + 8.0 * t) * U;
    }

    // ---------------------------------------------------------------------------------------------
    // Data

    record Data(float[] params0, float[] grads) {}

    static Data data() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] p0 = new float[N];
        float[] bias = new float[N];
        for (int i = 0; i < N; i++) {
            p0[i] = (rnd.nextInt(64) - 32) / 16f;       // [-2, 2) on a 1/16 grid
            bias[i] = (rnd.nextInt(9) - 4) / 16f;        // [-0.25, 0.25] on a 1/16 grid
        }
        float[] g = new float[STEPS * N];
        for (int t = 0; t < STEPS; t++) {
            for (int i = 0; i < N; i++) {
                double magnitude = t == 0 ? (8 + rnd.nextInt(17)) / 16.0 : 0.5 + rnd.nextDouble(); // [0.5, 1.5]
                g[t * N + i] = (float) (((t + i) % 2 == 0 ? magnitude : -magnitude) + bias[i]);
            }
        }
        return new Data(p0, g);
    }

    // ---------------------------------------------------------------------------------------------
    // References, in double, from the formulas (not from the main code)

    /** A double-precision run of one optimizer with the running error bound of each parameter. */
    abstract static class Reference {
        final double[] p = new double[N];
        final double[] bound = new double[N];
        /** Added to t in the bias corrections: 0, or 1 to make a deliberately wrong reference. */
        final int shift;

        Reference(float[] p0, int shift) {
            for (int i = 0; i < N; i++) {
                p[i] = p0[i];
            }
            this.shift = shift;
        }

        /** Step t (from 1) with {@code grads[off .. off + N)}. */
        final void step(int t, float[] grads, int off) {
            for (int i = 0; i < N; i++) {
                double before = Math.abs(p[i]);
                double updateMagnitude = element(t, i, grads[off + i]);
                bound[i] += parameterRoundings() * U * Math.max(before, Math.abs(p[i])) + k(t) * updateMagnitude;
            }
        }

        /** Roundings of the parameter itself per step, each at most {@code u|p|}. */
        int parameterRoundings() {
            return 1;
        }

        /** Updates element i in place; returns the companion magnitude of its update. */
        abstract double element(int t, int i, double g);

        /** Final state by PyTorch name: {expected values, tolerance per element}. */
        abstract Map<String, double[][]> state(int t);

        static double[][] withTolerance(double[] value, double[] magnitude, int t) {
            double[] tol = new double[N];
            for (int i = 0; i < N; i++) {
                tol[i] = k(t) * magnitude[i];
            }
            return new double[][] {value, tol};
        }
    }

    /** SGD, textbook: m = mu m + (1 - mu) g from 0, m_hat = m / (1 - mu^t), nesterov d = g + mu m_hat. */
    static final class SgdReference extends Reference {
        final double lr, mu, wd;
        final boolean nesterov, maximize;
        final double[] m = new double[N], mAbs = new double[N];

        SgdReference(float[] p0, int shift, double lr, double mu, double wd, boolean nesterov, boolean maximize) {
            super(p0, shift);
            this.lr = lr;
            this.mu = mu;
            this.wd = wd;
            this.nesterov = nesterov;
            this.maximize = maximize;
        }

        @Override
        double element(int t, int i, double grad) {
            double g = (maximize ? -grad : grad) + wd * p[i];
            m[i] = mu * m[i] + (1 - mu) * g;
            mAbs[i] = mu * mAbs[i] + (1 - mu) * Math.abs(g);
            double correction = 1 / (1 - Math.pow(mu, t + shift));
            double mHat = m[i] * correction;
            double d = nesterov ? g + mu * mHat : mHat;
            double dAbs = nesterov ? Math.abs(g) + mu * mAbs[i] * correction : mAbs[i] * correction;
            p[i] -= lr * d;
            return lr * dAbs;
        }

        @Override
        Map<String, double[][]> state(int t) {
            return Map.of("momentum_buffer", withTolerance(m, mAbs, t));
        }
    }

    /**
     * RMSProp, textbook: s = a s + (1 - a) g^2, s_hat = s / (1 - a^t); centered ga likewise and
     * var = s_hat - ga_hat^2; avg = sqrt(var) + eps; then PyTorch's update, with or without momentum.
     */
    static final class RmsPropReference extends Reference {
        final double lr, alpha, eps, wd, mu;
        final boolean centered, maximize;
        final double[] s = new double[N], ga = new double[N], gaAbs = new double[N];
        final double[] b = new double[N], bAbs = new double[N];

        RmsPropReference(float[] p0, int shift, double lr, double alpha, double eps, double wd, double mu,
                         boolean centered, boolean maximize) {
            super(p0, shift);
            this.lr = lr;
            this.alpha = alpha;
            this.eps = eps;
            this.wd = wd;
            this.mu = mu;
            this.centered = centered;
            this.maximize = maximize;
        }

        @Override
        double element(int t, int i, double grad) {
            double g = (maximize ? -grad : grad) + wd * p[i];
            s[i] = alpha * s[i] + (1 - alpha) * g * g;
            double correction = 1 / (1 - Math.pow(alpha, t + shift));
            double sHat = s[i] * correction;
            double var = sHat;
            double kappa = 1;
            if (centered) {
                ga[i] = alpha * ga[i] + (1 - alpha) * g;
                gaAbs[i] = alpha * gaAbs[i] + (1 - alpha) * Math.abs(g);
                double gaHat = ga[i] * correction, gaAbsHat = gaAbs[i] * correction;
                var = sHat - gaHat * gaHat;
                if (var > 0) {
                    kappa = 1 + (sHat + gaAbsHat * gaAbsHat) / var;
                } else if (t != 1 || shift != 0) {
                    throw new AssertionError("test data: centered variance " + var + " at step " + t + " [" + i
                            + "]; the data should keep it well-conditioned after step 1");
                }
                // At step 1 var is exactly 0 in float as in double (see the class comment): kappa 1.
            }
            double avg = Math.sqrt(var) + eps;
            if (mu > 0) {
                b[i] = mu * b[i] + g / avg;
                bAbs[i] = mu * bAbs[i] + kappa * Math.abs(g) / avg;
                p[i] -= lr * b[i];
                return lr * bAbs[i];
            }
            p[i] -= lr * g / avg;
            return kappa * lr * Math.abs(g) / avg;
        }

        @Override
        Map<String, double[][]> state(int t) {
            Map<String, double[][]> out = new LinkedHashMap<>();
            out.put("square_avg", withTolerance(s, s, t));
            if (mu > 0) {
                out.put("momentum_buffer", withTolerance(b, bAbs, t));
            }
            if (centered) {
                out.put("grad_avg", withTolerance(ga, gaAbs, t));
            }
            return out;
        }
    }

    /**
     * Adam and AdamW: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2 (amsgrad: the running max of v),
     * p -= lr * (m / bc1) / (sqrt(v / bc2) + eps) with bc = 1 - beta^t, or 1 without bias correction.
     */
    static final class AdamReference extends Reference {
        final double lr, b1, b2, eps, wd;
        final boolean decoupled, amsgrad, maximize, biasCorrection;
        final double[] m = new double[N], mAbs = new double[N], v = new double[N], vMax = new double[N];

        AdamReference(float[] p0, int shift, boolean decoupled, double lr, double b1, double b2, double eps,
                      double wd, boolean amsgrad, boolean maximize, boolean biasCorrection) {
            super(p0, shift);
            this.decoupled = decoupled;
            this.lr = lr;
            this.b1 = b1;
            this.b2 = b2;
            this.eps = eps;
            this.wd = wd;
            this.amsgrad = amsgrad;
            this.maximize = maximize;
            this.biasCorrection = biasCorrection;
        }

        @Override
        double element(int t, int i, double grad) {
            double g = maximize ? -grad : grad;
            if (decoupled) {
                p[i] *= 1 - lr * wd;
            } else {
                g += wd * p[i];
            }
            m[i] = b1 * m[i] + (1 - b1) * g;
            mAbs[i] = b1 * mAbs[i] + (1 - b1) * Math.abs(g);
            v[i] = b2 * v[i] + (1 - b2) * g * g;
            vMax[i] = Math.max(vMax[i], v[i]);
            double bc1 = biasCorrection ? 1 - Math.pow(b1, t + shift) : 1;
            double bc2 = biasCorrection ? 1 - Math.pow(b2, t + shift) : 1;
            double denom = Math.sqrt((amsgrad ? vMax[i] : v[i]) / bc2) + eps;
            p[i] -= lr * (m[i] / bc1) / denom;
            return lr * (mAbs[i] / bc1) / denom;
        }

        /** AdamW also rounds {@code 1 - lr * wd} to float and {@code p * (1 - lr * wd)}. */
        @Override
        int parameterRoundings() {
            return decoupled ? 3 : 1;
        }

        @Override
        Map<String, double[][]> state(int t) {
            Map<String, double[][]> out = new LinkedHashMap<>();
            out.put("exp_avg", withTolerance(m, mAbs, t));
            out.put("exp_avg_sq", withTolerance(v, v, t));
            if (amsgrad) {
                out.put("max_exp_avg_sq", withTolerance(vMax, vMax, t));
            }
            return out;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Variants: the optimizer under test and its reference, made from the same numbers

    /** The optimizer under test, on the given kernels. */
    interface Subject {
        Optimizer make(Fixtures.Kernels kernels);
    }

    /** A reference run that starts from {@code p0} with its bias corrections shifted by {@code shift} steps. */
    interface ReferenceFactory {
        Reference make(float[] p0, int shift);
    }

    record Variant(String name, Subject subject, ReferenceFactory reference, Subject otherCorrection) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Variant sgd(double lr, double mu, double dampening, double wd, boolean nesterov, boolean maximize) {
        SgdConfig cfg = SgdConfig.sgd(lr).withMomentum(mu).withDampening(dampening).withWeightDecay(wd)
                .withNesterov(nesterov).withMaximize(maximize).withBiasCorrection(true);
        // PyTorch's SGD needs dampening 0 for nesterov; the textbook variant ignores dampening.
        SgdConfig plain = cfg.withBiasCorrection(false).withDampening(nesterov ? 0 : dampening);
        return new Variant(String.format(Locale.ROOT, "SGD textbook mu=%s damp=%s wd=%s%s%s", mu, dampening, wd,
                nesterov ? " nesterov" : "", maximize ? " maximize" : ""),
                k -> k.create(cfg, N), (p0, shift) -> new SgdReference(p0, shift, lr, mu, wd, nesterov, maximize),
                k -> k.create(plain, N));
    }

    static Variant rmsProp(double lr, double alpha, double eps, double wd, double mu, boolean centered,
                           boolean maximize) {
        RmsPropConfig cfg = RmsPropConfig.rmsProp().withLr(lr).withAlpha(alpha).withEps(eps).withWeightDecay(wd)
                .withMomentum(mu).withCentered(centered).withMaximize(maximize).withBiasCorrection(true);
        return new Variant(String.format(Locale.ROOT, "RMSProp textbook alpha=%s eps=%s wd=%s mu=%s%s%s", alpha, eps,
                wd, mu, centered ? " centered" : "", maximize ? " maximize" : ""),
                k -> k.create(cfg, N),
                (p0, shift) -> new RmsPropReference(p0, shift, lr, alpha, eps, wd, mu, centered, maximize),
                k -> k.create(cfg.withBiasCorrection(false), N));
    }

    static Variant adam(boolean decoupled, double lr, double wd, boolean amsgrad, boolean maximize,
                        boolean biasCorrection) {
        double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        AdamConfig cfg = (decoupled ? AdamConfig.adamW() : AdamConfig.adam()).withLr(lr).withBetas(b1, b2)
                .withEps(eps).withWeightDecay(wd).withAmsgrad(amsgrad).withMaximize(maximize)
                .withBiasCorrection(biasCorrection);
        return new Variant(String.format(Locale.ROOT, "%s bias_correction=%s wd=%s%s%s", decoupled ? "AdamW" : "Adam",
                biasCorrection, wd, amsgrad ? " amsgrad" : "", maximize ? " maximize" : ""),
                k -> k.create(cfg, N),
                (p0, shift) -> new AdamReference(p0, shift, decoupled, lr, b1, b2, eps, wd, amsgrad, maximize,
                        biasCorrection),
                k -> k.create(cfg.withBiasCorrection(!biasCorrection), N));
    }

    static List<Variant> variants() {
        return List.of(
                sgd(0.05, 0.9, 0, 0, false, false),
                sgd(0.05, 0.9, 0, WD, false, true),
                sgd(0.05, 0.9, 0.9, WD, false, false),  // dampening = momentum: the same moving average
                sgd(0.05, 0.9, 0, 0, true, false),
                sgd(0.05, 0.8, 0, WD, true, true),
                rmsProp(0.01, 0.99, 1e-8, 0, 0, false, false),
                rmsProp(0.01, 0.99, 1e-8, WD, 0, false, true),
                rmsProp(0.01, 0.9, 1e-8, WD, 0.9, false, false),
                rmsProp(0.01, CENTERED_ALPHA, 0.1, 0, 0, true, false),
                rmsProp(0.01, CENTERED_ALPHA, 0.1, WD, 0.9, true, true),
                adam(false, 0.01, 0, false, false, false),
                adam(false, 0.01, WD, false, true, false),
                adam(true, 0.01, WD, false, false, false),
                adam(false, 0.01, 0, true, false, false),
                adam(true, 0.01, WD, true, true, false),
                adam(false, 0.01, WD, true, true, true),
                adam(true, 0.01, WD, false, false, true));
    }

    static Stream<Arguments> cases() {
        return variants().stream().flatMap(v -> Stream.of(Fixtures.Kernels.values()).map(k -> Arguments.of(v, k)));
    }

    // ---------------------------------------------------------------------------------------------
    // Running and comparing

    /** The worst element: largest error as a fraction of its bound; the largest parameter error in ulps. */
    record Comparison(double worstRatio, String where, double maxUlps) {}

    /** Runs {@code subject} on the data beside {@code reference}, comparing after every step and at the end. */
    static Comparison compare(Subject subject, Fixtures.Kernels kernels, Reference reference) {
        Data data = data();
        double scale = Fixtures.medianAbs(data.params0());
        double worst = 0, maxUlps = 0;
        String where = "-";
        try (Arena arena = Arena.ofConfined(); Optimizer opt = subject.make(kernels)) {
            MemorySegment params = Fixtures.copyOf(arena, data.params0());
            MemorySegment grads = Fixtures.copyOf(arena, new float[N]);
            for (int t = 1; t <= STEPS; t++) {
                Fixtures.fill(grads, data.grads(), (t - 1) * N, N);
                opt.step(params, grads);
                reference.step(t, data.grads(), (t - 1) * N);
                float[] got = Fixtures.toArray(params);
                for (int i = 0; i < N; i++) {
                    double ratio = ratio(got[i], reference.p[i], reference.bound[i]);
                    if (ratio > worst) {
                        worst = ratio;
                        where = String.format(Locale.ROOT, "params after step %d [%d]: got %s, reference %s, bound %.3e",
                                t, i, got[i], reference.p[i], reference.bound[i]);
                    }
                    // In ulps at the parameters' scale: plain ulps explode where a parameter crosses 0.
                    float at = (float) Math.max(Math.abs(reference.p[i]), scale);
                    maxUlps = Math.max(maxUlps, Math.abs(got[i] - reference.p[i]) / Math.ulp(at));
                }
            }
            for (var e : reference.state(STEPS).entrySet()) {
                assertTrue(opt.stateNames().contains(e.getKey()), () -> "state " + e.getKey() + " missing from "
                        + opt.stateNames());
                float[] got = Fixtures.toArray(opt.state(e.getKey()));
                double[] expected = e.getValue()[0], tol = e.getValue()[1];
                for (int i = 0; i < N; i++) {
                    double ratio = ratio(got[i], expected[i], tol[i]);
                    if (ratio > worst) {
                        worst = ratio;
                        where = String.format(Locale.ROOT, "%s [%d]: got %s, reference %s, bound %.3e", e.getKey(), i,
                                got[i], expected[i], tol[i]);
                    }
                }
            }
            assertEquals(reference.state(STEPS).keySet(), Set.copyOf(opt.stateNames()), "state buffers kept");
        }
        return new Comparison(worst, where, maxUlps);
    }

    /** {@code |actual - expected| / bound}; NaN compares as infinitely wrong. */
    private static double ratio(float actual, double expected, double bound) {
        double err = Math.abs(actual - expected);
        if (Double.isNaN(err)) {
            return Double.POSITIVE_INFINITY;
        }
        return err == 0 ? 0 : err / bound;
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void matchesDoubleReference(Variant variant, Fixtures.Kernels kernels) {
        kernels.assumeAvailable();
        Comparison c = compare(variant.subject(), kernels, variant.reference().make(data().params0(), 0));
        System.out.printf(Locale.ROOT, "textbook %-62s %-15s params max %4.2f ulp, worst %.3f of the bound at %s%n", variant, kernels,
                c.maxUlps(), c.worstRatio(), c.where());
        assertTrue(c.worstRatio() <= 1, () -> variant + " on " + kernels + ": beyond the error bound ("
                + String.format(Locale.ROOT, "%.2f", c.worstRatio()) + "x) at " + c.where());
    }

    /** The other bias-correction setting lands far outside the bound: the comparison can fail. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void notBiasCorrectedRunsFail(Variant variant) {
        Comparison c = compare(variant.otherCorrection(), Fixtures.Kernels.SCALAR,
                variant.reference().make(data().params0(), 0));
        System.out.printf(Locale.ROOT, "textbook %-62s other bias correction: %.3g x the bound%n", variant,
                c.worstRatio());
        assertTrue(c.worstRatio() > 1000, () -> variant + ": the other bias-correction setting is only "
                + c.worstRatio() + "x the bound at " + c.where());
    }

    /** A reference whose bias corrections use t + 1 (a classic off-by-one) is far outside the bound too. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void offByOneStepFails(Variant variant) {
        Reference shifted = variant.reference().make(data().params0(), 1);
        assumeTrue(!(shifted instanceof AdamReference a) || a.biasCorrection, "no bias correction to shift");
        Comparison c = compare(variant.subject(), Fixtures.Kernels.SCALAR, shifted);
        System.out.printf(Locale.ROOT, "textbook %-62s bias correction at t + 1: %.3g x the bound%n", variant,
                c.worstRatio());
        assertTrue(c.worstRatio() > 100, () -> variant + ": a bias correction one step off is only "
                + c.worstRatio() + "x the bound at " + c.where());
    }
}
