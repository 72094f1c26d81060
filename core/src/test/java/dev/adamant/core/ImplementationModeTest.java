package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.core.kernel.Kernels;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The build runs the suite once per implementation, and the Panama one again at 128 and 256 bits, and
 * says which it expects through {@code -Dadamant.expectKernels} (and {@code -Dadamant.expectVectorBits});
 * a silent fallback to scalar, or to another width, fails here.
 */
class ImplementationModeTest {

    @Test
    void theExpectedImplementationRan() {
        String expected = System.getProperty("adamant.expectKernels");
        assumeTrue(expected != null, "not run by the build (no -Dadamant.expectKernels)");
        Implementation got = Implementation.current();
        System.out.println("[adamant] suite running on: " + got.describe());
        assertEquals(expected.toUpperCase(Locale.ROOT), got.name(),
                "expected the " + expected + " kernels, got " + got.describe());
    }

    /**
     * The width runs ({@code -Dadamant.vectorBits=128} or {@code 256}) say which width they expect
     * through {@code -Dadamant.expectVectorBits}: the kernels in use must run exactly that.
     */
    @Test
    void theExpectedVectorWidthRan() {
        String expected = System.getProperty("adamant.expectVectorBits");
        assumeTrue(expected != null, "not a width run (no -Dadamant.expectVectorBits)");
        int lanes = Kernels.provider().lanes();
        System.out.println("[adamant] width run: " + lanes * Float.SIZE + "-bit vectors (" + lanes + " floats)");
        assertEquals(Integer.parseInt(expected), lanes * Float.SIZE,
                "expected " + expected + "-bit vectors, got " + Implementation.current().describe());
    }

    @Test
    void panamaIsAvailableWhereTheBuildExpectsIt() {
        assumeTrue("panama".equals(System.getProperty("adamant.expectKernels")));
        assertEquals(true, Implementation.PANAMA.isAvailable());
    }
}
