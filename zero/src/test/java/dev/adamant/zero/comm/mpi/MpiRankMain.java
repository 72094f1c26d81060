package dev.adamant.zero.comm.mpi;

import dev.adamant.core.AdamConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.StepResult;
import dev.adamant.zero.ZeroCheckpoint;
import dev.adamant.zero.ZeroConfig;
import dev.adamant.zero.ZeroStage;
import dev.adamant.zero.SyntheticModel;
import dev.adamant.zero.ZeroRun;
import dev.adamant.zero.comm.Collective;
import dev.adamant.zero.comm.CollectiveMismatchException;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.GroupFailedException;
import dev.adamant.zero.comm.MpiException;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.comm.internal.Reference;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * One rank of the multi-process tests, started by {@link MpiCommunicatorTest} under {@code mpirun}:
 * {@code MpiRankMain <scenario>}. Each scenario checks its results itself, prints
 * {@code "rank r: OK <scenario>"} and exits 0, or throws, which {@link MpiCommunicator#runRank}
 * turns into an {@code MPI_Abort} of the whole job.
 */
public final class MpiRankMain {
    /** The piece size the collective tests run with: small, so that buffers of a few thousand elements split. */
    static final int SMALL_PIECE = 100;
    static final long SEED = 20261127;

    private MpiRankMain() {}

    public static void main(String[] args) {
        String scenario = args[0];
        Duration timeout = Duration.ofSeconds(args.length > 1 ? Long.parseLong(args[1]) : 60);
        boolean bigPieces = scenario.startsWith("zero") || scenario.startsWith("checkpoint")
                || scenario.startsWith("ckpt") || scenario.equals("measure") || scenario.equals("rsag");
        MpiCommunicator.Settings settings = MpiCommunicator.Settings.defaults().withTimeout(timeout)
                .withPieceElements(bigPieces ? MpiCommunicator.Settings.DEFAULT_PIECE_ELEMENTS : SMALL_PIECE);
        MpiCommunicator.runRank(settings, comm -> {
            switch (scenario) {
                case "collectives" -> collectives(comm);
                case "zero" -> zero(comm, timeout, false);
                case "zero-all" -> zero(comm, timeout, true);
                case "ckpt-save" -> saveAfterSix(comm, Path.of(args[2]));
                case "ckpt-resume" -> resumeToTwelve(comm, Path.of(args[2]), Integer.parseInt(args[3]));
                case "checkpoint" -> checkpoint(comm, Path.of(args[2]));
                case "bad-input" -> badInput(comm);
                case "throw" -> failAfterSomeSteps(comm, () -> {
                    throw new IllegalStateException("injected failure on rank " + comm.rank());
                });
                case "halt" -> failAfterSomeSteps(comm, () -> Runtime.getRuntime().halt(3));
                case "train" -> failAfterSomeSteps(comm, () -> { });   // until something outside ends it
                case "measure" -> measure(comm, ZeroStage.of(Integer.parseInt(args[2])), Precision.valueOf(args[3]),
                        Integer.parseInt(args[4]), args[5].equals("1"),
                        Arrays.stream(args[6].split(",")).mapToInt(Integer::parseInt).toArray());
                case "rsag" -> reduceScatterAllGather(comm, Long.parseLong(args[2]), Integer.parseInt(args[3]));
                case "stuck" -> failAfterSomeSteps(comm, () -> {
                    try {
                        Thread.sleep(600_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                default -> throw new IllegalArgumentException("scenario: unknown " + scenario);
            }
            System.out.println("rank " + comm.rank() + ": OK " + scenario);
        });
    }

    // ---------------------------------------------------------------- every collective against the serial oracle

    /** Each rank's input for test {@code id}: random values, a few large, NaN and inf only where asked. */
    static MemorySegment input(Arena arena, Precision p, long count, int rank, int id, boolean specials) {
        MemorySegment s = arena.allocate(Math.max(1, count) * p.bytes(), 64).asSlice(0, count * p.bytes());
        Random r = new Random(SEED * 31 + id * 1009L + rank);
        for (long i = 0; i < count; i++) {
            float v = (float) (r.nextGaussian() * (r.nextInt(16) == 0 ? 3000 : 1));
            if (specials && r.nextInt(50) == 0) {
                v = switch (r.nextInt(3)) {
                    case 0 -> Float.NaN;
                    case 1 -> Float.POSITIVE_INFINITY;
                    default -> -0.0f;
                };
            }
            Reference.set(s, p, i, v);
        }
        return s;
    }

    static void collectives(MpiCommunicator comm) {
        int n = comm.size(), rank = comm.rank();
        long[] counts = {0, 1, 7, SMALL_PIECE, 3L * SMALL_PIECE + 1, 2_500};
        int id = 0;
        try (Arena arena = Arena.ofShared()) {
            for (Precision p : Precision.values()) {
                int b = p.bytes();
                for (long per : counts) {
                    id++;
                    // reduceScatter, out of place then in place
                    long total = per * n;
                    MemorySegment send = input(arena, p, total, rank, id, false);
                    MemorySegment recv = arena.allocate(Math.max(1, per * b)).asSlice(0, per * b);
                    comm.reduceScatter(send, recv, p);
                    MemorySegment[] all = inputs(arena, p, total, n, id, false);
                    for (long i = 0; i < per; i++) {
                        expect(sum(all, p, rank * per + i, ReduceOp.SUM), recv, p, i, "reduceScatter " + p + " " + per);
                    }
                    comm.reduceScatter(send, send.asSlice(rank * per * b, per * b), p);
                    for (long i = 0; i < per; i++) {
                        expect(sum(all, p, rank * per + i, ReduceOp.SUM), send, p, rank * per + i,
                                "reduceScatter in place " + p + " " + per);
                    }
                    // allGather, out of place then in place
                    MemorySegment mine = input(arena, p, per, rank, id + 500, false);
                    MemorySegment gathered = arena.allocate(Math.max(1, total * b)).asSlice(0, total * b);
                    comm.allGather(mine, gathered, p);
                    checkGathered(arena, p, per, n, id + 500, gathered, "allGather " + p + " " + per);
                    MemorySegment inPlace = arena.allocate(Math.max(1, total * b)).asSlice(0, total * b);
                    MemorySegment.copy(mine, 0, inPlace, rank * per * b, per * b);
                    comm.allGatherInPlace(inPlace, p);
                    checkGathered(arena, p, per, n, id + 500, inPlace, "allGatherInPlace " + p + " " + per);
                    // allReduce over a count that n need not divide, sum and max, specials included
                    for (ReduceOp op : ReduceOp.values()) {
                        long count = total + (per % 3);
                        MemorySegment buffer = input(arena, p, count, rank, id + 1000, true);
                        comm.allReduce(buffer, p, op);
                        MemorySegment[] ins = inputs(arena, p, count, n, id + 1000, true);
                        for (long i = 0; i < count; i++) {
                            expect(sum(ins, p, i, op), buffer, p, i, "allReduce " + op + " " + p + " " + count);
                        }
                    }
                    // reduce to a root that moves with the test; the root in place every other time
                    int root = id % n;
                    MemorySegment reduceSend = input(arena, p, total, rank, id + 2000, false);
                    boolean inPlaceRoot = id % 2 == 0;
                    MemorySegment reduceRecv = rank != root ? null
                            : inPlaceRoot ? reduceSend : arena.allocate(Math.max(1, total * b)).asSlice(0, total * b);
                    comm.reduce(reduceSend, reduceRecv, p, root);
                    if (rank == root) {
                        MemorySegment[] ins = inputs(arena, p, total, n, id + 2000, false);
                        for (long i = 0; i < total; i++) {
                            expect(sum(ins, p, i, ReduceOp.SUM), reduceRecv, p, i, "reduce " + p + " " + total);
                        }
                    }
                    // broadcast from the same root
                    MemorySegment cast = input(arena, p, total, rank, id + 3000, true);
                    comm.broadcast(cast, p, root);
                    MemorySegment from = input(arena, p, total, root, id + 3000, true);
                    if (cast.mismatch(from) != -1) {
                        throw new AssertionError("broadcast " + p + " " + total + ": differs from the root's at byte "
                                + cast.mismatch(from));
                    }
                }
            }
            comm.barrier();
            float max = comm.allReduceMax(rank == n - 1 ? Float.NaN : rank);
            check(Float.isNaN(max), "allReduceMax with a NaN on the last rank: got " + max);
            check(comm.allReduceMax(rank * 2.5f) == (n - 1) * 2.5f, "allReduceMax");
            check(comm.anyTrue(rank == n - 1), "anyTrue, true on the last rank");
            check(!comm.anyTrue(false), "anyTrue, false everywhere");
            double[] doubles = comm.allGatherDoubles(new double[] {rank, -rank * 0.5});
            for (int k = 0; k < n; k++) {
                check(doubles[2 * k] == k && doubles[2 * k + 1] == -k * 0.5, "allGatherDoubles " + Arrays.toString(doubles));
            }
            check(comm.allGatherDoubles(new double[0]).length == 0, "allGatherDoubles, empty");
            // Counts per the ring model, as in process: a reduce-scatter of P per rank sends (N-1)P elements.
            comm.resetStats();
            comm.reduceScatter(input(arena, Precision.FP32, 10L * n, rank, 1, false), arena.allocate(40), Precision.FP32);
            CommStats s = comm.stats();
            check(s.bytesSent(Collective.REDUCE_SCATTER) == (n - 1) * 40L && s.calls(Collective.REDUCE_SCATTER) == 1,
                    "stats: " + s);
        }
    }

    private static MemorySegment[] inputs(Arena arena, Precision p, long count, int n, int id, boolean specials) {
        MemorySegment[] all = new MemorySegment[n];
        for (int k = 0; k < n; k++) {
            all[k] = input(arena, p, count, k, id, specials);
        }
        return all;
    }

    /** The serial fold of element {@code i}, in rank order in float, narrowed once by the oracle's own rounding. */
    private static int sum(MemorySegment[] all, Precision p, long i, ReduceOp op) {
        float acc = Reference.get(all[0], p, i);
        for (int k = 1; k < all.length; k++) {
            float x = Reference.get(all[k], p, i);
            acc = op == ReduceOp.SUM ? acc + x : Math.max(acc, x);
        }
        return p == Precision.FP32 ? Float.floatToRawIntBits(acc) : Reference.encode(p, acc);
    }

    private static void expect(int expectedBits, MemorySegment s, Precision p, long i, String what) {
        int got = p == Precision.FP32 ? Float.floatToRawIntBits(s.getAtIndex(Reference.FLOAT, i))
                : s.getAtIndex(Reference.SHORT, i) & 0xFFFF;
        boolean nan = p == Precision.FP32 ? Float.isNaN(Float.intBitsToFloat(expectedBits))
                && Float.isNaN(Float.intBitsToFloat(got)) : Float.isNaN((float) Reference.decode(p, expectedBits))
                && Float.isNaN((float) Reference.decode(p, got));
        if (got != expectedBits && !nan) {
            throw new AssertionError(what + ": element " + i + " expected bits 0x" + Integer.toHexString(expectedBits)
                    + ", got 0x" + Integer.toHexString(got));
        }
    }

    private static void checkGathered(Arena arena, Precision p, long per, int n, int id, MemorySegment gathered,
                                      String what) {
        int b = p.bytes();
        for (int k = 0; k < n; k++) {
            MemorySegment theirs = input(arena, p, per, k, id, false);
            if (gathered.asSlice(k * per * b, per * b).mismatch(theirs) != -1) {
                throw new AssertionError(what + ": slice " + k + " is not rank " + k + "'s input");
            }
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    // ---------------------------------------------------------------- ZeRO over MPI against ZeRO in process

    /** The shapes of the MLP the demo would train ({32, 64, 64, 8}), stepped with a {@link SyntheticModel}. */
    private static final long[] SIZES = SyntheticModel.mlpSizes(32, 64, 64, 8);

    /** {@code steps} steps of {@code config} on {@code devices} devices, from weights drawn with {@link #SEED}. */
    private static ZeroRun.Plan plan(Arena arena, ZeroConfig config, int devices, long steps) {
        FlatLayout layout = FlatLayout.of(SyntheticModel.named(SIZES), devices);
        return new ZeroRun.Plan(config, layout, SyntheticModel.initial(arena, layout, SEED), steps);
    }

    private static ZeroRun.RankResult runRank(ZeroRun.Plan plan, ZeroRun.Checkpointing checkpoints, Communicator comm,
                                              Consumer<StepResult> onStep) {
        return ZeroRun.runRank(plan, checkpoints, comm, new SyntheticModel(SIZES, plan.config().precision(), comm.rank()),
                onStep);
    }

    /** The same run on {@code plan}'s devices as threads of this process. */
    private static ZeroRun.Result inProcess(ZeroRun.Plan plan, Duration timeout) {
        return ZeroRun.run(plan, timeout, ZeroRun.Checkpointing.NONE,
                rank -> new SyntheticModel(SIZES, plan.config().precision(), rank), r -> { });
    }

    /** As above, saving or resuming as {@code checkpoints} says. */
    private static ZeroRun.Result inProcess(ZeroRun.Plan plan, ZeroRun.Checkpointing checkpoints) {
        return ZeroRun.run(plan, Duration.ofMinutes(1), checkpoints,
                rank -> new SyntheticModel(SIZES, plan.config().precision(), rank), r -> { });
    }

    static ZeroConfig config(ZeroStage stage, Precision precision, int devices, int microBatch) {
        return ZeroConfig.builder().stage(stage).precision(precision).optimizer(AdamConfig.adamW().withLr(3e-3))
                .lossScaler(() -> DynamicLossScaler.builder().initScale(65536).growthInterval(5).build())
                .globalBatch(devices * microBatch).build();
    }

    /**
     * Stages 0-3 (fp16; stage 3 also bf16; with {@code all}, every stage in both) trained over MPI;
     * rank 0 trains the same run on N threads in process and requires the same parameters, losses
     * and scales bit for bit, and each rank's measured memory and traffic to equal its in-process
     * twin's. Each rank then prints the data bytes it sent in all ({@code "rank r: sent B bytes"}).
     */
    static void zero(MpiCommunicator comm, Duration timeout, boolean all) {
        int n = comm.size(), batch = 8, steps = 12;
        record Case(ZeroStage stage, Precision precision) {}
        List<Case> cases = new java.util.ArrayList<>();
        for (Precision p : List.of(Precision.FP16, Precision.BF16)) {
            for (ZeroStage stage : ZeroStage.values()) {
                if (all || p == Precision.FP16 || stage == ZeroStage.PARAMETERS) {
                    cases.add(new Case(stage, p));
                }
            }
        }
        long sent = 0;
        for (Case c : cases) {
            try (Arena arena = Arena.ofShared()) {
                sent += zero(comm, c + " on " + n + " ranks", plan(arena, config(c.stage(), c.precision(), n, batch), n, steps),
                        timeout);
            }
        }
        System.out.println("rank " + comm.rank() + ": sent " + sent + " bytes");
    }

    /** One case of {@link #zero(MpiCommunicator, Duration, boolean)}; returns the data bytes this rank sent. */
    private static long zero(MpiCommunicator comm, String what, ZeroRun.Plan plan, Duration timeout) {
        int n = comm.size();
        long steps = plan.steps();
        ZeroRun.RankResult mine = runRank(plan, ZeroRun.Checkpointing.NONE, comm, r -> { });
        long skipped = mine.history().stream().filter(StepResult::skipped).count();
        double[] measured = comm.allGatherDoubles(new double[] {
            mine.traffic().bytesSent(), mine.traffic().bytesReceived(), mine.peak(),
            mine.ledger().values().stream().mapToLong(Long::longValue).sum()});
        if (comm.rank() == 0) {
            ZeroRun.Result threads = inProcess(plan, timeout);
            check(Arrays.equals(threads.finalParams(), mine.finalParams()),
                    what + ": parameters differ from the in-process run at element "
                            + Arrays.mismatch(threads.finalParams(), mine.finalParams()));
            for (int s = 0; s < steps; s++) {
                StepResult a = threads.history().get(s), m = mine.history().get(s);
                check(a.equals(m), what + ", step " + s + ": in process " + a + ", over MPI " + m);
            }
            for (int k = 0; k < n; k++) {
                long total = threads.ledgers().get(k).values().stream().mapToLong(Long::longValue).sum();
                check(measured[4 * k] == threads.traffic().get(k).bytesSent()
                        && measured[4 * k + 1] == threads.traffic().get(k).bytesReceived(),
                        what + ": rank " + k + "'s traffic differs");
                check(measured[4 * k + 2] == threads.peaks().get(k) && measured[4 * k + 3] == total,
                        what + ": rank " + k + "'s memory differs");
            }
            System.out.println("rank 0: " + what + " bit-identical to " + n + " threads in process (" + steps
                    + " steps, " + skipped + " skipped for overflow, loss " + mine.history().get(0).loss() + " -> "
                    + mine.history().get((int) steps - 1).loss() + ")");
        }
        return mine.traffic().bytesSent();
    }

    /**
     * The checkpointed runs across jobs: stage 2, fp16, as {@link #checkpoint} trains, with a global
     * batch of 32 on any number of devices (a checkpoint resumes only under the same configuration).
     */
    private static ZeroConfig checkpointConfig(int devices) {
        return config(ZeroStage.GRADIENTS, Precision.FP16, 4, 8);
    }

    /** The first job of a checkpoint moved between device counts: 6 steps on this job's N, saved into {@code folder}. */
    static void saveAfterSix(MpiCommunicator comm, Path folder) {
        int n = comm.size();
        try (Arena arena = Arena.ofShared()) {
            runRank(plan(arena, checkpointConfig(n), n, 6), new ZeroRun.Checkpointing(folder, 0, null), comm, r -> { });
        }
        System.out.println("rank " + comm.rank() + ": saved after 6 steps on " + n + " ranks");
    }

    /**
     * The second job: resumes {@code folder} (saved by {@code saved} ranks) on this job's N and
     * trains to 12 steps; rank 0 requires the same result, bit for bit, as the same two runs on
     * threads in process (6 steps on {@code saved} threads saved, resumed on N threads).
     */
    static void resumeToTwelve(MpiCommunicator comm, Path folder, int saved) {
        int n = comm.size();
        try (Arena arena = Arena.ofShared()) {
            ZeroRun.RankResult resumed = runRank(plan(arena, checkpointConfig(n), n, 12),
                    new ZeroRun.Checkpointing(null, 0, folder), comm, r -> { });
            if (comm.rank() == 0) {
                Path twin = folder.resolveSibling(folder.getFileName() + "-threads");
                inProcess(plan(arena, checkpointConfig(saved), saved, 6), new ZeroRun.Checkpointing(twin, 0, null));
                ZeroRun.Result threads = inProcess(plan(arena, checkpointConfig(n), n, 12),
                        new ZeroRun.Checkpointing(null, 0, twin));
                check(Arrays.equals(threads.finalParams(), resumed.finalParams()),
                        "resumed over MPI on " + n + " ranks: parameters differ from the run on threads at element "
                                + Arrays.mismatch(threads.finalParams(), resumed.finalParams()));
                check(threads.history().equals(resumed.history()), "resumed over MPI: the steps differ: "
                        + threads.history() + " vs " + resumed.history());
                check(resumed.history().size() == 6 && !resumed.history().getLast().skipped(), "steps " + resumed.history());
                System.out.println("rank 0: saved by " + saved + " ranks, resumed on " + n + " ranks, bit-identical to"
                        + " threads (steps 7-12, loss " + resumed.history().getLast().loss() + ")");
            }
        }
    }

    /**
     * Checkpoints across processes: the ranks train 6 steps and save (each process its own shard),
     * resume from the folder and train to 12; rank 0 requires the result to equal 12 steps straight
     * through on threads, and restores the processes' checkpoint onto 3 threads in process.
     */
    static void checkpoint(MpiCommunicator comm, Path folder) {
        int n = comm.size(), batch = 8;
        ZeroConfig config = config(ZeroStage.GRADIENTS, Precision.FP16, n, batch);
        try (Arena arena = Arena.ofShared()) {
            checkpoint(comm, folder, plan(arena, config, n, 6), plan(arena, config, n, 12), batch);
        }
    }

    private static void checkpoint(MpiCommunicator comm, Path folder, ZeroRun.Plan half, ZeroRun.Plan whole, int batch) {
        int n = comm.size();
        runRank(half, new ZeroRun.Checkpointing(folder, 0, null), comm, r -> { });
        ZeroRun.RankResult resumed = runRank(whole, new ZeroRun.Checkpointing(null, 0, folder), comm, r -> { });
        if (comm.rank() == 0) {
            ZeroRun.Result straight = inProcess(whole, Duration.ofMinutes(1));
            check(Arrays.equals(straight.finalParams(), resumed.finalParams()),
                    "resumed over MPI: parameters differ from 12 steps straight through");
            check(straight.history().subList(6, 12).equals(resumed.history()), "resumed over MPI: the steps differ");
            FlatLayout three = FlatLayout.of(SyntheticModel.named(SIZES), 3);
            InProcessGroup.create(3, Duration.ofMinutes(1)).run(c -> {
                ZeroCheckpoint.Restored r = ZeroCheckpoint.restore(config(ZeroStage.PARAMETERS, Precision.FP16, n,
                        batch), three, c, folder);
                r.device().close();
                check(r.info().iterations() == 6 && r.info().savedDevices() == n, "restored " + r.info());
            });
            System.out.println("rank 0: saved by " + n + " processes, resumed bit-identically, restored on 3 threads");
        }
    }

    // ---------------------------------------------------------------- measurements (MultiHostBench)

    /**
     * {@code steps} ZeRO steps of the MLP of these widths: each rank prints the median, over the
     * steps after the first two, of the time its steps spent inside collectives (a
     * {@link TimedCommunicator}) and of the steps' wall time, and the data bytes a step sent.
     */
    static void measure(MpiCommunicator comm, ZeroStage stage, Precision precision, int steps, boolean prefetch,
                        int[] widths) {
        int n = comm.size();
        long[] sizes = SyntheticModel.mlpSizes(widths);
        ZeroConfig config = ZeroConfig.builder().stage(stage).precision(precision)
                .optimizer(AdamConfig.adamW().withLr(1e-3)).globalBatch(8 * n).prefetch(prefetch)
                .lossScaler(() -> DynamicLossScaler.builder().initScale(1024).growthInterval(1_000_000).build()).build();
        TimedCommunicator timed = new TimedCommunicator(comm);
        double[] commMs = new double[steps], stepMs = new double[steps];
        long[] mark = {timed.nanos(), System.nanoTime()};
        int[] k = {0};
        try (Arena arena = Arena.ofShared()) {
            FlatLayout layout = FlatLayout.of(SyntheticModel.named(sizes), n);
            ZeroRun.Plan plan = new ZeroRun.Plan(config, layout, SyntheticModel.initial(arena, layout, SEED), steps);
            comm.barrier();
            mark[0] = timed.nanos();
            mark[1] = System.nanoTime();
            ZeroRun.RankResult mine = ZeroRun.runRank(plan, ZeroRun.Checkpointing.NONE, timed,
                    new SyntheticModel(sizes, precision, comm.rank()), r -> {
                        long now = System.nanoTime(), in = timed.nanos();
                        commMs[k[0]] = (in - mark[0]) / 1e6;
                        stepMs[k[0]] = (now - mark[1]) / 1e6;
                        mark[0] = in;
                        mark[1] = now;
                        k[0]++;
                    });
            long skipped = mine.history().stream().filter(StepResult::skipped).count();
            // One write per line: mpirun forwards the ranks' output as it comes, and would mix two printf's pieces.
            System.out.println(String.format(java.util.Locale.ROOT, "rank %d: measured stage %d %s prefetch %b: comm %.3f ms,"
                    + " step %.3f ms, %d bytes sent a step, %d skipped", comm.rank(), stage.ordinal(), precision, prefetch,
                    median(commMs, 2), median(stepMs, 2), mine.traffic().bytesSent() / steps, skipped));
            System.out.flush();
        }
    }

    /** The median of {@code values} after the first {@code skip}. */
    static double median(double[] values, int skip) {
        double[] v = Arrays.copyOfRange(values, Math.min(skip, values.length - 1), values.length);
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /**
     * A reduce-scatter then an all-gather of {@code mib} MiB of fp16 ({@code reps} times after one
     * warm-up): rank 0 prints the median time and the bytes a rank sent per repetition.
     */
    static void reduceScatterAllGather(MpiCommunicator comm, long mib, int reps) {
        int n = comm.size();
        long elements = mib * 1024 * 1024 / Short.BYTES;
        if (elements % n != 0) {
            throw new IllegalArgumentException("mib: " + mib + " MiB of fp16 does not split " + n + " ways");
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment all = input(arena, Precision.FP16, elements, comm.rank(), 7, false);
            MemorySegment mine = arena.allocate(elements / n * Short.BYTES, 64);
            double[] ms = new double[reps + 1];
            long sent = 0;
            for (int r = 0; r <= reps; r++) {
                comm.barrier();
                comm.resetStats();
                long start = System.nanoTime();
                comm.reduceScatter(all, mine, Precision.FP16);
                comm.allGather(mine, all, Precision.FP16);
                ms[r] = (System.nanoTime() - start) / 1e6;
                sent = comm.stats().bytesSent(Collective.REDUCE_SCATTER) + comm.stats().bytesSent(Collective.ALL_GATHER);
            }
            if (comm.rank() == 0) {
                System.out.println(String.format(java.util.Locale.ROOT, "rank 0: rsag %d MiB: median %.3f ms over %d, %d bytes"
                        + " sent", mib, median(ms, 1), reps, sent));
            }
        }
    }

    // ---------------------------------------------------------------- refusals

    /**
     * Bad input on every rank alike: refused before anything moves, and the communicator still works;
     * then sizes that differ across ranks, which every rank detects (on a second communicator, since a
     * mismatch breaks the one it happens on).
     */
    static void badInput(MpiCommunicator comm) {
        int n = comm.size(), rank = comm.rank();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment ok = arena.allocate(4L * n);
            expectRefusal(() -> comm.allReduce(MemorySegment.ofArray(new float[4]), Precision.FP32, ReduceOp.SUM),
                    "buffer: expected a native segment");
            Arena closed = Arena.ofShared();
            MemorySegment gone = closed.allocate(16);
            closed.close();
            expectRefusal(() -> comm.broadcast(gone, Precision.FP32, 0), "buffer: expected a segment whose arena is open, got one whose arena is closed");
            expectRefusal(() -> comm.reduceScatter(ok, ok.asReadOnly().asSlice(0, 4), Precision.FP32),
                    "recv: expected a writable segment");
            expectRefusal(() -> comm.reduceScatter(ok, arena.allocate(8), Precision.FP32), "send: expected " + 2 * n);
            expectRefusal(() -> comm.allReduce(arena.allocate(3), Precision.FP16, ReduceOp.SUM),
                    "buffer: expected whole FP16 elements");
            // An MPI error code becomes an exception with MPI's own text (2 is MPI_ERR_COUNT in Open MPI).
            try {
                Mpi.check(2, "MPI_Isend");
                throw new AssertionError("error code 2 was not refused");
            } catch (MpiException e) {
                check(e.errorCode() == 2 && e.getMessage().startsWith("MPI_Isend failed: MPI_ERR_COUNT: invalid count"),
                        e.getMessage());
            }
            ok.fill((byte) 0);
            ok.setAtIndex(ValueLayout.JAVA_FLOAT, 0, 1f);
            comm.allReduce(ok, Precision.FP32, ReduceOp.SUM);
            check(ok.getAtIndex(ValueLayout.JAVA_FLOAT, 0) == n, "allReduce after refusals: " + ok.getAtIndex(ValueLayout.JAVA_FLOAT, 0));

            MpiCommunicator second = MpiCommunicator.world(comm.settings());
            MemorySegment differs = arena.allocate(4L * (10 + rank));
            try {
                second.allReduce(differs, Precision.FP32, ReduceOp.SUM);
                throw new AssertionError("allReduce with " + (10 + rank) + " elements on rank " + rank + " was accepted");
            } catch (CollectiveMismatchException e) {
                check(e.getMessage().contains("rank 0 allReduce(FP32, SUM, 10 elements)")
                        && e.getMessage().contains("rank 1 allReduce(FP32, SUM, 11 elements)"), e.getMessage());
                System.out.println("rank " + rank + ": mismatch refused: " + e.getMessage());
            }
            try {
                second.barrier();
                throw new AssertionError("a broken communicator went on");
            } catch (GroupFailedException e) {
                check(e.getCause() instanceof CollectiveMismatchException, "cause: " + e.getCause());
            }
            second.close();
        }
    }

    private static void expectRefusal(Runnable r, String message) {
        try {
            r.run();
        } catch (IllegalArgumentException e) {
            check(e.getMessage().contains(message), "expected \"" + message + "\", got \"" + e.getMessage() + "\"");
            return;
        }
        throw new AssertionError("not refused: expected \"" + message + "\"");
    }

    // ---------------------------------------------------------------- failures

    /** All ranks train; after 3 steps the last rank runs {@code failure} while the others go on. */
    static void failAfterSomeSteps(MpiCommunicator comm, Runnable failure) {
        int n = comm.size(), batch = 8;
        int[] seen = {0};
        try (Arena arena = Arena.ofShared()) {
            runRank(plan(arena, config(ZeroStage.PARAMETERS, Precision.FP16, n, batch), n, 1_000_000),
                    ZeroRun.Checkpointing.NONE, comm, r -> {
                        if (++seen[0] == 3 && comm.rank() == n - 1) {
                            System.out.println("rank " + comm.rank() + ": failing now (3 steps done)");
                            System.out.flush();
                            failure.run();
                        }
                    });
        }
        throw new AssertionError("rank " + comm.rank() + " finished a million steps: the failure never stopped it");
    }
}
