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

    /**
     * The kinds a device of {@code config} keeps for a tensor of {@code elements}: as the core
     * optimizer of that many parameters names its state (8-bit block-wise from the format's minimum
     * size, fp32 below it, as bitsandbytes decides per tensor).
     */
    static List<String> kinds(ZeroConfig config, long elements) {
        List<String> kinds = new ArrayList<>();
        kinds.add(MixedPrecisionOptimizer.MASTER);
        try (Optimizer probe = Optimizers.adam(config.optimizer(), elements)) {
            kinds.addAll(probe.stateNames());
        }
        kinds.add(ZeroCheckpoint.PARAMS);
        return kinds;
    }

    /** 8-bit codes: a byte an element. */
    private static boolean bytes(String kind) {
        return kind.equals("state1") || kind.equals("state2");
    }

    /** 8-bit absmax: a float a block of 256. */
    private static boolean perBlock(String kind) {
        return kind.startsWith("absmax");
    }

    private static List<List<String>> kinds(ZeroConfig config, long[] lengths) {
        List<List<String>> all = new ArrayList<>();
        for (long n : lengths) {
            all.add(kinds(config, n));
        }
        return all;
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
            Collector c = Collector.perTensor(lengths(sizes), kinds(config, lengths(sizes)));
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
        Collector c = Collector.perTensor(lengths(sizes), kinds(config, lengths(sizes)));
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
            this(java.util.Collections.nCopies(lengths.length, kinds), lengths);
        }

        /** With each tensor's own kinds; an absmax kind holds a value a block of 256. */
        static Collector perTensor(long[] lengths, List<List<String>> kinds) {
            return new Collector(kinds, lengths);
        }

        private Collector(List<List<String>> kinds, long[] lengths) {
            this.lengths = lengths.clone();
            for (int t = 0; t < lengths.length; t++) {
                long n = lengths[t];
                Map<String, int[]> m = new LinkedHashMap<>();
                for (String kind : kinds.get(t)) {
                    m.put(kind, new int[Math.toIntExact(perBlock(kind) ? (n + 255) / 256 : n)]);
                }
                tensors.add(m);
            }
        }

        /** Elements {@code [0, count)} of {@code src} (a state of {@code kind}) into {@code out} from element {@code at}. */
        private static void copyState(String kind, MemorySegment src, long from, int[] out, long at, long count) {
            if (bytes(kind)) {
                for (long i = 0; i < count; i++) {
                    out[(int) (at + i)] = src.get(ValueLayout.JAVA_BYTE, from + i) & 0xFF;
                }
            } else if (perBlock(kind)) {   // a share starts on a block boundary
                MemorySegment.copy(src, I, from / 256 * Integer.BYTES, out, (int) (at / 256), (int) ((count + 255) / 256));
            } else {
                MemorySegment.copy(src, I, from * Integer.BYTES, out, (int) at, (int) count);
            }
        }

        /** Device {@code d}'s own elements of every tensor (all of them at stage 0), and rank 0's counters. */
        void add(ZeroDevice d) {
            for (FlatLayout.Tensor t : d.layout().tensors()) {
                MixedPrecisionOptimizer m = d.optimizer(t);
                if (m == null) {
                    continue;   // t is outside this device's slices
                }
                long own = d.ownStart(t), count = m.size();
                Map<String, int[]> out = tensors.get(t.index());
                for (Map.Entry<String, int[]> e : out.entrySet()) {
                    String kind = e.getKey();
                    if (kind.equals(ZeroCheckpoint.PARAMS)) {
                        MemorySegment p = d.ownParamsOf(t);
                        for (long i = 0; i < count; i++) {
                            e.getValue()[(int) (own + i)] = p.getAtIndex(S, i) & 0xFFFF;
                        }
                    } else if (kind.equals(MixedPrecisionOptimizer.MASTER)) {
                        MemorySegment.copy(m.masterWeights(), I, 0, e.getValue(), (int) own, (int) count);
                    } else {
                        copyState(kind, m.optimizer().state(kind), 0, e.getValue(), own, count);
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
                    } else if (kind.equals(MixedPrecisionOptimizer.MASTER)) {
                        MemorySegment.copy(target.masterWeights(), I, at * Integer.BYTES, e.getValue(), 0, n);
                    } else {
                        copyState(kind, target.optimizer().state(kind), at, e.getValue(), 0, n);
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
