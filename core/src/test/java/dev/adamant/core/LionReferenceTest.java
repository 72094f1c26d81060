package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Lion against two references written here, not taken from the kernels. There is no fp32 Lion
 * fixture (bitsandbytes' {@code lion8} cases keep 8-bit state).
 * <ol>
 *   <li>bitsandbytes' pure-PyTorch reference ({@code optimizer_update_8bit_blockwise_pytorch},
 *       {@code "lion"}) transcribed op for op in float: {@code p.mul_(1 - lr*wd)} (only if wd > 0),
 *       {@code sign(m.mul(beta1) + g.mul(1 - beta1))}, {@code p.add_(sign, alpha=-lr)},
 *       {@code m.mul_(beta2).add_(g, alpha=1 - beta2)}, with PyTorch's CPU rules ({@code add_} with
 *       alpha is one fused multiply-add; {@code torch.sign} is 0 for ±0 and NaN). Every step must
 *       match it bit for bit.
 *   <li>The same formula in double, one step at a time from the optimizer's own state: the momentum
 *       within {@code 1e-6} of its terms' magnitude, and the parameter within an ulp of
 *       {@code p(1 - lr wd) - lr sign(c)}, wherever the double {@code c} is clear of 0 by more than
 *       float rounding can move it (there the two signs could honestly differ).
 * </ol>
 */
class LionReferenceTest {
    private static final int N = 1031, STEPS = 30;

    @ParameterizedTest
    @EnumSource(Fixtures.Kernels.class)
    void matchesBitsandbytesReference(Fixtures.Kernels kernels) {
        kernels.assumeAvailable();
        SplittableRandom r = new SplittableRandom(15);
        for (LionConfig c : List.of(LionConfig.lion(), LionConfig.lion().withLr(3e-3).withBetas(0.95, 0.98)
                .withWeightDecay(0.1), LionConfig.lion().withLr(1e-2).withBetas(0, 0.5).withWeightDecay(1e-3))) {
            float[] p = TestData.randomFloats(r, N, 1f, false);
            float[] m = new float[N];
            double signRisk = 0;
            int checkedSigns = 0;
            try (Arena arena = Arena.ofConfined(); Optimizer opt = kernels.create(c, N)) {
                assertEquals(List.of("exp_avg"), opt.stateNames());
                MemorySegment params = Fixtures.copyOf(arena, p);
                MemorySegment grads = Fixtures.copyOf(arena, new float[N]);
                for (int t = 1; t <= STEPS; t++) {
                    float[] g = TestData.randomFloats(r, N, 1f, false);
                    for (int i = 0; i < N; i++) {
                        switch (r.nextInt(40)) {
                            case 0 -> g[i] = 0f;                 // with m = 0 at step 1: sign(0) = 0
                            case 1 -> g[i] = -0f;
                            default -> { }
                        }
                    }
                    double gradScale = t % 3 == 0 ? 0.5 : 1;
                    float[] pBefore = p.clone(), mBefore = m.clone();
                    bnbStep(c, p, m, g, (float) gradScale);
                    Fixtures.fill(grads, g, 0, N);
                    opt.step(params, grads, StepOptions.next().withGradScale(gradScale));
                    TestData.assertSameBits(c + " step " + t + " params", p, Fixtures.toArray(params));
                    TestData.assertSameBits(c + " step " + t + " exp_avg", m, Fixtures.toArray(opt.state("exp_avg")));
                    checkedSigns += checkDouble(c, pBefore, mBefore, g, gradScale, p, m, t);
                }
            }
            assertTrue(checkedSigns > N * STEPS * 9 / 10, "the double reference checked too few elements: " + checkedSigns);
            System.out.printf(Locale.ROOT, "lion %-50s on %-14s: %d steps bit-exact with bnb's order; double: %d"
                    + " elements checked%n", c, kernels, STEPS, checkedSigns);
        }
    }

    /** bitsandbytes' reference step, in float, op for op. */
    private static void bnbStep(LionConfig c, float[] p, float[] m, float[] g0, float gnormScale) {
        float decay = (float) (1 - c.lr() * c.weightDecay()), b1 = (float) c.beta1(), c1 = (float) (1 - c.beta1());
        float b2 = (float) c.beta2(), c2 = (float) (1 - c.beta2()), negLr = (float) -c.lr();
        for (int i = 0; i < p.length; i++) {
            float g = g0[i] * gnormScale;                      // grad = g.float() * gnorm_scale
            if (c.weightDecay() > 0) {
                p[i] = p[i] * decay;                           // p_fp32.mul_(1.0 - lr * weight_decay)
            }
            float a = m[i] * b1;                               // state1_fp32.mul(beta1)
            float b = g * c1;                                  // grad.mul(1.0 - beta1)
            float sum = a + b;
            float dir = (0f < sum ? 1f : 0f) - (sum < 0f ? 1f : 0f);   // torch.sign on CPU
            p[i] = Math.fma(dir, negLr, p[i]);                 // p_fp32.add_(update_dir, alpha=-lr)
            m[i] = Math.fma(g, c2, m[i] * b2);                 // state1_fp32.mul_(beta2).add_(grad, alpha=1 - beta2)
        }
    }

    /** The step in double from the state before it; returns how many parameters' signs were clear enough to check. */
    private static int checkDouble(LionConfig c, float[] p0, float[] m0, float[] g0, double scale, float[] p, float[] m,
                                   int t) {
        int checked = 0;
        for (int i = 0; i < p0.length; i++) {
            double g = g0[i] * scale;
            double cc = c.beta1() * m0[i] + (1 - c.beta1()) * g;
            double mNext = c.beta2() * m0[i] + (1 - c.beta2()) * g;
            // Relative to the terms, not the result: beta2*m and (1-beta2)*g may cancel.
            double mTol = 1e-6 * (Math.abs(c.beta2() * m0[i]) + Math.abs((1 - c.beta2()) * g)) + Math.ulp((float) mNext);
            if (!(Math.abs(m[i] - mNext) <= mTol)) {
                fail("step " + t + " exp_avg[" + i + "]: expected " + mNext + " (double), got " + m[i]);
            }
            double bound = 1e-6 * (Math.abs(m0[i]) + Math.abs(g));   // what float rounding can move c by
            if (Math.abs(cc) <= bound) {
                continue;
            }
            double pNext = p0[i] * (1 - c.lr() * c.weightDecay()) - c.lr() * Math.signum(cc);
            double pTol = 2 * Math.ulp((float) pNext) + Math.ulp(p0[i]);
            if (!(Math.abs(p[i] - pNext) <= pTol)) {
                fail("step " + t + " params[" + i + "]: expected " + pNext + " (double), got " + p[i]);
            }
            checked++;
        }
        return checked;
    }

    /** A NaN gradient leaves the parameter where it is (sign(NaN) = 0, PyTorch's CPU rule) and the momentum NaN. */
    @ParameterizedTest
    @EnumSource(Fixtures.Kernels.class)
    void nanGradientHoldsTheParameterAndPoisonsTheMomentum(Fixtures.Kernels kernels) {
        kernels.assumeAvailable();
        int n = 37;
        float[] p = new float[n], g = new float[n];
        for (int i = 0; i < n; i++) {
            p[i] = 1f + i;
            g[i] = i % 5 == 0 ? Float.NaN : 1f;
        }
        try (Arena arena = Arena.ofConfined(); Optimizer opt = kernels.create(LionConfig.lion().withLr(0.01), n)) {
            MemorySegment params = Fixtures.copyOf(arena, p), grads = Fixtures.copyOf(arena, g);
            opt.step(params, grads);
            float[] got = Fixtures.toArray(params), m = Fixtures.toArray(opt.state("exp_avg"));
            for (int i = 0; i < n; i++) {
                if (i % 5 == 0) {
                    assertEquals(p[i], got[i], "params[" + i + "] under a NaN gradient");
                    assertTrue(Float.isNaN(m[i]), "exp_avg[" + i + "] under a NaN gradient");
                } else {
                    assertEquals(p[i] - 0.01f, got[i], "params[" + i + "]");
                }
            }
        }
    }
}
