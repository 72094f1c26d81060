package dev.adamant.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's checkpoint and backend options: a bad combination exits with 2 and says what is wrong (child JVMs). */
class DemoOptionsTest {
    private static String refused(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                Demo.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), output);
        assertEquals(2, p.exitValue(), output);
        return output;
    }

    @Test
    void saveEveryNeedsSave() throws Exception {
        String out = refused("--part", "zero", "--save-every", "10");
        assertTrue(out.contains("demo: --save-every: needs --save DIR"), out);
    }

    @Test
    void resumeNeedsACheckpoint(@TempDir Path empty) throws Exception {
        String out = refused("--part", "zero", "--resume", empty.toString());
        assertTrue(out.contains("demo: --resume: no checkpoint in " + empty), out);
    }

    @Test
    void theStatesAreFp32Or8bit() throws Exception {
        String out = refused("--part", "zero", "--states", "4bit");
        assertTrue(out.contains("demo: --states: expected fp32 or 8bit, got \"4bit\""), out);
        assertTrue(out.contains("--states S       Adam's state: fp32 (default) or 8bit"), out);
    }

    @Test
    void theBackendIsThreadsOrMpiAndMpiRunsTheZeroPartOnly() throws Exception {
        String out = refused("--backend", "nccl");
        assertTrue(out.contains("demo: --backend: expected threads or mpi, got \"nccl\""), out);
        out = refused("--backend", "mpi", "--part", "kernels");
        assertTrue(out.contains("demo: --backend mpi runs the zero part only, got --part kernels"), out);
    }
}
