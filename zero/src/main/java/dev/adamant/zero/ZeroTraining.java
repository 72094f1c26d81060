package dev.adamant.zero;

import dev.adamant.zero.MemoryLedger.Purpose;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.model.Mlp;
import dev.adamant.zero.model.Teacher;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A whole ZeRO training run in one JVM: N devices (threads) train a {@link Mlp} to match a fixed
 * random {@link Teacher}, each on its own micro-batch, with mixed precision, dynamic loss scaling and
 * the configured stage. What the demo and the end-to-end tests run.
 */
public final class ZeroTraining {
    private ZeroTraining() {}

    /**
     * @param devices N
     * @param widths the MLP's layer widths, input first
     * @param microBatch examples per device per step (the global batch is N times this)
     * @param steps optimizer steps to try (skipped steps count)
     * @param seed the model's initialization; the teacher and the data derive from it
     */
    public record Options(int devices, ZeroConfig config, int[] widths, int microBatch, int steps, long seed,
                          Duration timeout) {
        public Options {
            Objects.requireNonNull(config, "config");
            Objects.requireNonNull(widths, "widths");
            Objects.requireNonNull(timeout, "timeout");
            if (devices < 1) {
                throw new IllegalArgumentException("devices: expected >= 1, got " + devices);
            }
            if (microBatch < 1) {
                throw new IllegalArgumentException("microBatch: expected >= 1, got " + microBatch);
            }
            if (steps < 1) {
                throw new IllegalArgumentException("steps: expected >= 1, got " + steps);
            }
            if (config.globalBatch() != devices * microBatch) {
                throw new IllegalArgumentException("config.globalBatch: expected devices x microBatch = "
                        + devices * microBatch + ", got " + config.globalBatch());
            }
        }
    }

    /**
     * What a run did.
     *
     * @param history rank 0's view of every step
     * @param ledgers each device's bytes by purpose at the end
     * @param peaks each device's peak bytes, all purposes
     * @param traffic each device's communication over the whole run
     * @param secondsPerStep wall time per step, averaged after the first
     * @param layout the flat layout (parameters, padding, partition)
     * @param finalParams all 16-bit parameters at the end (padded layout)
     */
    public record Result(List<StepResult> history, List<Map<Purpose, Long>> ledgers, List<Long> peaks,
                         List<CommStats> traffic, double secondsPerStep, FlatLayout layout, short[] finalParams) {}

    /**
     * One rank's part of a run over any {@link Communicator} (one process of an MPI job, say): the
     * same training as {@link #run}, for rank {@code comm.rank()}.
     *
     * @param history this rank's view of every step (the loss and the scale are the same on every rank)
     * @param ledger this device's bytes by purpose at the end
     * @param peak this device's peak bytes, all purposes
     * @param traffic this device's communication over the whole run
     * @param secondsPerStep wall time per step, averaged after the first
     * @param layout the flat layout
     * @param finalParams all 16-bit parameters at the end (padded layout), gathered on every rank
     */
    public record RankResult(List<StepResult> history, Map<Purpose, Long> ledger, long peak, CommStats traffic,
                             double secondsPerStep, FlatLayout layout, short[] finalParams) {}

    /**
     * Checkpoints of a run ({@link ZeroCheckpoint}): where to save, how often, where to resume from.
     *
     * @param save the folder to save into, or null
     * @param every save after every {@code every} steps (0: only at the end); the end always saves
     * @param resume the folder whose newest checkpoint the run continues from, or null to start fresh;
     *     the run then goes on to {@link Options#steps()} steps in all
     */
    public record Checkpointing(Path save, int every, Path resume) {
        /** No checkpoints. */
        public static final Checkpointing NONE = new Checkpointing(null, 0, null);

        public Checkpointing {
            if (every < 0) {
                throw new IllegalArgumentException("every: expected >= 0, got " + every);
            }
        }
    }

    /** Runs the training; {@code onStep} sees rank 0's result of every step, on rank 0's thread. */
    public static Result run(Options o, Consumer<StepResult> onStep) {
        return run(o, Checkpointing.NONE, onStep);
    }

    /** {@link #run(Options, Consumer)} with checkpoints. */
    public static Result run(Options o, Checkpointing checkpoints, Consumer<StepResult> onStep) {
        Objects.requireNonNull(checkpoints, "checkpoints");
        int n = o.devices();
        RankResult[] results = new RankResult[n];
        try (Arena arena = Arena.ofShared()) {
            Setup setup = new Setup(o, arena);
            InProcessGroup.create(n, o.timeout()).run(comm ->
                    results[comm.rank()] = train(o, setup, comm, checkpoints, comm.rank() == 0 ? onStep : r -> { }));
        }
        List<Map<Purpose, Long>> ledgers = new ArrayList<>();
        List<Long> peaks = new ArrayList<>();
        List<CommStats> traffic = new ArrayList<>();
        for (RankResult r : results) {
            ledgers.add(r.ledger());
            peaks.add(r.peak());
            traffic.add(r.traffic());
        }
        RankResult first = results[0];
        return new Result(first.history(), List.copyOf(ledgers), List.copyOf(peaks), List.copyOf(traffic),
                first.secondsPerStep(), first.layout(), first.finalParams());
    }

    /**
     * Runs rank {@code comm.rank()} of the training, on the calling thread; {@code onStep} sees every
     * step's result on this rank.
     *
     * @throws IllegalArgumentException if {@code o.devices()} is not {@code comm.size()}
     */
    public static RankResult runRank(Options o, Communicator comm, Consumer<StepResult> onStep) {
        return runRank(o, Checkpointing.NONE, comm, onStep);
    }

    /** {@link #runRank(Options, Communicator, Consumer)} with checkpoints. */
    public static RankResult runRank(Options o, Checkpointing checkpoints, Communicator comm,
                                     Consumer<StepResult> onStep) {
        Objects.requireNonNull(checkpoints, "checkpoints");
        Objects.requireNonNull(comm, "comm");
        Objects.requireNonNull(onStep, "onStep");
        if (o.devices() != comm.size()) {
            throw new IllegalArgumentException("o.devices: expected the communicator's " + comm.size()
                    + " ranks, got " + o.devices());
        }
        try (Arena arena = Arena.ofShared()) {
            return train(o, new Setup(o, arena), comm, checkpoints, onStep);
        }
    }

    /** What every rank derives alike from the options: the layout, the initial parameters, the teacher. */
    private record Setup(FlatLayout layout, MemorySegment initial, Teacher teacher) {
        Setup(Options o, Arena arena) {
            this(layoutOf(o), arena, o);
        }

        private Setup(FlatLayout layout, Arena arena, Options o) {
            // The teacher never takes the student's seed: it would start at the answer.
            this(layout, paddedInitial(arena, o.widths(), layout, o.seed()), new Teacher(o.widths(), o.seed() + 1_000_003));
        }

        private static FlatLayout layoutOf(Options o) {
            try (Mlp probe = new Mlp(o.widths(), o.config().precision(), 1)) {
                return FlatLayout.of(probe.tensorSizes(), o.devices());
            }
        }
    }

    private static RankResult train(Options o, Setup setup, Communicator comm, Checkpointing ck,
                                    Consumer<StepResult> onStep) {
        int[] widths = o.widths().clone();
        int in = widths[0], out = widths[widths.length - 1];
        int rank = comm.rank();
        FlatLayout layout = setup.layout();
        List<StepResult> history = new ArrayList<>();
        long[] resumedAt = {0};
        try (Arena local = Arena.ofShared();
             Mlp model = new Mlp(widths, o.config().precision(), o.microBatch());
             ZeroDevice device = open(o, setup, comm, ck, resumedAt)) {
            long first = resumedAt[0];
            MemorySegment inputs = local.allocate((long) o.microBatch() * in * Float.BYTES, 64);
            MemorySegment targets = local.allocate((long) o.microBatch() * out * Float.BYTES, 64);
            comm.resetStats();
            long start = 0;
            for (long s = first; s < o.steps(); s++) {
                if (s == first + 1) {
                    start = System.nanoTime();
                }
                StepResult r = step(s, rank, setup.teacher(), model, device, inputs, targets, o.microBatch());
                history.add(r);
                onStep.accept(r);
                if (ck.save() != null && (s + 1 == o.steps() || ck.every() > 0 && (s + 1) % ck.every() == 0)) {
                    ZeroCheckpoint.save(device, ck.save(), s + 1);
                }
            }
            CommStats traffic = comm.stats();
            double seconds = o.steps() - first > 1 ? (System.nanoTime() - start) / 1e9 / (o.steps() - first - 1) : 0;
            MemorySegment all = local.allocate(layout.paddedSize() * o.config().precision().bytes());
            device.gatherParams(all);
            return new RankResult(List.copyOf(history), device.ledger().snapshot(), device.ledger().peakTotal(), traffic,
                    seconds, layout, all.toArray(ValueLayout.JAVA_SHORT_UNALIGNED));
        }
    }

    /** A new device, or one restored from the newest checkpoint; {@code resumedAt[0]} = the iteration it resumes at. */
    private static ZeroDevice open(Options o, Setup setup, Communicator comm, Checkpointing ck, long[] resumedAt) {
        if (ck.resume() == null) {
            return new ZeroDevice(o.config(), setup.layout(), comm, setup.initial());
        }
        ZeroCheckpoint.Restored r = ZeroCheckpoint.restore(o.config(), setup.layout(), comm, ck.resume());
        resumedAt[0] = r.info().iterations();
        return r.device();
    }

    /**
     * One step's body, in a method of its own: the JIT compiles it as a unit (a device's whole loop
     * as one method measured 20x slower, compiled on-stack from a long-running frame).
     */
    private static StepResult step(long s, int rank, Teacher teacher, Mlp model, ZeroDevice device,
                                   MemorySegment inputs, MemorySegment targets, int rows) {
        teacher.sample(s, rank, inputs, targets, rows);
        model.loadBatch(inputs, targets);
        return device.step(model);
    }

    /** The model's initial fp32 parameters in the padded layout: zeros in the padding. */
    static MemorySegment paddedInitial(Arena arena, int[] widths, FlatLayout layout, long seed) {
        long dense = 0;
        for (FlatLayout.Tensor t : layout.tensors()) {
            dense += t.count();
        }
        MemorySegment flat = arena.allocate(dense * Float.BYTES, 64);
        Mlp.initialize(widths, flat, seed);
        MemorySegment padded = arena.allocate(layout.paddedSize() * Float.BYTES, 64);
        long from = 0;
        for (FlatLayout.Tensor t : layout.tensors()) {
            MemorySegment.copy(flat, from * Float.BYTES, padded, t.offset() * Float.BYTES, t.count() * Float.BYTES);
            from += t.count();
        }
        return padded;
    }
}
