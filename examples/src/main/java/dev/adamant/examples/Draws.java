package dev.adamant.examples;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;

/**
 * Counter-based random numbers: draw {@code n} of stream {@code key} is the {@code (n+1)}-th output
 * of SplitMix64 seeded with {@code key}, so any draw is computed alone, in any order, on any thread,
 * with the same bits. Normals use Box-Muller with {@link StrictMath}, whose results are specified
 * bit for bit on every platform ({@link Math#log} may differ by an ulp between platforms or compilers).
 */
final class Draws {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final double TWO_PI = 2 * Math.PI;

    private Draws() {}

    /** SplitMix64's output function (Stafford's variant 13). */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The stream for {@code (a, b, c)}: distinct triples give unrelated streams. */
    static long key(long a, long b, long c) {
        return mix(mix(mix(a + GOLDEN) + b * GOLDEN + 1) + c * GOLDEN + 2);
    }

    /** Draw {@code n} of stream {@code key}: 64 random bits. */
    static long bits(long key, long n) {
        return mix(key + (n + 1) * GOLDEN);
    }

    /** A double in [0, 1) with 53 random bits, from draw {@code n}. */
    static double uniform(long key, long n) {
        return (bits(key, n) >>> 11) * 0x1.0p-53;
    }

    /**
     * Standard normal {@code i} of stream {@code key}, by Box-Muller: normals {@code 2p} and
     * {@code 2p + 1} are {@code r cos(theta)} and {@code r sin(theta)} with {@code r = sqrt(-2 ln(1 - u))},
     * {@code theta = 2 pi v}, where {@code u, v} are uniform draws {@code 2p, 2p + 1}.
     */
    static double gaussian(long key, long i) {
        long p = i >>> 1;
        double r = radius(key, p), theta = angle(key, p);
        return (i & 1) == 0 ? r * StrictMath.cos(theta) : r * StrictMath.sin(theta);
    }

    /**
     * Normals {@code 0 .. count-1} of stream {@code key}, rounded to float, into {@code dst[0 .. count)}:
     * what {@link #gaussian} gives element by element, with one logarithm per pair.
     */
    static void fillGaussians(long key, MemorySegment dst, long count) {
        for (long p = 0; 2 * p < count; p++) {
            double r = radius(key, p), theta = angle(key, p);
            dst.setAtIndex(JAVA_FLOAT, 2 * p, (float) (r * StrictMath.cos(theta)));
            if (2 * p + 1 < count) {
                dst.setAtIndex(JAVA_FLOAT, 2 * p + 1, (float) (r * StrictMath.sin(theta)));
            }
        }
    }

    private static double radius(long key, long p) {
        double u = 1.0 - uniform(key, 2 * p);      // (0, 1]: the logarithm stays finite
        return StrictMath.sqrt(-2.0 * StrictMath.log(u));
    }

    private static double angle(long key, long p) {
        return TWO_PI * uniform(key, 2 * p + 1);
    }
}
