package dev.adamant.zero.comm.internal;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.ReduceOp;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * The serial oracle for the collective tests, written without the code under test: half-precision
 * values decoded from their bit fields, narrowing by searching the format's ordered values for the
 * nearest (ties to the even encoding), sums folded left to right in float. Public: the in-process
 * and MPI tests, in their backends' packages, share it.
 */
public final class Reference {
    private Reference() {}

    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    public static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** The value of a 16-bit encoding, decoded from its fields. */
    public static double decode(Precision p, int bits) {
        int expBits = p == Precision.FP16 ? 5 : 8;
        int fracBits = 15 - expBits;
        int bias = (1 << (expBits - 1)) - 1;
        int sign = (bits >> 15) & 1;
        int exp = (bits >> fracBits) & ((1 << expBits) - 1);
        int frac = bits & ((1 << fracBits) - 1);
        double magnitude;
        if (exp == (1 << expBits) - 1) {
            magnitude = frac == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else if (exp == 0) {
            magnitude = Math.scalb((double) frac, 1 - bias - fracBits);
        } else {
            magnitude = Math.scalb((double) ((1 << fracBits) | frac), exp - bias - fracBits);
        }
        return sign == 1 ? -magnitude : magnitude;
    }

    /** The largest finite positive encoding; the next one up is infinity. */
    public static int maxFinite(Precision p) {
        return p == Precision.FP16 ? 0x7BFF : 0x7F7F;
    }

    /** Round to nearest, ties to even, by search over the (monotone) positive encodings. NaN: any NaN encoding. */
    public static int encode(Precision p, float f) {
        int infinity = maxFinite(p) + 1;
        if (Float.isNaN(f)) {
            return 0x7FFF;
        }
        int sign = Float.floatToRawIntBits(f) < 0 ? 0x8000 : 0;
        double x = Math.abs((double) f);
        if (x == Double.POSITIVE_INFINITY) {
            return sign | infinity;
        }
        // The value infinity stands for when rounding: one ulp beyond the largest finite value.
        double top = 2 * decode(p, maxFinite(p)) - decode(p, maxFinite(p) - 1);
        int lo = 0, hi = infinity; // value(lo) <= x < value(hi), with value(infinity) = top
        if (x >= top) {
            return sign | infinity;
        }
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (decode(p, mid) <= x) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        double vlo = decode(p, lo), vhi = hi == infinity ? top : decode(p, hi);
        double dlo = x - vlo, dhi = vhi - x; // exact: all values are doubles with few bits
        int chosen = dlo < dhi ? lo : dhi < dlo ? hi : (lo & 1) == 0 ? lo : hi;
        return sign | chosen;
    }

    public static float get(MemorySegment s, Precision p, long i) {
        return p == Precision.FP32 ? s.getAtIndex(FLOAT, i) : (float) decode(p, s.getAtIndex(SHORT, i) & 0xFFFF);
    }

    /** Stores {@code f} rounded to nearest even. */
    public static void set(MemorySegment s, Precision p, long i, float f) {
        if (p == Precision.FP32) {
            s.setAtIndex(FLOAT, i, f);
        } else {
            s.setAtIndex(SHORT, i, (short) encode(p, f));
        }
    }

    /** The element's bits, for bitwise comparison. */
    public static int bits(MemorySegment s, Precision p, long i) {
        return p == Precision.FP32 ? Float.floatToRawIntBits(s.getAtIndex(FLOAT, i)) : s.getAtIndex(SHORT, i) & 0xFFFF;
    }

    public static MemorySegment allocate(Arena arena, Precision p, long elements) {
        return arena.allocate(elements * p.bytes(), p.bytes());
    }

    /** Random values of moderate size (sums of a few stay finite in fp16), many exponents. */
    public static MemorySegment random(Arena arena, Precision p, long elements, Random rnd) {
        MemorySegment s = allocate(arena, p, elements);
        for (long i = 0; i < elements; i++) {
            float f = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-12, 8)));
            if (p == Precision.BF16) {
                // Any bfloat16: truncate, so the inputs are not all results of the rounding under test.
                s.setAtIndex(SHORT, i, (short) (Float.floatToRawIntBits(f) >>> 16));
            } else {
                set(s, p, i, f);
            }
        }
        return s;
    }

    public static MemorySegment copy(Arena arena, MemorySegment s) {
        MemorySegment c = arena.allocate(s.byteSize(), 4);
        c.copyFrom(s);
        return c;
    }

    /** {@code f(x0, x1, ...)} folded left to right over {@code inputs[k][offset + i]}, in float, then narrowed. */
    public static MemorySegment fold(Arena arena, MemorySegment[] inputs, long offset, long count, Precision p,
                              ReduceOp op) {
        MemorySegment out = allocate(arena, p, count);
        for (long i = 0; i < count; i++) {
            float acc = get(inputs[0], p, offset + i);
            for (int k = 1; k < inputs.length; k++) {
                float x = get(inputs[k], p, offset + i);
                acc = op == ReduceOp.SUM ? acc + x : max(acc, x);
            }
            set(out, p, i, acc);
        }
        return out;
    }

    /** Max with NaN winning and +0 above -0, written out rather than taken from Math.max. */
    public static float max(float a, float b) {
        if (Float.isNaN(a) || Float.isNaN(b)) {
            return Float.NaN;
        }
        if (a != b) {
            return a > b ? a : b;
        }
        return Float.floatToRawIntBits(a) < 0 ? b : a;
    }

    /** The index of the first element whose bits differ, or -1. */
    public static long firstDifference(MemorySegment expected, MemorySegment actual, Precision p) {
        if (expected.byteSize() != actual.byteSize()) {
            return 0;
        }
        for (long i = 0; i < expected.byteSize() / p.bytes(); i++) {
            if (bits(expected, p, i) != bits(actual, p, i)) {
                return i;
            }
        }
        return -1;
    }
}
