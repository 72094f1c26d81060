package dev.adamant.fp16.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.Implementation;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.kernel.Fp16Kernels;
import dev.adamant.fp16.kernel.ScalingKernel;
import dev.adamant.fp16.kernel.SquareSums;
import dev.adamant.fp16.kernel.Widening;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A finite gradient that overflows when unscaled (possible with a loss scale below 1) is non-finite
 * for the step: the threshold test against an independent reference (the JDK's fp16 decoding, a
 * bf16 value built from its bits, and the product computed in double, which is exact for two
 * floats, then rounded to float), over every 16-bit value and many unscale factors; then the
 * kernels' passes, vector and scalar, with such a value at every position of a buffer.
 */
class OverflowOnUnscaleTest {

    private static List<ScalingKernel> kernels() {
        ScalingKernel scalar = Fp16Kernels.scaling(Implementation.SCALAR);
        return Implementation.PANAMA.isAvailable()
                ? List.of(scalar, Fp16Kernels.scaling(Implementation.PANAMA)) : List.of(scalar);
    }

    /** The value of 16-bit {@code bits}, decoded without Adamant's code. */
    private static float value(int bits, Precision format) {
        return format == Precision.FP16 ? Float.float16ToFloat((short) bits) : Float.intBitsToFloat(bits << 16);
    }

    /** Whether the gradient is not finite before or after unscaling by {@code inv}, computed in double. */
    private static boolean overflows(int bits, Precision format, float inv) {
        float v = value(bits, format);
        return !Float.isFinite(v) || Float.isInfinite((float) ((double) v * inv));
    }

    /** Unscale factors 1/scale: scales from 2^-126 (the scaler's floor) to 2^24, and odd ones between. */
    private static List<Float> inverses() {
        List<Float> inv = new ArrayList<>();
        for (int e = -24; e <= 126; e += 3) {
            inv.add(Math.scalb(1f, e));
        }
        SplittableRandom r = new SplittableRandom(11);
        for (int k = 0; k < 60; k++) {
            inv.add(1f / (float) Math.scalb(1.0 + r.nextDouble(), r.nextInt(-126, 25)));
        }
        inv.add(4f);                 // the issue's bf16 case: scale 0.25
        inv.add(1f / 1e-35f);        // the issue's fp16 case: scale 1e-35
        inv.add(1f / Gradients.MIN_SCALE);
        return inv;
    }

    @Test
    void thresholdSplitsEvery16BitValueAsTheReferenceDoes() {
        for (Precision format : List.of(Precision.FP16, Precision.BF16)) {
            Widening w = Widening.of(format);
            for (float inv : inverses()) {
                short threshold = w.overflowThreshold(inv);
                for (int bits = 0; bits < 65536; bits++) {
                    boolean flagged = (bits & 0x7FFF) >= threshold;
                    if (flagged != overflows(bits, format, inv)) {
                        throw new AssertionError(format + " 0x" + Integer.toHexString(bits) + " (" + value(bits, format)
                                + ") at 1/scale " + inv + ": threshold 0x" + Integer.toHexString(threshold)
                                + " says " + flagged);
                    }
                }
            }
        }
    }

    @Test
    void theIssuesReproductionsAreCaught() {
        // bf16 at scale 0.25 with a gradient of 3.0e38; fp16 at 1e-35 with 60000: finite, but not once unscaled.
        assertTrue(Widening.BF16.overflowThreshold(4f) <= (Float.floatToRawIntBits(3.0e38f) >>> 16));
        assertTrue(Widening.FP16.overflowThreshold(1f / 1e-35f) <= Float.floatToFloat16(60000f));
        assertEquals(Widening.FP16.exponentMask(), Widening.FP16.overflowThreshold(1f));
        assertEquals(Widening.BF16.exponentMask(), Widening.BF16.overflowThreshold(1f));
    }

    /** Every kernel pass flags a buffer that holds one such value, wherever it sits (vector body or tail). */
    @Test
    void everyPassFlagsAnOverflowAtEveryPosition() {
        SplittableRandom r = new SplittableRandom(5);
        int trials = 0;
        for (Precision format : List.of(Precision.FP16, Precision.BF16)) {
            Widening w = Widening.of(format);
            for (float inv : List.of(4f, 1f / 1e-35f, 1f / 0.01f, 2f)) {
                short threshold = w.overflowThreshold(inv);
                for (int n : new int[] {1, 15, 17, 64, 133, SquareSums.BLOCK + 37}) {
                    short[] h = new short[n];
                    for (int i = 0; i < n; i++) {
                        h[i] = (short) ((r.nextInt(threshold) & 0x7FFF) | (r.nextBoolean() ? 0x8000 : 0));
                    }
                    for (int at = 0; at < n; at += Math.max(1, n / 40)) {
                        for (int bad : new int[] {threshold, Math.min(0x7FFF, threshold + r.nextInt(64))}) {
                            short[] copy = h.clone();
                            copy[at] = (short) (bad | (r.nextBoolean() ? 0x8000 : 0));
                            boolean expected = overflows(copy[at] & 0xFFFF, format, inv);
                            for (ScalingKernel k : kernels()) {
                                MemorySegment s = MemorySegment.ofArray(copy);
                                assertEquals(expected, k.anyMagnitudeAtLeast16(s, threshold, 0, n), format + " n " + n);
                                assertEquals(expected, k.unscaleHalves(s, format, inv, 0, n,
                                        new double[SquareSums.blocks(n)], 0), format + " n " + n + " at " + at);
                                float[] floats = new float[n];
                                for (int i = 0; i < n; i++) {
                                    floats[i] = value(copy[i] & 0xFFFF, format);
                                }
                                assertEquals(expected, k.unscaleFloats(MemorySegment.ofArray(floats), inv, 0, n,
                                        new double[SquareSums.blocks(n)], 0), "fp32 of " + format + " n " + n);
                                trials++;
                            }
                        }
                    }
                    for (ScalingKernel k : kernels()) {   // and nothing flagged without it
                        assertFalse(k.unscaleHalves(MemorySegment.ofArray(h), format, inv, 0, n,
                                new double[SquareSums.blocks(n)], 0), format + " clean n " + n);
                    }
                }
            }
        }
        assertTrue(trials > 1000, "trials: " + trials);
    }

    @Test
    void scalesWhoseReciprocalOverflowsAreRefused() {
        float tooSmall = Math.nextDown(Gradients.MIN_SCALE);
        assertTrue(Float.isInfinite(1f / tooSmall));
        assertTrue(Float.isFinite(1f / Gradients.MIN_SCALE));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Gradients.checkScale(tooSmall));
        assertTrue(e.getMessage().startsWith("scale:"), e.getMessage());
        float[] g = {1f, 2f};
        assertThrows(IllegalArgumentException.class, () -> Gradients.unscale(MemorySegment.ofArray(g), Float.MIN_VALUE));
        assertEquals(1f, g[0]);
        assertEquals(2f, g[1]);
    }

    @Test
    void floatGradientsThatOverflowWhenUnscaledAreReported() {
        float[] g = {1f, 3.0e38f, -2f};
        GradientStats s = Gradients.unscale(MemorySegment.ofArray(g), 0.25f);
        assertTrue(s.nonFinite());
        // finite values whose squares overflow the float accumulators: the gradients are fine, the norm is not
        float[] big = {1e20f, 1f};
        GradientStats b = Gradients.unscale(MemorySegment.ofArray(big), 1f);
        assertFalse(b.nonFinite());
        assertTrue(b.normOverflows());
        assertEquals(0f, b.clipCoefficient(1.0));
    }
}
