package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Implementation;
import dev.adamant.core.MultiTensorOptimizer;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.ParamGroup;
import dev.adamant.core.RmsPropConfig;
import dev.adamant.core.SgdConfig;
import dev.adamant.core.StateFormat;
import dev.adamant.core.Team;
import dev.adamant.fp16.Precision;
import dev.adamant.zero.CheckpointException;
import dev.adamant.zero.ZeroCheckpoint;
import dev.adamant.zero.ZeroRun;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The runnable demo: steps each optimizer with the vector and the scalar kernels and prints
 * elements/s, GB/s and the speed-up. A quick look, timed with {@code System.nanoTime}; the numbers
 * to quote come from the JMH benchmarks ({@link AdamWStepBenchmark}).
 *
 * <pre>
 *   ./mvnw -q -DskipTests -Pdemo verify -Ddemo.args="--n 16777216 --steps 10 --threads 1"
 * </pre>
 *
 * Parameters and gradients are allocated and touched once, up front, and shared by every run; each
 * run starts from the same parameters. Each optimizer allocates (and zeroes) its own state when it
 * is made, outside the timed steps. A bad option prints the problem and the usage and exits with 2.
 */
public final class Demo {
    static final long DEFAULT_N = 1L << 24;
    static final int DEFAULT_STEPS = 10;
    /** Untimed full-size steps before the timed ones: SGD's first step is special, caches settle. */
    static final int WARMUP_STEPS = 2;
    /**
     * Before those, many small steps so that C2 compiles the kernel itself: a few huge calls only get
     * on-stack replacement, and each call then starts in slower code (the first optimizer of each
     * kind measured 2-3x slow with 3 full-size warm-up steps alone).
     */
    static final int JIT_WARMUP_STEPS = 2_000;
    static final long JIT_WARMUP_N = 16_384;

    private Demo() {}

    /**
     * An optimizer to show and the bytes one step moves per element, counted as floats read plus
     * floats written (4 bytes each) in the configuration used here.
     */
    record Subject(String name, int bytesPerElement, OptimizerFactory factory) {}

    @FunctionalInterface
    interface OptimizerFactory {
        Optimizer make(long n, Implementation implementation);
    }

    static final List<Subject> SUBJECTS = List.of(
            // p, g, momentum_buffer read; p, momentum_buffer written: 5 floats
            new Subject("SGD momentum", 20, (n, i) -> Optimizers.sgd(SgdConfig.sgd(0.01).withMomentum(0.9), n, i)),
            new Subject("SGD Nesterov", 20,
                    (n, i) -> Optimizers.sgd(SgdConfig.sgd(0.01).withMomentum(0.9).withNesterov(true), n, i)),
            // p, g, square_avg read; p, square_avg written: 5 floats
            new Subject("RMSProp", 20, (n, i) -> Optimizers.rmsProp(RmsPropConfig.rmsProp(), n, i)),
            // p, g, exp_avg, exp_avg_sq read; p, exp_avg, exp_avg_sq written: 7 floats
            new Subject("Adam", 28, (n, i) -> Optimizers.adam(AdamConfig.adam(), n, i)),
            new Subject("AdamW", 28, (n, i) -> Optimizers.adam(AdamConfig.adamW(), n, i)));

    /** The parsed command line: which parts to run, and each part's options. */
    record Options(long n, int steps, int threads, boolean kernels, boolean mixed, ZeroDemo.Options zero) {}

    public static void main(String[] args) {
        Options options;
        try {
            options = parse(args);
        } catch (CheckpointException e) {
            System.err.println("demo: " + e.getMessage());
            System.exit(1);
            return;
        }
        if (options == null) {
            return; // --help
        }
        try {
            run(options, System.out);
        } catch (CheckpointException e) {
            System.err.println("\ndemo: " + e.getMessage());
            System.exit(1);
        }
    }

    static void run(Options o, PrintStream out) {
        long start = System.nanoTime();
        if (o.kernels) {
            kernelTable(o, out);
        }
        if (o.mixed) {
            MixedPrecisionDemo.run(o.n, o.steps, out);
        }
        if (o.zero != null && o.zero.mpi()) {
            ZeroDemo.run(o.zero, out);   // prints on rank 0 only, "done" included
            return;
        }
        if (o.zero != null) {
            ZeroDemo.run(o.zero, out);
        }
        out.printf(Locale.ROOT, "%ndone in %.1f s (JMH benchmarks: -Pjmh, see README)%n", (System.nanoTime() - start) / 1e9);
    }

    /** Part 1: each optimizer with the vector and the scalar kernels. */
    static void kernelTable(Options o, PrintStream out) {
        boolean vector = Implementation.PANAMA.isAvailable();
        out.println("Adamant demo");
        out.println("kernels: " + Optimizers.implementation());
        out.println("JDK " + Runtime.version() + ", " + Runtime.getRuntime().availableProcessors() + " cores");
        if (!vector) {
            out.println("vector kernels: not available in this JVM (run with --add-modules jdk.incubator.vector);"
                    + " showing scalar only");
        }
        out.printf(Locale.ROOT, "n = %d floats (%s a buffer), %d warm-up + %d timed steps (after %d JIT warm-up"
                        + " steps of %d floats), %d thread%s%n%n", o.n, mib(o.n * Float.BYTES), WARMUP_STEPS, o.steps,
                JIT_WARMUP_STEPS, Math.min(o.n, JIT_WARMUP_N), o.threads, o.threads == 1 ? "" : "s");

        List<Implementation> implementations = vector
                ? List.of(Implementation.PANAMA, Implementation.SCALAR) : List.of(Implementation.SCALAR);
        ExecutorService pool = o.threads > 1 ? Executors.newFixedThreadPool(o.threads - 1, r -> {
            Thread t = new Thread(r, "demo-worker");
            t.setDaemon(true);
            return t;
        }) : null;
        Executor executor = pool != null ? pool : Runnable::run;
        try (Arena arena = Arena.ofShared()) { // shared: pool threads step chunks of it
            MemorySegment initial = filled(arena, o.n, 1, 1f);
            MemorySegment params = arena.allocate(initial.byteSize(), 64); // touched by the first copy
            MemorySegment grads = filled(arena, o.n, 2, 1e-3f);
            out.printf(Locale.ROOT, "%-13s %-7s %7s %9s %11s %8s %14s%n",
                    "optimizer", "kernels", "B/elem", "ms/step", "elements/s", "GB/s", "vector/scalar");
            for (Subject s : SUBJECTS) {
                List<Double> rates = new ArrayList<>();
                for (Implementation impl : implementations) {
                    double seconds = timeSteps(s.factory, impl, o, initial, params, grads, executor);
                    double rate = o.n / seconds;
                    rates.add(rate);
                    String speedUp = impl == Implementation.SCALAR && rates.size() == 2
                            ? String.format(Locale.ROOT, "%.1fx", rates.get(0) / rate) : "";
                    out.printf(Locale.ROOT, "%-13s %-7s %7d %9.2f %11.3e %8.2f %14s%n", s.name,
                            impl == Implementation.PANAMA ? "vector" : "scalar", s.bytesPerElement,
                            seconds * 1e3, rate, rate * s.bytesPerElement / 1e9, speedUp);
                }
            }
        } finally {
            if (pool != null) {
                pool.shutdownNow();
            }
        }
        gpt2Line(out);
    }

    /**
     * The kernel table's last line: GPT-2 small's 148 tensors (124,439,808 floats, each its own
     * allocation) in one multi-tensor AdamW step on a team of all the machine's threads, as a
     * framework would step a real model.
     */
    private static void gpt2Line(PrintStream out) {
        int threads = Runtime.getRuntime().availableProcessors();
        long[] sizes = Gpt2Shapes.sizes();
        int steps = 5;
        try (Team team = Team.create(threads); Arena arena = Arena.ofShared();
             MultiTensorOptimizer opt = Optimizers.multiTensor(List.of(ParamGroup.of(AdamConfig.adamW(), sizes)))) {
            List<MemorySegment> params = new ArrayList<>(), grads = new ArrayList<>();
            for (long size : sizes) {
                params.add(teamFilled(team, arena, size, 0.5f));
                grads.add(teamFilled(team, arena, size, 1e-3f));
            }
            for (int i = 0; i < WARMUP_STEPS; i++) {
                opt.step(params, grads, team);
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                opt.step(params, grads, team);
            }
            double seconds = (System.nanoTime() - t0) / 1e9 / steps, rate = Gpt2Shapes.TOTAL / seconds;
            out.printf(Locale.ROOT, "%-13s %-7s %7d %9.2f %11.3e %8.2f   148 tensors, one step on %d thread%s%n",
                    "gpt2-small", Implementation.PANAMA.isAvailable() ? "vector" : "scalar", 28, seconds * 1e3, rate,
                    rate * 28 / 1e9, threads, threads == 1 ? "" : "s");
        }
    }

    /** {@code n} floats of {@code value}, each page touched by the member that will step it. */
    private static MemorySegment teamFilled(Team team, Arena arena, long n, float value) {
        MemorySegment s = arena.allocate(n * Float.BYTES, 64);
        team.parallelFor(n, (from, to) -> {
            for (long i = from; i < to; i++) {
                s.setAtIndex(ValueLayout.JAVA_FLOAT, i, value);
            }
        });
        return s;
    }

    /** Seconds per step, averaged over the timed steps, on a fresh optimizer from {@code initial} parameters. */
    private static double timeSteps(OptimizerFactory factory, Implementation impl, Options o, MemorySegment initial,
                                    MemorySegment params, MemorySegment grads, Executor executor) {
        long small = Math.min(o.n, JIT_WARMUP_N);
        try (Optimizer opt = factory.make(small, impl)) {
            MemorySegment p = params.asSlice(0, small * Float.BYTES), g = grads.asSlice(0, small * Float.BYTES);
            for (int i = 0; i < JIT_WARMUP_STEPS; i++) {
                opt.step(p, g, executor, o.threads);
            }
        }
        MemorySegment.copy(initial, 0, params, 0, initial.byteSize());
        try (Optimizer opt = factory.make(o.n, impl)) {
            for (int i = 0; i < WARMUP_STEPS; i++) {
                opt.step(params, grads, executor, o.threads);
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < o.steps; i++) {
                opt.step(params, grads, executor, o.threads);
            }
            return (System.nanoTime() - t0) / 1e9 / o.steps;
        }
    }

    /** {@code n} floats uniform in [-scale, scale), every page touched here. */
    private static MemorySegment filled(Arena arena, long n, long seed, float scale) {
        MemorySegment s = arena.allocate(n * Float.BYTES, 64);
        SplittableRandom random = new SplittableRandom(seed);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (random.nextDouble(-1, 1) * scale));
        }
        return s;
    }

    private static String mib(long bytes) {
        return bytes % (1 << 20) == 0 ? bytes / (1 << 20) + " MiB"
                : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
    }

    /** Parses the command line; null after {@code --help}. A bad option exits with status 2. */
    static Options parse(String[] args) {
        long n = DEFAULT_N;
        int kernelSteps = DEFAULT_STEPS, threads = 1;
        String part = "all";
        int stage = 2, devices = 2, steps = 400, width = 128, microBatch = 64;
        Precision precision = Precision.FP16;
        StateFormat states = StateFormat.FP32;
        long seed = 42;
        Path png = null;
        boolean mpi = false, devicesGiven = false, partGiven = false;
        Path save = null, resume = null;
        int saveEvery = 0;
        boolean microBatchGiven = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i], value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                value = arg.substring(eq + 1);
                arg = arg.substring(0, eq);
            }
            if (arg.equals("-h") || arg.equals("--help")) {
                usage(System.out);
                return null;
            }
            if (!List.of("--n", "--kernel-steps", "--threads", "--part", "--stage", "--devices", "--precision",
                    "--steps", "--width", "--micro-batch", "--seed", "--png", "--backend", "--save", "--resume",
                    "--save-every", "--states").contains(arg)) {
                fail("unknown option \"" + args[i] + "\"");
            }
            if (value == null) {
                if (i + 1 == args.length) {
                    fail(arg + ": missing value");
                }
                value = args[++i];
            }
            switch (arg) {
                case "--n" -> n = positive(arg, value, 1L << 32);
                case "--kernel-steps" -> kernelSteps = (int) positive(arg, value, Integer.MAX_VALUE);
                case "--threads" -> threads = (int) positive(arg, value, 1024);
                case "--stage" -> stage = (int) between(arg, value, 0, 3);
                case "--devices" -> {
                    devices = (int) positive(arg, value, 64);
                    devicesGiven = true;
                }
                case "--backend" -> {
                    if (!List.of("threads", "mpi").contains(value)) {
                        fail("--backend: expected threads or mpi, got \"" + value + "\"");
                    }
                    mpi = value.equals("mpi");
                }
                case "--steps" -> steps = (int) positive(arg, value, 1_000_000);
                case "--width" -> width = (int) positive(arg, value, 4096);
                case "--micro-batch" -> {
                    microBatch = (int) positive(arg, value, 65536);
                    microBatchGiven = true;
                }
                case "--seed" -> seed = between(arg, value, Long.MIN_VALUE, Long.MAX_VALUE);
                case "--png" -> png = Path.of(value);
                case "--save" -> save = Path.of(value);
                case "--resume" -> resume = Path.of(value);
                case "--save-every" -> saveEvery = (int) positive(arg, value, Integer.MAX_VALUE);
                case "--states" -> states = switch (value.toLowerCase(Locale.ROOT)) {
                    case "fp32" -> StateFormat.FP32;
                    case "8bit" -> StateFormat.BLOCKWISE_8BIT;
                    default -> {
                        fail("--states: expected fp32 or 8bit, got \"" + value + "\"");
                        yield null;
                    }
                };
                case "--precision" -> precision = switch (value.toLowerCase(Locale.ROOT)) {
                    case "fp16" -> Precision.FP16;
                    case "bf16" -> Precision.BF16;
                    default -> {
                        fail("--precision: expected fp16 or bf16, got \"" + value + "\"");
                        yield null;
                    }
                };
                default -> {
                    if (!List.of("all", "kernels", "mixed", "zero").contains(value)) {
                        fail("--part: expected all, kernels, mixed or zero, got \"" + value + "\"");
                    }
                    part = value;
                    partGiven = true;
                }
            }
        }
        if (saveEvery > 0 && save == null) {
            fail("--save-every: needs --save DIR");
        }
        if (resume != null) {
            if (ZeroCheckpoint.latest(resume).isEmpty()) {
                fail("--resume: no checkpoint in " + resume + " (expected a step-NNNNNNNNNNNN folder)");
            }
            ZeroCheckpoint.Info info = ZeroCheckpoint.inspect(resume);
            if (info.iterations() >= steps) {
                fail("--resume: the checkpoint in " + resume + " is at step " + info.iterations() + ", not before --steps "
                        + steps);
            }
            // The global batch is part of the run: on another number of devices, each takes its share.
            int global = savedGlobalBatch(info);
            if (!microBatchGiven) {
                if (global % devices != 0) {
                    fail("--resume: the saved run's global batch of " + global + " does not split over " + devices
                            + " devices");
                }
                microBatch = global / devices;
            }
        }
        if (mpi) {
            if (partGiven && !part.equals("zero")) {
                fail("--backend mpi runs the zero part only, got --part " + part);
            }
            part = "zero";
        }
        boolean all = part.equals("all");
        ZeroDemo.Options zero = all || part.equals("zero")
                ? new ZeroDemo.Options(stage, devices, precision, states, steps, width, microBatch, 3e-3, seed, png, mpi,
                        devicesGiven, new ZeroRun.Checkpointing(save, saveEvery, resume)) : null;
        return new Options(n, kernelSteps, threads, all || part.equals("kernels"), all || part.equals("mixed"), zero);
    }

    private static long between(String option, String text, long min, long max) {
        long v;
        try {
            v = Long.parseLong(text.trim().replace("_", ""));
        } catch (NumberFormatException e) {
            fail(option + ": expected an integer, got \"" + text + "\"");
            return 0;
        }
        if (v < min || v > max) {
            fail(option + ": expected " + min + " to " + max + ", got " + v);
        }
        return v;
    }

    private static long positive(String option, String text, long max) {
        long v;
        try {
            v = Long.parseLong(text.trim().replace("_", ""));
        } catch (NumberFormatException e) {
            fail(option + ": expected a positive integer, got \"" + text + "\"");
            return 0;
        }
        if (v < 1) {
            fail(option + ": expected a positive integer, got " + v);
        }
        if (v > max) {
            fail(option + ": expected at most " + max + ", got " + v);
        }
        return v;
    }

    /** The saved run's global batch; a header that does not hold a positive number is a refused checkpoint. */
    private static int savedGlobalBatch(ZeroCheckpoint.Info info) {
        String saved = info.config().get("global-batch");
        try {
            int global = Integer.parseInt(String.valueOf(saved));
            if (global > 0) {
                return global;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new CheckpointException(info.directory() + ": the header's config global-batch is " + (saved == null
                ? "missing" : "\"" + saved + "\"") + ", expected a number > 0");
    }

    private static void fail(String problem) {
        System.err.println("demo: " + problem);
        usage(System.err);
        System.exit(2);
    }

    private static void usage(PrintStream out) {
        out.println("usage: Demo [options]   (./mvnw -q -DskipTests -Pdemo verify -Ddemo.args=\"...\")");
        out.println("  --part P         all (default), kernels, mixed or zero");
        out.println(" the ZeRO training run:");
        out.println("  --stage S        ZeRO stage 0-3 (default 2)");
        out.println("  --devices N      devices, one thread each (default 2; with --backend mpi: the processes)");
        out.println("  --backend B      threads (default): devices are threads of this JVM; mpi: one device per");
        out.println("                   process of an MPI job, mpirun -np N java ... Demo --backend mpi (zero part only)");
        out.println("  --precision F    fp16 (default) or bf16");
        out.println("  --states S       Adam's state: fp32 (default) or 8bit (bitsandbytes' block-wise 8-bit states for");
        out.println("                   layers of 4096+ parameters; the memory table then shows fp32 and 8-bit side by side)");
        out.println("  --steps K        training steps (default 400)");
        out.println("  --width W        hidden layer width of the MLP {32, W, W, 8} (default 128)");
        out.println("  --micro-batch B  examples per device and step (default 64)");
        out.println("  --seed S         model seed (default 42); the teacher and the data derive from it");
        out.println("  --png FILE       also write the loss curve and memory per device for stages 0-3");
        out.println("  --save DIR       save a checkpoint into DIR at the end (and every K steps with --save-every)");
        out.println("  --save-every K   save every K steps too (needs --save)");
        out.println("  --resume DIR     continue from DIR's newest checkpoint up to --steps in all; any --devices");
        out.println("                   and --stage, the other options as saved");
        out.println(" the kernel table and the mixed-precision step:");
        out.println("  --n N            parameters (default " + DEFAULT_N + ")");
        out.println("  --kernel-steps K timed steps per optimizer and kernel, after " + WARMUP_STEPS
                + " warm-up steps (default " + DEFAULT_STEPS + ")");
        out.println("  --threads T      threads per step: the caller and T-1 pool threads (default 1)");
        out.println("  --help           this text");
    }
}
