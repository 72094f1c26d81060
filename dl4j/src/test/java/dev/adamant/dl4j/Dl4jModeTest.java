package dev.adamant.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.adamant.core.Implementation;
import dev.adamant.core.Optimizers;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The module's suite runs twice, on the Panama kernels and on the forced scalar ones (dl4j/pom.xml);
 * this asserts that each run got the kernels it asked for, so a silent fallback fails the build.
 */
class Dl4jModeTest {
    @Test
    void theExpectedKernelsRan() {
        String expected = System.getProperty("adamant.expectKernels");
        assertNotNull(expected, "the pom passes -Dadamant.expectKernels to every run");
        assertEquals(expected.trim().toUpperCase(Locale.ROOT), Implementation.current().name(),
                "kernels in this run: " + Optimizers.implementation());
        System.out.println("[adamant] dl4j suite running on: " + Implementation.current().name().toLowerCase(Locale.ROOT)
                + " (" + Optimizers.implementation() + ")");
    }
}
