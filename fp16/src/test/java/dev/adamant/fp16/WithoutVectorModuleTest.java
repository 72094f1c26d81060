package dev.adamant.fp16;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.fp16.internal.Codecs;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The codecs work in a JVM started without {@code --add-modules jdk.incubator.vector}: the scalar
 * codecs run, the Panama classes are never loaded, and the results are the same.
 */
class WithoutVectorModuleTest {

    /** Run in the child JVM: converts a few values in bulk and prints what ran and what came out. */
    public static void main(String[] args) {
        float[] in = {1f, 65520f, -0f, 0x1p-25f, 3.14159f};
        short[] half = new short[in.length];
        short[] bf = new short[in.length];
        Half.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(half));
        BFloat16.encode(MemorySegment.ofArray(in), MemorySegment.ofArray(bf), Rounding.stochastic(1), 0);
        float[] back = new float[in.length];
        Half.decode(MemorySegment.ofArray(half), MemorySegment.ofArray(back));
        StringBuilder sb = new StringBuilder("codecs=" + Codecs.provider().name() + " panama=" + (Codecs.panamaOrNull() != null)
                + " vectorLoaded=" + (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) + " half=");
        for (short s : half) {
            sb.append(String.format("%04x,", s & 0xFFFF));
        }
        sb.append(" back=").append(back[0]).append(',').append(back[4]).append(" bf=").append(String.format("%04x", bf[0] & 0xFFFF));
        System.out.println(sb);
    }

    @Test
    void fallsBackToTheScalarCodecs() throws IOException, InterruptedException {
        // The child starts from java.class.path, which the module-path run leaves the modules off
        // (it runs this test only when named with -Dtest).
        assumeTrue(System.getProperty("adamant.expectModulePath") == null, "not in the module-path run");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
                WithoutVectorModuleTest.class.getName())).redirectErrorStream(true).start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, child.exitValue(), out);
        assertTrue(out.contains("codecs=scalar panama=false vectorLoaded=false half=3c00,7c00,8000,0000,4248, back=1.0,3.140625 bf=3f80"), out);
        assertTrue(out.contains("--add-modules jdk.incubator.vector"), "the fallback log says what to do: " + out);
    }
}
