package dev.adamant.fp16;

import static dev.adamant.fp16.TestSupport.hex;
import static dev.adamant.fp16.TestSupport.hex16;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.adamant.fp16.internal.Codecs;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * bfloat16 for every input: all 2^32 floats through the bulk encoder (Panama in one run of the
 * suite, scalar in the other) against PyTorch's round-to-nearest-even written out in the test
 * ({@link TestSupport#torchBf16}), and all 65,536 bfloat16s through the decoders against their
 * value computed from the fields.
 */
class BFloat16ExhaustiveTest {
    /** Values per block: with its buffers (about 300 KiB a thread), it stays in L2. */
    private static final int BLOCK = 1 << 14;

    @Test
    void everyFloatEncodesAsPyTorch() {
        long t0 = System.nanoTime();
        String failure = TestSupport.sweep(1 << 18, BLOCK, (block, b) -> {
            int base = b << 14;
            block.fill(base, false);
            int[] in = block.in;
            block.encode(b, BFloat16::encode);
            short[] ref = block.ref;
            if (((base >>> 23) & 0xFF) != 0xFF) {
                // No NaN in this block (it shares its top 18 bits, exponent included): the formula alone, branch-free.
                for (int i = 0; i < BLOCK; i++) {
                    int u = in[i];
                    ref[i] = (short) ((u + (((u >>> 16) & 1) + 0x7FFF)) >>> 16);
                }
            } else {
                for (int i = 0; i < BLOCK; i++) {
                    ref[i] = TestSupport.torchBf16(in[i]);
                }
            }
            int m = Arrays.mismatch(block.out, ref);
            return m < 0 ? null : "float " + hex(in[m]) + ": expected " + hex16(ref[m]) + ", got " + hex16(block.out[m]);
        });
        System.out.printf("[adamant] bf16: 2^32 floats encoded (%s) in %.1f s%n", Codecs.provider().name(),
                (System.nanoTime() - t0) / 1e9);
        assertNull(failure, failure);
    }

    @Test
    void everyBFloat16DecodesToItsValue() {
        short[] halves = new short[1 << 16];
        for (int h = 0; h < halves.length; h++) {
            halves[h] = (short) h;
        }
        int[] bulk = new int[halves.length];
        BFloat16.decode(MemorySegment.ofArray(halves), MemorySegment.ofArray(bulk));
        for (int h = 0; h < halves.length; h++) {
            int s = h & 0x8000;
            int e = (h >>> 7) & 0xFF;
            int m = h & 0x7F;
            int expected;
            if (e == 0xFF) {
                expected = (s << 16) | 0x7F80_0000 | (m << 16); // infinities and NaNs keep every bit
            } else {
                double v = e == 0 ? m * 0x1p-133 : (128 + m) * Math.scalb(1.0, e - 134);
                expected = Float.floatToRawIntBits((float) (s != 0 ? -v : v));
            }
            assertEquals(hex(expected), hex(bulk[h]), "bulk decode of bfloat16 " + hex(h));
            assertEquals(hex(expected), hex(Float.floatToRawIntBits(BFloat16.toFloat((short) h))), "toFloat of " + hex(h));
        }
    }

    @Test
    void everyBFloat16SurvivesARoundTrip() {
        for (int h = 0; h < 1 << 16; h++) {
            short b = (short) h;
            short back = BFloat16.fromFloat(BFloat16.toFloat(b));
            short expected = TestSupport.isBf16NaN(b) ? (short) ((h & 0x8000) | 0x7FC0) : b;
            assertEquals(hex16(expected), hex16(back), "bfloat16 " + hex(h));
        }
    }
}
