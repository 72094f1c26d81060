package dev.adamant.core.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The scalar {@link Blockwise8}: the fallback, the vector loop's tail and the test oracle. The vector
 * twin does the same operations in the same order (max of |x| from 0, one float division, the bucket
 * and the table lookup of {@link DynamicMap#nearestInRange}), so the two agree bit for bit.
 */
public final class ScalarBlockwise8 implements Blockwise8 {
    /** The one instance. */
    public static final ScalarBlockwise8 INSTANCE = new ScalarBlockwise8();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfByte B = ValueLayout.JAVA_BYTE;

    private ScalarBlockwise8() {}

    @Override
    public void quantize(DynamicMap map, MemorySegment values, MemorySegment codes, MemorySegment absmax, long n) {
        for (long start = 0, block = 0; start < n; start += BLOCK, block++) {
            long end = Math.min(start + BLOCK, n);
            float max = absmax(values, start, end, 0f);
            max = finishAbsmax(max);
            absmax.setAtIndex(F, block, max);
            quantizeRange(map, values, codes, start, end, max);
        }
    }

    /**
     * The largest {@code |values[i]|} for i in [from, to), folded into {@code max}; NaN propagates
     * ({@code Math.max}, as {@code torch.max}).
     */
    public static float absmax(MemorySegment values, long from, long to, float max) {
        for (long i = from; i < to; i++) {
            max = Math.max(max, Math.abs(values.getAtIndex(F, i)));
        }
        return max;
    }

    /** A block's absmax as stored: 0 becomes 1.0 (the reference's rule), any NaN the canonical one. */
    public static float finishAbsmax(float max) {
        return max == 0f ? 1f : max != max ? Float.NaN : max;
    }

    /** Codes [from, to) of a block whose absmax is {@code max}. */
    public static void quantizeRange(DynamicMap map, MemorySegment values, MemorySegment codes, long from, long to,
                              float max) {
        for (long i = from; i < to; i++) {
            codes.set(B, i, (byte) map.nearestInRange(values.getAtIndex(F, i) / max));
        }
    }

    @Override
    public void dequantize(DynamicMap map, MemorySegment codes, MemorySegment absmax, MemorySegment values, long n) {
        for (long start = 0, block = 0; start < n; start += BLOCK, block++) {
            dequantizeRange(map, codes, values, start, Math.min(start + BLOCK, n), absmax.getAtIndex(F, block));
        }
    }

    /** Values [from, to) of a block whose absmax is {@code max}. */
    public static void dequantizeRange(DynamicMap map, MemorySegment codes, MemorySegment values, long from, long to,
                                float max) {
        final float[] table = map.codes;
        for (long i = from; i < to; i++) {
            values.setAtIndex(F, i, table[codes.get(B, i) & 0xFF] * max);
        }
    }

    @Override
    public String describe() {
        return "scalar";
    }
}
