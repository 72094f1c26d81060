package dev.adamant.core;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** Random configs of every kind, and random state to restore, for the framework-API property tests. */
final class RandomConfigs {
    private RandomConfigs() {}

    /** Adam, AdamW, SGD, RMSProp, Adagrad or Lion with random hyper-parameters; weight decay 0 half the time. */
    static OptimizerConfig any(SplittableRandom r) {
        return of(r.nextInt(6), r);
    }

    /** A config of kind {@code kind} (0 Adam, 1 AdamW, 2 SGD, 3 RMSProp, 4 Adagrad, 5 Lion). */
    static OptimizerConfig of(int kind, SplittableRandom r) {
        double wd = r.nextBoolean() ? 0 : r.nextDouble() * 0.1;
        boolean maximize = r.nextInt(4) == 0;
        return switch (kind) {
            case 0, 1 -> (kind == 0 ? AdamConfig.adam() : AdamConfig.adamW()).withLr(1e-4 + r.nextDouble() * 0.05)
                    .withBetas(0.5 + 0.49 * r.nextDouble(), 0.9 + 0.0999 * r.nextDouble())
                    .withEps(Math.pow(10, -10 + 6 * r.nextDouble())).withWeightDecay(wd)
                    .withAmsgrad(r.nextInt(4) == 0).withMaximize(maximize);
            case 2 -> {
                double momentum = r.nextBoolean() ? 0 : r.nextDouble() * 0.95;
                boolean nesterov = momentum > 0 && r.nextBoolean();
                yield SgdConfig.sgd(1e-4 + r.nextDouble() * 0.1).withMomentum(momentum)
                        .withDampening(nesterov ? 0 : r.nextDouble() * 0.5 * (r.nextBoolean() ? 1 : 0))
                        .withNesterov(nesterov).withWeightDecay(wd).withMaximize(maximize);
            }
            case 4 -> AdagradConfig.adagrad().withLr(1e-4 + r.nextDouble() * 0.05)
                    .withLrDecay(r.nextBoolean() ? 0 : r.nextDouble() * 0.01)
                    .withEps(Math.pow(10, -10 + 6 * r.nextDouble())).withWeightDecay(wd)
                    .withInitialAccumulatorValue(r.nextBoolean() ? 0 : r.nextDouble()).withMaximize(maximize);
            case 5 -> LionConfig.lion().withLr(1e-5 + r.nextDouble() * 0.01)
                    .withBetas(0.5 + 0.49 * r.nextDouble(), 0.9 + 0.0999 * r.nextDouble()).withWeightDecay(wd);
            default -> RmsPropConfig.rmsProp().withLr(1e-4 + r.nextDouble() * 0.01)
                    .withAlpha(0.9 + 0.099 * r.nextDouble()).withEps(Math.pow(10, -10 + 6 * r.nextDouble()))
                    .withWeightDecay(wd).withMomentum(r.nextBoolean() ? 0 : r.nextDouble() * 0.9)
                    .withCentered(r.nextBoolean()).withMaximize(maximize);
        };
    }

    /** A restore fill with random state of a plausible range: second moments non-negative and small averages. */
    static void fill(SplittableRandom r, String name, MemorySegment buffer) {
        int n = (int) (buffer.byteSize() / Float.BYTES);
        float[] a = switch (name) {
            case "exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum" -> TestData.randomSquares(r, n, 1f);
            case "grad_avg" -> TestData.randomFloats(r, n, 0.1f, false);
            default -> TestData.randomFloats(r, n, 0.5f, false);
        };
        MemorySegment.copy(a, 0, buffer, TestData.F, 0, n);
    }

    /**
     * Parameters with magnitudes spread over many binades and some near zero, so that a step moves
     * some of them by more than half their size (where {@code p - (p - p')} is not exact).
     */
    static float[] params(SplittableRandom r, int n) {
        float[] p = new float[n];
        for (int i = 0; i < n; i++) {
            double mag = Math.pow(10, -6 + 7 * r.nextDouble());
            p[i] = (float) (r.nextBoolean() ? mag : -mag);
            if (r.nextInt(50) == 0) {
                p[i] = r.nextBoolean() ? 0f : -0f;
            }
        }
        return p;
    }
}
