package dev.adamant.fp16;

import static dev.adamant.fp16.TestSupport.hex;
import static dev.adamant.fp16.TestSupport.hex16;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Stochastic rounding: the documented rule, checked against a reference written here in double
 * arithmetic; unbiasedness, by statistics with explicit bounds; the generator's uniformity and
 * independence; and reproducibility (same seed and counters, same bits, however the work is cut).
 *
 * <p>Statistical bounds are six standard deviations: a correct implementation fails one with
 * probability below 2e-9, and the seeds are fixed, so the tests are deterministic. Each test also
 * shows that the bound would catch the bias it is there to catch (nearest-even rounding fails it).
 */
class StochasticRoundingTest {
    private static final double SIGMAS = 6;

    // ---- the generator, written from CounterRandom's javadoc ----

    static long key(long seed) {
        long z = seed + 0x9E37_79B9_7F4A_7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    static int bits(long key, long counter) {
        int x = ((int) counter * 0x9E37_79B9 + (int) (counter >>> 32) * 0x7F4A_7C15 + (int) (key >>> 32)) ^ (int) key;
        x ^= x >>> 16;
        x *= 0x7FEB_352D;
        x ^= x >>> 15;
        x *= 0x846C_A68B;
        x ^= x >>> 16;
        return x;
    }

    // ---- the rounding rules, from Half's and BFloat16's javadoc, in double arithmetic ----

    /** fp16: normal results carry the 13 dropped bits plus r's top 13; subnormal results step from the nearest. */
    static short expectedHalf(float f, int r) {
        int fb = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return TestSupport.halfNaN(fb);
        }
        int sign = (fb >>> 16) & 0x8000;
        double a = Math.abs((double) f);
        int mag;
        if (a >= 65536) {
            mag = 0x7C00;
        } else if (a < 0x1p-14) {
            double units = a * 0x1p24; // exact
            double nearest = Math.rint(units); // ties to even
            double residual = units - nearest; // exact, in [-1/2, 1/2]
            long fraction = (long) (residual * 0x1p30); // toward zero
            long step = Math.floorDiv(fraction + (r >>> 2), 1L << 30);
            mag = (int) (nearest + step);
        } else {
            double ulp = Math.scalb(1.0, Math.getExponent(a) - 10);
            double down = Math.floor(a / ulp) * ulp;
            long dropped = (long) ((a - down) / ulp * 8192); // exact: 13 bits
            double v = dropped + (r >>> 19) >= 8192 ? down + ulp : down;
            mag = v >= 65536 ? 0x7C00 : Float.floatToFloat16((float) v); // v is a half: exact
        }
        return (short) (sign | mag);
    }

    /** bf16: the 16 dropped bits plus r's top 16, carried up. */
    static short expectedBf16(float f, int r) {
        int fb = Float.floatToRawIntBits(f);
        int sign = (fb >>> 16) & 0x8000;
        if (Float.isNaN(f)) {
            return (short) (sign | 0x7FC0);
        }
        if (Float.isInfinite(f)) {
            return (short) (sign | 0x7F80);
        }
        int truncated = fb & 0x7FFF_0000;
        double down = Float.intBitsToFloat(truncated);
        int exponent = truncated >>> 23;
        double ulp = exponent == 0 ? 0x1p-133 : Math.scalb(1.0, exponent - 127 - 7);
        long dropped = (long) ((Math.abs((double) f) - down) / ulp * 65536); // exact: 16 bits
        int up = dropped + (r >>> 16) >= 65536 ? 1 : 0;
        return (short) (sign | ((truncated >>> 16) + up));
    }

    /** Floats of every kind, weighted toward the ranges where the rules differ. */
    static float[] inputs(long seed, int n) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            float v = switch (rnd.nextInt(8)) {
                case 0 -> Float.intBitsToFloat(rnd.nextInt());
                case 1 -> (float) (rnd.nextDouble(-4, 4));
                case 2 -> (float) (rnd.nextDouble(-1e-4, 1e-4)); // fp16 subnormals
                case 3 -> (float) (rnd.nextDouble(-1e-8, 1e-8)); // below the smallest fp16 subnormal
                case 4 -> (float) (rnd.nextDouble(65000, 66000)); // around fp16 overflow
                case 5 -> Half.toFloat((short) rnd.nextInt()); // exact halves (and NaNs)
                case 6 -> Float.intBitsToFloat(rnd.nextInt() & 0x807F_FFFF | (rnd.nextInt(4) == 0 ? 0x7F00_0000 : 0)); // float subnormals, near float max
                default -> Float.intBitsToFloat((rnd.nextInt() & 0xFFFF_F000) | 0x1000); // ties and near-ties
            };
            a[i] = rnd.nextBoolean() ? v : -v;
        }
        return a;
    }

    @Test
    void followsTheDocumentedRule() {
        int n = 200_000;
        float[] in = inputs(1, n);
        long seed = 0x5EED;
        long base = 0xFFFF_FFFFL - 77_777; // the counters cross 2^32 inside this call
        long k = key(seed);
        short[] half = new short[n];
        short[] bf = new short[n];
        Half.encode(MemorySegment.ofArray(in), 0, MemorySegment.ofArray(half), 0, n, Rounding.stochastic(seed), base);
        BFloat16.encode(MemorySegment.ofArray(in), 0, MemorySegment.ofArray(bf), 0, n, Rounding.stochastic(seed), base);
        for (int i = 0; i < n; i++) {
            int r = bits(k, base + i);
            String label = "float " + hex(Float.floatToRawIntBits(in[i])) + ", counter " + (base + i);
            assertEquals(hex16(expectedHalf(in[i], r)), hex16(half[i]), "fp16 bulk, " + label);
            assertEquals(hex16(expectedBf16(in[i], r)), hex16(bf[i]), "bf16 bulk, " + label);
            if (i % 7 == 0) {
                assertEquals(hex16(half[i]), hex16(Half.fromFloat(in[i], seed, base + i)), "fp16 scalar, " + label);
                assertEquals(hex16(bf[i]), hex16(BFloat16.fromFloat(in[i], seed, base + i)), "bf16 scalar, " + label);
            }
        }
    }

    @Test
    void exactValuesNeverMove() {
        SplittableRandom rnd = new SplittableRandom(2);
        for (int i = 0; i < 100_000; i++) {
            short h = (short) rnd.nextInt();
            short b = (short) rnd.nextInt();
            long counter = rnd.nextLong();
            if (!TestSupport.isHalfNaN(h)) {
                assertEquals(hex16(h), hex16(Half.fromFloat(Half.toFloat(h), 9, counter)));
            }
            if (!TestSupport.isBf16NaN(b)) {
                assertEquals(hex16(b), hex16(BFloat16.fromFloat(BFloat16.toFloat(b), 9, counter)));
            }
        }
    }

    // ---- unbiasedness ----

    /**
     * Encodes {@code x} n times (counters 0..n-1), decodes, and checks that the results are the two
     * neighbours lo &lt;= x &lt;= hi and that the mean is x within 6 sigma, sigma = (hi - lo)
     * sqrt(p(1-p)/n), p = (x - lo) / (hi - lo). Returns nearest-even's error, for the control.
     */
    private static double checkUnbiased(float x, boolean half, long seed, int n) {
        float[] in = new float[n];
        Arrays.fill(in, x);
        short[] enc = new short[n];
        float[] dec = new float[n];
        if (half) {
            Half.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(enc), Rounding.stochastic(seed), 0);
            Half.decode(MemorySegment.ofArray(enc), MemorySegment.ofArray(dec));
        } else {
            BFloat16.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(enc), Rounding.stochastic(seed), 0);
            BFloat16.decode(MemorySegment.ofArray(enc), MemorySegment.ofArray(dec));
        }
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        double sum = 0; // exact: few distinct dyadic values
        for (float d : dec) {
            lo = Math.min(lo, d);
            hi = Math.max(hi, d);
            sum += d;
        }
        assertTrue(lo <= x && x <= hi, x + ": results outside [" + lo + ", " + hi + "]");
        double p = (x - lo) / (hi - lo);
        double mean = sum / n;
        double sigma = (hi - lo) * Math.sqrt(p * (1 - p) / n);
        String what = (half ? "fp16 " : "bf16 ") + x + " (p = " + p + ")";
        assertTrue(Math.abs(mean - x) <= SIGMAS * sigma, what + ": mean " + mean + " is " + Math.abs(mean - x) / sigma + " sigma off");
        double nearest = half ? Half.toFloat(Half.fromFloat(x)) : BFloat16.toFloat(BFloat16.fromFloat(x));
        double nearestError = Math.abs(nearest - x);
        assertTrue(nearestError > SIGMAS * sigma, what + ": the control should fail the bound, nearest-even's error "
                + nearestError + " vs " + SIGMAS * sigma);
        return p;
    }

    @Test
    void theMeanOfManyRoundingsIsTheValue() {
        int n = 1 << 20;
        float[] halfValues = {
            Float.intBitsToFloat(0x3F80_0000 + 0x0000_0999), // 1 + 0.3 ulp
            -2.7182817f,
            3.3f * 0x1p-24f, // an fp16 subnormal
            0x1.4p-30f, // far below the smallest fp16 subnormal: p = 1.25 * 2^-6
            -0x1.8p-33f, // beyond 31 bits below the kept ones: p is truncated to 2^-30, still far above 6 sigma
            0x1.FF7p-15f, // just below the smallest normal
            65510f, // above the largest half: overflows with p = 6/32
            0.1f,
        };
        for (float x : halfValues) {
            if (x == 65510f) {
                // Between 65504 and the infinity where 65536 would be: infinity with p = 6/32.
                checkOverflowProbability(true, x, (short) 0x7BFF, (short) 0x7C00, 6.0 / 32, n);
            } else {
                checkUnbiased(x, true, 11, n);
            }
        }
        float[] bfValues = {1.0f + 0x1.3p-9f, -3.14159f, 1e-39f, 0x1.FC7p127f, 1e-3f};
        for (float x : bfValues) {
            checkUnbiased(x, false, 12, n);
        }
        // Above the largest bfloat16 (0x1.FEp127, ulp 2^120): infinity with p of about 0.7.
        float big = -0x1.FEB334p127f;
        checkOverflowProbability(false, big, (short) 0xFF7F, (short) 0xFF80, (-(double) big - 0x1.FEp127) / 0x1p120, n);
    }

    /** A value above the largest finite one becomes it or infinity, infinity with probability p. */
    private static void checkOverflowProbability(boolean half, float x, short max, short inf, double p, int n) {
        float[] in = new float[n];
        Arrays.fill(in, x);
        short[] enc = new short[n];
        if (half) {
            Half.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(enc), Rounding.stochastic(13), 0);
        } else {
            BFloat16.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(enc), Rounding.stochastic(13), 0);
        }
        int infinities = 0;
        for (short h : enc) {
            assertTrue(h == max || h == inf, x + " became " + hex16(h));
            infinities += h == inf ? 1 : 0;
        }
        double sigma = Math.sqrt(p * (1 - p) / n);
        assertTrue(Math.abs((double) infinities / n - p) <= SIGMAS * sigma, x + ": P(infinity) = " + (double) infinities / n
                + ", expected " + p);
        // The control: nearest even always gives the same one of the two.
        short nearest = half ? Half.fromFloat(x) : BFloat16.fromFloat(x);
        assertTrue(nearest == max || nearest == inf);
    }

    @Test
    void theTotalErrorOverManyValuesIsNearZero() {
        int n = 1 << 20;
        SplittableRandom rnd = new SplittableRandom(3);
        float[] in = new float[n];
        for (int i = 0; i < n; i++) {
            // Positive, so that a biased rounding (toward zero, the control) accumulates.
            in[i] = (float) Math.abs(rnd.nextGaussian() * Math.scalb(1.0, rnd.nextInt(-20, 10)));
        }
        for (boolean half : new boolean[] {true, false}) {
            short[] enc = new short[n];
            float[] dec = new float[n];
            if (half) {
                Half.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(enc), Rounding.stochastic(14), 1L << 40);
                Half.decode(MemorySegment.ofArray(enc), MemorySegment.ofArray(dec));
            } else {
                BFloat16.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(enc), Rounding.stochastic(14), 1L << 40);
                BFloat16.decode(MemorySegment.ofArray(enc), MemorySegment.ofArray(dec));
            }
            double error = 0;
            double variance = 0;
            for (int i = 0; i < n; i++) {
                double x = in[i];
                // The neighbours of x: toward zero (truncation) and one ulp beyond.
                double lo;
                double hi;
                if (half) {
                    short t = expectedHalf(in[i], 0); // r = 0: never rounds up, i.e. toward zero
                    lo = Half.toFloat(t);
                    hi = Half.toFloat((short) (t + 1));
                } else {
                    short t = expectedBf16(in[i], 0);
                    lo = BFloat16.toFloat(t);
                    hi = BFloat16.toFloat((short) (t + 1));
                }
                double p = (x - lo) / (hi - lo);
                error += dec[i] - x;
                variance += p * (1 - p) * (hi - lo) * (hi - lo);
            }
            double sigma = Math.sqrt(variance);
            assertTrue(Math.abs(error) <= SIGMAS * sigma, (half ? "fp16" : "bf16") + ": total error " + error + " = "
                    + error / sigma + " sigma");
            // Toward zero, the control, is biased far beyond the bound.
            double towardZero = 0;
            for (int i = 0; i < n; i++) {
                towardZero += (half ? Half.toFloat(expectedHalf(in[i], 0)) : BFloat16.toFloat(expectedBf16(in[i], 0))) - in[i];
            }
            assertTrue(Math.abs(towardZero) > SIGMAS * sigma, "control: truncation's total error " + towardZero
                    + " should fail the bound " + SIGMAS * sigma);
        }
    }

    // ---- the generator ----

    @Test
    void theRandomBitsAreUniformAndIndependentOfTheirNeighbours() {
        int n = 1 << 20;
        for (long seed : new long[] {0, 1, -7, 0x1234_5678_9ABCL}) {
            for (long base : new long[] {0, 0xFFFF_FFFFL - n / 2, 1L << 52}) {
                long k = key(seed);
                long[] top8 = new long[256];
                long[] pairs = new long[256];
                long[] ones = new long[32];
                int previous = bits(k, base - 1);
                for (int i = 0; i < n; i++) {
                    int r = bits(k, base + i);
                    top8[r >>> 24]++;
                    pairs[((previous >>> 28) << 4) | (r >>> 28)]++;
                    for (int b = 0; b < 32; b++) {
                        ones[b] += (r >>> b) & 1;
                    }
                    previous = r;
                }
                String what = "seed " + seed + ", counters from " + base;
                assertChiSquare(top8, n, "top 8 bits, " + what);
                assertChiSquare(pairs, n, "top 4 bits of neighbours, " + what);
                double sigma = Math.sqrt(n / 4.0);
                for (int b = 0; b < 32; b++) {
                    assertTrue(Math.abs(ones[b] - n / 2.0) <= SIGMAS * sigma, "bit " + b + " set " + ones[b] + " times, " + what);
                }
            }
        }
        // The implementation's bits are the documented ones (bulk rounding depends on them bit for bit).
        assertEquals(bits(key(5), 123_456_789_012L),
                dev.adamant.fp16.scalar.CounterRandom.bits(dev.adamant.fp16.scalar.CounterRandom.key(5), 123_456_789_012L));
    }

    /** 255 degrees of freedom: mean 255, sigma sqrt(510). */
    private static void assertChiSquare(long[] counts, int n, String what) {
        double expected = (double) n / counts.length;
        double chi2 = 0;
        for (long c : counts) {
            chi2 += (c - expected) * (c - expected) / expected;
        }
        double dof = counts.length - 1;
        double sigma = Math.sqrt(2 * dof);
        assertTrue(Math.abs(chi2 - dof) <= SIGMAS * sigma, what + ": chi-square " + chi2 + " with " + dof + " degrees of freedom");
    }

    @Test
    void differentSeedsGiveDifferentRoundings() {
        int n = 10_000;
        float[] in = new float[n];
        Arrays.fill(in, 1.0f + 0x1p-11f); // p = 1/2 for fp16
        short[] a = new short[n];
        short[] b = new short[n];
        Half.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(a), Rounding.stochastic(1), 0);
        Half.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(b), Rounding.stochastic(2), 0);
        int differ = 0;
        for (int i = 0; i < n; i++) {
            differ += a[i] != b[i] ? 1 : 0;
        }
        assertTrue(Math.abs(differ - n / 2.0) <= SIGMAS * Math.sqrt(n / 4.0), differ + " of " + n + " differ");
    }

    // ---- reproducibility ----

    @Test
    void sameSeedAndCountersGiveTheSameBitsHoweverTheWorkIsCut() throws Exception {
        int n = 50_000;
        float[] in = inputs(4, n);
        long base = (1L << 32) - 20_000; // crosses 2^32
        for (boolean half : new boolean[] {true, false}) {
            short[] whole = encode(half, in, 0, n, 21, base);
            assertArrayEquals(whole, encode(half, in, 0, n, 21, base), "same call twice");
            // In chunks of awkward sizes, each with its own counter base.
            short[] chunked = new short[n];
            int[] sizes = {1, 15, 16, 17, 31, 1021, 4099};
            int from = 0;
            for (int c = 0; from < n; c++) {
                int size = Math.min(sizes[c % sizes.length], n - from);
                encodeInto(half, in, from, size, 21, base + from, chunked);
                from += size;
            }
            assertArrayEquals(whole, chunked, (half ? "fp16" : "bf16") + ": chunked");
            // Two threads, a half each.
            short[] parallel = new short[n];
            CompletableFuture<Void> first = CompletableFuture.runAsync(() -> encodeInto(half, in, 0, n / 2, 21, base, parallel));
            CompletableFuture<Void> second = CompletableFuture.runAsync(() -> encodeInto(half, in, n / 2, n - n / 2, 21, base + n / 2, parallel));
            first.get();
            second.get();
            assertArrayEquals(whole, parallel, (half ? "fp16" : "bf16") + ": two threads");
        }
    }

    private static short[] encode(boolean half, float[] in, int from, int count, long seed, long base) {
        short[] out = new short[in.length];
        encodeInto(half, in, from, count, seed, base, out);
        return out;
    }

    private static void encodeInto(boolean half, float[] in, int from, int count, long seed, long base, short[] out) {
        if (half) {
            Half.encode(MemorySegment.ofArray(in), from, MemorySegment.ofArray(out), from, count, Rounding.stochastic(seed), base);
        } else {
            BFloat16.encode(MemorySegment.ofArray(in), from, MemorySegment.ofArray(out), from, count, Rounding.stochastic(seed), base);
        }
    }
}
