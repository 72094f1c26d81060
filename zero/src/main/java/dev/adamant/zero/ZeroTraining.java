package dev.adamant.zero;

import dev.adamant.zero.MemoryLedger.Purpose;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.InProcessGroup;
import dev.adamant.zero.model.Mlp;
import dev.adamant.zero.model.Teacher;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
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

    /** Runs the training; {@code onStep} sees rank 0's result of every step, on rank 0's thread. */
    public static Result run(Options o, Consumer<StepResult> onStep) {
        int n = o.devices();
        int[] widths = o.widths().clone();
        int in = widths[0], out = widths[widths.length - 1];
        List<StepResult> history = Collections.synchronizedList(new ArrayList<>());
        Map<Purpose, Long>[] ledgers = newMaps(n);
        long[] peaks = new long[n];
        CommStats[] traffic = new CommStats[n];
        double[] seconds = new double[1];
        short[][] finalParams = new short[1][];
        FlatLayout[] layoutHolder = new FlatLayout[1];
        try (Arena arena = Arena.ofShared()) {
            Mlp probe = new Mlp(widths, o.config().precision(), 1);
            FlatLayout layout = FlatLayout.of(probe.tensorSizes(), n);
            probe.close();
            layoutHolder[0] = layout;
            MemorySegment initial = paddedInitial(arena, widths, layout, o.seed());
            Teacher teacher = new Teacher(widths, o.seed() + 1_000_003);   // never the student seed: it would start at the answer
            InProcessGroup.create(n, o.timeout()).run(comm -> {
                int rank = comm.rank();
                try (Arena local = Arena.ofShared();
                     Mlp model = new Mlp(widths, o.config().precision(), o.microBatch());
                     ZeroDevice device = new ZeroDevice(o.config(), layout, comm, initial)) {
                    MemorySegment inputs = local.allocate((long) o.microBatch() * in * Float.BYTES, 64);
                    MemorySegment targets = local.allocate((long) o.microBatch() * out * Float.BYTES, 64);
                    comm.resetStats();
                    long start = 0;
                    for (int s = 0; s < o.steps(); s++) {
                        if (s == 1) {
                            start = System.nanoTime();
                        }
                        StepResult r = step(s, rank, teacher, model, device, inputs, targets, o.microBatch());
                        if (rank == 0) {
                            history.add(r);
                            onStep.accept(r);
                        }
                    }
                    traffic[rank] = comm.stats();
                    ledgers[rank] = device.ledger().snapshot();
                    peaks[rank] = device.ledger().peakTotal();
                    if (rank == 0 && o.steps() > 1) {
                        seconds[0] = (System.nanoTime() - start) / 1e9 / (o.steps() - 1);
                    }
                    MemorySegment all = local.allocate(layout.paddedSize() * o.config().precision().bytes());
                    device.gatherParams(all);
                    if (rank == 0) {
                        finalParams[0] = all.toArray(ValueLayout.JAVA_SHORT_UNALIGNED);
                    }
                }
            });
        }
        List<Long> peakList = new ArrayList<>();
        for (long p : peaks) {
            peakList.add(p);
        }
        return new Result(List.copyOf(history), List.of(ledgers), peakList, List.of(traffic), seconds[0],
                layoutHolder[0], finalParams[0]);
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

    @SuppressWarnings("unchecked")
    private static Map<Purpose, Long>[] newMaps(int n) {
        return (Map<Purpose, Long>[]) new Map<?, ?>[n];
    }
}
