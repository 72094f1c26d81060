package dev.adamant.fp16.scalar;

/**
 * The random bits of stochastic rounding: a stateless function of a key (from the user's seed) and
 * a 64-bit counter (the element's index plus the call's counter base), so that a given (seed,
 * counter) always rounds the same way, whatever the chunking or the thread count.
 *
 * <p>The function, in wrapping 32-bit arithmetic ({@code lo}, {@code hi}: the counter's low and
 * high words; {@code k0}, {@code k1}: the key's):
 * <pre>
 *   key(seed)          = SplitMix64's output function of (seed + 0x9E3779B97F4A7C15)
 *   bits(key, counter) = lowbias32((lo * 0x9E3779B9 + hi * 0x7F4A7C15 + k1) ^ k0)
 *   lowbias32(x)       = x ^= x >>> 16; x *= 0x7FEB352D; x ^= x >>> 15; x *= 0x846CA68B; x ^= x >>> 16
 * </pre>
 * Consecutive counters walk a Weyl sequence (step 2^32/phi), which the key offsets and flips, and
 * lowbias32 (Chris Wellons' hash-prospector: a bijection with near-ideal avalanche) scrambles. One
 * round is enough for rounding noise, which needs uniform top bits and no correlation between
 * neighbours (the tests check both), and it keeps the vector twin,
 * {@link dev.adamant.fp16.panama.CounterRandomVectors}, to about ten vector operations.
 * Counters 2^32 apart can share bits; a call covers fewer elements than that.
 */
public final class CounterRandom {
    /** 2^64 / phi, SplitMix64's increment. */
    public static final long GOLDEN_GAMMA = 0x9E37_79B9_7F4A_7C15L;
    /** 2^32 / phi, odd: the Weyl step of the counter's low word. */
    public static final int LOW_STEP = 0x9E37_79B9;
    /** Odd: the step of the counter's high word. */
    public static final int HIGH_STEP = 0x7F4A_7C15;
    /** lowbias32's first multiplier. */
    public static final int MIX_MULTIPLIER_1 = 0x7FEB_352D;
    /** lowbias32's second multiplier. */
    public static final int MIX_MULTIPLIER_2 = 0x846C_A68B;

    private CounterRandom() {}

    /** The key for {@code seed}: computed once per call, outside the loops. */
    public static long key(long seed) {
        long z = seed + GOLDEN_GAMMA;
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    /** 32 random bits for {@code counter} under {@code key}. */
    public static int bits(long key, long counter) {
        int x = ((int) counter * LOW_STEP + (int) (counter >>> 32) * HIGH_STEP + (int) (key >>> 32)) ^ (int) key;
        return mix32(x);
    }

    /** lowbias32: a bijective 32-bit mixer. */
    public static int mix32(int x) {
        x ^= x >>> 16;
        x *= MIX_MULTIPLIER_1;
        x ^= x >>> 15;
        x *= MIX_MULTIPLIER_2;
        x ^= x >>> 16;
        return x;
    }
}
