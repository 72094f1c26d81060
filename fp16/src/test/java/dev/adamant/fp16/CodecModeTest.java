package dev.adamant.fp16;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.fp16.internal.Codecs;
import dev.adamant.fp16.kernel.Fp16Kernels;
import org.junit.jupiter.api.Test;

/**
 * The build runs the suite twice (Panama codecs, then forced scalar) and says which it expects
 * through {@code -Dadamant.expectKernels}; a silent fallback fails here, so the exhaustive tests
 * really cover both implementations.
 */
class CodecModeTest {

    @Test
    void theExpectedCodecsRan() {
        String expected = System.getProperty("adamant.expectKernels");
        assumeTrue(expected != null, "not run by the build (no -Dadamant.expectKernels)");
        System.out.println("[adamant] fp16 suite running on: " + Codecs.describe(Codecs.provider()));
        assertEquals(expected, Codecs.provider().name());
    }

    /** The width runs: codecs, scaling kernels and fused Adam all run the width asked for. */
    @Test
    void theExpectedVectorWidthRan() {
        String expected = System.getProperty("adamant.expectVectorBits");
        assumeTrue(expected != null, "not a width run (no -Dadamant.expectVectorBits)");
        assertEquals(Integer.parseInt(expected), Codecs.provider().lanes() * Float.SIZE, Codecs.describe(Codecs.provider()));
        assertEquals("PanamaScalingKernel", Fp16Kernels.scaling().getClass().getSimpleName());
        assertNotNull(Fp16Kernels.fusedAdam(), "the fused Adam loop runs");
    }

    @Test
    void panamaCodecsLoadWhereTheBuildExpectsThem() {
        assumeTrue("panama".equals(System.getProperty("adamant.expectKernels")));
        assertNotNull(Codecs.panamaOrNull(), "the Panama codecs did not load");
    }
}
