package dev.adamant.fp16;

import static dev.adamant.fp16.TestSupport.hex;
import static dev.adamant.fp16.TestSupport.hex16;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * Against conversions PyTorch computed (test resources {@code torch-half}, copied from
 * {@code ../shared/fixtures/torch-half}): 262,268 floats (special values, round and sticky cases,
 * random bits) to bfloat16 and fp16. NaN outputs are compared by being NaN (PyTorch writes a
 * canonical NaN); everything else bit for bit, through the bulk and the scalar entry points.
 */
class TorchFixtureTest {

    private static MemorySegment resource(String name) throws IOException {
        try (InputStream in = TorchFixtureTest.class.getResourceAsStream("/torch-half/" + name)) {
            assertNotNull(in, "missing test resource torch-half/" + name);
            return MemorySegment.ofArray(in.readAllBytes());
        }
    }

    private static void compare(boolean half) throws IOException {
        MemorySegment inputs = resource("inputs.u32");
        MemorySegment expected = resource(half ? "fp16.u16" : "bf16.u16");
        int n = (int) (inputs.byteSize() / 4);
        assertEquals(n, expected.byteSize() / 2);
        float[] floats = new float[n];
        short[] want = new short[n];
        for (int i = 0; i < n; i++) {
            floats[i] = Float.intBitsToFloat(inputs.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * i));
            want[i] = expected.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i);
        }
        short[] bulk = new short[n];
        if (half) {
            Half.encode(MemorySegment.ofArray(floats), MemorySegment.ofArray(bulk));
        } else {
            BFloat16.encode(MemorySegment.ofArray(floats), MemorySegment.ofArray(bulk));
        }
        int nans = 0;
        for (int i = 0; i < n; i++) {
            short scalar = half ? Half.fromFloat(floats[i]) : BFloat16.fromFloat(floats[i]);
            String label = (half ? "fp16" : "bf16") + " of float " + hex(Float.floatToRawIntBits(floats[i])) + " (#" + i + ")";
            boolean wantNaN = half ? TestSupport.isHalfNaN(want[i]) : TestSupport.isBf16NaN(want[i]);
            if (wantNaN) {
                nans++;
                assertTrue(half ? TestSupport.isHalfNaN(bulk[i]) : TestSupport.isBf16NaN(bulk[i]), label + ": expected a NaN, got " + hex16(bulk[i]));
                assertEquals(hex16(bulk[i]), hex16(scalar), label);
            } else {
                assertEquals(hex16(want[i]), hex16(bulk[i]), "bulk " + label);
                assertEquals(hex16(want[i]), hex16(scalar), "scalar " + label);
            }
        }
        assertTrue(nans > 0 && nans < n / 100, "the fixture should hold some NaNs: " + nans);
    }

    @Test
    void bfloat16AsPyTorch() throws IOException {
        compare(false);
    }

    @Test
    void fp16AsPyTorch() throws IOException {
        compare(true);
    }
}
