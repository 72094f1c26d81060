package dev.adamant.core.quant;

import static dev.adamant.core.quant.QuantFixtures.bruteForce;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.adamant.core.Implementation;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Block-wise quantization against the reference's rule written out here (per block the max of |x|,
 * 0 to 1.0, float division, {@link QuantFixtures#bruteForce}), on awkward sizes and every kind of
 * value; the Panama kernels against the scalar ones bit for bit; the facade's checks.
 */
class BlockwiseQuantizeTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int[] SIZES = {0, 1, 15, 17, 255, 256, 257, 511, 1021, 4099, 5000};

    static Stream<Arguments> kernelsAndMaps() {
        return Stream.of(Implementation.SCALAR, Implementation.PANAMA)
                .flatMap(i -> Stream.of(Arguments.of(i, true), Arguments.of(i, false)));
    }

    static Blockwise8 kernels(Implementation implementation) {
        if (implementation == Implementation.PANAMA) {
            assumeTrue(Implementation.PANAMA.isAvailable(), "PANAMA is not available in this JVM");
        }
        return Blockwise8Kernels.of(implementation);
    }

    /** The suite runs once per implementation (the pom says which): the quantizer in use must be it. */
    @Test
    void theExpectedKernelsRun() {
        String expected = System.getProperty("adamant.expectKernels");
        assumeTrue(expected != null, "not run by the build");
        String got = Blockwise8Kernels.current().describe();
        System.out.println("[adamant] 8-bit block-wise quantization: " + got);
        assertTrue(got.startsWith(expected.trim().toLowerCase(Locale.ROOT)), "expected " + expected + ", got " + got);
    }

    /** The reference's quantization of {@code x}, written out: codes and absmax. */
    static float[] reference(float[] code, float[] x, byte[] q) {
        int blocks = (x.length + 255) / 256;
        float[] absmax = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            int from = b * 256, to = Math.min(from + 256, x.length);
            float m = 0;
            boolean nan = false;
            for (int i = from; i < to; i++) {
                float a = Math.abs(x[i]);
                nan |= Float.isNaN(a);
                m = a > m ? a : m;
            }
            m = nan ? Float.NaN : m == 0 ? 1f : m;
            absmax[b] = m;
            for (int i = from; i < to; i++) {
                q[i] = (byte) bruteForce(code, x[i] / m);
            }
        }
        return absmax;
    }

    /**
     * Random values, block by block of a different kind: scales from 1e-40 (subnormal) to 1e30,
     * exact zeros, whole zero blocks, and (if {@code special}) NaN and infinities.
     */
    static float[] values(Random r, int n, boolean signed, boolean special) {
        float[] x = new float[n];
        for (int from = 0; from < n; from += 256) {
            int kind = r.nextInt(special ? 8 : 6);
            double scale = Math.pow(10, -40 + 70 * r.nextDouble());
            for (int i = from; i < Math.min(from + 256, n); i++) {
                double v = switch (kind) {
                    case 0 -> 0;
                    case 1 -> r.nextInt(4) == 0 ? 0 : r.nextGaussian() * scale;
                    case 2 -> r.nextGaussian() * Float.MIN_NORMAL * 64;    // subnormals and small normals
                    case 3 -> r.nextDouble() * 2 - 1;
                    case 6 -> r.nextInt(50) == 0 ? Float.NaN : r.nextGaussian();
                    case 7 -> r.nextInt(50) == 0 ? (r.nextBoolean() ? Float.POSITIVE_INFINITY
                            : Float.NEGATIVE_INFINITY) : r.nextGaussian();
                    default -> r.nextGaussian() * scale * Math.exp(3 * r.nextGaussian());
                };
                x[i] = (float) (signed ? v : Math.abs(v));
            }
        }
        return x;
    }

    private record Quantized(byte[] codes, float[] absmax) {}

    private static Quantized quantize(Blockwise8 kernels, DynamicMap map, float[] x, int valueOffset, int codeOffset) {
        try (Arena arena = Arena.ofConfined()) {
            int n = x.length, blocks = (n + 255) / 256;
            MemorySegment values = arena.allocate((long) (n + valueOffset) * Float.BYTES, 64)
                    .asSlice((long) valueOffset * Float.BYTES);
            MemorySegment.copy(x, 0, values, F, 0, n);
            MemorySegment codes = arena.allocate(n + codeOffset + 1, 64).asSlice(codeOffset, n);
            MemorySegment absmax = arena.allocate((long) blocks * Float.BYTES + 4, 64).asSlice(4, (long) blocks * 4);
            kernels.quantize(map, values, codes, absmax, n);
            return new Quantized(codes.toArray(ValueLayout.JAVA_BYTE), absmax.toArray(F));
        }
    }

    private static float[] dequantize(Blockwise8 kernels, DynamicMap map, Quantized q, int valueOffset) {
        try (Arena arena = Arena.ofConfined()) {
            int n = q.codes.length;
            MemorySegment codes = arena.allocate(Math.max(n, 1)).asSlice(0, n);
            MemorySegment.copy(q.codes, 0, codes, ValueLayout.JAVA_BYTE, 0, n);
            MemorySegment absmax = arena.allocate(Math.max(q.absmax.length, 1) * 4L).asSlice(0, q.absmax.length * 4L);
            MemorySegment.copy(q.absmax, 0, absmax, F, 0, q.absmax.length);
            MemorySegment values = arena.allocate((long) (n + valueOffset) * 4 + 4).asSlice((long) valueOffset * 4, n * 4L);
            kernels.dequantize(map, codes, absmax, values, n);
            return values.toArray(F);
        }
    }

    private static int[] bits(float[] f) {
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Float.floatToRawIntBits(f[i]);
        }
        return out;
    }

    private static void assertReference(Blockwise8 kernels, DynamicMap map, float[] x, String what) {
        byte[] expectedCodes = new byte[x.length];
        float[] expectedAbsmax = reference(map.codes, x, expectedCodes);
        Quantized got = quantize(kernels, map, x, 0, 0);
        assertArrayEquals(bits(expectedAbsmax), bits(got.absmax), () -> what + ": absmax");
        assertArrayEquals(expectedCodes, got.codes, () -> what + ": codes");
    }

    @ParameterizedTest(name = "{0} signed={1}")
    @MethodSource("kernelsAndMaps")
    void awkwardSizesMatchTheReference(Implementation implementation, boolean signed) {
        Blockwise8 kernels = kernels(implementation);
        DynamicMap map = DynamicMapTest.map(signed);
        Random r = new Random(15 + (signed ? 1 : 0));
        for (int n : SIZES) {
            for (int rep = 0; rep < 4; rep++) {
                assertReference(kernels, map, values(r, n, signed, rep > 1), "n=" + n + " rep " + rep);
            }
        }
    }

    @ParameterizedTest(name = "{0} signed={1}")
    @MethodSource("kernelsAndMaps")
    void specialBlocks(Implementation implementation, boolean signed) {
        Blockwise8 kernels = kernels(implementation);
        DynamicMap map = DynamicMapTest.map(signed);
        int zero = signed ? 127 : 0;
        // all zero (and -0): absmax 1.0, every code the zero code
        float[] zeros = new float[600];
        zeros[3] = -0f;
        Quantized z = quantize(kernels, map, zeros, 3, 5);
        assertArrayEquals(new float[] {1f, 1f, 1f}, z.absmax);
        for (byte b : z.codes) {
            assertEquals(zero, b & 0xFF);
        }
        // a NaN poisons its block only: absmax NaN (canonical), all codes 0
        float[] x = values(new Random(7), 700, signed, false);
        x[300] = Float.intBitsToFloat(0xffc01234);
        Quantized q = quantize(kernels, map, x, 1, 2);
        assertEquals(Float.floatToRawIntBits(Float.NaN), Float.floatToRawIntBits(q.absmax[1]));
        for (int i = 256; i < 512; i++) {
            assertEquals(0, q.codes[i]);
        }
        assertTrue(Float.isFinite(q.absmax[0]) && Float.isFinite(q.absmax[2]));
        float[] back = dequantize(kernels, map, q, 3);
        for (int i = 256; i < 512; i++) {
            assertTrue(Float.isNaN(back[i]));
        }
        // an infinity: absmax +inf, finite values the zero code, the infinity code 0 (NaN / inf = NaN)
        float[] y = values(new Random(8), 300, signed, false);
        y[10] = Float.NEGATIVE_INFINITY;
        y[11] = Float.POSITIVE_INFINITY;
        Quantized qi = quantize(kernels, map, y, 0, 0);
        assertEquals(Float.POSITIVE_INFINITY, qi.absmax[0]);
        for (int i = 0; i < 256; i++) {
            assertEquals(i == 10 || i == 11 ? 0 : zero, qi.codes[i] & 0xFF, "element " + i);
        }
        float[] backInf = dequantize(kernels, map, qi, 0);
        for (int i = 0; i < 256; i++) {
            float expected = signed && (i == 10 || i == 11) ? Float.NEGATIVE_INFINITY : Float.NaN;
            assertEquals(expected, backInf[i], "dequantized element " + i + " of the infinite block");
        }
        // a block of subnormals keeps its subnormal absmax
        float[] s = new float[256];
        for (int i = 0; i < 256; i++) {
            s[i] = Float.MIN_VALUE * (signed ? i - 100 : i);
        }
        Quantized qs = quantize(kernels, map, s, 0, 0);
        assertEquals(Float.MIN_VALUE * 155 * (signed ? 1 : 255f / 155), qs.absmax[0]);
        for (float[] v : new float[][] {zeros, x, y, s}) {
            assertReference(kernels, map, v, "special");
        }
    }

    /** Dequantized, each value is within half the gap to the next code (times absmax, plus rounding). */
    @ParameterizedTest(name = "{0} signed={1}")
    @MethodSource("kernelsAndMaps")
    void roundTripIsWithinTheTablesSpacing(Implementation implementation, boolean signed) {
        Blockwise8 kernels = kernels(implementation);
        DynamicMap map = DynamicMapTest.map(signed);
        Random r = new Random(3);
        for (int n : SIZES) {
            float[] x = values(r, n, signed, false);
            Quantized q = quantize(kernels, map, x, 0, 0);
            float[] back = dequantize(kernels, map, q, 0);
            for (int i = 0; i < n; i++) {
                int c = q.codes[i] & 0xFF;
                double m = q.absmax[i / 256];
                double below = c > 0 ? map.code(c) - map.code(c - 1) : 0;
                double above = c < 255 ? map.code(c + 1) - map.code(c) : 0;
                double scaled = x[i] / m;
                // outside the table's range (signed: below its most negative code) the error is the overhang
                double overhang = Math.max(0, map.code(0) - scaled);
                double bound = (Math.max(below, above) / 2 + overhang) * m * (1 + 1e-6) + 2 * Math.ulp((float) m);
                int ii = i;
                assertTrue(Math.abs(back[i] - x[i]) <= bound,
                        () -> "n=" + n + " element " + ii + ": " + x[ii] + " came back as " + back[ii]);
                assertEquals(Float.floatToRawIntBits(map.code(c) * q.absmax[i / 256]),
                        Float.floatToRawIntBits(back[i]), "dequantized as code * absmax");
            }
        }
    }

    @Test
    void panamaMatchesScalarBitForBit() {
        assumeTrue(Implementation.PANAMA.isAvailable(), "PANAMA is not available in this JVM");
        Blockwise8 panama = Blockwise8Kernels.of(Implementation.PANAMA);
        Blockwise8 scalar = Blockwise8Kernels.of(Implementation.SCALAR);
        qt().withExamples(300).forAll(integers().between(0, 5000), integers().between(0, 63),
                integers().between(0, 63), longs().all()).checkAssert((n, valueOffset, codeOffset, seed) -> {
                    Random r = new Random(seed);
                    boolean signed = r.nextBoolean();
                    DynamicMap map = DynamicMapTest.map(signed);
                    float[] x = values(r, n, signed || r.nextInt(4) == 0, r.nextBoolean());
                    Quantized s = quantize(scalar, map, x, 0, 0);
                    Quantized p = quantize(panama, map, x, valueOffset, codeOffset);
                    assertArrayEquals(bits(s.absmax), bits(p.absmax), "absmax");
                    assertArrayEquals(s.codes, p.codes, "codes");
                    assertArrayEquals(bits(dequantize(scalar, map, s, 0)), bits(dequantize(panama, map, s, valueOffset)),
                            "dequantized");
                });
    }

    @Test
    void theFacadeChecksBeforeWriting() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment values = arena.allocate(257 * 4);
            MemorySegment codes = arena.allocate(257);
            MemorySegment absmax = arena.allocate(2 * 4);
            codes.fill((byte) 9);
            absmax.fill((byte) 9);
            assertThrows(IllegalArgumentException.class,
                    () -> Blockwise8Codec.quantize(DynamicMap.SIGNED, values, codes, absmax.asSlice(0, 4), 257));
            assertThrows(IllegalArgumentException.class,
                    () -> Blockwise8Codec.quantize(DynamicMap.SIGNED, values, codes.asSlice(0, 256), absmax, 257));
            assertThrows(IllegalArgumentException.class,
                    () -> Blockwise8Codec.quantize(DynamicMap.SIGNED, values.asSlice(0, 256 * 4), codes, absmax, 257));
            assertThrows(IllegalArgumentException.class,
                    () -> Blockwise8Codec.quantize(DynamicMap.SIGNED, values, codes.asReadOnly(), absmax, 257));
            assertThrows(IllegalArgumentException.class,
                    () -> Blockwise8Codec.dequantize(DynamicMap.SIGNED, codes, absmax, values.asReadOnly(), 257));
            assertThrows(IllegalArgumentException.class,
                    () -> Blockwise8Codec.quantize(DynamicMap.SIGNED, values, codes, absmax, -1));
            assertThrows(NullPointerException.class, () -> Blockwise8Codec.quantize(null, values, codes, absmax, 1));
            byte[] untouched = new byte[257];
            Arrays.fill(untouched, (byte) 9);
            assertArrayEquals(untouched, codes.toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(new byte[] {9, 9, 9, 9, 9, 9, 9, 9}, absmax.toArray(ValueLayout.JAVA_BYTE));
            Blockwise8Codec.quantize(DynamicMap.SIGNED, values, codes, absmax, 257);
            assertEquals(1f, absmax.getAtIndex(F, 0));
            Blockwise8Codec.dequantize(DynamicMap.SIGNED, codes, absmax, values, 257);
            assertEquals(0f, values.getAtIndex(F, 256));
        }
    }
}
