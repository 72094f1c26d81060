package dev.adamant.zero.comm.mpi;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * One {@code mpirun} of {@link MpiRankMain} for the multi-process tests: the JVM command each rank
 * runs, Open MPI's permission to run as root (CI containers are root), the output in a file that a
 * test may watch while the job runs, and a hard limit after which the job and its processes are
 * killed and the test fails as a hang.
 */
final class MpiJob implements AutoCloseable {
    /** What one {@code mpirun} did. */
    record Result(int exitCode, String output, double seconds) {}

    private final Process process;
    private final Path log;
    private final long start;
    private final String what;

    private MpiJob(Process process, Path log, long start, String what) {
        this.process = process;
        this.log = log;
        this.start = start;
        this.what = what;
    }

    /**
     * The reason this machine cannot run the multi-process tests (Open MPI's library or {@code mpirun}
     * missing), which skips them, or fails them where {@code ADAMANT_REQUIRE_MPI=1} (as {@code .ci/run}
     * sets it).
     */
    static Path requireMpirun() {
        Path mpirun = onPath("mpirun");
        String why = MpiCommunicator.unavailableReason()
                .orElse(mpirun == null ? "mpirun is not on the PATH (apt-get install openmpi-bin)" : null);
        if (why != null) {
            if ("1".equals(System.getenv("ADAMANT_REQUIRE_MPI"))) {
                fail("ADAMANT_REQUIRE_MPI=1 but MPI cannot run here: " + why);
            }
            Assumptions.abort("skipping the multi-process MPI tests: " + why);
        }
        return mpirun;
    }

    static Path onPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /**
     * Starts {@code mpirun [options] -np ranks java ... MpiRankMain args...}; the JVM runs this
     * test's class path and kernels ({@code adamant.kernels}).
     */
    static MpiJob start(Path mpirun, List<String> options, int ranks, String... args) throws IOException {
        return start(List.of(), mpirun, options, ranks, args);
    }

    /** As above, {@code mpirun} run through {@code prefix} (say, {@code ip netns exec NS}). */
    static MpiJob start(List<String> prefix, Path mpirun, List<String> options, int ranks, String... args)
            throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(prefix);
        command.add(mpirun.toString());
        command.addAll(options);
        command.addAll(List.of("-np", String.valueOf(ranks),
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
        return new MpiJob(pb.start(), log, System.nanoTime(), "mpirun " + String.join(" ", args) + " on " + ranks + " ranks");
    }

    /** {@code mpirun --oversubscribe -np ranks ...} on this host, waited for up to {@code limit}. */
    static Result run(Path mpirun, int ranks, Duration limit, String... args) throws IOException, InterruptedException {
        try (MpiJob job = start(mpirun, List.of("--oversubscribe"), ranks, args)) {
            return job.await(limit);
        }
    }

    /** The output so far. */
    String output() throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }

    /** Waits until the output contains {@code text}, the job ends, or {@code limit} passes; true if it appeared. */
    boolean awaitOutput(String text, Duration limit) throws IOException, InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < end) {
            if (output().contains(text)) {
                return true;
            }
            if (!process.isAlive()) {
                return output().contains(text);
            }
            Thread.sleep(50);
        }
        return false;
    }

    /** Waits for the job to end; past {@code limit} kills it and fails the test as a hang. */
    Result await(Duration limit) throws IOException, InterruptedException {
        boolean done = process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (!done) {
            String output = output();
            close();
            fail(what + " did not finish in " + limit + " (a hang); its output:\n" + output);
        }
        return new Result(process.exitValue(), output(), seconds);
    }

    /** Kills the job and its processes (if still running) and removes the output file. */
    @Override
    public void close() throws IOException {
        if (process.isAlive()) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!process.isAlive()) {
            Files.deleteIfExists(log);
        }
    }
}
