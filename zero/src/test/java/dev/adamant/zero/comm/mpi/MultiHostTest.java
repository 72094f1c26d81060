package dev.adamant.zero.comm.mpi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MPI backend across (simulated) hosts: each test makes network namespaces on a bridge
 * ({@link SimulatedHosts}) and runs {@code mpirun} over them, MPI's traffic on TCP over the veth
 * links. ZeRO stages 0-3 in fp16 and bf16 give the in-process run's bits on 2 and 4 hosts and on
 * 2 hosts of 2 ranks (shared memory inside a host), and their traffic crossed the links; a
 * checkpoint saved on 4 hosts resumes on 2; a host whose link goes down ends the job promptly with
 * the collective named. Skipped (with the reason) where namespaces or MPI are not available, unless
 * {@code ADAMANT_REQUIRE_NETNS=1} / {@code ADAMANT_REQUIRE_MPI=1} (as {@code .ci/run} sets them).
 */
class MultiHostTest {
    private static Path mpirun;

    @BeforeAll
    static void findMpiAndNamespaces() {
        mpirun = MpiJob.requireMpirun();
        SimulatedHosts.require();
    }

    private static final Pattern SENT = Pattern.compile("rank (\\d+): sent (\\d+) bytes");

    /**
     * Every stage in fp16 and bf16 on {@code hosts} hosts of {@code perHost} ranks: rank 0 requires
     * the in-process run's bits (MpiRankMain's {@code zero-all}), and each host's link carried at
     * least the data its ranks sent to other hosts (all of a rank's sends go to the other ranks in
     * equal shares, so a host of {@code perHost} ranks sends {@code (N - perHost)/(N - 1)} of them
     * off the host; TCP's headers come on top).
     */
    private static void everyStageOverTheLinks(int hosts, int perHost) throws Exception {
        int n = hosts * perHost;
        try (SimulatedHosts h = SimulatedHosts.create(hosts, perHost)) {
            long[] before = new long[hosts];
            for (int i = 0; i < hosts; i++) {
                before[i] = h.bytesSent(i + 1);
            }
            MpiJob.Result job;
            try (MpiJob j = MpiJob.start(h.launcher(), mpirun, h.mpirunOptions(perHost > 1), n, "zero-all")) {
                job = j.await(Duration.ofMinutes(4));
            }
            assertEquals(0, job.exitCode(), h + ": mpirun exited with " + job.exitCode() + "; output:\n" + job.output());
            for (int r = 0; r < n; r++) {
                assertTrue(job.output().contains("rank " + r + ": OK zero-all"), "rank " + r + ":\n" + job.output());
            }
            for (String stage : new String[] {"DATA_PARALLEL", "OPTIMIZER_STATE", "GRADIENTS", "PARAMETERS"}) {
                for (String precision : new String[] {"FP16", "BF16"}) {
                    String line = "Case[stage=" + stage + ", precision=" + precision + "] on " + n + " ranks bit-identical";
                    assertTrue(job.output().contains(line), "missing: " + line + "\n" + job.output());
                }
            }
            long[] sent = new long[n];
            Matcher m = SENT.matcher(job.output());
            while (m.find()) {
                sent[Integer.parseInt(m.group(1))] = Long.parseLong(m.group(2));
            }
            for (int i = 0; i < hosts; i++) {
                long offHost = 0;
                for (int r = i * perHost; r < (i + 1) * perHost; r++) {   // mpirun fills a host's slots in rank order
                    assertTrue(sent[r] > 0, "rank " + r + " reported no traffic:\n" + job.output());
                    offHost += sent[r] * (n - perHost) / (n - 1);
                }
                long link = h.bytesSent(i + 1) - before[i];
                assertTrue(link >= offHost, "host " + (i + 1) + "'s link carried " + link + " bytes, its ranks sent "
                        + offHost + " to other hosts");
            }
        }
    }

    @Test
    void everyStageOnTwoHostsIsBitIdenticalToThreadsOverTcp() throws Exception {
        everyStageOverTheLinks(2, 1);
    }

    @Test
    void everyStageOnFourHostsIsBitIdenticalToThreadsOverTcp() throws Exception {
        everyStageOverTheLinks(4, 1);
    }

    @Test
    void everyStageOnTwoHostsOfTwoRanksIsBitIdenticalToThreads() throws Exception {
        everyStageOverTheLinks(2, 2);
    }

    /** Saved by 4 hosts, resumed by 2: the same bits as saving on 4 threads and resuming on 2 in process. */
    @Test
    void aCheckpointSavedOnFourHostsResumesOnTwo(@TempDir Path tmp) throws Exception {
        Path folder = tmp.resolve("ckpt");
        try (SimulatedHosts four = SimulatedHosts.create(4, 1);
             MpiJob save = MpiJob.start(four.launcher(), mpirun, four.mpirunOptions(false), 4, "ckpt-save", "60", folder.toString())) {
            MpiJob.Result job = save.await(Duration.ofMinutes(3));
            assertEquals(0, job.exitCode(), job.output());
            assertTrue(job.output().contains("rank 3: saved after 6 steps on 4 ranks"), job.output());
        }
        try (SimulatedHosts two = SimulatedHosts.create(2, 1);
             MpiJob resume = MpiJob.start(two.launcher(), mpirun, two.mpirunOptions(false), 2, "ckpt-resume", "60", folder.toString(),
                     "4")) {
            MpiJob.Result job = resume.await(Duration.ofMinutes(3));
            assertEquals(0, job.exitCode(), job.output());
            assertTrue(job.output().contains("rank 0: saved by 4 ranks, resumed on 2 ranks, bit-identical to threads"),
                    job.output());
        }
    }

    /**
     * Host 2's link goes down after 3 steps: rank 0 waits out its collective timeout (3 s) and aborts
     * the job with the collective named; {@code mpirun}, which cannot reach host 2's daemon to stop
     * it, gives up on that daemon when its TCP does (the namespaces' 5 retransmissions, about 13 s)
     * and exits. All within 30 s of the link going down, not a hang.
     */
    @Test
    void aHostWhoseLinkGoesDownEndsTheJobPromptlyNamingTheCollective() throws Exception {
        try (SimulatedHosts h = SimulatedHosts.create(2, 1);
             MpiJob job = MpiJob.start(h.launcher(), mpirun, h.mpirunOptions(false), 2, "train", "3")) {
            assertTrue(job.awaitOutput("rank 1: failing now (3 steps done)", Duration.ofMinutes(2)), job.output());
            long down = System.nanoTime();
            h.linkDown(2);
            MpiJob.Result result = job.await(Duration.ofMinutes(2));
            double seconds = (System.nanoTime() - down) / 1e9;
            assertNotEquals(0, result.exitCode(), result.output());
            Matcher m = Pattern.compile("rank 0 of 2 failed, aborting the job \\(MPI_Abort\\): \\S*CollectiveTimeoutException:"
                    + " rank 0 of 2: (allGather|reduceScatter|allReduce|anyTrue|allGatherDoubles|barrier)\\(.*\\) #\\d+"
                    + " did not complete within PT3S").matcher(result.output());
            assertTrue(m.find(), "no timeout naming the collective:\n" + result.output());
            assertTrue(seconds < 30, "the job ended " + seconds + " s after the link went down:\n" + result.output());
            System.out.printf(java.util.Locale.ROOT, "MultiHostTest: host 2's link down; the job ended %.1f s later, exit %d, %s%n",
                    seconds, result.exitCode(), m.group(0).substring(m.group(0).indexOf("rank 0 of 2: ")));
        }
    }
}
