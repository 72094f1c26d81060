package dev.adamant.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Test helpers: the bnb-8bit fixtures and an independent brute-force nearest-code search. */
public final class QuantFixtures {
    private QuantFixtures() {}

    public static byte[] resource(String name) {
        try (InputStream in = QuantFixtures.class.getClassLoader().getResourceAsStream(name)) {
            assertNotNull(in, () -> "test resource missing: " + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(name, e);
        }
    }

    /** Raw little-endian float32 resource of exactly {@code count} floats (the fixtures' byte order). */
    public static float[] floats(String name, long count) {
        byte[] bytes = resource(name);
        assertEquals(count * Float.BYTES, bytes.length, () -> name + ": byte length");
        float[] out = new float[(int) count];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /**
     * The reference's rule, written out: {@code torch.argmin(torch.abs(x - code))}: the first index of
     * the smallest float32 distance, where a NaN distance is smaller than any number (ATen's
     * {@code LessOrNan}), so NaN gives 0.
     */
    static int bruteForce(float[] code, float x) {
        int best = -1;
        float bestDistance = 0;
        for (int i = 0; i < code.length; i++) {
            float d = Math.abs(x - code[i]);
            if (Float.isNaN(d)) {
                return Float.isNaN(bestDistance) && best >= 0 ? best : i;
            }
            if (best < 0 || d < bestDistance) {
                best = i;
                bestDistance = d;
            }
        }
        return best;
    }

    /** A float's place in value order (-0 just below +0). */
    static int ordinal(float f) {
        int bits = Float.floatToRawIntBits(f);
        return bits >= 0 ? bits : -1 - (bits & 0x7FFFFFFF);
    }

    static float fromOrdinal(int o) {
        return o >= 0 ? Float.intBitsToFloat(o) : Float.intBitsToFloat((-1 - o) | 0x80000000);
    }
}
