package dev.adamant.core;

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
    private final String[] paramNames, gradNames, updateNames;
    /** Floats of all tensors; the end of the last tensor's state (the step's index space); with the last padding. */
    private final long total, extent, stateSize;
    private final StateBuffers state;
    /** Taken by a step, restore, setLr or setConfig: a second thread calling at once is refused. */
    private final CallGuard guard = new CallGuard();
    private long steps;

    private FlatMultiTensorOptimizer(ParamGroup[] groups, int tensors, KernelProvider kernels, MemorySegment callers,
                                     boolean callerOwned) {
        this.kernels = kernels;
        this.configs = new OptimizerConfig[groups.length];
        this.groupStateNames = new ArrayList<>(groups.length);
        this.groupOf = new int[tensors];
        this.sizes = new long[tensors];
        this.offsets = new long[tensors];
        this.paramNames = new String[tensors];
        this.gradNames = new String[tensors];
        this.updateNames = new String[tensors];
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
                updateNames[i] = "updates[" + i + "]";
                end += sizes[i];
                stateEnd = Math.ceilDiv(stateEnd + sizes[i], Buffers.FLOATS_PER_LINE) * Buffers.FLOATS_PER_LINE;
            }
        }
        this.total = end;
        this.extent = offsets[tensors - 1] + sizes[tensors - 1];
        this.stateSize = stateEnd;
        List<String> names = stateNames(groups);
        this.state = callerOwned ? new StateBuffers(callers, stateSize, names)
                : new StateBuffers("groups: " + tensors + " tensors (" + total + " parameters, " + stateSize
                        + " floats with padding)", stateSize, names);
        if (!callerOwned) {
            for (int t = 0; t < tensors; t++) {   // Adagrad's sum starts at each group's initial_accumulator_value
                for (String name : names) {
                    float initial = StepRules.initialValue(configs[groupOf[t]], name);
                    if (initial != 0f) {
                        state.fill(name, offsets[t], sizes[t], initial);
                    }
                }
            }
        }
    }

    /** The state buffers that some group of {@code groups} keeps, in PyTorch's order. */
    private static List<String> stateNames(ParamGroup[] groups) {
        List<List<String>> kept = Arrays.stream(groups).map(g -> StepRules.stateNames(g.config())).toList();
        return StepRules.allStateNames(groups[0].config()).stream()
                .filter(n -> kept.stream().anyMatch(k -> k.contains(n))).toList();
    }

    /**
     * Checks {@code groups} (see {@link Optimizers#multiTensor(List)}) and makes the optimizer over
     * its own state, or over {@code state} if {@code callerOwned}.
     */
    static MultiTensorOptimizer create(List<ParamGroup> groups, KernelProvider kernels, MemorySegment state,
                                       boolean callerOwned) {
        ParamGroup[] copy = checked(groups);
        int tensors = Arrays.stream(copy).mapToInt(ParamGroup::tensors).sum();
        return new FlatMultiTensorOptimizer(copy, tensors, kernels, state, callerOwned);
    }

    /** Floats of caller-owned state for {@code groups}: every kept buffer, each of the padded state size. */
    static long stateFloats(List<ParamGroup> groups) {
        ParamGroup[] copy = checked(groups);
        long padded = 0;
        for (ParamGroup g : copy) {
            for (int k = 0; k < g.tensors(); k++) {
                padded += Math.ceilDiv(g.size(k), Buffers.FLOATS_PER_LINE) * Buffers.FLOATS_PER_LINE;
            }
        }
        try {
            long floats = Math.multiplyExact(padded, (long) stateNames(copy).size());
            Buffers.checkFloatCount("groups", floats);
            return floats;
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("groups: expected state that a long counts, got more", e);
        }
    }

    /** {@code groups} as an array, checked as {@link Optimizers#multiTensor(List)} says. */
    private static ParamGroup[] checked(List<ParamGroup> groups) {
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
            if (c.stateFormat().isBlockwise8()) {
                throw new IllegalArgumentException("groups[" + g + "].config: a multi-tensor optimizer keeps fp32"
                        + " state only for now, got " + c.stateFormat() + " (step each tensor with its own"
                        + " Optimizers.create(config, n))");
            }
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
        return copy;
    }

    @Override
    public void step(List<MemorySegment> params, List<MemorySegment> grads) {
        run("step", params, grads, null, StepOptions.next(), null);
    }

    @Override
    public void step(List<MemorySegment> params, List<MemorySegment> grads, Team team) {
        Objects.requireNonNull(team, "team");
        run("step", params, grads, null, StepOptions.next(), team);
    }

    @Override
    public void step(List<MemorySegment> params, List<MemorySegment> grads, StepOptions options) {
        run("step", params, grads, null, Objects.requireNonNull(options, "options"), null);
    }

    @Override
    public void step(List<MemorySegment> params, List<MemorySegment> grads, StepOptions options, Team team) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(team, "team");
        run("step", params, grads, null, options, team);
    }

    @Override
    public void update(List<MemorySegment> params, List<MemorySegment> grads, List<MemorySegment> updates,
                       StepOptions options) {
        Objects.requireNonNull(updates, "updates");
        run("update", params, grads, updates, Objects.requireNonNull(options, "options"), null);
    }

    @Override
    public void update(List<MemorySegment> params, List<MemorySegment> grads, List<MemorySegment> updates,
                       StepOptions options, Team team) {
        Objects.requireNonNull(updates, "updates");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(team, "team");
        run("update", params, grads, updates, options, team);
    }

    /**
     * A step ({@code updateList} null) or an update under {@code o}, on {@code team}, or with
     * {@code team} null on the calling thread alone.
     */
    private void run(String what, List<MemorySegment> paramList, List<MemorySegment> gradList,
                     List<MemorySegment> updateList, StepOptions o, Team team) {
        acquire(what);
        try {
            boolean updating = updateList != null;
            MemorySegment[] params = updating && paramList == null ? new MemorySegment[sizes.length]
                    : segments("params", paramList, updating);
            MemorySegment[] grads = segments("grads", gradList, false);
            MemorySegment[] updates = updating ? segments("updates", updateList, false) : null;
            for (int i = 0; i < sizes.length; i++) {
                if (params[i] != null) {
                    Segments.checkFloats(paramNames[i], params[i], sizes[i], !updating);
                } else if (StepRules.readsParams(configs[groupOf[i]])) {
                    throw new NullPointerException(paramNames[i] + ": expected the parameters, which group "
                            + groupOf[i] + "'s step reads (weight decay " + configs[groupOf[i]].weightDecay()
                            + "); null is for groups without weight decay");
                }
                Segments.checkFloats(gradNames[i], grads[i], sizes[i], false);
                if (updating) {
                    Segments.checkFloats(updateNames[i], updates[i], sizes[i], true);
                }
            }
            checkDisjoint(params, grads, updates);
            for (int i = 0; i < sizes.length; i++) {
                state.checkDisjoint(paramNames[i], params[i]);
                state.checkDisjoint(gradNames[i], grads[i]);
                state.checkDisjoint(updateNames[i], updates == null ? null : updates[i]);
            }
            int members = team == null ? 1 : team.requireOpen().members(extent, Team.MIN_SHARE);
            for (int i = 0; i < sizes.length; i++) {
                if (params[i] != null) {
                    Segments.checkAccessible(paramNames[i], params[i], members);
                }
                Segments.checkAccessible(gradNames[i], grads[i], members);
                if (updating) {
                    Segments.checkAccessible(updateNames[i], updates[i], members);
                }
            }
            state.checkAccessible(members);
            long t = o.resolve(steps);
            StepKernel[] groupKernels = new StepKernel[configs.length];
            for (int g = 0; g < configs.length; g++) {
                List<String> kept = groupStateNames.get(g);
                groupKernels[g] = StepRules.prepare(configs[g], kernels, t, o,
                        name -> kept.contains(name) ? state.get(name) : null);
            }
            Team.Range body = (from, to) -> stepRange(params, grads, updates, groupKernels, from, to);
            if (team == null) {
                body.run(0, extent);
            } else {
                // Shares split the state's index space, so each starts on a line of state and a whole number
                // of lines into its tensor: no two members write one cache line of state, and a piece's
                // vectors stay as aligned as its tensor is. The padding skipped is under 16 floats a tensor.
                team.parallelFor(extent, Team.LINE, Team.MIN_SHARE, body);
            }
            steps = t;
        } finally {
            guard.release();
        }
    }

    /**
     * Steps state floats {@code [from, to)}: the piece of each tensor whose state the range covers
     * (padding is skipped), with its group's kernel.
     */
    private void stepRange(MemorySegment[] params, MemorySegment[] grads, MemorySegment[] updates,
                           StepKernel[] groupKernels, long from, long to) {
        int i = Arrays.binarySearch(offsets, from);
        if (i < 0) {
            i = -i - 2;   // the last tensor whose state starts before from
        }
        for (; i < offsets.length && offsets[i] < to; i++) {
            long lo = Math.max(from, offsets[i]), hi = Math.min(to, offsets[i] + sizes[i]);
            if (lo < hi) {
                long inTensor = lo - offsets[i], count = hi - lo;
                MemorySegment p = params[i], g = grads[i], u = updates == null ? null : updates[i];
                if (count != sizes[i]) {   // a piece; a whole tensor, the usual case, needs no slices
                    p = StepKernel.range(p, inTensor, count);
                    g = StepKernel.range(g, inTensor, count);
                    u = StepKernel.range(u, inTensor, count);
                }
                groupKernels[groupOf[i]].run(p, g, u, lo, count);
            }
        }
    }

    /** {@code list} as an array, one segment per tensor, non-null unless {@code nullsAllowed}. */
    private MemorySegment[] segments(String name, List<MemorySegment> list, boolean nullsAllowed) {
        Objects.requireNonNull(list, name);
        // toArray once: a list that changes under us cannot pass the checks with one array and step another.
        // A List.of refuses contains(null); an array copy answers any list.
        MemorySegment[] a = list.toArray(MemorySegment[]::new);
        if (!nullsAllowed) {
            for (int i = 0; i < a.length; i++) {
                if (a[i] == null) {
                    throw new NullPointerException(name + "[" + i + "]");
                }
            }
        }
        if (a.length != sizes.length) {
            throw new IllegalArgumentException(name + ": expected " + sizes.length + " segments (one per tensor), got "
                    + a.length);
        }
        return a;
    }

    /**
     * Refuses any two of the params, grads and updates segments that share a byte (where an update
     * is its tensor's grads segment itself, it is that segment once), in O(T log T) and without
     * boxing in the usual case, native segments: their starts and their ends, sorted apart, overlap
     * somewhere exactly when some start lies before the end of the one before it (segments are never
     * empty); only then are they swept by address to name the pair. Heap segments can share bytes only
     * within one array, so each array's are swept apart. A read-only heap segment does not say which
     * array it views ({@code heapBase()} is empty), so each of those is compared with every heap segment.
     */
    private void checkDisjoint(MemorySegment[] params, MemorySegment[] grads, MemorySegment[] updates) {
        int n = sizes.length, count = 0;
        MemorySegment[] segs = new MemorySegment[3 * n];
        String[] names = new String[3 * n];
        for (int i = 0; i < n; i++) {
            if (params[i] != null) {
                segs[count] = params[i];
                names[count++] = paramNames[i];
            }
            segs[count] = grads[i];
            names[count++] = gradNames[i];
            if (updates != null && !Segments.same(updates[i], grads[i])) {
                segs[count] = updates[i];
                names[count++] = updateNames[i];
            }
        }
        int m = 0;
        long[] starts = new long[count], ends = new long[count];
        boolean anyHeap = false;
        for (int k = 0; k < count; k++) {
            if (segs[k].isNative()) {
                starts[m] = segs[k].address();
                ends[m++] = segs[k].address() + segs[k].byteSize();
            } else {
                anyHeap = true;
            }
        }
        Arrays.sort(starts, 0, m);
        Arrays.sort(ends, 0, m);
        for (int j = 1; j < m; j++) {
            if (starts[j] < ends[j - 1]) {
                List<Integer> natives = new ArrayList<>();
                for (int k = 0; k < count; k++) {
                    if (segs[k].isNative()) {
                        natives.add(k);
                    }
                }
                checkSorted(natives, segs, names);   // throws, naming two that overlap
            }
        }
        if (anyHeap) {
            checkHeapDisjoint(segs, names, count);
        }
    }

    /** The heap segments' part of {@link #checkDisjoint}, over the first {@code count} of {@code segs}. */
    private static void checkHeapDisjoint(MemorySegment[] segs, String[] names, int count) {
        Map<Object, List<Integer>> byArray = new IdentityHashMap<>();
        List<Integer> heap = new ArrayList<>(), unknownArray = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            if (!segs[k].isNative()) {
                heap.add(k);
                Object base = segs[k].heapBase().orElse(null);
                if (base == null) {
                    unknownArray.add(k);
                } else {
                    byArray.computeIfAbsent(base, b -> new ArrayList<>()).add(k);
                }
            }
        }
        for (List<Integer> sameArray : byArray.values()) {
            checkSorted(sameArray, segs, names);
        }
        for (int k : unknownArray) {
            for (int other : heap) {
                if (other != k) {
                    Segments.checkDisjoint(names[other], segs[other], names[k], segs[k]);
                }
            }
        }
    }

    /** The sweep of {@link #checkDisjoint} over segments {@code ks} of one memory. */
    private static void checkSorted(List<Integer> ks, MemorySegment[] segs, String[] names) {
        ks.sort(Comparator.comparingLong(k -> segs[k].address()));
        int furthest = -1;
        long reach = 0;
        for (int k : ks) {
            MemorySegment s = segs[k];
            if (furthest >= 0 && s.address() < reach) {
                Segments.checkDisjoint(names[furthest], segs[furthest], names[k], s);
            }
            if (furthest < 0 || s.address() + s.byteSize() > reach) {
                furthest = k;
                reach = s.address() + s.byteSize();
            }
        }
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
            StepRules.checkReplacement("config", old, next, "every group's", "group " + group + "'s");
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
