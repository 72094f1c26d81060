package dev.adamant.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.examples.kernel.DenseKernels;
import org.junit.jupiter.api.Test;

/**
 * The build runs the suite twice, with {@code -Dadamant.kernels=panama} and {@code =scalar}, and says
 * which through {@code -Dadamant.expectKernels}; a silent fallback of the model's kernels fails here.
 */
class MlpModeTest {
    @Test
    void theExpectedKernelsRun() {
        String expected = System.getProperty("adamant.expectKernels");
        assumeTrue(expected != null, "not run by the build (no -Dadamant.expectKernels)");
        assertEquals(expected, DenseKernels.provider().name());
        assertEquals(DenseKernels.describe(DenseKernels.provider()), Mlp.implementation());
        if ("panama".equals(expected)) {
            assertNotNull(DenseKernels.panamaOrNull());
        }
        String bits = System.getProperty("adamant.expectVectorBits");
        if (bits != null) {
            assertEquals(Integer.parseInt(bits), DenseKernels.provider().lanes() * Float.SIZE, Mlp.implementation());
        }
    }
}
