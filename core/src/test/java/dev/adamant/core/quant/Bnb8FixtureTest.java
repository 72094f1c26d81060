package dev.adamant.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.core.Implementation;
import java.io.ByteArrayInputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * End to end: bitsandbytes' 8-bit block-wise optimizers ({@code bnb-8bit/*}, computed with bnb's
 * pure-PyTorch {@code optimizer_update_8bit_blockwise_pytorch}, eager, CPU, float32), reproduced with
 * our quantizer on both kernels: the final codes and absmax of every state bit for bit, and the
 * parameters after every step bit for bit (Lion) or within a per-case bound (the others, see below).
 * SGD with momentum is {@link BlockwiseMomentum8FixtureTest}.
 *
 * <p><b>The step, per element, as the reference computes it.</b> This is the specification the 8-bit
 * optimizers implement. Every step: dequantize ({@code m = code1[s1] * absmax1}, {@code v = code2[s2]
 * * absmax2}, float), update in float32, re-quantize ({@code absmax} = the block's largest |x|, 0 →
 * 1; code = nearest by {@code |x/absmax - code|}). Hyper-parameters are Python doubles; PyTorch turns
 * each scalar into a float32 once, so the per-step scalars below are computed in double and then
 * narrowed ({@code (float) (1 - beta1)}, not {@code 1f - (float) beta1}). PyTorch's CPU ops, as the
 * fixtures show them: {@code a.add_(b, alpha=s)} is {@code fma(b, s, a)} (one rounding);
 * {@code a.addcmul_(b, c, value=s)} is {@code fma(s * b, c, a)} (the product {@code s*b} rounded, then
 * one fused multiply-add; three separate roundings miss 17 of adam8-default's parameters, this form 1);
 * {@code a.addcdiv_(b, c, value=s)} is {@code a + (s * b) / c}, three roundings; {@code mul_},
 * {@code sqrt}, {@code /}, {@code +} one rounding each.
 * <ul>
 *   <li><b>Adam / AdamW</b> ({@code optimizer=adam}; weight decay decoupled):
 *       {@code m = fma(g, (float)(1-b1), m * (float)b1)};
 *       {@code v = fma((float)(1-b2) * g, g, v * (float)b2)};
 *       {@code denom = sqrt(v) / (float)sqrt(1-b2^t) + (float)eps};
 *       if {@code wd > 0}: {@code p = p * (float)(1 - lr*wd)}; then
 *       {@code p = p + ((float)(-lr/(1-b1^t)) * m) / denom}.</li>
 *   <li><b>Lion</b>: if {@code wd > 0}: {@code p = p * (float)(1 - lr*wd)};
 *       {@code p = fma(sign(m * (float)b1 + g * (float)(1-b1)), (float)-lr, p)} (two products, one sum,
 *       {@code sign(0) = 0}); then {@code m = fma(g, (float)(1-b2), m * (float)b2)}.</li>
 *   <li><b>RMSProp</b>: {@code g = fma(p, (float)wd, g)};
 *       {@code m = fma((float)(1-b1) * g, g, m * (float)b1)};
 *       {@code p = p + ((float)-lr * g) / (sqrt(m) + (float)eps)}.</li>
 *   <li><b>Adagrad</b>: {@code g = fma(p, (float)wd, g)}; {@code m = fma(1f * g, g, m)};
 *       {@code p = p + ((float)-lr * g) / (sqrt(m) + (float)eps)}. No lr decay, no initial
 *       accumulator: the 8-bit state starts at zero.</li>
 *   <li><b>Momentum</b>: {@code g = fma(p, (float)wd, g)}; {@code m = g} on step 1, else
 *       {@code m * (float)b1 + g}; {@code p = fma(m, (float)-lr, p)}.</li>
 * </ul>
 *
 * <p><b>Why Adam, RMSProp and Adagrad are not bit-exact in the parameters.</b> With the order above
 * the states are bit-exact in every case (they do not depend on the parameters: Adam's decay is
 * decoupled, RMSProp's and Adagrad's {@code wd} is 0 here), and re-running each step from the
 * reference's own previous parameters, all but a handful of parameter updates are bit-exact: 1 of
 * 102,400 in adam8-default, 1 in adamw8-partial-block, 3 in adamw8-steady-grads, 10 in rmsprop8, 5 in
 * adagrad8. Every one of those is an element whose exact {@code sqrt} lies within 0.002 to 0.05 ulp
 * above the midpoint between two floats, where the reference's {@code sqrt} rounded down and a
 * correctly rounded one (Java's, IEEE's) rounds up: the reference's vectorized float {@code sqrt} is
 * evidently not correctly rounded on the machine that produced the fixtures (PyTorch's CPU build picks
 * its vector sqrt per ISA). A "round down when within 0.06 ulp of the midpoint" model does not fit
 * (it breaks many other elements), so we keep the correctly rounded sqrt and bound the difference:
 * one ulp of {@code sqrt} moves that step's update by under one ulp of the parameter, and running
 * free over all steps the largest difference per case is the bound in {@link #cases()}, at most
 * 3.1e-8 of the case's parameter scale (largest |p0|), well inside the 1e-6 the issue allows.
 */
class Bnb8FixtureTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * Case, and the largest |p - expected| over all steps and elements, relative to the case's
     * parameter scale, measured with the order in the class javadoc (0: bit for bit), rounded up.
     */
    static Stream<Arguments> cases() {
        Object[][] cases = {
            {"adam8-default", 3e-10},       // measured 2.42e-10 (one sqrt near a tie, step 1)
            {"adamw8-partial-block", 2e-9}, // measured 1.95e-9
            {"adamw8-steady-grads", 4e-9},  // measured 3.95e-9
            {"lion8", 0.0},                 // bit for bit: no sqrt
            {"rmsprop8", 3.1e-8},           // measured 3.04e-8
            {"adagrad8", 9e-9},             // measured 8.96e-9
        };
        return Stream.of(cases).flatMap(c -> Stream.of(Implementation.values()).map(i -> Arguments.of(c[0], c[1], i)));
    }

    @ParameterizedTest(name = "{0} on {2}")
    @MethodSource("cases")
    void reproducesBitsandbytes(String name, double relativeBound, Implementation implementation) throws Exception {
        if (implementation == Implementation.PANAMA) {
            assumeTrue(Implementation.PANAMA.isAvailable(), "PANAMA is not available in this JVM");
        }
        String dir = "bnb-8bit/" + name + "/";
        Blockwise8 kernels = Blockwise8Kernels.of(implementation);
        Properties props = new Properties();
        props.load(new ByteArrayInputStream(QuantFixtures.resource(dir + "case.properties")));
        String optimizer = props.getProperty("optimizer");
        final int n = Integer.parseInt(props.getProperty("n")), steps = Integer.parseInt(props.getProperty("steps"));
        assertEquals(256, Integer.parseInt(props.getProperty("blocksize")));
        final double lr = Double.parseDouble(props.getProperty("lr"));
        final double beta1 = Double.parseDouble(props.getProperty("beta1"));
        final double beta2 = Double.parseDouble(props.getProperty("beta2"));
        final double eps = Double.parseDouble(props.getProperty("eps"));
        final double wd = Double.parseDouble(props.getProperty("weight_decay"));
        final boolean twoStates = optimizer.equals("adam");
        final int blocks = (n + 255) / 256;
        float[] p = QuantFixtures.floats(dir + "params0.f32", n);
        float[] grads = QuantFixtures.floats(dir + "grads.f32", (long) steps * n);
        float[] expectedParams = QuantFixtures.floats(dir + "params.f32", (long) steps * n);
        float[] m = new float[n], v = new float[n];
        double scale = 0;
        for (float x : p) {
            scale = Math.max(scale, Math.abs(x));
        }
        final double bound = relativeBound * scale;
        try (Arena arena = Arena.ofConfined()) {
            // Codes 0 and absmax 0: every state reads as zero.
            MemorySegment state1 = arena.allocate(n), absmax1 = arena.allocate(blocks * 4L);
            MemorySegment state2 = arena.allocate(n), absmax2 = arena.allocate(blocks * 4L);
            MemorySegment buf = arena.allocate(n * 4L);
            for (int t = 1; t <= steps; t++) {
                kernels.dequantize(DynamicMap.SIGNED, state1, absmax1, buf, n);
                MemorySegment.copy(buf, F, 0, m, 0, n);
                if (twoStates) {
                    kernels.dequantize(DynamicMap.UNSIGNED, state2, absmax2, buf, n);
                    MemorySegment.copy(buf, F, 0, v, 0, n);
                }
                int row = (t - 1) * n;
                switch (optimizer) {
                    case "adam" -> adam(p, grads, row, m, v, n, t, lr, beta1, beta2, eps, wd);
                    case "lion" -> lion(p, grads, row, m, n, lr, beta1, beta2, wd);
                    case "rmsprop" -> rmsprop(p, grads, row, m, n, lr, beta1, eps, wd);
                    case "adagrad" -> adagrad(p, grads, row, m, n, lr, eps, wd);
                    default -> throw new AssertionError("unexpected optimizer in " + dir + ": " + optimizer);
                }
                for (int i = 0; i < n; i++) {
                    float e = expectedParams[row + i];
                    int tt = t, ii = i;
                    if (bound == 0) {
                        assertEquals(Float.floatToRawIntBits(e), Float.floatToRawIntBits(p[i]),
                                () -> "step " + tt + ", param " + ii + ": expected " + e);
                    } else {
                        float got = p[i];
                        assertTrue(Math.abs((double) e - got) <= bound,
                                () -> "step " + tt + ", param " + ii + ": expected " + e + ", got " + got + ", bound " + bound);
                    }
                }
                MemorySegment.copy(m, 0, buf, F, 0, n);
                kernels.quantize(DynamicMap.SIGNED, buf, state1, absmax1, n);
                if (twoStates) {
                    MemorySegment.copy(v, 0, buf, F, 0, n);
                    kernels.quantize(DynamicMap.UNSIGNED, buf, state2, absmax2, n);
                }
            }
            assertState(dir, "1", state1, absmax1, n, blocks);
            if (twoStates) {
                assertState(dir, "2", state2, absmax2, n, blocks);
            }
        }
    }

    private static void assertState(String dir, String k, MemorySegment codes, MemorySegment absmax, int n, int blocks) {
        byte[] expectedCodes = QuantFixtures.resource(dir + "state" + k + ".u8");
        float[] expectedAbsmax = QuantFixtures.floats(dir + "absmax" + k + ".f32", blocks);
        assertEquals(n, expectedCodes.length);
        for (int b = 0; b < blocks; b++) {
            assertEquals(Float.floatToRawIntBits(expectedAbsmax[b]), Float.floatToRawIntBits(absmax.getAtIndex(F, b)),
                    "absmax" + k + "[" + b + "]");
        }
        for (int i = 0; i < n; i++) {
            assertEquals(expectedCodes[i] & 0xFF, codes.get(ValueLayout.JAVA_BYTE, i) & 0xFF, "state" + k + "[" + i + "]");
        }
    }

    /** bnb "adam": {@code state1_fp32.mul_(beta1).add_(grad, alpha=1-beta1)} and so on; see the class javadoc. */
    static void adam(float[] p, float[] grads, int row, float[] m, float[] v, int n, int t,
            double lr, double beta1, double beta2, double eps, double wd) {
        float b1 = (float) beta1, c1 = (float) (1.0 - beta1), b2 = (float) beta2, c2 = (float) (1.0 - beta2);
        double bc1 = 1.0 - Math.pow(beta1, t), bc2 = 1.0 - Math.pow(beta2, t);
        float sqrtBc2 = (float) Math.sqrt(bc2);  // math.sqrt in Python, then a float32 scalar
        float epsF = (float) eps;
        float decay = (float) (1.0 - lr * wd);
        float stepSize = (float) (-lr / bc1);
        for (int i = 0; i < n; i++) {
            float g = grads[row + i];
            float mi = Math.fma(g, c1, m[i] * b1);
            float vi = Math.fma(c2 * g, g, v[i] * b2);
            m[i] = mi;
            v[i] = vi;
            float denom = (float) Math.sqrt(vi) / sqrtBc2 + epsF;
            float pi = wd > 0.0 ? p[i] * decay : p[i];
            p[i] = pi + stepSize * mi / denom;
        }
    }

    static void lion(float[] p, float[] grads, int row, float[] m, int n, double lr, double beta1, double beta2, double wd) {
        float b1 = (float) beta1, c1 = (float) (1.0 - beta1), b2 = (float) beta2, c2 = (float) (1.0 - beta2);
        float decay = (float) (1.0 - lr * wd), negLr = (float) -lr;
        for (int i = 0; i < n; i++) {
            float g = grads[row + i];
            float pi = wd > 0.0 ? p[i] * decay : p[i];
            float dir = Math.signum(m[i] * b1 + g * c1);
            p[i] = Math.fma(dir, negLr, pi);
            m[i] = Math.fma(g, c2, m[i] * b2);
        }
    }

    static void rmsprop(float[] p, float[] grads, int row, float[] m, int n, double lr, double beta1, double eps, double wd) {
        float b1 = (float) beta1, c1 = (float) (1.0 - beta1), wdF = (float) wd, negLr = (float) -lr, epsF = (float) eps;
        for (int i = 0; i < n; i++) {
            float g = Math.fma(p[i], wdF, grads[row + i]);
            float mi = Math.fma(c1 * g, g, m[i] * b1);
            m[i] = mi;
            p[i] = p[i] + negLr * g / ((float) Math.sqrt(mi) + epsF);
        }
    }

    static void adagrad(float[] p, float[] grads, int row, float[] m, int n, double lr, double eps, double wd) {
        float wdF = (float) wd, negLr = (float) -lr, epsF = (float) eps;
        for (int i = 0; i < n; i++) {
            float g = Math.fma(p[i], wdF, grads[row + i]);
            float mi = Math.fma(1.0f * g, g, m[i]);  // addcmul_(grad, grad, value=1.0)
            m[i] = mi;
            p[i] = p[i] + negLr * g / ((float) Math.sqrt(mi) + epsF);
        }
    }
}
