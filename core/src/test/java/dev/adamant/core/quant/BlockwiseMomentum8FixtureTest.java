package dev.adamant.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.core.Implementation;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Properties;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * End to end: bitsandbytes' 8-bit SGD with momentum ({@code bnb-8bit/momentum8}, its pure-PyTorch
 * reference step, state1 only), reproduced with our quantizer, parameters after every step and the
 * final codes and absmax bit for bit. The step is written here as the reference computes it in
 * float32 on CPU: {@code grad.add_(p, alpha=wd)} and {@code p.add_(m, alpha=-lr)} are PyTorch's
 * vectorized {@code fmadd} (one rounding), {@code m.mul_(beta1).add_(grad)} two roundings, and step 1
 * copies the gradient into the state.
 */
class BlockwiseMomentum8FixtureTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final String DIR = "bnb-8bit/momentum8/";

    @ParameterizedTest
    @EnumSource(Implementation.class)
    void momentum8ReproducesBitsandbytes(Implementation implementation) throws Exception {
        if (implementation == Implementation.PANAMA) {
            assumeTrue(Implementation.PANAMA.isAvailable(), "PANAMA is not available in this JVM");
        }
        Blockwise8 kernels = Blockwise8Kernels.of(implementation);
        Properties props = new Properties();
        props.load(new java.io.ByteArrayInputStream(QuantFixtures.resource(DIR + "case.properties")));
        assertEquals("momentum", props.getProperty("optimizer"));
        final int n = Integer.parseInt(props.getProperty("n")), steps = Integer.parseInt(props.getProperty("steps"));
        assertEquals(256, Integer.parseInt(props.getProperty("blocksize")));
        // PyTorch turns the Python scalars into float32 for a float32 tensor.
        final float beta1 = Float.parseFloat(props.getProperty("beta1"));
        final float wd = Float.parseFloat(props.getProperty("weight_decay"));
        final float negLr = (float) -Double.parseDouble(props.getProperty("lr"));
        final int blocks = (n + 255) / 256;
        float[] p = QuantFixtures.floats(DIR + "params0.f32", n);
        float[] grads = QuantFixtures.floats(DIR + "grads.f32", (long) steps * n);
        float[] expectedParams = QuantFixtures.floats(DIR + "params.f32", (long) steps * n);
        byte[] expectedCodes = QuantFixtures.resource(DIR + "state1.u8");
        float[] expectedAbsmax = QuantFixtures.floats(DIR + "absmax1.f32", blocks);
        assertEquals(n, expectedCodes.length);
        DynamicMap map = DynamicMap.SIGNED;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state1 = arena.allocate(n);            // codes 0 ...
            MemorySegment absmax1 = arena.allocate(blocks * 4L); // ... and absmax 0: the state reads as zero
            MemorySegment m = arena.allocate(n * 4L);
            for (int t = 1; t <= steps; t++) {
                kernels.dequantize(map, state1, absmax1, m, n);
                int row = (t - 1) * n;
                for (int i = 0; i < n; i++) {
                    float g = Math.fma(p[i], wd, grads[row + i]);
                    float mi = t == 1 ? g : m.getAtIndex(F, i) * beta1 + g;
                    m.setAtIndex(F, i, mi);
                    p[i] = Math.fma(mi, negLr, p[i]);
                }
                for (int i = 0; i < n; i++) {
                    int tt = t, ii = i;
                    assertEquals(Float.floatToRawIntBits(expectedParams[row + i]), Float.floatToRawIntBits(p[i]),
                            () -> "step " + tt + ", param " + ii + ": expected " + expectedParams[row + ii]);
                }
                kernels.quantize(map, m, state1, absmax1, n);
            }
            for (int b = 0; b < blocks; b++) {
                assertEquals(Float.floatToRawIntBits(expectedAbsmax[b]), Float.floatToRawIntBits(absmax1.getAtIndex(F, b)),
                        "absmax1[" + b + "]");
            }
            for (int i = 0; i < n; i++) {
                assertEquals(expectedCodes[i] & 0xFF, state1.get(ValueLayout.JAVA_BYTE, i) & 0xFF, "state1[" + i + "]");
            }
        }
    }
}
