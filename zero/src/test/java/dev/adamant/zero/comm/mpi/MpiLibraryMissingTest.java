package dev.adamant.zero.comm.mpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.zero.comm.MpiException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Without the MPI library (a child JVM told to load one that does not exist): the reason says how to
 * install it, and {@link MpiCommunicator#world()} refuses with it. Runs whether or not MPI is installed.
 */
class MpiLibraryMissingTest {
    @Test
    void aMissingLibraryIsRefusedWithHowToInstallIt() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "-D" + Mpi.LIBRARY_PROPERTY + "=libadamant-no-such-mpi.so.40", "-cp", System.getProperty("java.class.path"),
                MissingMpiMain.class.getName()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("unavailable: cannot load the MPI library libadamant-no-such-mpi.so.40")
                && output.contains("apt-get install openmpi-bin"), output);
        assertTrue(output.contains("world() threw MpiException (error code -1): cannot load the MPI library"), output);
    }

    /** Run in a child JVM whose MPI library name points nowhere. */
    public static final class MissingMpiMain {
        public static void main(String[] args) {
            System.out.println("unavailable: " + MpiCommunicator.unavailableReason().orElse("(nothing)"));
            try {
                MpiCommunicator.world();
                System.out.println("world() returned");
            } catch (MpiException e) {
                System.out.println("world() threw MpiException (error code " + e.errorCode() + "): " + e.getMessage());
            }
        }
    }

}
