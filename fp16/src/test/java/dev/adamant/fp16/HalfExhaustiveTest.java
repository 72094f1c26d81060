package dev.adamant.fp16;

import static dev.adamant.fp16.TestSupport.JDK_QUIETS_NANS;
import static dev.adamant.fp16.TestSupport.hex;
import static dev.adamant.fp16.TestSupport.hex16;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.adamant.fp16.internal.Codecs;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * fp16 against the JDK for every input: all 2^32 floats through the bulk encoder (the implementation
 * the run chose: Panama in one run of the suite, scalar in the other), all 65,536 halves through the
 * bulk decoder and the scalar one. Blocks go native to native (the main path), every 64th through
 * heap arrays (the vector codec's other loop). The references are {@link Float#floatToFloat16} and
 * {@link Float#float16ToFloat}, called in plain loops (C2 compiles them to vcvtps2ph / vcvtph2ps),
 * and, for decoding, the value of each half computed from its fields in double arithmetic.
 *
 * <p>NaN payloads are compared with the JDK too where the JDK quiets NaNs (its intrinsics, in every
 * execution mode); where it runs its Java fallback instead (no intrinsic), they are compared with
 * the documented rule, since that fallback differs from the intrinsics for payloads.
 */
class HalfExhaustiveTest {
    /** Values per block: with its buffers (about 300 KiB a thread), it stays in L2. */
    private static final int BLOCK = 1 << 14;

    @Test
    void everyFloatEncodesAsTheJdk() {
        long t0 = System.nanoTime();
        String failure = TestSupport.sweep(1 << 18, BLOCK, (block, b) -> {
            int base = b << 14;
            block.fill(base, true);
            block.encode(b, Half::encode);
            // The reference in the shape C2 vectorizes (float[] to short[]: vcvtps2ph).
            float[] in = block.floats;
            short[] ref = block.ref;
            for (int i = 0; i < BLOCK; i++) {
                ref[i] = Float.floatToFloat16(in[i]);
            }
            boolean nans = ((base >>> 23) & 0xFF) == 0xFF; // a block shares its top 18 bits, exponent included
            if (nans && !JDK_QUIETS_NANS) {
                for (int i = 0; i < BLOCK; i++) {
                    if ((block.in[i] & 0x7FFF_FFFF) > 0x7F80_0000) {
                        ref[i] = TestSupport.halfNaN(block.in[i]);
                    }
                }
            }
            int m = Arrays.mismatch(block.out, ref);
            return m < 0 ? null : "float " + hex(block.in[m]) + ": expected " + hex16(ref[m]) + ", got " + hex16(block.out[m]);
        });
        System.out.printf("[adamant] fp16: 2^32 floats encoded (%s) in %.1f s%n", Codecs.provider().name(),
                (System.nanoTime() - t0) / 1e9);
        assertNull(failure, failure);
    }

    @Test
    void everyHalfDecodesAsTheJdkAndAsItsValue() {
        short[] halves = new short[1 << 16];
        for (int h = 0; h < halves.length; h++) {
            halves[h] = (short) h;
        }
        int[] bulk = new int[halves.length];
        Half.decode(MemorySegment.ofArray(halves), MemorySegment.ofArray(bulk));
        for (int h = 0; h < halves.length; h++) {
            int expected = TestSupport.halfToFloatBits(h);
            int jdk = Float.floatToRawIntBits(Float.float16ToFloat((short) h));
            boolean nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
            if (!nan || JDK_QUIETS_NANS) {
                assertEquals(hex(jdk), hex(expected), "the references disagree for half " + hex(h));
            }
            assertEquals(hex(expected), hex(bulk[h]), "bulk decode of half " + hex(h));
            assertEquals(hex(expected), hex(Float.floatToRawIntBits(Half.toFloat((short) h))), "toFloat of half " + hex(h));
        }
    }

    @Test
    void everyHalfSurvivesARoundTrip() {
        for (int h = 0; h < 1 << 16; h++) {
            short half = (short) h;
            short back = Half.fromFloat(Half.toFloat(half));
            short expected = TestSupport.isHalfNaN(half) ? (short) (half | 0x0200) : half;
            assertEquals(hex16(expected), hex16(back), "half " + hex(h));
        }
    }
}
