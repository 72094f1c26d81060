package dev.adamant.core;

import dev.adamant.core.AbstractOptimizer.StepKernel;
import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.memory.Buffers;
import dev.adamant.core.memory.Segments;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The {@link MultiTensorOptimizer}: one flat state buffer per name over all tensors (the layout its
 * interface draws), and a step that is one parallel region over the tensors' elements end to end.
 */
final class FlatMultiTensorOptimizer implements MultiTensorOptimizer {
    private final KernelProvider kernels;
    /** Each group's config; replaced under the busy flag. */
    private final OptimizerConfig[] configs;
    /** Each group's state buffers: fixed, since a new config must keep them. */
    private final List<List<String>> groupStateNames;
    /** Per tensor: its group, size and state offset (padded to a line). */
    private final int[] groupOf;
    private final long[] sizes, offsets;
    /** Per tensor, built once: {@code params[i]} and {@code grads[i]}, for the checks' messages. */
    private final String[] paramNames, gradNames;
    /** Floats of all tensors; the end of the last tensor's state (the step's index space); with the last padding. */
    private final long total, extent, stateSize;
    private final StateBuffers state;
    /** Taken by a step, restore, setLr or setConfig: a second thread calling at once is refused. */
    private final CallGuard guard = new CallGuard();
    private long steps;

    private FlatMultiTensorOptimizer(ParamGroup[] groups, int tensors, KernelProvider kernels) {
        this.kernels = kernels;
        this.configs = new OptimizerConfig[groups.length];
        this.groupStateNames = new ArrayList<>(groups.length);
        this.groupOf = new int[tensors];
        this.sizes = new long[tensors];
        this.offsets = new long[tensors];
        this.paramNames = new String[tensors];
        this.gradNames = new String[tensors];
        long end = 0, stateEnd = 0;
        int i = 0;
        for (int g = 0; g < groups.length; g++) {
            configs[g] = groups[g].config();
            groupStateNames.add(List.copyOf(StepRules.stateNames(configs[g])));
            for (int k = 0; k < groups[g].tensors(); k++, i++) {
                groupOf[i] = g;
                sizes[i] = groups[g].size(k);
                offsets[i] = stateEnd;
                paramNames[i] = "params[" + i + "]";
                gradNames[i] = "grads[" + i + "]";
                end += sizes[i];
                stateEnd = Math.ceilDiv(stateEnd + sizes[i], Buffers.FLOATS_PER_LINE) * Buffers.FLOATS_PER_LINE;
            }
        }
        this.total = end;
        this.extent = offsets[tensors - 1] + sizes[tensors - 1];
        this.stateSize = stateEnd;
        List<String> names = StepRules.allStateNames(configs[0]).stream()
                .filter(n -> groupStateNames.stream().anyMatch(kept -> kept.contains(n))).toList();
        this.state = new StateBuffers("groups: " + tensors + " tensors (" + total + " parameters, "
                + stateSize + " floats with padding)", stateSize, names);
    }

    /** Checks {@code groups} (see {@link Optimizers#multiTensor(List)}) and makes the optimizer. */
    static MultiTensorOptimizer create(List<ParamGroup> groups, KernelProvider kernels) {
        ParamGroup[] copy = Objects.requireNonNull(groups, "groups").toArray(ParamGroup[]::new);
        if (copy.length == 0) {
            throw new IllegalArgumentException("groups: expected at least one group, got none");
        }
        int tensors = 0;
        long stateSize = 0;
        for (int g = 0; g < copy.length; g++) {
            Objects.requireNonNull(copy[g], "groups[" + g + "]");
            OptimizerConfig c = copy[g].config();
            if (c.getClass() != copy[0].config().getClass()) {
                throw new IllegalArgumentException("groups: expected one optimizer kind in every group, got "
                        + StepRules.kind(copy[0].config()) + " in groups[0] and " + StepRules.kind(c) + " in groups["
                        + g + "]");
            }
            StepRules.checkConsistent("groups[" + g + "].config", c);
            try {
                tensors = Math.addExact(tensors, copy[g].tensors());
                for (int k = 0; k < copy[g].tensors(); k++) {
                    stateSize = Math.addExact(stateSize, Math.ceilDiv(copy[g].size(k), Buffers.FLOATS_PER_LINE)
                            * Buffers.FLOATS_PER_LINE);
                }
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("groups: expected tensors whose count and sizes add up to at most "
                        + Buffers.MAX_FLOATS + " floats, got more", e);
            }
        }
        if (tensors == 0) {
            throw new IllegalArgumentException("groups: expected a tensor in some group, got " + copy.length
                    + " groups of none");
        }
        Buffers.checkFloatCount("groups", stateSize);
        return new FlatMultiTensorOptimizer(copy, tensors, kernels);
    }

    @Override
    public void step(List<MemorySegment> params, List<MemorySegment> grads) {
        run(params, grads, null);
    }

    @Override
    public void step(List<MemorySegment> params, List<MemorySegment> grads, Team team) {
        Objects.requireNonNull(team, "team");
        run(params, grads, team);
    }

    /** A step on {@code team}, or with {@code team} null on the calling thread alone. */
    private void run(List<MemorySegment> paramList, List<MemorySegment> gradList, Team team) {
        acquire("step");
        try {
            MemorySegment[] params = segments("params", paramList), grads = segments("grads", gradList);
            for (int i = 0; i < params.length; i++) {
                Segments.checkFloats(paramNames[i], params[i], sizes[i], true);
                Segments.checkFloats(gradNames[i], grads[i], sizes[i], false);
            }
            checkDisjoint(params, grads);
            int members = team == null ? 1 : team.requireOpen().members(extent, Team.MIN_SHARE);
            for (int i = 0; i < params.length; i++) {
                Segments.checkAccessible(paramNames[i], params[i], members);
                Segments.checkAccessible(gradNames[i], grads[i], members);
            }
            StepKernel[] groupKernels = new StepKernel[configs.length];
            for (int g = 0; g < configs.length; g++) {
                List<String> kept = groupStateNames.get(g);
                groupKernels[g] = StepRules.prepare(configs[g], kernels, steps + 1,
                        name -> kept.contains(name) ? state.get(name) : null);
            }
            Team.Range body = (from, to) -> stepRange(params, grads, groupKernels, from, to);
            if (team == null) {
                body.run(0, extent);
            } else {
                // Shares split the state's index space, so each starts on a line of state and a whole number
                // of lines into its tensor: no two members write one cache line of state, and a piece's
                // vectors stay as aligned as its tensor is. The padding skipped is under 16 floats a tensor.
                team.parallelFor(extent, Team.LINE, Team.MIN_SHARE, body);
            }
            steps++;
        } finally {
            guard.release();
        }
    }

    /**
     * Steps state floats {@code [from, to)}: the piece of each tensor whose state the range covers
     * (padding is skipped), with its group's kernel.
     */
    private void stepRange(MemorySegment[] params, MemorySegment[] grads, StepKernel[] groupKernels, long from,
                           long to) {
        int i = Arrays.binarySearch(offsets, from);
        if (i < 0) {
            i = -i - 2;   // the last tensor whose state starts before from
        }
        for (; i < offsets.length && offsets[i] < to; i++) {
            long lo = Math.max(from, offsets[i]), hi = Math.min(to, offsets[i] + sizes[i]);
            if (lo < hi) {
                long inTensor = lo - offsets[i], count = hi - lo;
                MemorySegment p = params[i], g = grads[i];
                if (count != sizes[i]) {   // a piece; a whole tensor, the usual case, needs no slices
                    p = p.asSlice(inTensor * Float.BYTES, count * Float.BYTES);
                    g = g.asSlice(inTensor * Float.BYTES, count * Float.BYTES);
                }
                groupKernels[groupOf[i]].run(p, g, lo, count);
            }
        }
    }

    /** {@code list} as an array, one non-null segment per tensor. */
    private MemorySegment[] segments(String name, List<MemorySegment> list) {
        Objects.requireNonNull(list, name);
        // toArray once: a list that changes under us cannot pass the checks with one array and step another.
        MemorySegment[] a = list.toArray(MemorySegment[]::new);
        if (a.length != sizes.length) {
            throw new IllegalArgumentException(name + ": expected " + sizes.length + " segments (one per tensor), got "
                    + a.length);
        }
        return a;
    }

    /**
     * Refuses any two of the params and grads segments that share a byte, in O(T log T) and without
     * boxing in the usual case, native segments: their starts and their ends, sorted apart, overlap
     * somewhere exactly when some start lies before the end of the one before it (segments are never
     * empty); only then are they swept by address to name the pair. Heap segments can share bytes only
     * within one array, so each array's are swept apart. A read-only heap segment does not say which
     * array it views ({@code heapBase()} is empty), so each of those is compared with every heap segment.
     */
    private void checkDisjoint(MemorySegment[] params, MemorySegment[] grads) {
        int n = params.length, m = 0;
        long[] starts = new long[2 * n], ends = new long[2 * n];
        boolean anyHeap = false;
        for (int k = 0; k < 2 * n; k++) {
            MemorySegment s = segment(k, params, grads);
            if (s.isNative()) {
                starts[m] = s.address();
                ends[m++] = s.address() + s.byteSize();
            } else {
                anyHeap = true;
            }
        }
        Arrays.sort(starts, 0, m);
        Arrays.sort(ends, 0, m);
        for (int j = 1; j < m; j++) {
            if (starts[j] < ends[j - 1]) {
                List<Integer> natives = new ArrayList<>();
                for (int k = 0; k < 2 * n; k++) {
                    if (segment(k, params, grads).isNative()) {
                        natives.add(k);
                    }
                }
                checkSorted(natives, params, grads);   // throws, naming two that overlap
            }
        }
        if (anyHeap) {
            checkHeapDisjoint(params, grads);
        }
    }

    /** The heap segments' part of {@link #checkDisjoint}. */
    private void checkHeapDisjoint(MemorySegment[] params, MemorySegment[] grads) {
        int n = params.length;
        Map<Object, List<Integer>> byArray = new IdentityHashMap<>();
        List<Integer> heap = new ArrayList<>(), unknownArray = new ArrayList<>();
        for (int k = 0; k < 2 * n; k++) {
            MemorySegment s = segment(k, params, grads);
            if (!s.isNative()) {
                heap.add(k);
                Object base = s.heapBase().orElse(null);
                if (base == null) {
                    unknownArray.add(k);
                } else {
                    byArray.computeIfAbsent(base, b -> new ArrayList<>()).add(k);
                }
            }
        }
        for (List<Integer> sameArray : byArray.values()) {
            checkSorted(sameArray, params, grads);
        }
        for (int k : unknownArray) {
            for (int other : heap) {
                if (other != k) {
                    Segments.checkDisjoint(name(other, n), segment(other, params, grads), name(k, n),
                            segment(k, params, grads));
                }
            }
        }
    }

    /** The sweep of {@link #checkDisjoint} over segments {@code ks} of one memory. */
    private void checkSorted(List<Integer> ks, MemorySegment[] params, MemorySegment[] grads) {
        int n = params.length;
        ks.sort(Comparator.comparingLong(k -> segment(k, params, grads).address()));
        int furthest = -1;
        long reach = 0;
        for (int k : ks) {
            MemorySegment s = segment(k, params, grads);
            if (furthest >= 0 && s.address() < reach) {
                Segments.checkDisjoint(name(furthest, n), segment(furthest, params, grads), name(k, n), s);
            }
            if (furthest < 0 || s.address() + s.byteSize() > reach) {
                furthest = k;
                reach = s.address() + s.byteSize();
            }
        }
    }

    private static MemorySegment segment(int k, MemorySegment[] params, MemorySegment[] grads) {
        return k < params.length ? params[k] : grads[k - params.length];
    }

    private String name(int k, int n) {
        return k < n ? paramNames[k] : gradNames[k - n];
    }

    @Override
    public void setLr(int group, double lr) {
        reconfigure("setLr", group, c -> c.withLr(lr));
    }

    @Override
    public void setConfig(int group, OptimizerConfig config) {
        Objects.requireNonNull(config, "config");
        reconfigure("setConfig", group, c -> config);
    }

    /** Replaces group {@code group}'s config {@code c} with {@code change(c)}, if that keeps its kind and state. */
    private void reconfigure(String what, int group, UnaryOperator<OptimizerConfig> change) {
        acquire(what);
        try {
            checkIndex("group", group, configs.length);
            OptimizerConfig old = configs[group], next = change.apply(old);
            if (next.getClass() != old.getClass()) {
                throw new IllegalArgumentException("config: expected every group's optimizer kind, " + StepRules.kind(old)
                        + ", got " + StepRules.kind(next));
            }
            StepRules.checkConsistent("config", next);
            List<String> needs = StepRules.stateNames(next);
            if (!needs.equals(groupStateNames.get(group))) {
                throw new IllegalArgumentException("config: expected a config that keeps group " + group + "'s state "
                        + groupStateNames.get(group) + ", got one that needs " + needs + " (amsgrad, momentum zero or"
                        + " not, and centered decide the buffers: make a new optimizer with the new groups and"
                        + " restore the state into it)");
            }
            configs[group] = next;
        } finally {
            guard.release();
        }
    }

    @Override
    public void restore(long stepCount, StateFill fill) {
        guard.restore(fill, stepCount, () -> whyBusy("restore"), () -> {
            for (int i = 0; i < sizes.length; i++) {
                for (String name : groupStateNames.get(groupOf[i])) {
                    fill.fill(i, name, slice(state.get(name), i));
                }
            }
            steps = stepCount;
        }, this::close);
    }

    /** Takes the busy flag for {@code what}, or refuses: closed, or another thread is in a call. */
    private void acquire(String what) {
        guard.acquire(() -> whyBusy(what));
    }

    private static String whyBusy(String what) {
        return what + ": another thread is stepping, restoring or reconfiguring this optimizer right now; an"
                + " optimizer takes one call at a time";
    }

    private static void checkIndex(String name, int index, int count) {
        if (index < 0 || index >= count) {
            throw new IllegalArgumentException(name + ": expected a " + name + " in [0, " + count + "), got " + index);
        }
    }

    private MemorySegment slice(MemorySegment buffer, int tensor) {
        return buffer.asSlice(offsets[tensor] * Float.BYTES, sizes[tensor] * Float.BYTES);
    }

    @Override
    public OptimizerConfig config(int group) {
        checkIndex("group", group, configs.length);
        return configs[group];
    }

    @Override public int groups() { return configs.length; }
    @Override public int tensors() { return sizes.length; }
    @Override public long totalSize() { return total; }
    @Override public long stepCount() { return steps; }
    @Override public long stateSize() { return stateSize; }
    @Override public List<String> stateNames() { return state.names(); }

    @Override
    public List<String> stateNames(int group) {
        checkIndex("group", group, configs.length);
        return groupStateNames.get(group);
    }

    @Override
    public int group(int tensor) {
        checkIndex("tensor", tensor, sizes.length);
        return groupOf[tensor];
    }

    @Override
    public long size(int tensor) {
        checkIndex("tensor", tensor, sizes.length);
        return sizes[tensor];
    }

    @Override
    public long stateOffset(int tensor) {
        checkIndex("tensor", tensor, sizes.length);
        return offsets[tensor];
    }

    @Override
    public MemorySegment state(int tensor, String name) {
        checkIndex("tensor", tensor, sizes.length);
        Objects.requireNonNull(name, "name");
        List<String> kept = groupStateNames.get(groupOf[tensor]);
        if (!kept.contains(name)) {
            throw new IllegalArgumentException("name: expected one of " + kept + " (tensor " + tensor + "'s group "
                    + groupOf[tensor] + " keeps those), got \"" + name + "\"");
        }
        return slice(state(name), tensor);
    }

    @Override
    public MemorySegment state(String name) {
        guard.checkOpen();
        return state.readOnly(name);
    }

    @Override
    public void close() {
        if (guard.close()) {
            state.close();
        }
    }

    @Override
    public String toString() {
        return "MultiTensorOptimizer[" + configs.length + " groups, " + sizes.length + " tensors, " + total
                + " parameters, step " + steps + (guard.isClosed() ? ", closed" : "") + "]";
    }
}
