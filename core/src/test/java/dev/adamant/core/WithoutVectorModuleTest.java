package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The library works in a JVM started without {@code --add-modules jdk.incubator.vector}: it falls
 * back to the scalar kernels, says so in one log line, and steps correctly.
 */
class WithoutVectorModuleTest {

    /** Run in the child JVM: steps SGD once and prints the implementation and the result. */
    public static void main(String[] args) {
        try (Optimizer opt = Optimizers.sgd(SgdConfig.sgd(0.5), 3)) {
            float[] p = {1f, 2f, 3f};
            opt.step(MemorySegment.ofArray(p), MemorySegment.ofArray(new float[] {2f, 2f, -2f}));
            System.out.println("implementation=" + Implementation.current() + " panamaAvailable="
                    + Implementation.PANAMA.isAvailable() + " params=" + p[0] + "," + p[1] + "," + p[2]);
        }
    }

    @Test
    void fallsBackToScalarWithAWarning() throws IOException, InterruptedException {
        // The child starts from java.class.path, which the module-path run leaves the modules off
        // (it runs this test only when named with -Dtest).
        assumeTrue(System.getProperty("adamant.expectModulePath") == null, "not in the module-path run");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                WithoutVectorModuleTest.class.getName())).redirectErrorStream(true).start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, child.exitValue(), out);
        assertTrue(out.contains("implementation=SCALAR panamaAvailable=false params=0.0,1.0,4.0"), out);
        assertTrue(out.contains("--add-modules jdk.incubator.vector"), "the fallback log says what to do: " + out);
    }
}
