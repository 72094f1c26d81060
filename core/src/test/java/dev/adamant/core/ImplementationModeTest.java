package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The build runs the suite twice, once per implementation, and says which it expects through
 * {@code -Dadamant.expectKernels}; a silent fallback to scalar fails here.
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

    @Test
    void panamaIsAvailableWhereTheBuildExpectsIt() {
        assumeTrue("panama".equals(System.getProperty("adamant.expectKernels")));
        assertEquals(true, Implementation.PANAMA.isAvailable());
    }
}
