package dev.adamant.zero.comm.mpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MPI backend across real processes: each test starts {@code mpirun} with 2 or 4 ranks of
 * {@link MpiRankMain} (JVMs on loopback, oversubscribed on small machines) and reads their exit status
 * and output. Where Open MPI is not installed the tests skip and say why, unless the environment sets
 * {@code ADAMANT_REQUIRE_MPI=1} (as {@code .ci/run} does): then a missing MPI fails them.
 */
class MpiCommunicatorTest {
    private static Path mpirun;

    @BeforeAll
    static void findMpi() {
        Optional<String> problem = MpiCommunicator.unavailableReason();
        mpirun = onPath("mpirun");
        String why = problem.orElse(mpirun == null ? "mpirun is not on the PATH (apt-get install openmpi-bin)" : null);
        if (why != null) {
            if ("1".equals(System.getenv("ADAMANT_REQUIRE_MPI"))) {
                fail("ADAMANT_REQUIRE_MPI=1 but MPI cannot run here: " + why);
            }
            Assumptions.abort("skipping the multi-process MPI tests: " + why);
        }
    }

    private static Path onPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** What one {@code mpirun} did. */
    record Job(int exitCode, String output, double seconds) {}

    static Job mpirun(int ranks, Duration limit, String... args) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(mpirun.toString(), "--oversubscribe", "-np", String.valueOf(ranks),
                java.toString(), "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseSerialGC", "-Xmx384m",
                "-Dadamant.kernels=" + System.getProperty("adamant.kernels", "auto"),
                "-cp", System.getProperty("java.class.path"), MpiRankMain.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        // Open MPI refuses to run as root unless told twice; CI containers run as root.
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT", "1");
        pb.environment().put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
        Path log = Files.createTempFile("adamant-mpi", ".log");
        pb.redirectOutput(log.toFile());
        long start = System.nanoTime();
        Process p = pb.start();
        boolean done = p.waitFor(limit.toSeconds(), TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.deleteIfExists(log);
        if (!done) {
            fail("mpirun " + String.join(" ", args) + " on " + ranks + " ranks did not finish in " + limit
                    + " (a hang); its output:\n" + output);
        }
        return new Job(p.exitValue(), output, seconds);
    }

    private static void assertSucceeded(Job job, int ranks, String scenario) {
        assertEquals(0, job.exitCode(), "mpirun exited with " + job.exitCode() + "; output:\n" + job.output());
        for (int r = 0; r < ranks; r++) {
            assertTrue(job.output().contains("rank " + r + ": OK " + scenario), "rank " + r + " did not report OK:\n"
                    + job.output());
        }
    }

    @Test
    void everyCollectiveMatchesTheSerialComputationOnTwoRanks() throws Exception {
        assertSucceeded(mpirun(2, Duration.ofMinutes(3), "collectives"), 2, "collectives");
    }

    @Test
    void everyCollectiveMatchesTheSerialComputationOnFourRanks() throws Exception {
        assertSucceeded(mpirun(4, Duration.ofMinutes(3), "collectives"), 4, "collectives");
    }

    @Test
    void zeroStagesOverMpiAreBitIdenticalToThreadsOnTwoRanks() throws Exception {
        Job job = mpirun(2, Duration.ofMinutes(3), "zero");
        assertSucceeded(job, 2, "zero");
        assertTrue(job.output().contains("PARAMETERS, precision=BF16] on 2 ranks bit-identical"), job.output());
    }

    @Test
    void zeroStagesOverMpiAreBitIdenticalToThreadsOnFourRanks() throws Exception {
        Job job = mpirun(4, Duration.ofMinutes(4), "zero");
        assertSucceeded(job, 4, "zero");
        assertTrue(job.output().contains("PARAMETERS, precision=BF16] on 4 ranks bit-identical"), job.output());
    }

    @Test
    void checkpointsSavedByProcessesResumeBitIdenticallyAndRestoreOnThreads(@TempDir Path tmp) throws Exception {
        Job job = mpirun(2, Duration.ofMinutes(3), "checkpoint", "60", tmp.resolve("ckpt").toString());
        assertSucceeded(job, 2, "checkpoint");
        assertTrue(job.output().contains("saved by 2 processes, resumed bit-identically, restored on 3 threads"),
                job.output());
    }

    @Test
    void badInputIsRefusedAndMismatchedSizesAreCaughtOnEveryRank() throws Exception {
        Job job = mpirun(2, Duration.ofMinutes(2), "bad-input");
        assertSucceeded(job, 2, "bad-input");
        assertTrue(job.output().contains("rank 0: mismatch refused") && job.output().contains("rank 1: mismatch refused"),
                job.output());
    }

    @Test
    void aRankThatThrowsEndsTheJobPromptly() throws Exception {
        Job job = mpirun(3, Duration.ofMinutes(2), "throw");
        assertNotEquals(0, job.exitCode(), job.output());
        assertTrue(job.output().contains("rank 2 of 3 failed, aborting the job (MPI_Abort)")
                && job.output().contains("injected failure on rank 2"), job.output());
        assertTrue(!job.output().contains(": OK throw"), job.output());
        assertTrue(job.seconds() < 60, "took " + job.seconds() + " s");
    }

    @Test
    void aRankThatDiesEndsTheJobPromptly() throws Exception {
        Job job = mpirun(2, Duration.ofMinutes(2), "halt");
        assertNotEquals(0, job.exitCode(), job.output());
        assertTrue(job.output().contains("rank 1: failing now"), job.output());
        assertTrue(!job.output().contains(": OK halt"), job.output());
        assertTrue(job.seconds() < 60, "took " + job.seconds() + " s");
    }

    @Test
    void aRankThatStopsAnsweringTimesTheOthersOut() throws Exception {
        Job job = mpirun(2, Duration.ofMinutes(2), "stuck", "3");
        assertNotEquals(0, job.exitCode(), job.output());
        assertTrue(job.output().contains("rank 0 of 2 failed, aborting the job (MPI_Abort)")
                && job.output().contains("did not complete within PT3S"), job.output());
        assertTrue(job.seconds() < 60, "took " + job.seconds() + " s");
    }
}
