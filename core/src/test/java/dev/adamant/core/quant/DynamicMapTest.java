package dev.adamant.core.quant;

import static dev.adamant.core.quant.QuantFixtures.bruteForce;
import static dev.adamant.core.quant.QuantFixtures.fromOrdinal;
import static dev.adamant.core.quant.QuantFixtures.ordinal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.floats;
import static org.quicktheories.generators.SourceDSL.integers;

import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The dynamic maps against bitsandbytes' tables, and the O(1) nearest-code search against the
 * brute-force rule written here ({@link QuantFixtures#bruteForce}), for every class of float.
 */
class DynamicMapTest {

    static DynamicMap map(boolean signed) {
        return signed ? DynamicMap.SIGNED : DynamicMap.UNSIGNED;
    }

    /** The fixtures' qmap files: raw little-endian float32 (shared/README.md), as bitsandbytes wrote them. */
    @ParameterizedTest(name = "signed={0}")
    @ValueSource(booleans = {true, false})
    void theTablesAreBitsandbytesBitForBit(boolean signed) {
        float[] expected = QuantFixtures.floats("bnb-8bit/qmap-" + (signed ? "signed" : "unsigned") + ".f32", 256);
        DynamicMap map = map(signed);
        for (int i = 0; i < 256; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(map.code(i)),
                    "code " + i + ": expected " + expected[i] + ", got " + map.code(i));
        }
        for (int i = 1; i < 256; i++) {
            assertTrue(map.code(i - 1) < map.code(i), "sorted, distinct at " + i);
        }
        assertEquals(1f, map.code(255));
        assertEquals(0f, map.code(signed ? 127 : 0));
    }

    private static void check(DynamicMap map, float x) {
        int expected = bruteForce(map.codes, x);
        int got = map.nearest(x);
        if (expected != got) {
            throw new AssertionError("nearest(" + x + " = 0x" + Integer.toHexString(Float.floatToRawIntBits(x))
                    + "), " + (map.signed() ? "signed" : "unsigned") + ": expected " + expected + ", got " + got);
        }
        assertEquals(map.nearestBruteForce(x), got, () -> "main brute force at " + x);
    }

    /** x and the {@code ulps} floats either side of it. */
    private static void around(DynamicMap map, float x, int ulps) {
        int o = ordinal(x);
        for (int d = -ulps; d <= ulps; d++) {
            float y = fromOrdinal(o + d);
            if (!Float.isNaN(y)) {
                check(map, y);
            }
        }
    }

    @ParameterizedTest(name = "signed={0}")
    @ValueSource(booleans = {true, false})
    void everyCodeIsItsOwnNearestAndItsNeighboursAgree(boolean signed) {
        DynamicMap map = map(signed);
        for (int i = 0; i < 256; i++) {
            assertEquals(i, map.nearest(map.code(i)), "code " + i);
            around(map, map.code(i), 64);
        }
    }

    /**
     * Midpoints between neighbouring codes (ties go to the lower index) and the floats either side:
     * the exact midpoint where it is a float, else the two floats around it, 64 ulps each way; and
     * every threshold of the table, which is where the answer changes.
     */
    @ParameterizedTest(name = "signed={0}")
    @ValueSource(booleans = {true, false})
    void midpointsTiesAndThresholds(boolean signed) {
        DynamicMap map = map(signed);
        int ties = 0;
        for (int k = 0; k + 1 < 256; k++) {
            double mid = ((double) map.code(k) + map.code(k + 1)) / 2;
            float f = (float) mid;
            around(map, f, 64);
            if (f == mid && Math.abs(f - map.code(k)) == Math.abs(f - map.code(k + 1))) {
                assertEquals(k, map.nearest(f), "tie at the midpoint of " + k + " and " + (k + 1));
                ties++;
            }
            around(map, map.thresholds[k], 64);
            assertEquals(k + 1, map.nearest(map.thresholds[k]), "threshold " + k);
            assertEquals(k, map.nearest(Math.nextDown(map.thresholds[k])), "below threshold " + k);
        }
        assertTrue(ties > 0, "some midpoints are exact floats and ties");
    }

    @ParameterizedTest(name = "signed={0}")
    @ValueSource(booleans = {true, false})
    void zerosSubnormalsAndTheBlockMax(boolean signed) {
        DynamicMap map = map(signed);
        int zero = signed ? 127 : 0;
        assertEquals(zero, map.nearest(0f));
        assertEquals(zero, map.nearest(-0f));
        for (float x : new float[] {Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, -Float.MIN_NORMAL,
                Math.nextDown(Float.MIN_NORMAL), -Math.nextDown(Float.MIN_NORMAL), 1e-40f, -1e-40f, 1e-30f, 1e-10f}) {
            assertEquals(zero, map.nearest(x), "subnormal or tiny " + x);
            check(map, x);
        }
        around(map, 0f, 4096);
        around(map, Float.MIN_NORMAL, 4096);
        around(map, 1f, 4096);
        around(map, -1f, 4096);
        assertEquals(255, map.nearest(1f));
        assertEquals(0, map.nearest(-1f));
        // every bucket's two ends
        for (int key = 0; key <= DynamicMap.KEY_MAX; key++) {
            int bits = key << DynamicMap.KEY_SHIFT, low = (1 << DynamicMap.KEY_SHIFT) - 1;
            for (int b : new int[] {bits, bits | low, bits | 0x80000000, bits | low | 0x80000000}) {
                float x = Float.intBitsToFloat(b);
                if (Math.abs(x) <= 1f) {
                    around(map, x, 2);
                }
            }
        }
    }

    /** NaN (any payload, either sign) gives 0; infinities and |x| > 1 give the brute-force answer. */
    @ParameterizedTest(name = "signed={0}")
    @ValueSource(booleans = {true, false})
    void nanInfinityAndOutOfRange(boolean signed) {
        DynamicMap map = map(signed);
        for (int bits : new int[] {0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff}) {
            assertEquals(0, map.nearest(Float.intBitsToFloat(bits)), "NaN 0x" + Integer.toHexString(bits));
            assertEquals(0, map.nearestInRange(Float.intBitsToFloat(bits)), "NaN in range 0x" + Integer.toHexString(bits));
        }
        // all 256 distances are +infinity: a tie, so the lowest index
        assertEquals(0, map.nearest(Float.POSITIVE_INFINITY));
        assertEquals(0, map.nearest(Float.NEGATIVE_INFINITY));
        for (float x : new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE,
                -Float.MAX_VALUE, 1e30f, 1e8f, 2f, -2f, Math.nextUp(1f), Math.nextDown(-1f), 1.5f, 3e7f, -3e7f}) {
            check(map, x);
        }
        qt().forAll(floats().any()).checkAssert(x -> check(map, x));
    }

    @ParameterizedTest(name = "signed={0}")
    @ValueSource(booleans = {true, false})
    void randomFloatsInMinusOneToOne(boolean signed) {
        DynamicMap map = map(signed);
        qt().withExamples(200_000).forAll(floats().between(-1f, 1f)).checkAssert(x -> check(map, x));
        // uniform over bit patterns, not values: every exponent equally
        qt().withExamples(200_000).forAll(integers().between(ordinal(-1f), ordinal(1f)))
                .checkAssert(o -> check(map, fromOrdinal(o)));
    }

    /**
     * A dense sweep: every 61st float in [-1, 1] in value order (about 35 million a map, both signs,
     * all exponents), against the brute-force rule restricted to the codes around x (the four codes
     * nearest x in value order; the full 256-code search is the rule above, too slow for 2^31
     * floats). With {@code -Dadamant.exhaustive=true}, every float in [-1, 1]: 2.13e9 a map, about
     * 12 s a map on 2 cores (it passed for both maps when written).
     */
    @ParameterizedTest(name = "signed={0}")
    @ValueSource(booleans = {true, false})
    void sweepOfFloatsInMinusOneToOne(boolean signed) {
        DynamicMap map = map(signed);
        boolean exhaustive = Boolean.getBoolean("adamant.exhaustive");
        final int stride = exhaustive ? 1 : 61;
        float[] c = map.codes();
        int lo = ordinal(-1f), hi = ordinal(1f);
        final int chunks = 256;
        long span = (long) hi - lo + 1;
        long bad = IntStream.range(0, chunks).parallel().mapToLong(ch -> {
            int from = (int) (lo + span * ch / chunks), to = (int) (lo + span * (ch + 1) / chunks);
            int k = 0;
            long wrong = 0;
            for (long o = from; o < to; o += stride) {
                float x = fromOrdinal((int) o);
                while (k < 255 && c[k + 1] <= x) {
                    k++;
                }
                int w0 = Math.max(0, k - 1), w1 = Math.min(255, k + 2), best = w0;
                float bestDistance = Math.abs(x - c[w0]);
                for (int i = w0 + 1; i <= w1; i++) {
                    float d = Math.abs(x - c[i]);
                    if (d < bestDistance) {
                        best = i;
                        bestDistance = d;
                    }
                }
                if (map.nearest(x) != best) {
                    wrong++;
                }
            }
            return wrong;
        }).sum();
        assertEquals(0, bad, "floats in [-1, 1] whose nearest code differs");
    }

    /**
     * The sweep's window holds the answer: for random floats the full search's answer is the code at
     * or below x, or the one above it.
     */
    @ParameterizedTest(name = "signed={0}")
    @ValueSource(booleans = {true, false})
    void theNearestCodeIsBesideX(boolean signed) {
        float[] c = map(signed).codes();
        qt().withExamples(100_000).forAll(integers().between(ordinal(-1f), ordinal(1f))).checkAssert(o -> {
            float x = fromOrdinal(o);
            int k = 0;
            while (k < 255 && c[k + 1] <= x) {
                k++;
            }
            int i = bruteForce(c, x);
            assertTrue(i == k || i == k + 1, () -> x + " -> " + i);
        });
    }
}
