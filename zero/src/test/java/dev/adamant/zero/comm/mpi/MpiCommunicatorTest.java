package dev.adamant.zero.comm.mpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
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
        mpirun = MpiJob.requireMpirun();
    }

    static MpiJob.Result mpirun(int ranks, Duration limit, String... args) throws IOException, InterruptedException {
        return MpiJob.run(mpirun, ranks, limit, args);
    }

    private static void assertSucceeded(MpiJob.Result job, int ranks, String scenario) {
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
        MpiJob.Result job = mpirun(2, Duration.ofMinutes(3), "zero");
        assertSucceeded(job, 2, "zero");
        assertTrue(job.output().contains("PARAMETERS, precision=BF16] on 2 ranks bit-identical"), job.output());
    }

    @Test
    void zeroStagesOverMpiAreBitIdenticalToThreadsOnFourRanks() throws Exception {
        MpiJob.Result job = mpirun(4, Duration.ofMinutes(4), "zero");
        assertSucceeded(job, 4, "zero");
        assertTrue(job.output().contains("PARAMETERS, precision=BF16] on 4 ranks bit-identical"), job.output());
    }

    @Test
    void checkpointsSavedByProcessesResumeBitIdenticallyAndRestoreOnThreads(@TempDir Path tmp) throws Exception {
        MpiJob.Result job = mpirun(2, Duration.ofMinutes(3), "checkpoint", "60", tmp.resolve("ckpt").toString());
        assertSucceeded(job, 2, "checkpoint");
        assertTrue(job.output().contains("saved by 2 processes, resumed bit-identically, restored on 3 threads"),
                job.output());
    }

    @Test
    void badInputIsRefusedAndMismatchedSizesAreCaughtOnEveryRank() throws Exception {
        MpiJob.Result job = mpirun(2, Duration.ofMinutes(2), "bad-input");
        assertSucceeded(job, 2, "bad-input");
        assertTrue(job.output().contains("rank 0: mismatch refused") && job.output().contains("rank 1: mismatch refused"),
                job.output());
    }

    @Test
    void aRankThatThrowsEndsTheJobPromptly() throws Exception {
        MpiJob.Result job = mpirun(3, Duration.ofMinutes(2), "throw");
        assertNotEquals(0, job.exitCode(), job.output());
        assertTrue(job.output().contains("rank 2 of 3 failed, aborting the job (MPI_Abort)")
                && job.output().contains("injected failure on rank 2"), job.output());
        assertTrue(!job.output().contains(": OK throw"), job.output());
        assertTrue(job.seconds() < 60, "took " + job.seconds() + " s");
    }

    @Test
    void aRankThatDiesEndsTheJobPromptly() throws Exception {
        MpiJob.Result job = mpirun(2, Duration.ofMinutes(2), "halt");
        assertNotEquals(0, job.exitCode(), job.output());
        assertTrue(job.output().contains("rank 1: failing now"), job.output());
        assertTrue(!job.output().contains(": OK halt"), job.output());
        assertTrue(job.seconds() < 60, "took " + job.seconds() + " s");
    }

    @Test
    void aRankThatStopsAnsweringTimesTheOthersOut() throws Exception {
        MpiJob.Result job = mpirun(2, Duration.ofMinutes(2), "stuck", "3");
        assertNotEquals(0, job.exitCode(), job.output());
        assertTrue(job.output().contains("rank 0 of 2 failed, aborting the job (MPI_Abort)")
                && job.output().contains("did not complete within PT3S"), job.output());
        assertTrue(job.seconds() < 60, "took " + job.seconds() + " s");
    }
}
