package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.StateFormat;
import dev.adamant.examples.Mlp;
import dev.adamant.examples.ZeroTraining;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.MemoryLedger.Purpose;
import dev.adamant.zero.MemoryPlan;
import dev.adamant.zero.StepResult;
import dev.adamant.zero.ZeroCheckpoint;
import dev.adamant.zero.ZeroConfig;
import dev.adamant.zero.ZeroDevice;
import dev.adamant.zero.ZeroPlanner;
import dev.adamant.zero.ZeroRun;
import dev.adamant.zero.ZeroStage;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.comm.mpi.MpiCommunicator;
import dev.adamant.zero.partition.FlatLayout;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.imageio.ImageIO;

/**
 * The demo's ZeRO part: N devices (threads) train a small MLP to match a fixed random teacher with
 * mixed precision, dynamic loss scaling and the chosen stage; a progress bar with the loss and the
 * loss scale, then each device's memory by purpose next to the ZeRO formula, its communication next
 * to the volume formula, and the step time. Optionally a PNG with the loss curve and the memory per
 * device for stages 0-3.
 */
final class ZeroDemo {
    private ZeroDemo() {}

    /**
     * The ZeRO part's options.
     *
     * @param mpi whether the devices are the processes of an MPI job (one rank each) rather than threads
     * @param devicesGiven whether {@code devices} came from the command line (with MPI it must then
     *     match the number of processes)
     */
    record Options(int stage, int devices, Precision precision, StateFormat states, int steps, int width, int microBatch,
                   double lr, long seed, Path png, boolean mpi, boolean devicesGiven, ZeroRun.Checkpointing checkpoints) {
        Options withDevices(int n) {
            return new Options(stage, n, precision, states, steps, width, microBatch, lr, seed, png, mpi, devicesGiven,
                    checkpoints);
        }

        Options withStates(StateFormat f) {
            return new Options(stage, devices, precision, f, steps, width, microBatch, lr, seed, png, mpi, devicesGiven,
                    checkpoints);
        }

        /** The step the checkpoint it resumes from was saved at, or 0. */
        long resumedAt() {
            return checkpoints.resume() == null ? 0 : ZeroCheckpoint.inspect(checkpoints.resume()).iterations();
        }
    }

    static void run(Options o, PrintStream out) {
        if (o.mpi()) {
            runMpi(o, out);
            return;
        }
        header(o, out, "threads");
        ZeroRun.Result result = ZeroTraining.run(trainingOptions(o), o.checkpoints(), progress(o, out));
        out.println();
        report(o, out, result.history(), result.ledgers(), result.traffic().get(0), result.secondsPerStep(),
                result.layout());
    }

    /**
     * One rank of {@code mpirun -np N ... Demo --backend mpi}: the same training with this process as
     * device {@code rank}; rank 0 prints the progress and the tables, the others print nothing (their
     * logs too are held back to warnings), and each rank's memory comes to rank 0 for the table.
     */
    private static void runMpi(Options given, PrintStream out) {
        long start = System.nanoTime();
        MpiCommunicator.runRank(MpiCommunicator.Settings.defaults(), comm -> {
            boolean root = comm.rank() == 0;
            if (given.devicesGiven() && given.devices() != comm.size()) {
                if (root) {
                    System.err.println("demo: --devices " + given.devices() + " but mpirun started " + comm.size()
                            + " processes: leave --devices out under MPI, or run mpirun -np " + given.devices());
                }
                comm.abort(2);
            }
            if (!root) {
                Logger.getLogger("").setLevel(Level.WARNING);
            }
            Options o = given.withDevices(comm.size());
            PrintStream sink = root ? out : new PrintStream(OutputStream.nullOutputStream());
            header(o, sink, "processes, over MPI: " + MpiCommunicator.libraryVersion());
            ZeroRun.RankResult mine = ZeroTraining.runRank(trainingOptions(o), o.checkpoints(), comm,
                    root ? progress(o, out) : r -> { });
            Purpose[] purposes = Purpose.values();
            double[] mineBytes = new double[purposes.length];
            for (Purpose p : purposes) {
                mineBytes[p.ordinal()] = mine.ledger().getOrDefault(p, 0L);
            }
            double[] all = comm.allGatherDoubles(mineBytes);
            if (root) {
                out.println();
                List<Map<Purpose, Long>> ledgers = new ArrayList<>();
                for (int r = 0; r < comm.size(); r++) {
                    Map<Purpose, Long> l = new EnumMap<>(Purpose.class);
                    for (Purpose p : purposes) {
                        l.put(p, (long) all[r * purposes.length + p.ordinal()]);
                    }
                    ledgers.add(l);
                }
                report(o, out, mine.history(), ledgers, mine.traffic(), mine.secondsPerStep(), mine.layout());
                out.printf(Locale.ROOT, "%ndone in %.1f s%n", (System.nanoTime() - start) / 1e9);
                out.flush();
            }
        });
    }

    private static ZeroTraining.Options trainingOptions(Options o) {
        return new ZeroTraining.Options(o.devices(), config(o, ZeroStage.of(o.stage())), widths(o), o.microBatch(),
                o.steps(), o.seed(), Duration.ofMinutes(2));
    }

    private static int[] widths(Options o) {
        return new int[] {32, o.width(), o.width(), 8};
    }

    private static void header(Options o, PrintStream out, String devices) {
        out.printf(Locale.ROOT, "%nZeRO stage %d on %d devices (%s): MLP %s, %s parameters and gradients,"
                        + " AdamW%s, dynamic loss scaling; %d examples a step (%d per device)%n", o.stage(), o.devices(),
                devices, java.util.Arrays.toString(widths(o)), o.precision(),
                o.states().isBlockwise8() ? " with 8-bit states (layers of 4096+)" : "", o.devices() * o.microBatch(),
                o.microBatch());
    }

    /** Prints the progress bar and the loss-scale changes as steps complete. */
    private static Consumer<StepResult> progress(Options o, PrintStream out) {
        List<StepResult> seen = new ArrayList<>();
        float[] first = {Float.NaN};
        long resumedAt = o.resumedAt();
        int total = (int) (o.steps() - resumedAt);
        if (resumedAt > 0) {
            out.printf(Locale.ROOT, "  resuming from %s (step %d of %d)%n",
                    ZeroCheckpoint.latest(o.checkpoints().resume()).orElseThrow(), resumedAt, o.steps());
        }
        return r -> {
            seen.add(r);
            if (Float.isNaN(first[0])) {
                first[0] = r.loss();
            }
            if (r.scale() != r.nextScale()) {
                out.printf(Locale.ROOT, "\r  step %4d: %s, loss scale %.0f -> %.0f%s%n", seen.size() + resumedAt,
                        r.skipped() ? "overflow, step skipped" : "no overflow for a while", r.scale(), r.nextScale(),
                        " ".repeat(30));
            }
            if (seen.size() % 5 == 0 || seen.size() == total) {
                int done = seen.size() * 30 / total;
                out.printf(Locale.ROOT, "\r  [%s%s] %4d/%d  loss %.5f (start %.5f)  scale %.0f ", "#".repeat(done),
                        ".".repeat(30 - done), seen.size() + resumedAt, o.steps(), r.loss(), first[0], r.nextScale());
                out.flush();
            }
        };
    }

    /** The end-of-run tables: loss, memory per device by purpose next to the formula, traffic, step time. */
    private static void report(Options o, PrintStream out, List<StepResult> history, List<Map<Purpose, Long>> ledgers,
                               CommStats c, double secondsPerStep, FlatLayout layout) {
        float first = history.get(0).loss();
        float last = history.get(history.size() - 1).loss();
        long skipped = history.stream().filter(StepResult::skipped).count();
        out.printf(Locale.ROOT, "  loss %.5f -> %.5f (%.1fx lower), %d of %d steps skipped for overflow, %.2f ms a step%n",
                first, last, first / last, skipped, history.size(), secondsPerStep * 1e3);
        out.printf(Locale.ROOT, "  parameters: %d, padded to %d (%d bucket(s) of layers, each to a multiple of %d x %d),"
                + " partition %d%n", layout.parameters(), layout.paddedSize(), layout.buckets().size(), o.devices(),
                layout.alignment(), layout.partitionSize());

        ZeroStage stage = ZeroStage.of(o.stage());
        long formula = formula(stage, layout, o);
        out.printf(Locale.ROOT, "  memory per device (bytes, measured by each device's ledger):%n");
        out.printf(Locale.ROOT, "    %-6s %12s %12s %12s %12s %12s %12s %12s%n", "device", "params", "grads", "master",
                "moments", "buckets", "gathered", "total");
        for (int r = 0; r < o.devices(); r++) {
            Map<Purpose, Long> l = ledgers.get(r);
            long total = l.values().stream().mapToLong(Long::longValue).sum();
            out.printf(Locale.ROOT, "    %-6d %12d %12d %12d %12d %12d %12d %12d%n", r, l.get(Purpose.PARAMETERS),
                    l.get(Purpose.GRADIENTS), l.get(Purpose.MASTER_WEIGHTS), l.get(Purpose.OPTIMIZER_STATE),
                    l.get(Purpose.COMMUNICATION_BUCKETS), l.get(Purpose.GATHERED_LAYERS), total);
        }
        String[] formulas = {"(2+2+K)Ψ", "2Ψ + 2Ψ + KΨ/N", "2Ψ + (2+K)Ψ/N", "(2+2+K)Ψ/N"};
        out.printf(Locale.ROOT, "    formula %s with Ψ = %d, N = %d, %s: %d bytes, + the padding, the bucket and the"
                + " gathered bucket as named above%n", formulas[o.stage()], layout.parameters(), o.devices(), o.states().isBlockwise8()
                ? "K = 6 + 8 bytes per 256 (layers of 4096+), K = 12 (smaller layers)" : "K = 12", formula);
        if (o.states().isBlockwise8()) {
            formatTable(o, layout, out);
        }
        long psi = layout.paddedSize();
        double share = psi * (o.devices() - 1) / (double) o.devices();   // Ψ(N-1)/N elements
        // Per step: stage 0 all-reduces (2 shares), stages 1-2 reduce-scatter and, unless the step is
        // skipped, all-gather (1 + 1), stage 3 gathers twice and reduce-scatters (3), skipped or not.
        long steps = history.size(), applied = steps - skipped;
        double expected = switch (stage) {
            case DATA_PARALLEL -> 2 * share * steps;
            case OPTIMIZER_STATE, GRADIENTS -> share * (steps + applied);
            case PARAMETERS -> 3 * share * steps;
        };
        out.printf(Locale.ROOT, "  communication per device: %.0f elements sent, %.0f received in %d steps; formula %s a step"
                        + " (%.0f, Ψ padded)%s = %.0f; %.0f KiB of control messages%n",
                c.bytesSent() / (double) o.precision().bytes(), c.bytesReceived() / (double) o.precision().bytes(),
                steps, stage == ZeroStage.PARAMETERS ? "3Ψ(N-1)/N" : "2Ψ(N-1)/N",
                (stage == ZeroStage.PARAMETERS ? 3 : 2) * share,
                stage == ZeroStage.OPTIMIZER_STATE || stage == ZeroStage.GRADIENTS
                        ? " (a skipped step skips the all-gather, half)" : "", expected, c.controlBytesSent() / 1024.0);
        if (o.png() != null) {
            Map<ZeroStage, long[]> perStage = memoryByStage(o, widths(o));
            writePng(o.png(), history, perStage, o);
            out.println("  wrote " + o.png().toAbsolutePath());
        }
    }

    /**
     * The ZeRO table summed over the layers, each in the state format the run gives it (8-bit from
     * 4096 elements of the layer, fp32 below: the device decides per tensor); with fp32 states, the
     * K = 12 table of the whole model (unpadded).
     */
    private static long formula(ZeroStage stage, FlatLayout layout, Options o) {
        long sum = 0;
        for (FlatLayout.Tensor t : layout.tensors()) {
            StateFormat f = o.states().quantizes(t.count()) ? o.states() : StateFormat.FP32;
            sum += MemoryPlan.bytesPerDevice(stage, t.count(), o.devices(), f);
        }
        return sum;
    }

    /**
     * The saving: one device's bytes by purpose with fp32 and with 8-bit states side by side, at
     * this run's stage and device count, as {@link ZeroPlanner} predicts them (equal to each device's
     * ledger, purpose by purpose: {@code ZeroPlannerTest}): the device that holds the most under
     * 8-bit states, the same device in both columns.
     */
    private static void formatTable(Options o, FlatLayout layout, PrintStream out) {
        long[] sizes = layout.tensors().stream().mapToLong(FlatLayout.Tensor::count).toArray();
        ZeroStage stage = ZeroStage.of(o.stage());
        int device = ZeroPlanner.plan(sizes, stage, o.devices(), o.precision(), o.states(), MEMORY_ONLY).device();
        Map<Purpose, Long> fp32 = ZeroPlanner.deviceBytes(layout, stage, o.precision(), StateFormat.FP32, device);
        Map<Purpose, Long> eight = ZeroPlanner.deviceBytes(layout, stage, o.precision(), o.states(), device);
        out.printf(Locale.ROOT, "  memory of device %d, fp32 vs 8-bit Adam states (stage %d, N = %d, bytes):%n",
                device, o.stage(), o.devices());
        out.printf(Locale.ROOT, "    %-9s %12s %12s %9s%n", "purpose", "fp32 states", "8-bit states", "8-bit/fp32");
        String[] names = {"params", "grads", "master", "moments", "buckets", "gathered"};
        long totalFp32 = 0, totalEight = 0;
        for (Purpose p : Purpose.values()) {
            long a = fp32.get(p), b = eight.get(p);
            totalFp32 += a;
            totalEight += b;
            out.printf(Locale.ROOT, "    %-9s %12d %12d %9s%n", names[p.ordinal()], a, b, ratio(b, a));
        }
        out.printf(Locale.ROOT, "    %-9s %12d %12d %9s%n", "total", totalFp32, totalEight, ratio(totalEight, totalFp32));
    }

    /** Any link: the planner's memory does not depend on it. */
    private static final ZeroPlanner.Link MEMORY_ONLY = ZeroPlanner.Link.ofGbps(10, 5);

    private static String ratio(long num, long den) {
        return den == 0 ? "-" : String.format(Locale.ROOT, "%.3f", num / (double) den);
    }

    private static ZeroConfig config(Options o, ZeroStage stage) {
        return ZeroConfig.builder().stage(stage).precision(o.precision())
                .optimizer(AdamConfig.adamW().withLr(o.lr()).withStateFormat(o.states()))
                .lossScaler(() -> DynamicLossScaler.builder().initScale(65536).growthInterval(50).build())
                .globalBatch(o.devices() * o.microBatch()).build();
    }

    /** Rank 0's measured bytes per device for each stage: devices set up (no training needed: everything is allocated up front). */
    private static Map<ZeroStage, long[]> memoryByStage(Options o, int[] widths) {
        Map<ZeroStage, long[]> bytes = new EnumMap<>(ZeroStage.class);
        for (ZeroStage stage : ZeroStage.values()) {
            ZeroConfig config = config(o, stage);
            long[] total = new long[2];
            try (Arena arena = Arena.ofShared(); Mlp probe = new Mlp(widths, o.precision(), 1)) {
                FlatLayout layout = FlatLayout.of(probe.tensorSizes(), o.devices());
                MemorySegment initial = arena.allocate(layout.paddedSize() * Float.BYTES, 64);
                InProcessGroup.create(o.devices(), Duration.ofMinutes(1)).run(comm -> {
                    try (ZeroDevice d = new ZeroDevice(config, layout, comm, initial)) {
                        if (comm.rank() == 0) {
                            long buffers = d.ledger().current(Purpose.COMMUNICATION_BUCKETS)
                                    + d.ledger().current(Purpose.GATHERED_LAYERS);
                            total[0] = d.ledger().currentTotal() - buffers;
                            total[1] = buffers;
                        }
                    }
                });
            }
            bytes.put(stage, total);
        }
        return bytes;
    }

    private static void writePng(Path file, List<StepResult> history, Map<ZeroStage, long[]> memory, Options o) {
        int w = 1100, h = 460;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        // Left: the loss, log scale.
        int x0 = 60, y0 = 40, pw = 560, ph = 330;
        g.setColor(Color.BLACK);
        g.drawString(String.format(Locale.ROOT, "Loss (log scale), ZeRO stage %d, N = %d, %s", o.stage(), o.devices(),
                o.precision()), x0, 25);
        g.drawRect(x0, y0, pw, ph);
        double max = Double.MIN_VALUE, min = Double.MAX_VALUE;
        for (StepResult r : history) {
            if (r.loss() > 0 && Float.isFinite(r.loss())) {
                max = Math.max(max, r.loss());
                min = Math.min(min, r.loss());
            }
        }
        double lmax = Math.log10(max), lmin = Math.log10(min) - 0.05;
        g.setColor(new Color(0x1f77b4));
        g.setStroke(new BasicStroke(1.5f));
        int px = -1, py = -1;
        for (int i = 0; i < history.size(); i++) {
            StepResult r = history.get(i);
            if (!(r.loss() > 0) || !Float.isFinite(r.loss())) {
                continue;
            }
            int x = x0 + (int) ((long) i * pw / Math.max(1, history.size() - 1));
            int y = y0 + (int) ((lmax - Math.log10(r.loss())) / (lmax - lmin) * ph);
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            px = x;
            py = y;
            if (r.skipped()) {
                g.setColor(Color.RED);
                g.fillOval(x - 3, y - 3, 6, 6);
                g.setColor(new Color(0x1f77b4));
            }
        }
        g.setColor(Color.DARK_GRAY);
        g.drawString(String.format(Locale.ROOT, "%.3g", max), 5, y0 + 10);
        g.drawString(String.format(Locale.ROOT, "%.3g", min), 5, y0 + ph);
        g.drawString("step " + history.size(), x0 + pw - 60, y0 + ph + 18);
        g.drawString("red: overflow, step skipped", x0, y0 + ph + 18);
        // Right: bytes per device by stage.
        int bx = 700, bw = 360;
        g.setColor(Color.BLACK);
        g.drawString("Measured model-state bytes per device, N = " + o.devices(), bx, 25);
        long top = memory.values().stream().mapToLong(b -> b[0] + b[1]).max().orElse(1);
        int bar = bw / 4 - 20;
        for (ZeroStage s : ZeroStage.values()) {
            long states = memory.get(s)[0], buffers = memory.get(s)[1];
            int sh = (int) (states * ph / (double) top), fh = (int) (buffers * ph / (double) top);
            int x = bx + s.ordinal() * (bar + 20);
            g.setColor(s.ordinal() == o.stage() ? new Color(0xd62728) : new Color(0x7f7f7f));
            g.fillRect(x, y0 + ph - sh, bar, sh);
            g.setColor(new Color(0xc7c7c7));
            g.fillRect(x, y0 + ph - sh - fh, bar, fh);
            g.setColor(Color.BLACK);
            g.drawString("stage " + s.ordinal(), x + 8, y0 + ph + 18);
            g.drawString(String.format(Locale.ROOT, "%.2f MiB", (states + buffers) / 1048576.0), x, y0 + ph - sh - fh - 5);
        }
        g.drawString("dark: model states (the ZeRO table); light: bucket + gathered layer", bx - 40, y0 + ph + 36);
        g.dispose();
        try {
            ImageIO.write(img, "png", file.toFile());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("png: cannot write " + file, e);
        }
    }
}
