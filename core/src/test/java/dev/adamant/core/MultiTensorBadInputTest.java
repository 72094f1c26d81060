package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every refusal of a {@link MultiTensorOptimizer} and of {@link Optimizers#multiTensor}: the
 * exception names the argument, and the parameters, gradients, state, configs and step count are as
 * they were.
 */
class MultiTensorBadInputTest {
    private static final long[] SIZES = {100, 17, 33};

    private Arena arena;
    private MultiTensorOptimizer opt;
    private List<MemorySegment> params, grads;

    private static <T extends Throwable> T assertRefused(Class<T> type, String mentions, Executable call) {
        T e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(mentions),
                "message should mention \"" + mentions + "\": " + e.getMessage());
        return e;
    }

    private static List<ParamGroup> groups() {
        return List.of(ParamGroup.of(AdamConfig.adamW().withWeightDecay(0.1), SIZES[0], SIZES[1]),
                ParamGroup.of(AdamConfig.adamW().withWeightDecay(0), SIZES[2]));
    }

    /** Tensors in one shared arena, one step taken, so that the state is not all zeros. */
    @BeforeEach
    void stepOnce() {
        arena = Arena.ofShared();
        params = new ArrayList<>();
        grads = new ArrayList<>();
        for (long n : SIZES) {
            params.add(floats(arena, n, 1));
            grads.add(floats(arena, n, 2));
        }
        opt = Optimizers.multiTensor(groups());
        opt.step(params, grads);
    }

    @AfterEach
    void close() {
        opt.close();
        arena.close();
    }

    private static MemorySegment floats(Arena arena, long n, float scale) {
        MemorySegment s = arena.allocate(n * Float.BYTES, 64);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(TestData.F, i, scale * (float) Math.sin(i + n));
        }
        return s;
    }

    private MemorySegment[] all() {
        List<MemorySegment> all = new ArrayList<>(params);
        all.addAll(grads);
        return all.toArray(MemorySegment[]::new);
    }

    /** Asserts {@code call} is refused naming {@code mentions}, and changes nothing. */
    private <T extends Throwable> T refusedUnchanged(Class<T> type, String mentions, Executable call) {
        Snapshot before = Snapshot.of(opt, all());
        List<OptimizerConfig> configs = configs();
        T e = assertRefused(type, mentions, call);
        before.assertUnchanged(mentions, opt, all());
        assertEquals(configs, configs(), mentions + ": configs changed");
        return e;
    }

    private List<OptimizerConfig> configs() {
        List<OptimizerConfig> c = new ArrayList<>();
        for (int g = 0; g < opt.groups(); g++) {
            c.add(opt.config(g));
        }
        return c;
    }

    private static List<MemorySegment> with(List<MemorySegment> list, int i, MemorySegment s) {
        List<MemorySegment> copy = new ArrayList<>(list);
        copy.set(i, s);
        return copy;
    }

    // ---- making one ----

    @Test
    void groupListsThatCannotMakeAnOptimizer() {
        assertRefused(NullPointerException.class, "groups", () -> Optimizers.multiTensor(null));
        assertRefused(IllegalArgumentException.class, "groups: expected at least one group, got none",
                () -> Optimizers.multiTensor(List.of()));
        assertRefused(NullPointerException.class, "groups[1]",
                () -> Optimizers.multiTensor(Arrays.asList(ParamGroup.of(AdamConfig.adam(), 4), null)));
        assertRefused(IllegalArgumentException.class, "groups: expected a tensor in some group",
                () -> Optimizers.multiTensor(List.of(ParamGroup.of(AdamConfig.adam()),
                        ParamGroup.of(AdamConfig.adamW(), new long[0]))));
        assertRefused(NullPointerException.class, "implementation",
                () -> Optimizers.multiTensor(groups(), (Implementation) null));
        // A group with no tensors is fine where another has some.
        try (MultiTensorOptimizer o = Optimizers.multiTensor(List.of(ParamGroup.of(AdamConfig.adam()),
                ParamGroup.of(AdamConfig.adamW(), 5)))) {
            assertEquals(1, o.tensors());
            assertEquals(1, o.group(0));
        }
    }

    @Test
    void sizesMustBePositive() {
        assertRefused(IllegalArgumentException.class, "sizes[1]: expected > 0, got 0",
                () -> ParamGroup.of(AdamConfig.adam(), 10, 0));
        assertRefused(IllegalArgumentException.class, "sizes[0]: expected > 0, got -3",
                () -> ParamGroup.of(AdamConfig.adam(), -3));
        assertRefused(NullPointerException.class, "sizes", () -> ParamGroup.of(AdamConfig.adam(), (long[]) null));
        assertRefused(NullPointerException.class, "config", () -> ParamGroup.of(null, 4));
        long[] sizes = {3, 4};
        ParamGroup g = ParamGroup.of(SgdConfig.sgd(0.1), sizes);
        sizes[0] = -1;
        g.sizes()[1] = -1;
        assertEquals(List.of(3L, 4L), Arrays.stream(g.sizes()).boxed().toList(), "sizes are copied in and out");
    }

    @Test
    void mixedKindsAreRefusedNamingTheGroups() {
        assertRefused(IllegalArgumentException.class, "AdamConfig in groups[0] and SgdConfig in groups[2]",
                () -> Optimizers.multiTensor(List.of(ParamGroup.of(AdamConfig.adam(), 4),
                        ParamGroup.of(AdamConfig.adamW(), 4), ParamGroup.of(SgdConfig.sgd(0.1), 4))));
        assertRefused(IllegalArgumentException.class, "RmsPropConfig in groups[1]",
                () -> Optimizers.multiTensor(List.of(ParamGroup.of(SgdConfig.sgd(0.1), 4),
                        ParamGroup.of(RmsPropConfig.rmsProp(), 4))));
    }

    @Test
    void inconsistentSgdConfigsAreRefusedNamingTheGroup() {
        assertRefused(IllegalArgumentException.class, "groups[1].config: nesterov",
                () -> Optimizers.multiTensor(List.of(ParamGroup.of(SgdConfig.sgd(0.1), 4),
                        ParamGroup.of(SgdConfig.sgd(0.1).withNesterov(true), 4))));
    }

    // ---- the step's arguments ----

    @Test
    void listsOfTheWrongLengthOrWithNulls() {
        refusedUnchanged(NullPointerException.class, "params", () -> opt.step(null, grads));
        refusedUnchanged(NullPointerException.class, "grads", () -> opt.step(params, null));
        refusedUnchanged(IllegalArgumentException.class, "params: expected 3 segments (one per tensor), got 2",
                () -> opt.step(params.subList(0, 2), grads));
        refusedUnchanged(IllegalArgumentException.class, "grads: expected 3 segments (one per tensor), got 4",
                () -> opt.step(params, List.of(grads.get(0), grads.get(1), grads.get(2), floats(arena, 5, 1))));
        refusedUnchanged(NullPointerException.class, "params[1]", () -> opt.step(with(params, 1, null), grads));
        refusedUnchanged(NullPointerException.class, "grads[2]", () -> opt.step(params, with(grads, 2, null)));
        try (Team team = Team.create(2)) {
            refusedUnchanged(NullPointerException.class, "grads[0]",
                    () -> opt.step(params, with(grads, 0, null), team));
            refusedUnchanged(NullPointerException.class, "team", () -> opt.step(params, grads, (Team) null));
        }
    }

    @Test
    void segmentsThatDoNotMatchTheirTensor() {
        refusedUnchanged(IllegalArgumentException.class, "params[1]: expected 68 bytes (17 floats), got 64 bytes",
                () -> opt.step(with(params, 1, params.get(1).asSlice(0, 64)), grads));
        refusedUnchanged(IllegalArgumentException.class, "grads[2]: expected 132 bytes (33 floats), got 400 bytes",
                () -> opt.step(params, with(grads, 2, floats(arena, 100, 1))));
        refusedUnchanged(IllegalArgumentException.class, "params[0]: expected a 4-byte aligned segment",
                () -> opt.step(with(params, 0, floats(arena, 101, 1).asSlice(2, 400)), grads));
        refusedUnchanged(IllegalArgumentException.class, "params[2]: expected a writable segment, got a read-only one",
                () -> opt.step(with(params, 2, params.get(2).asReadOnly()), grads));
        MemorySegment closed;
        try (Arena gone = Arena.ofConfined()) {
            closed = gone.allocate(17 * Float.BYTES);
        }
        refusedUnchanged(IllegalArgumentException.class, "grads[1]: expected a segment whose arena is open",
                () -> opt.step(params, with(grads, 1, closed)));
    }

    @Test
    void readOnlyGradsAreFine() {
        List<MemorySegment> readOnly = grads.stream().map(MemorySegment::asReadOnly).toList();
        opt.step(params, readOnly);
        assertEquals(2, opt.stepCount());
    }

    @Test
    void anyTwoOverlappingSegmentsAreRefused() {
        refusedUnchanged(IllegalArgumentException.class, "params[0] and grads[0]: expected disjoint segments",
                () -> opt.step(params, with(grads, 0, params.get(0))));
        // Two params over the same floats, the second a read-only view of an earlier one is still refused.
        MemorySegment big = floats(arena, 200, 1);
        refusedUnchanged(IllegalArgumentException.class, "params[0] and params[2]",
                () -> opt.step(with(with(params, 0, big.asSlice(0, 400)), 2, big.asSlice(396, 132)), grads));
        refusedUnchanged(IllegalArgumentException.class, "params[2] and grads[1]",
                () -> opt.step(with(params, 2, big.asSlice(0, 132)), with(grads, 1, big.asSlice(128, 68))));
        refusedUnchanged(IllegalArgumentException.class, "grads[0] and grads[2]: expected disjoint segments, got ones"
                + " that overlap by 4 bytes",
                () -> opt.step(params, with(with(grads, 0, big.asSlice(0, 400)), 2, big.asSlice(396, 132))));
        // One segment wholly inside another.
        refusedUnchanged(IllegalArgumentException.class, "params[0] and grads[2]: expected disjoint segments, got ones"
                + " that overlap by 132 bytes", () -> opt.step(params, with(grads, 2, params.get(0).asSlice(8, 132))));
    }

    @Test
    void heapSegmentsOverlapOnlyWithinOneArray() {
        float[] shared = new float[300];
        MemorySegment heap = MemorySegment.ofArray(shared);
        // Slices of one array at the same offsets as native ones elsewhere: no overlap between arrays.
        List<MemorySegment> heapParams = List.of(MemorySegment.ofArray(new float[100]), heap.asSlice(0, 68),
                MemorySegment.ofArray(new float[33]));
        List<MemorySegment> heapGrads = List.of(MemorySegment.ofArray(new float[100]), heap.asSlice(68, 68),
                MemorySegment.ofArray(new float[33]));
        opt.step(heapParams, heapGrads);
        assertEquals(2, opt.stepCount());
        refusedUnchanged(IllegalArgumentException.class, "params[1] and grads[1]",
                () -> opt.step(heapParams, with(heapGrads, 1, heap.asSlice(64, 68))));
        // A read-only heap segment does not say which array it views; it is still compared.
        refusedUnchanged(IllegalArgumentException.class, "params[1] and grads[1]",
                () -> opt.step(heapParams, with(heapGrads, 1, heap.asSlice(64, 68).asReadOnly())));
        opt.step(heapParams, with(heapGrads, 1, heap.asSlice(68, 68).asReadOnly()));
        assertEquals(3, opt.stepCount());
    }

    @Test
    void aClosedTeamIsRefused() {
        Team team = Team.create(2);
        team.close();
        IllegalStateException e = refusedUnchanged(IllegalStateException.class, "team",
                () -> opt.step(params, grads, team));
        assertEquals("team: expected an open team, got a closed one", e.getMessage());
    }

    @Test
    void confinedSegmentsWithATeamOfMoreThanOneMember() {
        long n = 4 * Team.MIN_SHARE;
        try (Arena confined = Arena.ofConfined(); Team team = Team.create(2);
             MultiTensorOptimizer big = Optimizers.multiTensor(List.of(ParamGroup.of(SgdConfig.sgd(0.1), n, 16)))) {
            List<MemorySegment> p = List.of(floats(arena, n, 1), floats(confined, 16, 1));
            List<MemorySegment> g = List.of(floats(arena, n, 2), floats(arena, 16, 2));
            Snapshot before = Snapshot.of(big, p.get(0), p.get(1));
            assertRefused(WrongThreadException.class, "params[1]: expected a segment that all 2 threads",
                    () -> big.step(p, g, team));
            before.assertUnchanged("confined", big, p.get(0), p.get(1));
            big.step(p, g);   // the calling thread alone may use it
            try (Team one = Team.create(1)) {
                big.step(p, g, one);
            }
            assertEquals(2, big.stepCount());
        }
    }

    @Test
    void aSegmentConfinedToAnotherThread() throws InterruptedException {
        AtomicReference<MemorySegment> theirs = new AtomicReference<>();
        Thread owner = Thread.ofPlatform().start(() -> theirs.set(floats(Arena.ofConfined(), 17, 1)));
        owner.join();
        refusedUnchanged(WrongThreadException.class, "grads[1]: expected a segment the calling thread",
                () -> opt.step(params, with(grads, 1, theirs.get())));
        // The other way round: a segment confined to this thread, stepped on another.
        MemorySegment mine = floats(Arena.ofConfined(), 33, 1);
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Thread other = Thread.ofPlatform().start(() -> seen.set(assertThrows(WrongThreadException.class,
                () -> opt.step(with(params, 2, mine), grads))));
        other.join();
        assertTrue(seen.get().getMessage().startsWith("params[2]"), seen.get().getMessage());
        assertEquals(1, opt.stepCount());
    }

    // ---- groups and configs ----

    @Test
    void groupIndicesOutOfRange() {
        refusedUnchanged(IllegalArgumentException.class, "group: expected a group in [0, 2), got 2", () -> opt.setLr(2, 1e-3));
        refusedUnchanged(IllegalArgumentException.class, "group: expected a group in [0, 2), got -1",
                () -> opt.setLr(-1, 1e-3));
        refusedUnchanged(IllegalArgumentException.class, "group", () -> opt.setConfig(5, AdamConfig.adam()));
        refusedUnchanged(IllegalArgumentException.class, "group", () -> opt.config(2));
        refusedUnchanged(IllegalArgumentException.class, "group", () -> opt.stateNames(-1));
        refusedUnchanged(IllegalArgumentException.class, "tensor: expected a tensor in [0, 3), got 3", () -> opt.size(3));
        refusedUnchanged(IllegalArgumentException.class, "tensor", () -> opt.group(-1));
        refusedUnchanged(IllegalArgumentException.class, "tensor", () -> opt.state(3, "exp_avg"));
        refusedUnchanged(IllegalArgumentException.class, "tensor", () -> opt.stateOffset(7));
    }

    @Test
    void badLearningRates() {
        refusedUnchanged(IllegalArgumentException.class, "lr: expected a finite value >= 0, got NaN",
                () -> opt.setLr(0, Double.NaN));
        refusedUnchanged(IllegalArgumentException.class, "lr", () -> opt.setLr(1, -1e-3));
        refusedUnchanged(IllegalArgumentException.class, "lr", () -> opt.setLr(1, Double.POSITIVE_INFINITY));
        opt.setLr(1, 3e-4);
        assertEquals(AdamConfig.adamW().withWeightDecay(0).withLr(3e-4), opt.config(1));
    }

    @Test
    void configsOfAnotherKindOrOtherStateAreRefused() {
        refusedUnchanged(NullPointerException.class, "config", () -> opt.setConfig(0, null));
        refusedUnchanged(IllegalArgumentException.class, "config: expected every group's optimizer kind, AdamConfig, got SgdConfig",
                () -> opt.setConfig(0, SgdConfig.sgd(0.1)));
        refusedUnchanged(IllegalArgumentException.class, "config: expected a config that keeps group 1's state",
                () -> opt.setConfig(1, AdamConfig.adamW().withAmsgrad(true)));
        // Anything else may change, Adam to AdamW included.
        opt.setConfig(1, AdamConfig.adam().withBetas(0.5, 0.6).withEps(1e-3).withWeightDecay(0.3).withMaximize(true)
                .withBiasCorrection(false));
        opt.step(params, grads);
        assertEquals(2, opt.stepCount());
    }

    @Test
    void sgdAndRmsPropConfigsThatNeedOtherBuffers() {
        sizesOf(List.of(ParamGroup.of(SgdConfig.sgd(0.1).withMomentum(0.9), 4)), o -> {
            assertRefused(IllegalArgumentException.class, "config: expected a config that keeps group 0's state"
                    + " [momentum_buffer], got one that needs []", () -> o.setConfig(0, SgdConfig.sgd(0.1)));
            assertRefused(IllegalArgumentException.class, "config: nesterov",
                    () -> o.setConfig(0, SgdConfig.sgd(0.1).withMomentum(0.9).withDampening(0.5).withNesterov(true)));
            o.setConfig(0, SgdConfig.sgd(0.2).withMomentum(0.5).withNesterov(true));
        });
        sizesOf(List.of(ParamGroup.of(RmsPropConfig.rmsProp(), 4)), o -> {
            assertRefused(IllegalArgumentException.class, "[square_avg, grad_avg]",
                    () -> o.setConfig(0, RmsPropConfig.rmsProp().withCentered(true)));
            assertRefused(IllegalArgumentException.class, "[square_avg, momentum_buffer]",
                    () -> o.setConfig(0, RmsPropConfig.rmsProp().withMomentum(0.9)));
            assertRefused(IllegalArgumentException.class, "expected every group's optimizer kind, RmsPropConfig, got AdamConfig",
                    () -> o.setConfig(0, AdamConfig.adam()));
            assertEquals(RmsPropConfig.rmsProp(), o.config(0));
        });
    }

    private static void sizesOf(List<ParamGroup> groups, Consumer<MultiTensorOptimizer> body) {
        try (MultiTensorOptimizer o = Optimizers.multiTensor(groups)) {
            body.accept(o);
        }
    }

    @Test
    void stateNamesAGroupDoesNotKeep() {
        refusedUnchanged(IllegalArgumentException.class, "name: expected one of [exp_avg, exp_avg_sq]",
                () -> opt.state(0, "max_exp_avg_sq"));
        refusedUnchanged(IllegalArgumentException.class, "name", () -> opt.state("momentum_buffer"));
        refusedUnchanged(NullPointerException.class, "name", () -> opt.state(1, null));
        sizesOf(List.of(ParamGroup.of(AdamConfig.adam().withAmsgrad(true), 4), ParamGroup.of(AdamConfig.adam(), 4)), o -> {
            assertEquals(List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), o.stateNames());
            assertEquals(List.of("exp_avg", "exp_avg_sq"), o.stateNames(1));
            assertRefused(IllegalArgumentException.class, "tensor 1's group 1", () -> o.state(1, "max_exp_avg_sq"));
            assertEquals(16, o.state(0, "max_exp_avg_sq").byteSize());
        });
    }

    // ---- closed, restored, concurrent ----

    @Test
    void everythingAfterCloseIsRefused() {
        opt.close();
        opt.close();   // idempotent
        assertRefused(IllegalStateException.class, "optimizer is closed", () -> opt.step(params, grads));
        try (Team team = Team.create(2)) {
            assertRefused(IllegalStateException.class, "optimizer is closed", () -> opt.step(params, grads, team));
        }
        assertRefused(IllegalStateException.class, "optimizer is closed", () -> opt.setLr(0, 1e-3));
        assertRefused(IllegalStateException.class, "optimizer is closed", () -> opt.setConfig(0, AdamConfig.adamW()));
        assertRefused(IllegalStateException.class, "optimizer is closed", () -> opt.restore(1, (t, n, s) -> { }));
        assertRefused(IllegalStateException.class, "optimizer is closed", () -> opt.state(0, "exp_avg"));
        assertRefused(IllegalStateException.class, "optimizer is closed", () -> opt.state("exp_avg"));
        assertEquals(1, opt.stepCount());
    }

    @Test
    void restoreRefusals() {
        refusedUnchanged(NullPointerException.class, "fill", () -> opt.restore(3, null));
        refusedUnchanged(IllegalArgumentException.class, "stepCount: expected >= 0, got -1",
                () -> opt.restore(-1, (t, n, s) -> s.fill((byte) 1)));
        RuntimeException boom = new IllegalStateException("disk on fire");
        assertEquals(boom, assertThrows(IllegalStateException.class, () -> opt.restore(5, (t, n, s) -> {
            throw boom;
        })));
        assertRefused(IllegalStateException.class, "optimizer is closed", () -> opt.step(params, grads));
    }

    @Test
    void aSecondThreadIsRefusedWhileOneIsInACall() {
        Snapshot before = Snapshot.of(opt, all());
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Executable fromAnotherThread = () -> {
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    opt.step(params, grads);
                } catch (Throwable e) {
                    seen.set(e);
                }
            });
            t.join();
        };
        // A restore that writes nothing holds the optimizer while the other thread tries to step.
        opt.restore(opt.stepCount(), (t, n, s) -> {
            if (t == 0 && n.equals("exp_avg")) {
                try {
                    fromAnotherThread.execute();
                } catch (Throwable e) {
                    throw new AssertionError(e);
                }
            }
        });
        assertTrue(seen.get() instanceof IllegalStateException, String.valueOf(seen.get()));
        assertTrue(seen.get().getMessage().startsWith("step: another thread"), seen.get().getMessage());
        before.assertUnchanged("second thread", opt, all());
    }
}
