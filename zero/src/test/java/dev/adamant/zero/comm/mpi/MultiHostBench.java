package dev.adamant.zero.comm.mpi;

import dev.adamant.core.AdamConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.zero.SyntheticModel;
import dev.adamant.zero.ZeroConfig;
import dev.adamant.zero.ZeroPlanner;
import dev.adamant.zero.ZeroStage;
import dev.adamant.zero.partition.FlatLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Issue 16's measurements over simulated hosts (root only; {@code bench/multihost-measure.sh} runs
 * it): for 2 and 4 hosts of one rank, links shaped to 1, 2 and 5 Gbit/s, each ZeRO stage's
 * communication time per step (the time a rank's steps spend inside collectives, median of the
 * steps after two) next to {@link ZeroPlanner}'s prediction for the same layout and link; stage 3
 * with prefetch beside it (step time, which prefetch is for); and a 64 MiB reduce-scatter +
 * all-gather on 2 hosts at 1 Gbit/s as a fraction of the link rate. Not a test: timings.
 *
 * <p>Options: {@code --hosts 2,4 --gbps 1,2,5 --widths 1024,1024,1024,1024,1024 --steps 8
 * --latency-us 50 --rsag-mib 64}.
 */
public final class MultiHostBench {
    private MultiHostBench() {}

    private static final Pattern MEASURED = Pattern.compile(
            "rank (\\d+): measured stage (\\d) (\\w+) prefetch (\\w+): comm ([0-9.]+) ms, step ([0-9.]+) ms, (\\d+) bytes sent a"
                    + " step, (\\d+) skipped");
    private static final Pattern RSAG = Pattern.compile("rank 0: rsag (\\d+) MiB: median ([0-9.]+) ms over (\\d+), (\\d+) bytes sent");

    public static void main(String[] args) throws Exception {
        int[] hostCounts = {2, 4};
        double[] rates = {1, 2, 5};
        String widths = "1024,1024,1024,1024,1024";
        int steps = 8, rsagMib = 64;
        double latencyUs = 50;
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--hosts" -> hostCounts = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
                case "--gbps" -> rates = Arrays.stream(v.split(",")).mapToDouble(Double::parseDouble).toArray();
                case "--widths" -> widths = v;
                case "--steps" -> steps = Integer.parseInt(v);
                case "--latency-us" -> latencyUs = Double.parseDouble(v);
                case "--rsag-mib" -> rsagMib = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path mpirun = MpiJob.onPath("mpirun");
        if (mpirun == null || SimulatedHosts.unavailableReason().isPresent()) {
            throw new IllegalStateException("needs mpirun and root (network namespaces): "
                    + SimulatedHosts.unavailableReason().orElse("mpirun is not on the PATH"));
        }
        long[] sizes = SyntheticModel.mlpSizes(Arrays.stream(widths.split(",")).mapToInt(Integer::parseInt).toArray());
        System.out.printf(Locale.ROOT, "MLP %s: %d parameters in %d tensors, BF16, fp32 Adam states, %d steps (median of"
                + " the last %d), planner latency %.0f us a message, pieces of %d elements%n", widths,
                Arrays.stream(sizes).sum(), sizes.length, steps, steps - 2, latencyUs,
                MpiCommunicator.Settings.DEFAULT_PIECE_ELEMENTS);
        System.out.println("hosts Gbit/s stage | comm ms measured  planner  measured/planner | step ms | MB sent/step");
        List<String> rsag = new ArrayList<>();
        for (int hosts : hostCounts) {
            for (double gbps : rates) {
                try (SimulatedHosts h = SimulatedHosts.create(hosts, 1)) {
                    h.shape(gbps);
                    ZeroPlanner.Link link = ZeroPlanner.Link.ofGbps(gbps, latencyUs);
                    FlatLayout layout = FlatLayout.of(SyntheticModel.named(sizes), hosts);
                    for (int stage = 0; stage <= 3; stage++) {
                        for (boolean prefetch : stage == 3 ? new boolean[] {false, true} : new boolean[] {false}) {
                            Measured r = Measured.of(run(mpirun, h, hosts, "measure", "120", String.valueOf(stage), "BF16",
                                    String.valueOf(steps), prefetch ? "1" : "0", widths), hosts);
                            ZeroConfig config = ZeroConfig.builder().stage(ZeroStage.of(stage)).precision(Precision.BF16)
                                    .optimizer(AdamConfig.adamW()).prefetch(prefetch).build();
                            double planned = ZeroPlanner.plan(layout, config, link,
                                    MpiCommunicator.Settings.DEFAULT_PIECE_ELEMENTS).commSecondsPerStep() * 1e3;
                            System.out.printf(Locale.ROOT, "%5d %7.0f %5s | %13.1f %8.1f %10.2f | %7.1f | %6.2f%n", hosts,
                                    gbps, stage + (prefetch ? "+pf" : ""), r.commMs(), planned, r.commMs() / planned,
                                    r.stepMs(), r.sentPerStep() / 1e6);
                        }
                    }
                    if (hosts == 2 && gbps == 1) {
                        String line = run(mpirun, h, hosts, "rsag", "120", String.valueOf(rsagMib), "5");
                        Matcher m = RSAG.matcher(line);
                        if (!m.find()) {
                            throw new IllegalStateException("no result:\n" + line);
                        }
                        {
                            double ms = Double.parseDouble(m.group(2));
                            long bytes = Long.parseLong(m.group(4));
                            double rate = bytes / (ms / 1e3);
                            rsag.add(String.format(Locale.ROOT, "reduce-scatter + all-gather of %s MiB on 2 hosts at 1 Gbit/s:"
                                    + " %.1f ms, %d bytes sent a rank, %.1f MB/s = %.1f%% of the link (125 MB/s)",
                                    m.group(1), ms, bytes, rate / 1e6, 100 * rate / 125e6));
                        }
                    }
                }
            }
        }
        rsag.forEach(System.out::println);
        // Shared memory (one host, 2 ranks, Open MPI's vader): no link to model; the bandwidth that would explain it.
        System.out.println("shared memory, 2 ranks on this host | comm ms | step ms | MB sent/step | GB/s the planner would need");
        for (int stage = 0; stage <= 3; stage++) {
            Measured r;
            try (MpiJob job = MpiJob.start(mpirun, List.of("--oversubscribe", "-x", "ADAMANT_MPI_PARK=1"), 2, "measure",
                    "120", String.valueOf(stage), "BF16", String.valueOf(steps), "0", widths)) {
                r = Measured.of(job.await(Duration.ofMinutes(5)).output(), 2);
            }
            System.out.printf(Locale.ROOT, "  stage %d                              | %7.1f | %7.1f | %12.2f | %6.2f%n", stage,
                    r.commMs(), r.stepMs(), r.sentPerStep() / 1e6, r.sentPerStep() / (r.commMs() / 1e3) / 1e9);
        }
    }

    /** A {@code measure} job's result: the slowest rank's medians (the step waits for it) and the bytes a step sent. */
    private record Measured(double commMs, double stepMs, long sentPerStep) {
        static Measured of(String output, int ranks) {
            Matcher m = MEASURED.matcher(output);
            double comm = 0, step = 0;
            long sent = 0;
            int found = 0;
            while (m.find()) {
                comm = Math.max(comm, Double.parseDouble(m.group(5)));
                step = Math.max(step, Double.parseDouble(m.group(6)));
                sent = Math.max(sent, Long.parseLong(m.group(7)));
                found++;
            }
            if (found != ranks) {
                throw new IllegalStateException(found + " of " + ranks + " ranks reported:\n" + output);
            }
            return new Measured(comm, step, sent);
        }
    }

    private static String run(Path mpirun, SimulatedHosts h, int ranks, String... args) throws Exception {
        try (MpiJob job = MpiJob.start(h.launcher(), mpirun, h.mpirunOptions(false), ranks, args)) {
            MpiJob.Result r = job.await(Duration.ofMinutes(5));
            if (r.exitCode() != 0) {
                throw new IllegalStateException(String.join(" ", args) + " failed:\n" + r.output());
            }
            return r.output();
        }
    }
}
