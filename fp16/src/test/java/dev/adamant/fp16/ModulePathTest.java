package dev.adamant.fp16;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.core.memory.Segments;
import org.junit.jupiter.api.Test;

/**
 * The module-path run (surefire execution {@code module-path}, {@code -Dadamant.expectModulePath})
 * really runs fp16 as the named module, reading core's qualified exports, which reach fp16 and not
 * the class path.
 */
class ModulePathTest {

    @Test
    void fp16RunsAsANamedModuleOnCoresQualifiedExports() {
        String expected = System.getProperty("adamant.expectModulePath");
        assumeTrue(expected != null, "not the module-path run (no -Dadamant.expectModulePath)");
        Module fp16 = Half.class.getModule();
        Module core = Segments.class.getModule();
        System.out.println("[adamant] module-path run: " + fp16.getDescriptor().toNameAndVersion() + " on "
                + core.getDescriptor().toNameAndVersion());
        assertTrue(fp16.isNamed(), "fp16 is on the class path, not the module path");
        assertEquals(expected, fp16.getName());
        assertSame(fp16, ModulePathTest.class.getModule(), "the tests are not patched into the module");
        assertEquals("dev.adamant.core", core.getName());
        assertTrue(fp16.canRead(core));
        Module unnamed = ClassLoader.getSystemClassLoader().getUnnamedModule();
        for (String internal : new String[] {"dev.adamant.core.memory", "dev.adamant.core.kernel", "dev.adamant.core.panama"}) {
            assertTrue(core.isExported(internal, fp16), internal + " is not exported to fp16");
            assertFalse(core.isExported(internal, unnamed), internal + " is exported to the class path");
        }
        for (String internal : new String[] {"dev.adamant.fp16.internal", "dev.adamant.fp16.kernel"}) {
            assertFalse(fp16.isExported(internal, unnamed), internal + " is exported to the class path");
        }
    }
}
