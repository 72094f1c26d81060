package dev.adamant.zero;

import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.fp16.mixed.MixedPrecisionOptimizer;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a checkpoint restores, as bits, without padding: per tensor the master weights, each
 * optimizer state and the 16-bit parameters (as ints), the optimizer step count, the loss scaler's
 * state and the iteration. Read from live devices (what a save must keep) or from what a restore
 * produced, by the same accessors the engine uses, so two states compare bit for bit.
 */
record RunState(long iterations, long optimizerSteps, DynamicLossScaler.State scaler, List<Map<String, int[]>> tensors) {
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** The kinds a device of {@code config} keeps per tensor: master, the optimizer's states, params. */
    static List<String> kinds(ZeroConfig config) {
        List<String> kinds = new ArrayList<>();
        kinds.add(MixedPrecisionOptimizer.MASTER);
        try (Optimizer probe = Optimizers.adam(config.optimizer(), 1)) {
            kinds.addAll(probe.stateNames());
        }
        kinds.add(ZeroCheckpoint.PARAMS);
        return kinds;
    }

    private static long[] lengths(Map<String, Long> sizes) {
        return sizes.values().stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * Restores {@code folder}'s newest checkpoint into one plain optimizer and 16-bit parameters
     * ({@link ZeroCheckpoint#restoreInto}) and reads back what they hold. If the restore is refused,
     * checks that it changed nothing (the optimizer still fresh, the parameters untouched) or
     * closed the optimizer, as documented, and rethrows.
     */
    static RunState restoredInto(ZeroConfig config, Map<String, Long> sizes, Path folder) {
        long n = sizes.values().stream().mapToLong(Long::longValue).sum();
        try (Arena arena = Arena.ofConfined();
             MixedPrecisionOptimizer target = MixedPrecisionOptimizer.builder(Optimizers.adam(config.optimizer(), n),
                     config.precision()).lossScaler(config.newLossScaler()).rounding(config.rounding()).build()) {
            MemorySegment params = arena.allocate(n * config.precision().bytes(), 64);
            params.fill((byte) 0x5A);
            ZeroCheckpoint.Info info;
            try {
                info = ZeroCheckpoint.restoreInto(target, config, sizes, params, folder);
            } catch (RuntimeException e) {
                requireUnchangedOrClosed(target, params, config);
                throw e;
            }
            Collector c = new Collector(lengths(sizes), kinds(config));
            c.add(target, params);
            return c.state(info.iterations());
        }
    }

    private static void requireUnchangedOrClosed(MixedPrecisionOptimizer target, MemorySegment params, ZeroConfig config) {
        MemorySegment master;
        try {
            master = target.masterWeights();
        } catch (IllegalStateException closed) {
            return;   // documented: a restore that fails while filling closes its target
        }
        List<MemorySegment> state = new ArrayList<>(List.of(master));
        for (String name : target.optimizer().stateNames()) {
            state.add(target.optimizer().state(name));
        }
        for (MemorySegment s : state) {
            if (s.mismatch(MemorySegment.ofArray(new byte[(int) s.byteSize()])) >= 0) {
                throw new AssertionError("a refused restoreInto left its target open but changed its state");
            }
        }
        MemorySegment pattern = MemorySegment.ofArray(new byte[(int) params.byteSize()]).fill((byte) 0x5A);
        if (params.mismatch(pattern) >= 0 || target.optimizer().stepCount() != 0
                || !target.scaler().state().equals(config.newLossScaler().state())) {
            throw new AssertionError("a refused restoreInto left its target open but changed its parameters,"
                    + " step count or scaler");
        }
    }

    /**
     * Restores {@code folder}'s newest checkpoint onto {@code devices} new devices of
     * {@code config} (any stage; the default layout) and reads back what they hold.
     */
    static RunState restoredOnDevices(ZeroConfig config, Map<String, Long> sizes, int devices, Path folder) {
        FlatLayout layout = FlatLayout.of(sizes, devices);
        Collector c = new Collector(lengths(sizes), kinds(config));
        long[] iterations = new long[1];
        InProcessGroup.create(devices, Duration.ofMinutes(1)).run(comm -> {
            ZeroCheckpoint.Restored r = ZeroCheckpoint.restore(config, layout, comm, folder);
            try (ZeroDevice d = r.device()) {
                c.add(d);
                iterations[0] = r.info().iterations();
            }
        });
        return c.state(iterations[0]);
    }

    /** The first difference from {@code other}, or null if the two are the same bits. */
    String difference(RunState other) {
        if (iterations != other.iterations || optimizerSteps != other.optimizerSteps || !scaler.equals(other.scaler)) {
            return "iterations " + iterations + " vs " + other.iterations + ", steps " + optimizerSteps + " vs "
                    + other.optimizerSteps + ", scaler " + scaler + " vs " + other.scaler;
        }
        for (int t = 0; t < tensors.size(); t++) {
            if (!tensors.get(t).keySet().equals(other.tensors.get(t).keySet())) {
                return "tensor " + t + ": kinds " + tensors.get(t).keySet() + " vs " + other.tensors.get(t).keySet();
            }
            for (String kind : tensors.get(t).keySet()) {
                int[] a = tensors.get(t).get(kind), b = other.tensors.get(t).get(kind);
                int at = Arrays.mismatch(a, b);
                if (at >= 0) {
                    return "tensor " + t + " " + kind + " element " + at + ": " + (at < a.length ? a[at] : "none")
                            + " vs " + (at < b.length ? b[at] : "none");
                }
            }
        }
        return null;
    }

    /**
     * Gathers a state from the devices of one group: each device thread calls {@link #add} with its
     * own device (they write disjoint elements), then one thread, after the group has ended, calls
     * {@link #state}.
     */
    static final class Collector {
        private final List<Map<String, int[]>> tensors = new ArrayList<>();
        private final long[] lengths;
        private volatile long steps = -1;
        private volatile DynamicLossScaler.State scaler;

        Collector(long[] lengths, List<String> kinds) {
            this.lengths = lengths.clone();
            for (long n : lengths) {
                Map<String, int[]> m = new LinkedHashMap<>();
                for (String kind : kinds) {
                    m.put(kind, new int[Math.toIntExact(n)]);
                }
                tensors.add(m);
            }
        }

        /** Device {@code d}'s own elements of every tensor (all of them at stage 0), and rank 0's counters. */
        void add(ZeroDevice d) {
            for (FlatLayout.Tensor t : d.layout().tensors()) {
                MixedPrecisionOptimizer m = d.optimizer(t);
                long own = d.ownStart(t), count = Math.min(m.size(), t.count() - own);
                if (count <= 0) {
                    continue;   // this device's slice of t is all padding
                }
                Map<String, int[]> out = tensors.get(t.index());
                for (Map.Entry<String, int[]> e : out.entrySet()) {
                    String kind = e.getKey();
                    if (kind.equals(ZeroCheckpoint.PARAMS)) {
                        MemorySegment p = d.ownParamsOf(t);
                        for (long i = 0; i < count; i++) {
                            e.getValue()[(int) (own + i)] = p.getAtIndex(S, i) & 0xFFFF;
                        }
                    } else {
                        MemorySegment src = kind.equals(MixedPrecisionOptimizer.MASTER) ? m.masterWeights()
                                : m.optimizer().state(kind);
                        MemorySegment.copy(src, I, 0, e.getValue(), (int) own, (int) count);
                    }
                }
            }
            if (d.comm().rank() == 0) {
                steps = d.steps();
                scaler = d.scaler().state();
            }
        }

        /** A plain optimizer's whole state, its tensors back to back, and the 16-bit {@code params}. */
        void add(MixedPrecisionOptimizer target, MemorySegment params) {
            long at = 0;
            for (int t = 0; t < lengths.length; t++) {
                int n = (int) lengths[t];
                for (Map.Entry<String, int[]> e : tensors.get(t).entrySet()) {
                    String kind = e.getKey();
                    if (kind.equals(ZeroCheckpoint.PARAMS)) {
                        for (int i = 0; i < n; i++) {
                            e.getValue()[i] = params.getAtIndex(S, at + i) & 0xFFFF;
                        }
                    } else {
                        MemorySegment src = kind.equals(MixedPrecisionOptimizer.MASTER) ? target.masterWeights()
                                : target.optimizer().state(kind);
                        MemorySegment.copy(src, I, at * Integer.BYTES, e.getValue(), 0, n);
                    }
                }
                at += n;
            }
            steps = target.optimizer().stepCount();
            scaler = target.scaler().state();
        }

        RunState state(long iterations) {
            return new RunState(iterations, steps, scaler, tensors);
        }
    }
}
