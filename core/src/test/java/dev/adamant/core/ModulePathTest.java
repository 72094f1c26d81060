package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.core.memory.Segments;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The module-path run (surefire execution {@code module-path}, {@code -Dadamant.expectModulePath})
 * really runs core as the named module, with its qualified exports in force: a run that silently
 * fell back to the class path would pass every other test without checking module-info at all.
 */
class ModulePathTest {

    @Test
    void coreRunsAsANamedModuleWithItsQualifiedExports() {
        String expected = System.getProperty("adamant.expectModulePath");
        assumeTrue(expected != null, "not the module-path run (no -Dadamant.expectModulePath)");
        Module core = Optimizers.class.getModule();
        System.out.println("[adamant] module-path run: " + core.getDescriptor().toNameAndVersion());
        assertTrue(core.isNamed(), "core is on the class path, not the module path");
        assertEquals(expected, core.getName());
        assertSame(core, ModulePathTest.class.getModule(), "the tests are not patched into the module");
        assertTrue(core.isExported("dev.adamant.core"), "the facade is exported to everyone");
        assertTrue(core.isExported("dev.adamant.core.schedule"), "the learning-rate schedules are exported to everyone");
        // The class path (JUnit, QuickTheories, any user there) must not see the internal packages;
        // dev.adamant.core.kernel and .quant are left out because surefire opens the packages that hold tests
        // (ChunksTest, the quant tests) to the class path, for JUnit.
        Module unnamed = ClassLoader.getSystemClassLoader().getUnnamedModule();
        for (String internal : new String[] {"dev.adamant.core.memory", "dev.adamant.core.panama"}) {
            assertFalse(core.isExported(internal), internal + " is exported to everyone");
            assertFalse(core.isExported(internal, unnamed), internal + " is exported to the class path");
        }
        // As declared: every internal package a qualified export to our own modules.
        assertSame(core, Segments.class.getModule());
        // memory: every module that checks arguments; kernel and panama: those with Panama kernels (and bench);
        // quant: the codec's benchmark.
        Map<String, Set<String>> readers = Map.of(
                "dev.adamant.core.memory", Set.of("dev.adamant.fp16", "dev.adamant.zero", "dev.adamant.examples"),
                "dev.adamant.core.kernel", Set.of("dev.adamant.fp16", "dev.adamant.examples", "dev.adamant.bench"),
                "dev.adamant.core.panama", Set.of("dev.adamant.fp16", "dev.adamant.examples", "dev.adamant.bench"),
                "dev.adamant.core.quant", Set.of("dev.adamant.bench"));
        for (Map.Entry<String, Set<String>> internal : readers.entrySet()) {
            assertTrue(core.getDescriptor().exports().stream().anyMatch(e -> e.source().equals(internal.getKey())
                    && e.isQualified() && e.targets().equals(internal.getValue())),
                    internal.getKey() + ": expected a qualified export to " + internal.getValue() + ", got "
                            + core.getDescriptor().exports());
        }
    }
}
