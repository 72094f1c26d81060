package dev.adamant.zero;

import dev.adamant.zero.MemoryLedger.Purpose;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
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
import java.util.function.IntFunction;

/**
 * A training loop around {@link ZeroDevice}, for any {@link LayeredModel}: each rank prepares its
 * micro-batch and steps, for a number of iterations, saving {@link ZeroCheckpoint checkpoints} every
 * k steps or resuming from one, and reports its steps, memory, traffic and final parameters. One rank
 * over any {@link Communicator} ({@link #runRank}: one process of an MPI job), or all ranks as
 * threads of this JVM ({@link #run}).
 *
 * <p>What the demo's MLP training ({@code dev.adamant.examples.ZeroTraining}) and the engine's
 * tests run; a framework with its own loop calls {@link ZeroDevice#step} and {@link ZeroCheckpoint}
 * directly instead.
 */
public final class ZeroRun {
    private ZeroRun() {}

    /** One rank's model and data: {@link #prepare} loads iteration {@code step}'s micro-batch into {@link #model}. */
    public interface Workload extends AutoCloseable {
        /** The model this rank's device steps. */
        LayeredModel model();

        /** Makes {@link #model()} ready for iteration {@code step} (its micro-batch on this rank), before the step. */
        void prepare(long step);

        /** Frees what the workload holds; by default nothing. */
        @Override
        default void close() {}
    }

    /**
     * What every rank runs alike.
     *
     * @param config the engine's configuration
     * @param layout the flat layout of the model's tensors over the ranks
     * @param initial the model's initial fp32 parameters in {@code layout}'s padded order (zeros in the
     *     padding), {@code layout.paddedSize()} floats; unused when resuming
     * @param steps the iterations the run goes to in all (a resumed run continues up to it)
     */
    public record Plan(ZeroConfig config, FlatLayout layout, MemorySegment initial, long steps) {
        public Plan {
            Objects.requireNonNull(config, "config");
            Objects.requireNonNull(layout, "layout");
            Objects.requireNonNull(initial, "initial");
            if (steps < 1) {
                throw new IllegalArgumentException("steps: expected >= 1, got " + steps);
            }
        }
    }

    /**
     * Checkpoints of a run ({@link ZeroCheckpoint}): where to save, how often, where to resume from.
     *
     * @param save the folder to save into, or null
     * @param every save after every {@code every} steps (0: only at the end); the end always saves
     * @param resume the folder whose newest checkpoint the run continues from, or null to start fresh;
     *     the run then goes on to {@link Plan#steps()} steps in all
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
     * One rank's part of a run.
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
     * Runs all {@code layout.devices()} ranks as threads of this JVM ({@link InProcessGroup}), each with
     * the workload {@code workloads} makes for its rank (on the rank's thread; closed at its end);
     * {@code onStep} sees rank 0's result of every step, on rank 0's thread.
     */
    public static Result run(Plan plan, Duration timeout, Checkpointing checkpoints,
                             IntFunction<? extends Workload> workloads, Consumer<StepResult> onStep) {
        Objects.requireNonNull(plan, "plan");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(checkpoints, "checkpoints");
        Objects.requireNonNull(workloads, "workloads");
        Objects.requireNonNull(onStep, "onStep");
        int n = plan.layout().devices();
        RankResult[] results = new RankResult[n];
        InProcessGroup.create(n, timeout).run(comm -> {
            try (Workload w = Objects.requireNonNull(workloads.apply(comm.rank()), "workloads.apply")) {
                results[comm.rank()] = train(plan, checkpoints, comm, w, comm.rank() == 0 ? onStep : r -> { });
            }
        });
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
     * Runs rank {@code comm.rank()} on the calling thread with {@code workload} (which the caller
     * closes); {@code onStep} sees every step's result on this rank.
     *
     * @throws IllegalArgumentException if the layout is not over {@code comm.size()} devices
     */
    public static RankResult runRank(Plan plan, Checkpointing checkpoints, Communicator comm, Workload workload,
                                     Consumer<StepResult> onStep) {
        Objects.requireNonNull(plan, "plan");
        Objects.requireNonNull(checkpoints, "checkpoints");
        Objects.requireNonNull(comm, "comm");
        Objects.requireNonNull(workload, "workload");
        Objects.requireNonNull(onStep, "onStep");
        if (plan.layout().devices() != comm.size()) {
            throw new IllegalArgumentException("plan.layout: expected a layout over the communicator's " + comm.size()
                    + " ranks, got one over " + plan.layout().devices());
        }
        return train(plan, checkpoints, comm, workload, onStep);
    }

    private static RankResult train(Plan plan, Checkpointing ck, Communicator comm, Workload workload,
                                    Consumer<StepResult> onStep) {
        FlatLayout layout = plan.layout();
        List<StepResult> history = new ArrayList<>();
        long[] resumedAt = {0};
        try (Arena local = Arena.ofShared();
             ZeroDevice device = open(plan, comm, ck, resumedAt)) {
            long first = resumedAt[0];
            comm.resetStats();
            long start = 0;
            for (long s = first; s < plan.steps(); s++) {
                if (s == first + 1) {
                    start = System.nanoTime();
                }
                StepResult r = step(s, workload, device);
                history.add(r);
                onStep.accept(r);
                if (ck.save() != null && (s + 1 == plan.steps() || ck.every() > 0 && (s + 1) % ck.every() == 0)) {
                    ZeroCheckpoint.save(device, ck.save(), s + 1);
                }
            }
            CommStats traffic = comm.stats();
            double seconds = plan.steps() - first > 1 ? (System.nanoTime() - start) / 1e9 / (plan.steps() - first - 1) : 0;
            MemorySegment all = local.allocate(layout.paddedSize() * plan.config().precision().bytes());
            device.gatherParams(all);
            return new RankResult(List.copyOf(history), device.ledger().snapshot(), device.ledger().peakTotal(), traffic,
                    seconds, layout, all.toArray(ValueLayout.JAVA_SHORT_UNALIGNED));
        }
    }

    /** A new device, or one restored from the newest checkpoint; {@code resumedAt[0]} = the iteration it resumes at. */
    private static ZeroDevice open(Plan plan, Communicator comm, Checkpointing ck, long[] resumedAt) {
        if (ck.resume() == null) {
            return new ZeroDevice(plan.config(), plan.layout(), comm, plan.initial());
        }
        ZeroCheckpoint.Restored r = ZeroCheckpoint.restore(plan.config(), plan.layout(), comm, ck.resume());
        resumedAt[0] = r.info().iterations();
        return r.device();
    }

    /**
     * One step's body, in a method of its own: the JIT compiles it as a unit (a device's whole loop
     * as one method measured 20x slower, compiled on-stack from a long-running frame).
     */
    private static StepResult step(long s, Workload workload, ZeroDevice device) {
        workload.prepare(s);
        return device.step(workload.model());
    }
}
