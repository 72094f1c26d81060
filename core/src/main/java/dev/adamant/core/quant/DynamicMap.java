package dev.adamant.core.quant;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One of bitsandbytes' dynamic quantization maps ({@code create_dynamic_map(signed, 7, 8)}): 256
 * sorted float codes, and the nearest-code search that the 8-bit block-wise states quantize with.
 *
 * <p><b>The codes.</b> {@link #SIGNED} (the first state, momentum): 127 negative codes, 0 at index
 * 127, 128 positive ones ending with 1.0; the most negative is -0.99296874, not -1. {@link #UNSIGNED}
 * (the second state, variance): 0 at index 0, 255 positive codes ending with 1.0. For decade
 * {@code i = 0..6} the codes are {@code 10^(i-6) * mean} over the midpoints of
 * {@code torch.linspace(0.1, 1, 2^i + 1)} (signed, with both signs) or {@code 2^(i+1) + 1} points
 * (unsigned), then 0 and 1.0, sorted. Computed here in float32 as PyTorch's CPU kernels do: the
 * linspace as {@code start + step*i} for the first half and {@code end - step*(steps-1-i)} for the
 * second, each one fused multiply-add (as PyTorch's AVX2/AVX-512 builds contract it); the midpoint
 * {@code (a + b) / 2}; the decade factor rounded to float, then one float multiply. The tests check
 * that these are bitsandbytes' tables bit for bit.
 *
 * <p><b>Nearest code</b> ({@link #nearest}): the index {@code i} minimising the float32
 * {@code |x - code[i]|}, the lower index on a tie: what bitsandbytes' PyTorch reference computes
 * ({@code torch.argmin(torch.abs(scaled - code))}). Special values, as that reference does them:
 * <ul>
 *   <li>NaN: every distance is NaN and {@code argmin} returns the first NaN: index 0.</li>
 *   <li>+0 and -0: the code nearest 0 (index 127 signed, 0 unsigned); subnormals likewise, as any
 *       float smaller than half the smallest nonzero code (about 2.7e-7 and 1.6e-7).</li>
 *   <li>Outside [-1, 1] (infinities included; the block-wise quantizer never produces such a value:
 *       it divides by the block's largest magnitude): the brute-force search over all 256 codes
 *       ({@link #nearestBruteForce}), which for huge values or infinities finds all distances equal
 *       and so returns index 0.</li>
 * </ul>
 *
 * <p><b>How the search stays cheap.</b> Between neighbouring codes {@code k} and {@code k+1} the
 * answer changes at one float, {@code threshold[k]}: the smallest float whose nearest code is above
 * {@code k} (found once, here, by bisection with the brute-force search). A float's top
 * {@value #KEY_BITS} bits (sign, exponent, top {@value #MANTISSA_BITS} mantissa bits) are its key; a
 * key's floats (a bucket) are narrower than any gap between thresholds, so a bucket holds at most one
 * threshold (checked when the tables are built). One int an entry, for all 65,536 keys, holds the
 * answer at the bucket's lowest value {@code cand} and, when a threshold lies in the bucket, where:
 * <pre>
 *   bits    = floatToRawIntBits(x)              sign | exponent(8) | mantissa(23)
 *   key     = bits >>> 16                       sign | exponent | mantissa[22..16]
 *   low     = (bits ^ (bits >> 31)) & 0xFFFF    the low 16 bits in value order (flipped when negative)
 *   entry   = cand << 16 + step                 step = 0x10000 - low(threshold), or 0 if none
 *   nearest = (entry + low) >>> 16              cand, or cand + 1 from the threshold up
 * </pre>
 * {@link #entries} stores {@code entry} minus the key's part of {@code bits ^ (bits >> 31)} (its high
 * 16 bits, shifted), so {@code nearest = (entries[bits >>> 16] + (bits ^ (bits >> 31))) >>> 16}: one
 * table load, four integer operations, no compare, no branch; one gather in the vector loop. NaN keys
 * (and infinities) hold code 0, so NaN needs no test; keys above 1.0 hold the clamped answer (255,
 * or 0 when negative), which {@link #nearest} never uses. The table is 65,536 ints (256 KiB) a map, of
 * which the quantizer touches the keys of its values: 128 entries (512 bytes) a binade.
 */
public final class DynamicMap {
    /** Codes in a map: one byte's worth. */
    public static final int SIZE = 256;
    /** Mantissa bits of the key, after the sign and the exponent. */
    public static final int MANTISSA_BITS = 7;
    /** Bits of the key: sign, exponent (8), mantissa. */
    public static final int KEY_BITS = 1 + 8 + MANTISSA_BITS;
    /** The key is {@code bits >>> KEY_SHIFT}; the low {@code KEY_SHIFT} bits place x inside its bucket. */
    public static final int KEY_SHIFT = 32 - KEY_BITS;
    /** The key of 1.0f, the largest magnitude the quantizer produces. */
    public static final int KEY_MAX = Float.floatToRawIntBits(1f) >>> KEY_SHIFT;
    /** The smallest magnitude key of NaN and the infinities (exponent all ones). */
    private static final int KEY_NAN = Float.floatToRawIntBits(Float.POSITIVE_INFINITY) >>> KEY_SHIFT;
    private static final int SIGN_KEY = 1 << (KEY_BITS - 1);
    private static final int LOW_MASK = (1 << KEY_SHIFT) - 1;

    /** bitsandbytes' signed map: the first state (momentum). */
    public static final DynamicMap SIGNED = new DynamicMap(true);
    /** bitsandbytes' unsigned map: the second state (variance). */
    public static final DynamicMap UNSIGNED = new DynamicMap(false);

    private final boolean signed;
    // The search tables are public for the Panama kernel in .quant.panama (this package is not exported):
    // read them, never write them.
    /** The 256 sorted codes. */
    public final float[] codes;
    /** {@code thresholds[k]}: the smallest float whose nearest code is above k; [255] is +infinity. */
    public final float[] thresholds;
    /** Per key ({@code bits >>> 16}), the packed answer of the class comment. */
    public final int[] entries;

    private DynamicMap(boolean signed) {
        this.signed = signed;
        this.codes = create(signed);
        this.thresholds = thresholds(codes);
        this.entries = entries(thresholds);
    }

    /** Whether this is the signed map. */
    public boolean signed() {
        return signed;
    }

    /** Code {@code index} (0 to 255). */
    public float code(int index) {
        return codes[index];
    }

    /** A copy of the 256 codes, sorted. */
    public float[] codes() {
        return codes.clone();
    }

    /**
     * The index of the code nearest {@code x} by float32 {@code |x - code|}, the lower index on a tie;
     * NaN gives 0 (see the class comment). Exact for every float; O(1) in [-1, 1], a 256-code search
     * outside it.
     */
    public int nearest(float x) {
        if (!(Math.abs(x) <= 1f)) {
            return x != x ? 0 : nearestBruteForce(x);
        }
        return nearestInRange(x);
    }

    /**
     * {@link #nearest} for {@code x} in [-1, 1] or NaN (what the quantizer produces), without the
     * range check: the scalar twin of the vector loop's lanes, operation for operation.
     */
    public int nearestInRange(float x) {
        int bits = Float.floatToRawIntBits(x);
        return (entries[bits >>> KEY_SHIFT] + (bits ^ (bits >> 31))) >>> KEY_SHIFT;
    }

    /**
     * The definition: the first index minimising the float32 {@code |x - code[i]|}, over all 256
     * codes, as {@code torch.argmin} does (a NaN distance counts as the smallest, so NaN gives 0).
     */
    public int nearestBruteForce(float x) {
        int best = 0;
        float bestDistance = Math.abs(x - codes[0]);
        for (int i = 1; i < SIZE && bestDistance == bestDistance; i++) {
            float d = Math.abs(x - codes[i]);
            if (d < bestDistance || d != d) {
                best = i;
                bestDistance = d;
            }
        }
        return best;
    }

    // --- building the tables ---

    private static float[] create(boolean signed) {
        final int maxExponentBits = 7, nonSignBits = 7;
        List<Float> data = new ArrayList<>();
        for (int i = 0; i < maxExponentBits; i++) {
            int items = signed ? (1 << (i + nonSignBits - maxExponentBits)) + 1
                    : (1 << (i + nonSignBits - maxExponentBits + 1)) + 1;
            float[] boundaries = linspace(0.1f, 1f, items);
            // Python's 10 ** (i - 6) is a double; multiplying a float tensor rounds it to float first.
            float scale = (float) Math.pow(10, i - (maxExponentBits - 1));
            for (int sign = 0; sign < (signed ? 2 : 1); sign++) {
                float s = sign == 0 ? scale : -scale;
                for (int k = 0; k + 1 < items; k++) {
                    data.add(s * ((boundaries[k] + boundaries[k + 1]) / 2f));
                }
            }
        }
        // additional_items = 2^(7 - 7) - 1 = 0: no extra linear region at 8 bits.
        data.add(0f);
        data.add(1f);
        if (data.size() != SIZE) {
            throw new AssertionError("dynamic map: " + data.size() + " codes");
        }
        float[] out = new float[SIZE];
        for (int i = 0; i < SIZE; i++) {
            out[i] = data.get(i);
        }
        Arrays.sort(out);
        return out;
    }

    /** {@code torch.linspace(start, end, steps, dtype=float32)} as PyTorch's CPU kernel computes it. */
    private static float[] linspace(float start, float end, int steps) {
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        float[] out = new float[steps];
        for (int i = 0; i < steps; i++) {
            out[i] = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
        }
        return out;
    }

    /** A float's position in value order as an int (-0 just below +0). */
    static int ordinal(float f) {
        int bits = Float.floatToRawIntBits(f);
        return bits ^ ((bits >> 31) & 0x7FFFFFFF);
    }

    /** The float at {@link #ordinal} {@code ordinal}. */
    static float fromOrdinal(int ordinal) {
        return Float.intBitsToFloat(ordinal ^ ((ordinal >> 31) & 0x7FFFFFFF));
    }

    private float[] thresholds(float[] codes) {
        float[] t = new float[SIZE];
        for (int k = 0; k + 1 < SIZE; k++) {
            // Smallest float in (code[k], code[k+1]] whose brute-force answer is above k.
            int lo = ordinal(codes[k]), hi = ordinal(codes[k + 1]);
            if (nearestBruteForce(codes[k]) != k || nearestBruteForce(codes[k + 1]) != k + 1) {
                throw new AssertionError("dynamic map: code " + k + " is not its own nearest code");
            }
            while (hi - lo > 1) {
                int mid = lo + (hi - lo) / 2;
                if (nearestBruteForce(fromOrdinal(mid)) > k) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            t[k] = fromOrdinal(hi);
        }
        t[SIZE - 1] = Float.POSITIVE_INFINITY;
        return t;
    }

    /** The class comment's table: every key's {@code entry}, less the key's part of {@code bits ^ (bits >> 31)}. */
    private static int[] entries(float[] thresholds) {
        int[] e = new int[1 << KEY_BITS];
        for (int key = 0; key < e.length; key++) {
            boolean negative = key >= SIGN_KEY;
            int magnitude = key & (SIGN_KEY - 1);
            int bits = key << KEY_SHIFT;
            int entry;
            if (magnitude >= KEY_NAN) {
                entry = 0;   // NaN (and the infinities): code 0, whatever the low bits
            } else if (magnitude > KEY_MAX) {
                entry = negative ? 0 : (SIZE - 1) << KEY_SHIFT;   // |x| > 1: clamped, never asked
            } else {
                // the bucket's floats in value order: the low bits run down when negative
                float lowest = Float.intBitsToFloat(negative ? bits | LOW_MASK : bits);
                float highest = Float.intBitsToFloat(negative ? bits : bits | LOW_MASK);
                int cand = 0;
                while (cand < SIZE - 1 && lowest >= thresholds[cand]) {
                    cand++;
                }
                int step = 0;
                if (cand < SIZE - 1 && highest >= thresholds[cand]) {
                    int t = Float.floatToRawIntBits(thresholds[cand]);
                    if (t >>> KEY_SHIFT != key || (cand + 1 < SIZE - 1 && highest >= thresholds[cand + 1])) {
                        throw new AssertionError("dynamic map: bucket 0x" + Integer.toHexString(key)
                                + " holds two thresholds; use more mantissa bits");
                    }
                    step = (1 << KEY_SHIFT) - ((t ^ (t >> 31)) & LOW_MASK);
                }
                entry = (cand << KEY_SHIFT) + step;
            }
            int flipped = bits ^ (bits >> 31);
            e[key] = entry - (flipped & ~LOW_MASK);
        }
        return e;
    }
}
