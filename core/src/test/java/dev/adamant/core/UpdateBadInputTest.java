package dev.adamant.core;

import static dev.adamant.core.TestData.F;
import static dev.adamant.core.TestData.assertSameBits;
import static dev.adamant.core.TestData.toArray;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Refusals of caller-owned state, of update mode, of {@code setConfig}/{@code setLr} and of
 * {@link StepOptions}: each names the argument, and changes no parameter, gradient, update buffer,
 * state, config or step count.
 */
class UpdateBadInputTest {
    private static final int N = 37;
    private static final AdamConfig ADAMW = AdamConfig.adamW().withLr(1e-2).withWeightDecay(0.1);

    private Arena arena;
    /** AdamW (weight decay: its step reads the parameters) over caller-owned state, one step taken. */
    private Optimizer opt;
    private MemorySegment state, params, grads, update;

    private static <T extends Throwable> T assertRefused(Class<T> type, String mentions, Executable call) {
        T e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(mentions),
                "message should mention \"" + mentions + "\": " + e.getMessage());
        return e;
    }

    private static MemorySegment floats(Arena arena, long n, float scale) {
        MemorySegment s = arena.allocate(n * Float.BYTES, 64);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(F, i, scale * (float) Math.sin(i + n + scale));
        }
        return s;
    }

    @BeforeEach
    void stepOnce() {
        arena = Arena.ofShared();
        state = arena.allocate(ADAMW.stateFloats(N) * Float.BYTES, 64);
        params = floats(arena, N, 1);
        grads = floats(arena, N, 2);
        update = floats(arena, N, 3);
        opt = Optimizers.create(ADAMW, N, state);
        opt.step(params, grads);
    }

    @AfterEach
    void close() {
        opt.close();
        arena.close();
    }

    /** Asserts {@code call} is refused naming {@code mentions}, and changes nothing of {@code opt}'s or the buffers. */
    private <T extends Throwable> T refusedUnchanged(Class<T> type, String mentions, Executable call,
                                                      MemorySegment... more) {
        MemorySegment[] buffers = buffers(more);
        Snapshot before = Snapshot.of(opt, buffers);
        OptimizerConfig config = opt.config();
        T e = assertRefused(type, mentions, call);
        before.assertUnchanged(mentions, opt, buffers);
        assertEquals(config, opt.config(), mentions + ": config changed");
        return e;
    }

    private MemorySegment[] buffers(MemorySegment... more) {
        List<MemorySegment> all = new ArrayList<>(List.of(state, params, grads, update));
        all.addAll(Arrays.asList(more));
        return all.toArray(MemorySegment[]::new);
    }

    // ---- caller-owned state ----

    /**
     * Parameters, gradients or an update that share bytes with the caller's state: a step would
     * write parameters and moments into the same floats. Refused at each step, naming both.
     */
    @Test
    void buffersOverlappingTheCallersStateAreRefused() {
        MemorySegment expAvg = state.asSlice(0, N * 4L), expAvgSq = state.asSlice(N * 4L, N * 4L);
        MemorySegment straddling = state.asSlice((N / 2) * 4L, N * 4L);
        refusedUnchanged(IllegalArgumentException.class, "params and state", () -> opt.step(expAvg, grads));
        refusedUnchanged(IllegalArgumentException.class, "grads and state", () -> opt.step(params, straddling));
        refusedUnchanged(IllegalArgumentException.class, "params and state",
                () -> opt.step(expAvgSq, grads, StepOptions.next()));
        refusedUnchanged(IllegalArgumentException.class, "params and state", () -> opt.step(expAvg, grads, 2));
        refusedUnchanged(IllegalArgumentException.class, "update and state",
                () -> opt.update(params, grads, expAvgSq, StepOptions.next()));
        refusedUnchanged(IllegalArgumentException.class, "grads and state",
                () -> opt.update(params, expAvg, expAvg, StepOptions.next()));
        try (Optimizer.Step step = opt.beginStep()) {
            refusedUnchanged(IllegalArgumentException.class, "params and state", () -> step.apply(straddling, grads, 0));
            step.cancel();
        }
        List<ParamGroup> groups = List.of(ParamGroup.of(AdamConfig.adam(), N, 5));
        MemorySegment multiState = arena.allocate(Optimizers.multiTensorStateFloats(groups) * Float.BYTES, 64);
        try (MultiTensorOptimizer m = Optimizers.multiTensor(groups, multiState)) {
            MemorySegment p1 = floats(arena, 5, 1), g1 = floats(arena, 5, 2);
            MemorySegment inState = multiState.asSlice(4L * 60, N * 4L);
            Snapshot before = Snapshot.of(m, p1, g1, multiState);
            assertRefused(IllegalArgumentException.class, "params[0] and state",
                    () -> m.step(List.of(inState, p1), List.of(grads, g1)));
            assertRefused(IllegalArgumentException.class, "updates[1] and state",
                    () -> m.update(List.of(params, p1), List.of(grads, g1), List.of(update,
                            multiState.asSlice(0, 20)), StepOptions.next()));
            before.assertUnchanged("multi-tensor", m, p1, g1, multiState);
        }
    }

    @Test
    void stateThatCannotBeTheOptimizersIsRefusedAndLeftAlone() {
        long floats = ADAMW.stateFloats(N);
        assertEquals(2L * N, floats);
        MemorySegment big = floats(arena, floats + 1, 5);
        byte[] before = big.toArray(ValueLayout.JAVA_BYTE);
        assertRefused(IllegalArgumentException.class, "state: expected " + floats * 4 + " bytes",
                () -> Optimizers.create(ADAMW, N, big));
        assertRefused(IllegalArgumentException.class, "state: expected " + floats * 4 + " bytes",
                () -> Optimizers.create(ADAMW, N, big.asSlice(0, (floats - 1) * 4)));
        assertRefused(IllegalArgumentException.class, "state: expected " + floats * 4 + " bytes",
                () -> Optimizers.create(ADAMW, N, MemorySegment.ofArray(new float[(int) floats + 16])));
        assertRefused(IllegalArgumentException.class, "state: expected a writable segment",
                () -> Optimizers.create(ADAMW, N, big.asSlice(0, floats * 4).asReadOnly()));
        assertRefused(IllegalArgumentException.class, "state: expected a 4-byte aligned segment",
                () -> Optimizers.create(ADAMW, N, big.asSlice(2, floats * 4)));
        assertRefused(NullPointerException.class, "state", () -> Optimizers.create(ADAMW, N, null));
        assertRefused(NullPointerException.class, "state",
                () -> Optimizers.create(SgdConfig.sgd(0.1).withMomentum(0.9), N, null, Implementation.SCALAR));
        MemorySegment closed;
        try (Arena gone = Arena.ofConfined()) {
            closed = gone.allocate(floats * 4, 64);
        }
        assertRefused(IllegalArgumentException.class, "state: expected a segment whose arena is open",
                () -> Optimizers.create(ADAMW, N, closed));
        assertArrayEquals(before, big.toArray(ValueLayout.JAVA_BYTE), "a refused state was written");
        // The multi-tensor twins.
        List<ParamGroup> groups = List.of(ParamGroup.of(ADAMW, N, 5), ParamGroup.of(AdamConfig.adam(), 1));
        long multi = Optimizers.multiTensorStateFloats(groups);
        MemorySegment m = floats(arena, multi + 1, 5);
        byte[] mBefore = m.toArray(ValueLayout.JAVA_BYTE);
        assertRefused(IllegalArgumentException.class, "state: expected " + multi * 4 + " bytes",
                () -> Optimizers.multiTensor(groups, m));
        assertRefused(IllegalArgumentException.class, "state: expected a writable segment",
                () -> Optimizers.multiTensor(groups, m.asSlice(0, multi * 4).asReadOnly()));
        assertRefused(IllegalArgumentException.class, "state: expected a 4-byte aligned segment",
                () -> Optimizers.multiTensor(groups, m.asSlice(1, multi * 4)));
        assertRefused(NullPointerException.class, "state", () -> Optimizers.multiTensor(groups, (MemorySegment) null));
        assertArrayEquals(mBefore, m.toArray(ValueLayout.JAVA_BYTE), "a refused multi-tensor state was written");
    }

    @Test
    void sgdWithoutMomentumTakesNullState() {
        SgdConfig plain = SgdConfig.sgd(0.1);
        assertEquals(0, plain.stateFloats(N));
        try (Optimizer o = Optimizers.create(plain, N, null)) {
            o.step(params, grads);
            assertEquals(List.of(), o.stateNames());
        }
    }

    /**
     * State confined to a thread that is not the caller's: refused at each step with the JDK's
     * {@link WrongThreadException}, naming {@code state}, nothing changed (read back on its own thread).
     */
    @Test
    void stateConfinedToAnotherThreadIsRefusedAtStepTime() throws Exception {
        ExecutorService owner = Executors.newSingleThreadExecutor();
        try {
            Arena theirs = owner.submit(() -> Arena.ofConfined()).get();
            long floats = ADAMW.stateFloats(N);
            MemorySegment confined = owner.submit(() -> floats(theirs, floats, 0.25f)).get();
            Future<byte[]> read = owner.submit(() -> confined.toArray(ValueLayout.JAVA_BYTE));
            byte[] before = read.get();
            try (Optimizer o = Optimizers.create(ADAMW, N, confined)) {
                byte[] p = params.toArray(ValueLayout.JAVA_BYTE), g = grads.toArray(ValueLayout.JAVA_BYTE);
                byte[] u = update.toArray(ValueLayout.JAVA_BYTE);
                assertRefused(WrongThreadException.class, "state", () -> o.step(params, grads));
                assertRefused(WrongThreadException.class, "state", () -> o.step(params, grads, StepOptions.number(3)));
                assertRefused(WrongThreadException.class, "state",
                        () -> o.update(params, grads, update, StepOptions.next()));
                try (Team team = Team.create(2)) {
                    assertRefused(WrongThreadException.class, "state",
                            () -> o.update(params, grads, update, StepOptions.next(), team));
                }
                assertEquals(0, o.stepCount());
                assertArrayEquals(p, params.toArray(ValueLayout.JAVA_BYTE), "params");
                assertArrayEquals(g, grads.toArray(ValueLayout.JAVA_BYTE), "grads");
                assertArrayEquals(u, update.toArray(ValueLayout.JAVA_BYTE), "update");
                assertArrayEquals(before, owner.submit(() -> confined.toArray(ValueLayout.JAVA_BYTE)).get(), "state");
                // On its own thread the same optimizer steps.
                owner.submit(() -> o.step(params, grads)).get();
                assertEquals(1, o.stepCount());
                assertFalse(Arrays.equals(before, owner.submit(() -> confined.toArray(ValueLayout.JAVA_BYTE)).get()));
            }
            List<ParamGroup> groups = List.of(ParamGroup.of(AdamConfig.adam(), N));
            MemorySegment multi = owner.submit(() -> floats(theirs, Optimizers.multiTensorStateFloats(groups), 0.25f))
                    .get();
            try (MultiTensorOptimizer o = Optimizers.multiTensor(groups, multi)) {
                assertRefused(WrongThreadException.class, "state", () -> o.step(List.of(params), List.of(grads)));
                assertEquals(0, o.stepCount());
            }
            owner.submit(theirs::close).get();
        } finally {
            owner.shutdown();
        }
    }

    /** State confined to the calling thread is fine alone, and refused for a step its team splits. */
    @Test
    void stateConfinedToTheCallerIsRefusedForASplitStep() {
        long n = 2 * Team.MIN_SHARE;
        try (Arena confined = Arena.ofConfined(); Team team = Team.create(2)) {
            MemorySegment s = confined.allocate(ADAMW.stateFloats(n) * 4, 64);
            MemorySegment p = floats(arena, n, 1), g = floats(arena, n, 2), u = floats(arena, n, 3);
            try (Optimizer o = Optimizers.create(ADAMW, n, s)) {
                o.step(p, g);
                Snapshot before = Snapshot.of(o, p, g, u, s);
                assertRefused(WrongThreadException.class, "state: expected a segment that all 2 threads",
                        () -> o.step(p, g, StepOptions.next(), team));
                assertRefused(WrongThreadException.class, "state: expected a segment that all 2 threads",
                        () -> o.update(p, g, u, StepOptions.next(), team));
                assertRefused(WrongThreadException.class, "state", () -> o.step(p, g, 2));
                before.assertUnchanged("confined state, split step", o, p, g, u, s);
            }
        }
    }

    // ---- update mode ----

    @Test
    void updateArgumentsAreRefusedNamingThem() {
        StepOptions next = StepOptions.next();
        refusedUnchanged(NullPointerException.class, "params",
                () -> opt.update(null, grads, update, next));
        MemorySegment wide = floats(arena, 2 * N, 4);
        refusedUnchanged(IllegalArgumentException.class, "update and grads: expected disjoint segments",
                () -> opt.update(params, wide.asSlice(0, N * 4L), wide.asSlice(8, N * 4L), next), wide);
        refusedUnchanged(IllegalArgumentException.class, "update and grads: expected disjoint segments",
                () -> opt.update(params, wide.asSlice(8, N * 4L), wide.asSlice(0, N * 4L), next), wide);
        refusedUnchanged(IllegalArgumentException.class, "params and update: expected disjoint segments",
                () -> opt.update(wide.asSlice(0, N * 4L), grads, wide.asSlice(4, N * 4L), next), wide);
        refusedUnchanged(IllegalArgumentException.class, "params and update",
                () -> opt.update(params, grads, params, next));
        refusedUnchanged(IllegalArgumentException.class, "update: expected a writable segment",
                () -> opt.update(params, grads, update.asReadOnly(), next));
        refusedUnchanged(IllegalArgumentException.class, "update: expected " + N * 4 + " bytes",
                () -> opt.update(params, grads, wide, next), wide);
        refusedUnchanged(IllegalArgumentException.class, "update: expected " + N * 4 + " bytes",
                () -> opt.update(params, grads, update.asSlice(0, (N - 1) * 4L), next));
        refusedUnchanged(NullPointerException.class, "update", () -> opt.update(params, grads, null, next));
        refusedUnchanged(NullPointerException.class, "options", () -> opt.update(params, grads, update, null));
        refusedUnchanged(NullPointerException.class, "grads", () -> opt.update(params, null, update, next));
        refusedUnchanged(NullPointerException.class, "team",
                () -> opt.update(params, grads, update, next, null));
        try (Team team = Team.create(2)) {
            refusedUnchanged(NullPointerException.class, "params", () -> opt.update(null, grads, update, next, team));
            refusedUnchanged(IllegalArgumentException.class, "update and grads",
                    () -> opt.update(params, wide.asSlice(0, N * 4L), wide.asSlice(4, N * 4L), next, team), wide);
        }
        Team closed = Team.create(2);
        closed.close();
        refusedUnchanged(IllegalStateException.class, "team", () -> opt.update(params, grads, update, next, closed));
    }

    @Test
    void updateIntoTheGradientsItselfIsAllowed() {
        try (Optimizer twin = Optimizers.create(ADAMW, N)) {
            // Same state and count as opt: restore from its caller-owned state.
            twin.restore(opt.stepCount(), (name, b) -> MemorySegment.copy(opt.state(name), 0, b, 0, b.byteSize()));
            MemorySegment separate = arena.allocate(N * 4L, 64);
            byte[] p = params.toArray(ValueLayout.JAVA_BYTE);
            float[] g = toArray(grads);
            twin.update(params, grads, separate, StepOptions.next());
            assertSameBits("grads read by the separate update", g, toArray(grads));
            // The same bytes through another segment object: still "grads itself".
            opt.update(params.asReadOnly(), grads, grads.asSlice(0), StepOptions.next());
            assertArrayEquals(p, params.toArray(ValueLayout.JAVA_BYTE), "update mode wrote the parameters");
            assertSameBits("grads now hold the update", toArray(separate), toArray(grads));
            assertFalse(Arrays.equals(g, toArray(grads)), "the update should differ from the gradients");
            assertEquals(2, opt.stepCount());
            for (String name : opt.stateNames()) {
                assertSameBits(name, toArray(twin.state(name)), toArray(opt.state(name)));
            }
        }
    }

    @Test
    void nullParamsAreFineWithoutWeightDecay() {
        AdamConfig plain = AdamConfig.adam().withLr(1e-2);
        try (Optimizer o = Optimizers.create(plain, N, arena.allocate(plain.stateFloats(N) * 4, 64))) {
            o.update(null, grads, update, StepOptions.next());
            assertEquals(1, o.stepCount());
            assertFalse(Arrays.equals(toArray(floats(arena, N, 3)), toArray(update)), "update written");
        }
    }

    // ---- multi-tensor update ----

    @Test
    void multiTensorUpdateArgumentsAreRefusedNamingThem() {
        long[] sizes = {N, 17, 5};
        List<ParamGroup> groups = List.of(ParamGroup.of(ADAMW, sizes[0], sizes[1]),
                ParamGroup.of(AdamConfig.adam().withLr(1e-2), sizes[2]));
        MemorySegment mState = arena.allocate(Optimizers.multiTensorStateFloats(groups) * 4, 64);
        List<MemorySegment> p = new ArrayList<>(), g = new ArrayList<>(), u = new ArrayList<>();
        for (long n : sizes) {
            p.add(floats(arena, n, 1));
            g.add(floats(arena, n, 2));
            u.add(floats(arena, n, 3));
        }
        try (MultiTensorOptimizer m = Optimizers.multiTensor(groups, mState)) {
            m.step(p, g);
            List<MemorySegment> all = new ArrayList<>(p);
            all.addAll(g);
            all.addAll(u);
            all.add(mState);
            MemorySegment[] buffers = all.toArray(MemorySegment[]::new);
            StepOptions next = StepOptions.next();
            Refusal refused = (type, mentions, call) -> {
                Snapshot before = Snapshot.of(m, buffers);
                Throwable e = assertRefused(type, mentions, call);
                before.assertUnchanged(mentions, m, buffers);
                return e;
            };
            refused.check(IllegalArgumentException.class, "updates: expected 3 segments (one per tensor), got 2",
                    () -> m.update(p, g, u.subList(0, 2), next));
            refused.check(IllegalArgumentException.class, "updates: expected 3 segments (one per tensor), got 4",
                    () -> m.update(p, g, List.of(u.get(0), u.get(1), u.get(2), floats(arena, 5, 1)), next));
            refused.check(NullPointerException.class, "updates", () -> m.update(p, g, null, next));
            refused.check(NullPointerException.class, "updates[1]",
                    () -> m.update(p, g, Arrays.asList(u.get(0), null, u.get(2)), next));
            refused.check(NullPointerException.class, "options", () -> m.update(p, g, u, null));
            refused.check(NullPointerException.class, "team", () -> m.update(p, g, u, next, null));
            // updates[0] overlapping grads[2] (a different tensor's gradients).
            MemorySegment wide = floats(arena, N + 5, 6);
            Throwable e = refused.check(IllegalArgumentException.class, "expected disjoint segments",
                    () -> m.update(p, with(g, 2, wide.asSlice(N * 4L - 4, 20)), with(u, 0, wide.asSlice(0, N * 4L)),
                            next));
            assertTrue(e.getMessage().contains("updates[0]") && e.getMessage().contains("grads[2]"), e.getMessage());
            // updates[2] being grads[0] exactly is not "its own gradients": refused.
            MemorySegment g0 = g.get(0).asSlice(0, sizes[2] * 4);
            e = refused.check(IllegalArgumentException.class, "expected disjoint segments",
                    () -> m.update(p, g, with(u, 2, g0), next));
            assertTrue(e.getMessage().contains("updates[2]") && e.getMessage().contains("grads[0]"), e.getMessage());
            e = refused.check(IllegalArgumentException.class, "expected disjoint segments",
                    () -> m.update(p, g, with(u, 1, p.get(1)), next));
            assertTrue(e.getMessage().contains("updates[1]") && e.getMessage().contains("params[1]"), e.getMessage());
            refused.check(IllegalArgumentException.class, "updates[0]: expected a writable segment",
                    () -> m.update(p, g, with(u, 0, u.get(0).asReadOnly()), next));
            // A null params entry for group 0 (weight decay) is refused; for group 1 (none) it is fine.
            refused.check(NullPointerException.class, "params[1]",
                    () -> m.update(Arrays.asList(p.get(0), null, p.get(2)), g, u, next));
            refused.check(NullPointerException.class, "params[0]", () -> m.update(null, g, u, next));
            assertEquals(1, m.stepCount());
            m.update(Arrays.asList(p.get(0), p.get(1), null), g, with(u, 2, g.get(2)), next);
            assertEquals(2, m.stepCount());
        }
    }

    @FunctionalInterface
    private interface Refusal {
        Throwable check(Class<? extends Throwable> type, String mentions, Executable call);
    }

    private static List<MemorySegment> with(List<MemorySegment> list, int i, MemorySegment s) {
        List<MemorySegment> copy = new ArrayList<>(list);
        copy.set(i, s);
        return copy;
    }

    // ---- setConfig and setLr ----

    @Test
    void setConfigRefusesOtherKindsAndOtherStateBuffers() {
        refusedUnchanged(IllegalArgumentException.class, "config: expected this optimizer's optimizer kind",
                () -> opt.setConfig(SgdConfig.sgd(0.1)));
        refusedUnchanged(IllegalArgumentException.class, "config", () -> opt.setConfig(RmsPropConfig.rmsProp()));
        refusedUnchanged(IllegalArgumentException.class, "config: expected a config that keeps",
                () -> opt.setConfig(ADAMW.withAmsgrad(true)));
        refusedUnchanged(NullPointerException.class, "config", () -> opt.setConfig(null));
        refusedUnchanged(IllegalArgumentException.class, "lr", () -> opt.setLr(Double.NaN));
        refusedUnchanged(IllegalArgumentException.class, "lr", () -> opt.setLr(-1));
        refusedUnchanged(IllegalArgumentException.class, "lr", () -> opt.setLr(Double.POSITIVE_INFINITY));
        // What may change does, and the state stays.
        opt.setConfig(ADAMW.withWeightDecay(0.2).withBetas(0.8, 0.9));
        assertEquals(ADAMW.withWeightDecay(0.2).withBetas(0.8, 0.9), opt.config());
        opt.setLr(3e-3);
        assertEquals(3e-3, opt.config().lr());
    }

    @Test
    void setConfigRefusesOtherStateBuffersForEveryKind() {
        configRefused(SgdConfig.sgd(0.1), SgdConfig.sgd(0.1).withMomentum(0.9));
        configRefused(SgdConfig.sgd(0.1).withMomentum(0.9), SgdConfig.sgd(0.1));
        configRefused(SgdConfig.sgd(0.1).withMomentum(0.9), SgdConfig.sgd(0.1).withMomentum(0.9).withNesterov(true)
                .withDampening(0.5));
        configRefused(RmsPropConfig.rmsProp(), RmsPropConfig.rmsProp().withCentered(true));
        configRefused(RmsPropConfig.rmsProp(), RmsPropConfig.rmsProp().withMomentum(0.9));
        configRefused(AdamConfig.adam().withAmsgrad(true), AdamConfig.adam());
    }

    private void configRefused(OptimizerConfig from, OptimizerConfig to) {
        MemorySegment s = from.stateFloats(N) == 0 ? null : arena.allocate(from.stateFloats(N) * 4, 64);
        MemorySegment p = floats(arena, N, 1), g = floats(arena, N, 2);
        try (Optimizer o = Optimizers.create(from, N, s)) {
            o.step(p, g);
            Snapshot before = Snapshot.of(o, p, g);
            assertRefused(IllegalArgumentException.class, "config", () -> o.setConfig(to));
            before.assertUnchanged(from + " -> " + to, o, p, g);
            assertEquals(from, o.config());
        }
    }

    @Test
    void setConfigAndSetLrAreRefusedWhileABegunStepIsOpen() {
        Optimizer.Step step = opt.beginStep();
        try {
            refusedUnchanged(IllegalStateException.class, "setLr", () -> opt.setLr(1e-4));
            refusedUnchanged(IllegalStateException.class, "setConfig", () -> opt.setConfig(ADAMW.withLr(1e-4)));
            refusedUnchanged(IllegalStateException.class, "update",
                    () -> opt.update(params, grads, update, StepOptions.number(7)));
            assertEquals(ADAMW, opt.config());
        } finally {
            step.cancel();
        }
        opt.setLr(1e-4);
        assertEquals(1e-4, opt.config().lr());
    }

    // ---- StepOptions ----

    @Test
    void stepOptionsRefuseBadNumbersAndScales() {
        assertRefused(IllegalArgumentException.class, "got 0", () -> StepOptions.number(0));
        assertRefused(IllegalArgumentException.class, "got -1", () -> StepOptions.number(-1));
        assertRefused(IllegalArgumentException.class, "got " + Long.MIN_VALUE, () -> StepOptions.number(Long.MIN_VALUE));
        for (double bad : new double[] {0, -0.0, -1, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
                1e-300, 1e300}) {
            assertRefused(IllegalArgumentException.class, "gradScale", () -> StepOptions.next().withGradScale(bad));
            assertRefused(IllegalArgumentException.class, "gradScale", () -> StepOptions.number(3).withGradScale(bad));
        }
        // The extremes that still are floats > 0 are taken.
        assertEquals(Float.MIN_VALUE, (float) StepOptions.next().withGradScale(Float.MIN_VALUE).gradScale());
        assertEquals(Float.MAX_VALUE, (float) StepOptions.next().withGradScale(Float.MAX_VALUE).gradScale());
        assertEquals(1, StepOptions.number(1).number());
    }
}
