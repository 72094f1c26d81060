package dev.adamant.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** WIP */
class Bnb8FixtureTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    static Stream<Arguments> cases() {
        String[] names = {"adam8-default", "adamw8-partial-block", "adamw8-steady-grads", "lion8", "rmsprop8", "adagrad8"};
        return Stream.of(names).flatMap(c -> Stream.of(Implementation.values()).map(i -> Arguments.of(c, i)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void reproducesBitsandbytes(String name, Implementation implementation) throws Exception {
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
        int maxUlps = 0;
        double maxAbs = 0, scale = 0;
        for (float x : p) scale = Math.max(scale, Math.abs(x));
        try (Arena arena = Arena.ofConfined()) {
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
                    default -> throw new AssertionError(optimizer);
                }
                for (int i = 0; i < n; i++) {
                    float e = expectedParams[row + i];
                    maxUlps = Math.max(maxUlps, Math.abs(QuantFixtures.ordinal(e) - QuantFixtures.ordinal(p[i])));
                    maxAbs = Math.max(maxAbs, Math.abs((double) e - p[i]));
                }
                MemorySegment.copy(m, 0, buf, F, 0, n);
                kernels.quantize(DynamicMap.SIGNED, buf, state1, absmax1, n);
                if (twoStates) {
                    MemorySegment.copy(v, 0, buf, F, 0, n);
                    kernels.quantize(DynamicMap.UNSIGNED, buf, state2, absmax2, n);
                }
            }
            System.out.println("MEASURE " + name + " " + implementation + " maxUlps " + maxUlps + " maxAbs " + maxAbs + " scale " + scale + " rel " + maxAbs / scale);
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

    static void adam(float[] p, float[] grads, int row, float[] m, float[] v, int n, int t,
            double lr, double beta1, double beta2, double eps, double wd) {
        float b1 = (float) beta1, c1 = (float) (1.0 - beta1), b2 = (float) beta2, c2 = (float) (1.0 - beta2);
        double bc1 = 1.0 - Math.pow(beta1, t), bc2 = 1.0 - Math.pow(beta2, t);
        float sqrtBc2 = (float) Math.sqrt(bc2);
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
            float pi = p[i];
            if (wd > 0.0) pi = pi * decay;
            p[i] = pi + stepSize * mi / denom;
        }
    }

    static void lion(float[] p, float[] grads, int row, float[] m, int n, double lr, double beta1, double beta2, double wd) {
        float b1 = (float) beta1, c1 = (float) (1.0 - beta1), b2 = (float) beta2, c2 = (float) (1.0 - beta2);
        float decay = (float) (1.0 - lr * wd), negLr = (float) -lr;
        for (int i = 0; i < n; i++) {
            float g = grads[row + i];
            float pi = p[i];
            if (wd > 0.0) pi = pi * decay;
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
            float mi = Math.fma(1.0f * g, g, m[i]);
            m[i] = mi;
            p[i] = p[i] + negLr * g / ((float) Math.sqrt(mi) + epsF);
        }
    }
}
