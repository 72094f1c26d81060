package dev.adamant.fp16;

import static dev.adamant.fp16.TestSupport.hex;
import static dev.adamant.fp16.TestSupport.hex16;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Rounding by definition, in the manner of the JDK's Binary16Conversion test: for every finite
 * half (and every finite bfloat16) h, the floats at h, just above h (sticky bit only), just below,
 * at and just above the midpoint to the next value (round bit with and without sticky, the tie),
 * and just below the next value, in both signs; expected results are written from the definition
 * of round to nearest even (ties to the even neighbour), not computed by any codec. Plus the named
 * boundaries: signed zeros, subnormal edges, the overflow threshold 65520, NaN payloads.
 *
 * <p>Each case runs through the scalar entry point and, all together, through the bulk one.
 */
class RoundingCasesTest {

    /** A float and the 16 bits it must encode to. */
    record Case(float f, short expected, String what) {}

    private static void check(List<Case> cases, boolean half) {
        float[] in = new float[cases.size()];
        for (int i = 0; i < in.length; i++) {
            in[i] = cases.get(i).f();
        }
        short[] bulk = new short[in.length];
        if (half) {
            Half.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(bulk));
        } else {
            BFloat16.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(bulk));
        }
        for (int i = 0; i < in.length; i++) {
            Case c = cases.get(i);
            String label = c.what() + " (float " + hex(Float.floatToRawIntBits(c.f())) + " = " + c.f() + ")";
            short scalar = half ? Half.fromFloat(c.f()) : BFloat16.fromFloat(c.f());
            assertEquals(hex16(c.expected()), hex16(scalar), "scalar: " + label);
            assertEquals(hex16(c.expected()), hex16(bulk[i]), "bulk: " + label);
        }
    }

    private static double halfValue(int h) {
        return Float.intBitsToFloat(TestSupport.halfToFloatBits(h));
    }

    /** The cases around half h (non-negative, finite) and its successor, in both signs. */
    private static void halfCases(int h, List<Case> out) {
        double lo = halfValue(h);
        double hi = h == 0x7BFF ? 65536.0 : halfValue(h + 1); // 65536: where the next half would be
        short next = (short) (h + 1); // 0x7C00 (infinity) after the largest finite half
        double mid = (lo + hi) / 2; // exact in double, and a float: floats have 13 more bits
        short even = (h & 1) == 0 ? (short) h : next;
        float loF = (float) lo;
        float midF = (float) mid;
        add(out, loF, (short) h, "exactly half " + hex(h));
        add(out, Math.nextUp(loF), (short) h, "just above half " + hex(h) + " (sticky)");
        add(out, Math.nextDown(midF), (short) h, "just below the midpoint above " + hex(h));
        add(out, midF, even, "the tie above " + hex(h));
        add(out, Math.nextUp(midF), next, "just above the midpoint above " + hex(h));
        add(out, Math.nextDown((float) hi), next, "just below the half after " + hex(h));
    }

    private static void add(List<Case> out, float f, short expected, String what) {
        out.add(new Case(f, expected, what));
        out.add(new Case(-f, (short) (expected | 0x8000), "-(" + what + ")"));
    }

    @Test
    void everyRoundAndStickyCombinationAndEveryTieOfEveryHalf() {
        List<Case> cases = new ArrayList<>();
        for (int h = 0; h <= 0x7BFF; h++) {
            halfCases(h, cases);
        }
        check(cases, true);
        // The test's own expectations agree with the JDK (outside NaNs, both are IEEE).
        for (Case c : cases) {
            assertEquals(hex16(c.expected()), hex16(Float.floatToFloat16(c.f())), "JDK: " + c.what());
        }
    }

    @Test
    void halfBoundaries() {
        List<Case> c = new ArrayList<>();
        add(c, 0f, (short) 0x0000, "zero");
        add(c, 0x1p-24f, (short) 0x0001, "the smallest subnormal, 2^-24");
        add(c, 0x1p-25f, (short) 0x0000, "2^-25: a tie, to the even zero");
        add(c, Math.nextUp(0x1p-25f), (short) 0x0001, "just above 2^-25");
        add(c, 0x1.8p-24f, (short) 0x0002, "1.5 * 2^-24: a tie, to the even 2");
        add(c, 0x1p-26f, (short) 0x0000, "2^-26");
        add(c, Float.MIN_VALUE, (short) 0x0000, "the smallest float subnormal");
        add(c, Float.MIN_NORMAL, (short) 0x0000, "the smallest normal float");
        add(c, 0x1.ff8p-15f, (short) 0x03FF, "the largest subnormal half");
        add(c, 0x1p-14f - 0x1p-25f, (short) 0x0400, "a tie between the largest subnormal (odd) and 2^-14");
        add(c, Math.nextDown(0x1p-14f - 0x1p-25f), (short) 0x03FF, "just below that tie");
        add(c, Math.nextDown(0x1p-14f), (short) 0x0400, "just below 2^-14");
        add(c, 0x1p-14f, (short) 0x0400, "2^-14, the smallest normal half");
        add(c, 1f, (short) 0x3C00, "one");
        add(c, 1f + 0x1p-11f, (short) 0x3C00, "1 + half an ulp: a tie, to the even 1");
        add(c, 1f + 0x3p-11f, (short) 0x3C02, "1 + 1.5 ulp: a tie, to the even 1 + 2 ulp");
        add(c, 65504f, (short) 0x7BFF, "65504, the largest half");
        add(c, Math.nextDown(65520f), (short) 0x7BFF, "just below 65520");
        add(c, 65520f, (short) 0x7C00, "65520: a tie, to the even infinity");
        add(c, 65536f, (short) 0x7C00, "65536");
        add(c, 1e10f, (short) 0x7C00, "1e10");
        add(c, Float.MAX_VALUE, (short) 0x7C00, "the largest float");
        add(c, Float.POSITIVE_INFINITY, (short) 0x7C00, "infinity");
        check(c, true);
    }

    @Test
    void halfNaNPayloads() {
        int[][] cases = { // float bits, half bits: sign kept, quiet bit set, top 10 payload bits kept
            {0x7F80_0001, 0x7E00}, {0xFF80_0001, 0xFE00}, {0x7FC0_0000, 0x7E00}, {0xFFC0_0000, 0xFE00},
            {0x7FFF_FFFF, 0x7FFF}, {0xFFFF_FFFF, 0xFFFF}, {0x7F80_2000, 0x7E01}, {0x7FBF_E000, 0x7FFF},
            {0x7F80_1FFF, 0x7E00}, {0x7FD5_5555, 0x7EAA}, {0x7F8A_A000, 0x7E55},
        };
        List<Case> c = new ArrayList<>();
        for (int[] k : cases) {
            c.add(new Case(Float.intBitsToFloat(k[0]), (short) k[1], "NaN " + hex(k[0])));
        }
        check(c, true);
        int[][] decode = { // half bits, float bits: quiet bit set, payload shifted up
            {0x7C01, 0x7FC0_2000}, {0xFC01, 0xFFC0_2000}, {0x7E00, 0x7FC0_0000}, {0xFE00, 0xFFC0_0000},
            {0x7FFF, 0x7FFF_E000}, {0x7D00, 0x7FE0_0000}, {0x7C00, 0x7F80_0000}, {0xFC00, 0xFF80_0000},
        };
        short[] halves = new short[decode.length];
        for (int i = 0; i < decode.length; i++) {
            halves[i] = (short) decode[i][0];
        }
        int[] bulk = new int[halves.length];
        Half.decode(MemorySegment.ofArray(halves), MemorySegment.ofArray(bulk));
        for (int i = 0; i < decode.length; i++) {
            assertEquals(hex(decode[i][1]), hex(Float.floatToRawIntBits(Half.toFloat(halves[i]))), "toFloat " + hex(decode[i][0]));
            assertEquals(hex(decode[i][1]), hex(bulk[i]), "decode " + hex(decode[i][0]));
        }
    }

    @Test
    void everyRoundAndStickyCombinationAndEveryTieOfEveryBFloat16() {
        List<Case> cases = new ArrayList<>();
        for (int b = 0; b <= 0x7F7F; b++) {
            int base = b << 16;
            short next = (short) (b + 1); // 0x7F80 (infinity) after the largest finite bfloat16
            short even = (b & 1) == 0 ? (short) b : next;
            int[][] low = {{0, b}, {1, b}, {0x7FFF, b}, {0x8000, even}, {0x8001, next}, {0xFFFF, next}};
            for (int[] l : low) {
                add(cases, Float.intBitsToFloat(base | l[0]), (short) l[1], "bfloat16 " + hex(b) + " + low bits " + hex(l[0]));
            }
        }
        check(cases, false);
    }

    @Test
    void bfloat16Boundaries() {
        List<Case> c = new ArrayList<>();
        add(c, 0f, (short) 0x0000, "zero");
        add(c, Float.MIN_VALUE, (short) 0x0000, "the smallest float subnormal");
        add(c, 0x1p-133f, (short) 0x0001, "the smallest bfloat16 subnormal");
        add(c, 0x1p-134f, (short) 0x0000, "half of it: a tie, to the even zero");
        add(c, Float.MIN_NORMAL, (short) 0x0080, "2^-126");
        add(c, 1f, (short) 0x3F80, "one");
        add(c, 0x1.FEp127f, (short) 0x7F7F, "the largest bfloat16");
        add(c, 0x1.FFp127f, (short) 0x7F80, "half an ulp above it: a tie, to the even infinity");
        add(c, Math.nextDown(0x1.FFp127f), (short) 0x7F7F, "just below that tie");
        add(c, Float.MAX_VALUE, (short) 0x7F80, "the largest float: infinity by the carry");
        add(c, Float.POSITIVE_INFINITY, (short) 0x7F80, "infinity");
        int[][] nans = {{0x7F80_0001, 0x7FC0}, {0xFF80_0001, 0xFFC0}, {0x7FC0_0000, 0x7FC0}, {0xFFFF_FFFF, 0xFFC0},
            {0x7FFF_FFFF, 0x7FC0}, {0x7F81_0000, 0x7FC0}};
        for (int[] k : nans) {
            c.add(new Case(Float.intBitsToFloat(k[0]), (short) k[1], "NaN " + hex(k[0])));
        }
        check(c, false);
        // Decoding keeps a NaN's payload, signalling or not: the 16 bits become the float's top half.
        assertEquals(hex(0x7F81_0000), hex(Float.floatToRawIntBits(BFloat16.toFloat((short) 0x7F81))));
        assertEquals(hex(0xFFC1_0000), hex(Float.floatToRawIntBits(BFloat16.toFloat((short) 0xFFC1))));
    }
}
