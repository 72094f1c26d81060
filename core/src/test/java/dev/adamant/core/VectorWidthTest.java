package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.core.kernel.Kernels;
import dev.adamant.core.kernel.Vectorization;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code -Dadamant.vectorBits}: a width wider than the machine's is capped with a log line, one
 * under 128 bits makes the Panama constructor refuse and the scalar twin run (Lucene's rule), a
 * malformed one is refused with a message naming the property. Child JVMs, since the width is
 * chosen once per JVM.
 */
class VectorWidthTest {

    /** Run in the child JVM: steps SGD once and prints what ran. */
    public static void main(String[] args) {
        try (Optimizer opt = Optimizers.sgd(SgdConfig.sgd(0.5), 3)) {
            float[] p = {1f, 2f, 3f};
            opt.step(MemorySegment.ofArray(p), MemorySegment.ofArray(new float[] {2f, 2f, -2f}));
            System.out.println("implementation=" + Implementation.current() + " lanes=" + Kernels.provider().lanes()
                    + " params=" + p[0] + "," + p[1] + "," + p[2]);
        }
    }

    private static String child(String bits) throws IOException, InterruptedException {
        // The child starts from java.class.path, which the module-path run leaves the modules off
        // (it runs this test only when named with -Dtest).
        assumeTrue(System.getProperty("adamant.expectModulePath") == null, "not in the module-path run");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(), "--add-modules", "jdk.incubator.vector",
                "-Dadamant.kernels=auto", "-D" + Vectorization.BITS_PROPERTY + "=" + bits,
                "-cp", System.getProperty("java.class.path"), VectorWidthTest.class.getName()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, child.exitValue(), out);
        return out;
    }

    @Test
    void aWiderRequestIsCappedAtTheMachinesWidth() throws IOException, InterruptedException {
        assumeTrue(Vectorization.modulePresent(), "the Vector API is not available");
        String out = child("2048");
        assertTrue(out.contains("-Dadamant.vectorBits=2048 is wider than this machine's"), out);
        assertTrue(out.contains("implementation=PANAMA"), out);
        assertTrue(out.contains("params=0.0,1.0,4.0"), out);
    }

    @Test
    void tooNarrowVectorsRunTheScalarTwin() throws IOException, InterruptedException {
        assumeTrue(Vectorization.modulePresent(), "the Vector API is not available");
        String out = child("64");
        assertTrue(out.contains("the scalar twin runs: 64-bit vectors are narrower than 128 bits"), out);
        assertTrue(out.contains("implementation=SCALAR lanes=1 params=0.0,1.0,4.0"), out);
    }

    @Test
    void aMalformedWidthIsRefused() {
        String saved = System.getProperty(Vectorization.BITS_PROPERTY);
        try {
            for (String bad : List.of("96", "abc", "4096", "32")) {
                System.setProperty(Vectorization.BITS_PROPERTY, bad);
                IllegalStateException e = assertThrows(IllegalStateException.class, Vectorization::requestedBits);
                assertTrue(e.getMessage().contains("-Dadamant.vectorBits=" + bad), e.getMessage());
            }
            System.setProperty(Vectorization.BITS_PROPERTY, " 256 ");
            assertEquals(256, Vectorization.requestedBits());
            System.clearProperty(Vectorization.BITS_PROPERTY);
            assertEquals(0, Vectorization.requestedBits());
        } finally {
            if (saved == null) {
                System.clearProperty(Vectorization.BITS_PROPERTY);
            } else {
                System.setProperty(Vectorization.BITS_PROPERTY, saved);
            }
        }
    }
}
