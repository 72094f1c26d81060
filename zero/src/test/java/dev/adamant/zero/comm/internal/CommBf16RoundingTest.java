package dev.adamant.zero.comm.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Precision;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The bfloat16 narrowing the reductions use ({@link BFloat16#fromFloat}) against a search over all bfloat16 values ({@link Reference#encode}). */
class CommBf16RoundingTest {

    private static void check(float f) {
        short got = BFloat16.fromFloat(f);
        int want = Reference.encode(Precision.BF16, f);
        assertEquals(Integer.toHexString(want), Integer.toHexString(got & 0xFFFF),
                "bf16 of " + f + " (0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + ")");
    }

    @Test
    void everyBf16RoundTripsAndEveryMidpointTiesToEven() {
        for (int b = 0; b < 0x10000; b++) {
            int bits = b << 16;
            float f = Float.intBitsToFloat(bits);
            if (Float.isNaN(f)) {
                continue;
            }
            assertEquals(b, BFloat16.fromFloat(f) & 0xFFFF, "round trip of 0x" + Integer.toHexString(b));
            assertEquals(bits, Float.floatToRawIntBits(BFloat16.toFloat((short) b)));
            if ((b & 0x7FFF) < 0x7F80) { // finite: the midpoint to the next one up, and either side of it
                check(Float.intBitsToFloat(bits | 0x8000));
                check(Float.intBitsToFloat(bits | 0x7FFF));
                check(Float.intBitsToFloat(bits | 0x8001));
                check(Float.intBitsToFloat(bits | 0x0001));
            }
        }
    }

    @Test
    void randomFloatsOverflowAndNaN() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 1_000_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt());
            if (!Float.isNaN(f)) {
                check(f);
            }
        }
        assertEquals(0x7F80, BFloat16.fromFloat(Float.MAX_VALUE) & 0xFFFF);
        assertEquals(0xFF80, BFloat16.fromFloat(-Float.MAX_VALUE) & 0xFFFF);
        assertEquals(0x7F7F, BFloat16.fromFloat(Float.intBitsToFloat(0x7F7F7FFF)) & 0xFFFF);
        assertEquals(0x7FC0, BFloat16.fromFloat(Float.NaN) & 0xFFFF);
        assertEquals(0x7FC0, BFloat16.fromFloat(Float.intBitsToFloat(0x7F800001)) & 0xFFFF, "signalling NaN quietened");
        assertEquals(0xFFC0, BFloat16.fromFloat(Float.intBitsToFloat(0xFFFFFFFF)) & 0xFFFF, "sign kept");
        assertEquals(0x8000, BFloat16.fromFloat(-0f) & 0xFFFF);
        assertEquals(0x0001, BFloat16.fromFloat(Float.MIN_VALUE * 65536) & 0xFFFF);
        assertEquals(0x0000, BFloat16.fromFloat(Float.MIN_VALUE) & 0xFFFF);
    }

    /** The test's own fp16 reference agrees with the JDK's binary16 conversion, so it can judge the sums. */
    @Test
    void theReferenceAgreesWithTheJdkForFp16() {
        for (int b = 0; b < 0x10000; b++) {
            float f = Float.float16ToFloat((short) b);
            if (!Float.isNaN(f)) {
                assertEquals(f, (float) Reference.decode(Precision.FP16, b), "decode 0x" + Integer.toHexString(b));
            }
        }
        SplittableRandom rnd = new SplittableRandom(9);
        for (int i = 0; i < 300_000; i++) {
            float f = Float.intBitsToFloat(rnd.nextInt(0x30000000, 0x48000000)) * (rnd.nextBoolean() ? 1 : -1);
            assertEquals(Float.floatToFloat16(f) & 0xFFFF, Reference.encode(Precision.FP16, f), "encode " + f);
        }
    }
}
