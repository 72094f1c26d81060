package dev.adamant.examples;

import dev.adamant.zero.LayeredModel;
import dev.adamant.zero.StepResult;
import dev.adamant.zero.ZeroConfig;
import dev.adamant.zero.ZeroRun;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A whole ZeRO training run in one JVM: N devices (threads) train a {@link Mlp} to match a fixed
 * random {@link Teacher}, each on its own micro-batch, with mixed precision, dynamic loss scaling and
 * the configured stage, through zero's {@link ZeroRun} loop. What the demo and the end-to-end tests run.
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

    /** Runs the training; {@code onStep} sees rank 0's result of every step, on rank 0's thread. */
    public static ZeroRun.Result run(Options o, Consumer<StepResult> onStep) {
        return run(o, ZeroRun.Checkpointing.NONE, onStep);
    }

    /** {@link #run(Options, Consumer)} with checkpoints. */
    public static ZeroRun.Result run(Options o, ZeroRun.Checkpointing checkpoints, Consumer<StepResult> onStep) {
        try (Arena arena = Arena.ofShared()) {
            Setup setup = new Setup(o, arena);
            return ZeroRun.run(setup.plan(), o.timeout(), checkpoints, rank -> new Batches(o, setup.teacher(), rank),
                    onStep);
        }
    }

    /**
     * One rank's part of the training over any {@link Communicator} (one process of an MPI job, say):
     * the same training as {@link #run}, for rank {@code comm.rank()}, on the calling thread;
     * {@code onStep} sees every step's result on this rank.
     *
     * @throws IllegalArgumentException if {@code o.devices()} is not {@code comm.size()}
     */
    public static ZeroRun.RankResult runRank(Options o, Communicator comm, Consumer<StepResult> onStep) {
        return runRank(o, ZeroRun.Checkpointing.NONE, comm, onStep);
    }

    /** {@link #runRank(Options, Communicator, Consumer)} with checkpoints. */
    public static ZeroRun.RankResult runRank(Options o, ZeroRun.Checkpointing checkpoints, Communicator comm,
                                             Consumer<StepResult> onStep) {
        Objects.requireNonNull(comm, "comm");
        if (o.devices() != comm.size()) {
            throw new IllegalArgumentException("o.devices: expected the communicator's " + comm.size()
                    + " ranks, got " + o.devices());
        }
        try (Arena arena = Arena.ofShared()) {
            Setup setup = new Setup(o, arena);
            try (Batches batches = new Batches(o, setup.teacher(), comm.rank())) {
                return ZeroRun.runRank(setup.plan(), checkpoints, comm, batches, onStep);
            }
        }
    }

    /** What every rank derives alike from the options: the plan (layout, initial parameters), the teacher. */
    private record Setup(ZeroRun.Plan plan, Teacher teacher) {
        Setup(Options o, Arena arena) {
            this(layoutOf(o), arena, o);
        }

        private Setup(FlatLayout layout, Arena arena, Options o) {
            // The teacher never takes the student's seed: it would start at the answer.
            this(new ZeroRun.Plan(o.config(), layout, paddedInitial(arena, o.widths(), layout, o.seed()), o.steps()),
                    new Teacher(o.widths(), o.seed() + 1_000_003));
        }

        private static FlatLayout layoutOf(Options o) {
            try (Mlp probe = new Mlp(o.widths(), o.config().precision(), 1)) {
                return FlatLayout.of(probe.tensorSizes(), o.devices());
            }
        }
    }

    /** One rank's MLP and its micro-batches, drawn from the teacher. */
    private static final class Batches implements ZeroRun.Workload {
        private final Arena arena = Arena.ofShared();
        private final Teacher teacher;
        private final int rank, rows;
        private final Mlp model;
        private final MemorySegment inputs, targets;

        Batches(Options o, Teacher teacher, int rank) {
            int[] widths = o.widths();
            this.teacher = teacher;
            this.rank = rank;
            this.rows = o.microBatch();
            this.model = new Mlp(widths, o.config().precision(), rows);
            this.inputs = arena.allocate((long) rows * widths[0] * Float.BYTES, 64);
            this.targets = arena.allocate((long) rows * widths[widths.length - 1] * Float.BYTES, 64);
        }

        @Override
        public LayeredModel model() {
            return model;
        }

        @Override
        public void prepare(long step) {
            teacher.sample(step, rank, inputs, targets, rows);
            model.loadBatch(inputs, targets);
        }

        @Override
        public void close() {
            try (arena; model) {
                // both closed
            }
        }
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
