package dev.adamant.fp16.scaling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.adamant.core.Implementation;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.kernel.Fp16Kernels;
import dev.adamant.fp16.kernel.ScalingKernel;
import dev.adamant.fp16.kernel.SquareSums;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.quicktheories.generators.Generate;

/**
 * The scaling kernels: vector against scalar bit for bit, both against independent references (a
 * plain isFinite loop, a double-precision sum of squares), and the sum's independence from how the
 * range is split.
 */
class ScalingKernelTest {
    private static final ScalingKernel SCALAR = Fp16Kernels.scaling(Implementation.SCALAR);

    private static List<ScalingKernel> kernels() {
        return Implementation.PANAMA.isAvailable()
                ? List.of(SCALAR, Fp16Kernels.scaling(Implementation.PANAMA)) : List.of(SCALAR);
    }

    private static float[] gradients(SplittableRandom r, int n, int poison) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) ((r.nextDouble() * 2 - 1) * 1e4);
        }
        for (int k = 0; k < poison && n > 0; k++) {
            int at = switch (r.nextInt(4)) {
                case 0 -> 0;
                case 1 -> n - 1;
                default -> r.nextInt(n);
            };
            g[at] = switch (r.nextInt(3)) {
                case 0 -> Float.NaN;
                case 1 -> Float.POSITIVE_INFINITY;
                default -> Float.NEGATIVE_INFINITY;
            };
        }
        return g;
    }

    @Test
    void unscaleAgreesWithTheReferenceAndAcrossImplementations() {
        qt().withExamples(200).forAll(
                Generate.range(0, 3 * SquareSums.BLOCK + 100).mix(Generate.pick(List.of(0, 1, 15, 16, 17, 4096, 4097, 8191)), 30),
                Generate.range(0, 2), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((n, poison, seed) -> {
                SplittableRandom r = new SplittableRandom(seed);
                float[] g = gradients(r, n, poison);
                float scale = (float) Math.scalb(1.0, r.nextInt(-4, 20));
                float inv = 1f / scale;
                boolean expectedNonFinite = false, expectedRawNonFinite = false;
                double expectedSum = 0;
                float[] expectedGrads = new float[n];
                for (int i = 0; i < n; i++) {
                    expectedGrads[i] = g[i] * inv;
                    expectedRawNonFinite |= !Float.isFinite(g[i]);
                    expectedNonFinite |= !Float.isFinite(g[i]) || !Float.isFinite(expectedGrads[i]);
                    expectedSum += (double) expectedGrads[i] * expectedGrads[i];
                }
                float[] firstGrads = null;
                double[] firstBlocks = null;
                for (ScalingKernel k : kernels()) {
                    float[] copy = g.clone();
                    double[] blocks = new double[SquareSums.blocks(n)];
                    boolean nonFinite = k.unscaleFloats(MemorySegment.ofArray(copy), inv, 0, n, blocks, 0);
                    assertEquals(expectedNonFinite, nonFinite);
                    assertEquals(expectedRawNonFinite, k.anyNonFiniteFloat(MemorySegment.ofArray(g), 0, n));
                    assertArrayEquals(expectedGrads, copy, "unscaled gradients");
                    if (!expectedNonFinite) {
                        double sum = SquareSums.total(blocks);
                        assertEquals(expectedSum, sum, expectedSum * 2e-5, "sum of squares");
                    }
                    if (firstGrads == null) {
                        firstGrads = copy;
                        firstBlocks = blocks;
                    } else {
                        assertArrayEquals(firstBlocks, blocks, "vector and scalar block sums");
                    }
                }
            });
    }

    /**
     * Gradients over every range a 16-bit gradient takes: large, ordinary, fp16-subnormal
     * (below 2^-14), zeros of both signs, and {@code poison} infinities and NaNs.
     */
    private static float[] wideGradients(SplittableRandom r, int n, int poison) {
        float[] g = gradients(r, n, poison);
        for (int i = 0; i < n; i++) {
            if (Float.isFinite(g[i])) {
                g[i] = switch (r.nextInt(5)) {
                    case 0 -> g[i];
                    case 1 -> g[i] * 1e-4f;
                    case 2 -> g[i] * 1e-9f;
                    case 3 -> r.nextBoolean() ? 0f : -0f;
                    default -> g[i] * 1e-6f;
                };
            }
        }
        return g;
    }

    private static short[] encode(float[] g, Precision format) {
        short[] h = new short[g.length];
        for (int i = 0; i < g.length; i++) {
            h[i] = format == Precision.FP16 ? Float.floatToFloat16(g[i]) : (short) (Float.floatToRawIntBits(g[i]) >>> 16);
        }
        return h;
    }

    private static float decode(short h, Precision format) {
        return format == Precision.FP16 ? Float.float16ToFloat(h) : Float.intBitsToFloat(h << 16);
    }

    /** A loss scale from 2^-20 (whose 1/scale is too large to fold into fp16's widening) to 2^24. */
    private static float anyScale(SplittableRandom r) {
        return (float) Math.scalb(1.0, r.nextInt(-20, 25));
    }

    @Test
    void widenScaledIsDecodingThenTwoRoundedMultiplies() {
        qt().withExamples(150).forAll(Generate.range(0, 3000), Generate.range(0, 20), Generate.range(0, 2),
                Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((n, from, poison, seed) -> {
                SplittableRandom r = new SplittableRandom(seed);
                float[] g = wideGradients(r, from + n + 5, poison);
                float inv = 1f / anyScale(r);
                float coef = r.nextBoolean() ? 1f : (float) r.nextDouble(0.01, 1);
                for (Precision format : List.of(Precision.FP16, Precision.BF16)) {
                    short[] h = encode(g, format);
                    float[] expected = new float[n + 3];
                    java.util.Arrays.fill(expected, 7f);
                    for (int i = 0; i < n; i++) {
                        // two roundings to float: a product of two floats is exact in double
                        expected[1 + i] = (float) ((double) (float) ((double) decode(h[from + i], format) * inv) * coef);
                    }
                    int[] first = null;
                    for (ScalingKernel k : kernels()) {
                        float[] got = new float[n + 3];
                        java.util.Arrays.fill(got, 7f);
                        short[] copy = h.clone();
                        k.widenScaled(MemorySegment.ofArray(copy), format, from, MemorySegment.ofArray(got), 1, inv, coef, n);
                        assertArrayEquals(expected, got, format + " against the double-precision reference");
                        assertArrayEquals(h, copy, format + ": gradients read-only");
                        int[] bits = new int[got.length];
                        for (int i = 0; i < got.length; i++) {
                            bits[i] = Float.floatToRawIntBits(got[i]);
                        }
                        if (first == null) {
                            first = bits;
                        } else {
                            assertArrayEquals(first, bits, format + ": vector and scalar bit for bit");
                        }
                    }
                }
            });
    }

    @Test
    void sixteenBitPassEqualsDecodingThenTheFloatPass() {
        qt().withExamples(150).forAll(
                Generate.range(0, 2 * SquareSums.BLOCK + 100).mix(Generate.pick(List.of(0, 1, 15, 17, 4096, 4097)), 30),
                Generate.range(0, 2), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((n, poison, seed) -> {
                SplittableRandom r = new SplittableRandom(seed);
                float[] g = wideGradients(r, n, poison);
                float inv = 1f / anyScale(r);
                for (Precision format : List.of(Precision.FP16, Precision.BF16)) {
                    short[] h = encode(g, format);
                    float[] decoded = new float[n];
                    for (int i = 0; i < n; i++) {
                        decoded[i] = decode(h[i], format);
                    }
                    double[] expected = new double[SquareSums.blocks(n)];
                    boolean expectedFlag = SCALAR.unscaleFloats(MemorySegment.ofArray(decoded), inv, 0, n, expected, 0);
                    double[] first = null;
                    for (ScalingKernel k : kernels()) {
                        short[] copy = h.clone();
                        double[] blocks = new double[SquareSums.blocks(n)];
                        assertEquals(expectedFlag, k.unscaleHalves(MemorySegment.ofArray(copy), format, inv, 0, n, blocks, 0),
                                format + " flag");
                        if (!expectedFlag) {
                            assertArrayEquals(expected, blocks, format + " block sums");
                        }
                        if (first == null) {
                            first = blocks;
                        } else {
                            assertArrayEquals(first, blocks, format + ": vector and scalar block sums");
                        }
                        assertArrayEquals(h, copy, format + ": read-only");
                    }
                }
            });
    }

    @Test
    void blockSumsDoNotDependOnTheSplit() {
        SplittableRandom r = new SplittableRandom(42);
        int n = 5 * SquareSums.BLOCK + 123;
        float[] g = gradients(r, n, 0);
        for (ScalingKernel k : kernels()) {
            double[] whole = new double[SquareSums.blocks(n)];
            k.unscaleFloats(MemorySegment.ofArray(g.clone()), 0.5f, 0, n, whole, 0);
            double[] split = new double[whole.length];
            float[] copy = g.clone();
            int[] cuts = {0, SquareSums.BLOCK, 3 * SquareSums.BLOCK, n};
            for (int c = 0; c + 1 < cuts.length; c++) {
                k.unscaleFloats(MemorySegment.ofArray(copy), 0.5f, cuts[c], cuts[c + 1] - cuts[c], split,
                        cuts[c] / SquareSums.BLOCK);
            }
            assertArrayEquals(whole, split);
        }
    }

    @Test
    void sixteenBitNonFiniteMatchesDecoding() {
        // Every 16-bit pattern alone in a buffer, through both implementations: fp16 inf/NaN has
        // exponent 0x1F (Float.float16ToFloat is the reference), bf16 has exponent 0xFF.
        for (ScalingKernel k : kernels()) {
            short[] buf = new short[37];
            for (int bits = 0; bits < 65536; bits++) {
                buf[bits % 37] = (short) bits;
                MemorySegment s = MemorySegment.ofArray(buf);
                assertEquals(!Float.isFinite(Float.float16ToFloat((short) bits)), k.anyMagnitudeAtLeast16(s, (short) 0x7C00, 0, 37),
                        "fp16 0x" + Integer.toHexString(bits));
                assertEquals(!Float.isFinite(Float.intBitsToFloat(bits << 16)), k.anyMagnitudeAtLeast16(s, (short) 0x7F80, 0, 37),
                        "bf16 0x" + Integer.toHexString(bits));
                buf[bits % 37] = 0;
            }
        }
    }

    @Test
    void facadeChecksAndScans() {
        float[] g = {1f, 2f, 2f};
        GradientStats s = Gradients.unscale(MemorySegment.ofArray(g), 2f);
        assertFalse(s.nonFinite());
        assertArrayEquals(new float[] {0.5f, 1f, 1f}, g);
        assertEquals(1.5f, s.norm());
        assertEquals(1f, s.clipCoefficient(10));
        // PyTorch: reciprocal(1.5 + 1e-6) * 0.75, in float
        assertEquals((1f / (1.5f + 1e-6f)) * 0.75f, s.clipCoefficient(0.75));
        assertTrue(Gradients.hasNonFinite(MemorySegment.ofArray(new short[] {0, 0x7C00}), Precision.FP16));
        assertFalse(Gradients.hasNonFinite(MemorySegment.ofArray(new short[] {0, 0x7C00}), Precision.BF16));
        assertTrue(Gradients.hasNonFinite(MemorySegment.ofArray(new float[] {0, Float.NaN}), Precision.FP32));

        float[] before = g.clone();
        assertMessage("scale", assertThrows(IllegalArgumentException.class, () -> Gradients.unscale(MemorySegment.ofArray(g), 0f)));
        assertMessage("scale", assertThrows(IllegalArgumentException.class, () -> Gradients.unscale(MemorySegment.ofArray(g), -1f)));
        assertMessage("scale", assertThrows(IllegalArgumentException.class, () -> Gradients.unscale(MemorySegment.ofArray(g), Float.NaN)));
        assertMessage("grads", assertThrows(IllegalArgumentException.class,
                () -> Gradients.unscale(MemorySegment.ofArray(g).asReadOnly(), 2f)));
        assertMessage("grads", assertThrows(IllegalArgumentException.class,
                () -> Gradients.unscale(MemorySegment.ofArray(new byte[6]), 2f)));
        assertMessage("buffer", assertThrows(IllegalArgumentException.class,
                () -> Gradients.hasNonFinite(MemorySegment.ofArray(new byte[6]), Precision.FP32)));
        assertMessage("maxNorm", assertThrows(IllegalArgumentException.class, () -> s.clipCoefficient(0)));
        assertArrayEquals(before, g, "refused calls wrote nothing");
    }

    private static void assertMessage(String mentions, Exception e) {
        assertTrue(e.getMessage().startsWith(mentions), e.getMessage());
    }

    @Test
    void panamaRunsWhereExpected() {
        assumeTrue("panama".equals(System.getProperty("adamant.expectKernels")));
        assertTrue(Fp16Kernels.scaling().getClass().getSimpleName().startsWith("Panama"));
    }
}
