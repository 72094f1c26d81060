package dev.adamant.core;

import static dev.adamant.core.BadInputTest.assertRefused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Adafactor refuses bad input, and the APIs it cannot serve, with an exception that names the
 * argument (or the call) and says what to use instead, and changes nothing: not the parameters, the
 * gradients, the state or the step count.
 */
class AdafactorBadInputTest {
    private static final int ROWS = 5, COLS = 11, N = ROWS * COLS;

    @Test
    void hyperParameters() {
        AdafactorConfig c = AdafactorConfig.adafactor();
        assertRefused(IllegalArgumentException.class, "stateFormat: Adafactor keeps fp32 state only",
                () -> c.withStateFormat(StateFormat.BLOCKWISE_8BIT));
        assertRefused(NullPointerException.class, "stateFormat", () -> c.withStateFormat(null));
        org.junit.jupiter.api.Assertions.assertSame(c, c.withStateFormat(StateFormat.FP32));
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(-1e-3));
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(Double.NaN));
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(Double.POSITIVE_INFINITY));
        assertRefused(IllegalArgumentException.class, "beta2Decay", () -> c.withBeta2Decay(0.1));
        assertRefused(IllegalArgumentException.class, "beta2Decay", () -> c.withBeta2Decay(Double.NaN));
        assertRefused(IllegalArgumentException.class, "beta2Decay", () -> c.withBeta2Decay(Double.NEGATIVE_INFINITY));
        assertRefused(IllegalArgumentException.class, "eps1", () -> c.withEps1(-1e-30));
        assertRefused(IllegalArgumentException.class, "eps1", () -> c.withEps1(Double.POSITIVE_INFINITY));
        assertRefused(IllegalArgumentException.class, "eps2", () -> c.withEps2(-1e-3));
        assertRefused(IllegalArgumentException.class, "eps2", () -> c.withEps2(Double.NaN));
        assertRefused(IllegalArgumentException.class, "d", () -> c.withD(0.99));
        assertRefused(IllegalArgumentException.class, "d", () -> c.withD(Double.NaN));
        assertRefused(IllegalArgumentException.class, "d", () -> c.withD(Double.POSITIVE_INFINITY));
        assertRefused(IllegalArgumentException.class, "weightDecay", () -> c.withWeightDecay(-0.01));
        assertRefused(IllegalArgumentException.class, "weightDecay", () -> c.withWeightDecay(Double.NaN));
        // None (NaN) is eps1's default and may be given back; 0 and the bounds are PyTorch's
        assertTrue(Double.isNaN(c.withEps1(1e-30).withEps1(Double.NaN).eps1()));
        assertEquals(0x1p-23, c.effectiveEps1());
        assertEquals(0, c.withBeta2Decay(0).withEps1(0).withEps2(0).withD(1).beta2Decay());
        assertEquals(c, AdafactorConfig.adafactor());
    }

    @Test
    void shapesAndApisAdafactorCannotServe() {
        AdafactorConfig c = AdafactorConfig.adafactor();
        assertRefused(NullPointerException.class, "config", () -> Optimizers.adafactor(null, ROWS, COLS));
        assertRefused(NullPointerException.class, "config", () -> Optimizers.adafactor(null, N));
        assertRefused(IllegalArgumentException.class, "rows", () -> Optimizers.adafactor(c, 0, COLS));
        assertRefused(IllegalArgumentException.class, "cols", () -> Optimizers.adafactor(c, ROWS, -1));
        assertRefused(IllegalArgumentException.class, "rows", () -> Optimizers.adafactor(c, 1L << 40, 1L << 40));
        assertRefused(IllegalArgumentException.class, "n", () -> Optimizers.adafactor(c, 0));
        assertRefused(NullPointerException.class, "implementation",
                () -> Optimizers.adafactor(c, ROWS, COLS, null));
        assertRefused(UnsupportedOperationException.class, "stateNames()", c::stateNames);
        assertRefused(UnsupportedOperationException.class, "stateFloats(n)", () -> c.stateFloats(N));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(4L * N, 4);
            assertRefused(IllegalArgumentException.class, "state", () -> Optimizers.create(c, N, state));
            assertRefused(IllegalArgumentException.class, "state",
                    () -> Optimizers.create(c, N, state, Implementation.SCALAR));
        }
        List<ParamGroup> groups = List.of(ParamGroup.of(c, ROWS, COLS));
        assertRefused(IllegalArgumentException.class, "groups[0].config", () -> Optimizers.multiTensor(groups));
        assertRefused(IllegalArgumentException.class, "Optimizers.adafactor(config, rows, cols)",
                () -> Optimizers.multiTensor(groups, Implementation.SCALAR));
        assertRefused(IllegalArgumentException.class, "groups[0].config", () -> Optimizers.multiTensorStateFloats(groups));
        try (Optimizer vector = Optimizers.create(c, N)) {   // create(config, n) is the 1-D tensor
            assertEquals(List.of("variance"), vector.stateNames());
            assertEquals(N, vector.state("variance").byteSize() / 4);
        }
    }

    /** Copies of everything a refused call might have touched. */
    private record Snapshot(float[] params, float[] grads, List<float[]> state, long steps) {
        static Snapshot of(Optimizer opt, MemorySegment params, MemorySegment grads) {
            List<float[]> state = new ArrayList<>();
            for (String name : opt.stateNames()) {
                state.add(Fixtures.toArray(opt.state(name)));
            }
            return new Snapshot(Fixtures.toArray(params), Fixtures.toArray(grads), state, opt.stepCount());
        }

        void assertSame(Snapshot after, String what) {
            TestData.assertSameBits(what + ": params", params, after.params);
            TestData.assertSameBits(what + ": grads", grads, after.grads);
            for (int k = 0; k < state.size(); k++) {
                TestData.assertSameBits(what + ": state " + k, state.get(k), after.state.get(k));
            }
            assertEquals(steps, after.steps, what + ": step count");
        }
    }

    @Test
    void refusedStepsChangeNothing() {
        for (Implementation impl : Implementation.values()) {
            if (!impl.isAvailable()) {
                continue;
            }
            for (boolean matrix : new boolean[] {true, false}) {
                refusedStepsChangeNothing(impl, matrix);
            }
        }
    }

    private void refusedStepsChangeNothing(Implementation impl, boolean matrix) {
        AdafactorConfig c = AdafactorConfig.adafactor().withWeightDecay(0.01);
        Executor direct = Runnable::run;
        try (Arena arena = Arena.ofShared(); Team team = Team.create(2);
             Optimizer opt = matrix ? Optimizers.adafactor(c, ROWS, COLS, impl) : Optimizers.adafactor(c, N, impl)) {
            MemorySegment p = arena.allocate(4L * N, 64), g = arena.allocate(4L * N, 64);
            MemorySegment u = arena.allocate(4L * N, 64), shorter = arena.allocate(4L * (N - 1), 64);
            MemorySegment wide = arena.allocate(4L * (N + 1), 64);
            for (int i = 0; i < N; i++) {
                p.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, 0.1f * i - 2);
                g.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, 0.01f * (i % 7) - 0.03f);
            }
            opt.step(p, g);   // a state that is not all zeros
            Snapshot before = Snapshot.of(opt, p, g);
            String what = impl + (matrix ? " matrix" : " vector");
            List<Executable> refusals = List.of(
                    () -> assertRefused(NullPointerException.class, "params", () -> opt.step(null, g)),
                    () -> assertRefused(NullPointerException.class, "grads", () -> opt.step(p, null)),
                    () -> assertRefused(IllegalArgumentException.class, "params", () -> opt.step(shorter, g)),
                    () -> assertRefused(IllegalArgumentException.class, "grads", () -> opt.step(p, shorter)),
                    () -> assertRefused(IllegalArgumentException.class, "params", () -> opt.step(p.asReadOnly(), g)),
                    () -> assertRefused(IllegalArgumentException.class, "params and grads", () -> opt.step(p, p)),
                    () -> assertRefused(IllegalArgumentException.class, "parallelism", () -> opt.step(p, g, 0)),
                    () -> assertRefused(NullPointerException.class, "executor", () -> opt.step(p, g, null, 2)),
                    () -> assertRefused(IllegalArgumentException.class, "parallelism",
                            () -> opt.step(p, g, direct, 0)),
                    () -> assertRefused(NullPointerException.class, "team", () -> opt.step(p, g, (Team) null)),
                    () -> assertRefused(NullPointerException.class, "options",
                            () -> opt.step(p, g, (StepOptions) null)),
                    () -> assertRefused(NullPointerException.class, "params",
                            () -> opt.update(null, g, u, StepOptions.next())),
                    () -> assertRefused(NullPointerException.class, "update",
                            () -> opt.update(p, g, null, StepOptions.next())),
                    () -> assertRefused(IllegalArgumentException.class, "update",
                            () -> opt.update(p, g, u.asReadOnly(), StepOptions.next())),
                    () -> assertRefused(IllegalArgumentException.class, "params and update",
                            () -> opt.update(p, g, p, StepOptions.next())),
                    () -> assertRefused(IllegalArgumentException.class, "update and grads",
                            () -> opt.update(p, wide.asSlice(0, 4L * N), wide.asSlice(4, 4L * N), StepOptions.next())),
                    () -> assertRefused(UnsupportedOperationException.class, "beginStep", opt::beginStep),
                    () -> assertRefused(IllegalArgumentException.class, "config",
                            () -> opt.setConfig(LionConfig.lion())),
                    () -> assertRefused(NullPointerException.class, "config", () -> opt.setConfig(null)),
                    () -> assertRefused(IllegalArgumentException.class, "lr", () -> opt.setLr(Double.NaN)),
                    () -> assertRefused(IllegalArgumentException.class, "name", () -> opt.state("exp_avg")),
                    () -> assertRefused(IllegalArgumentException.class, "stepCount", () -> opt.restore(-1, (n, s) -> { })),
                    () -> assertRefused(NullPointerException.class, "fill", () -> opt.restore(3, null)));
            for (int k = 0; k < refusals.size(); k++) {
                try {
                    refusals.get(k).execute();
                } catch (Throwable e) {
                    throw new AssertionError(what + ", refusal " + k + ": " + e.getMessage(), e);
                }
                before.assertSame(Snapshot.of(opt, p, g), what + ", refusal " + k);
            }
            assertEquals(c, opt.config());
            team.close();
            assertRefused(IllegalStateException.class, "team", () -> opt.step(p, g, team));
            before.assertSame(Snapshot.of(opt, p, g), what + ", closed team");
            opt.close();
            assertRefused(IllegalStateException.class, "closed", () -> opt.step(p, g));
            assertRefused(IllegalStateException.class, "closed", () -> opt.state(opt.stateNames().get(0)));
            TestData.assertSameBits(what + ": params after close", before.params(), Fixtures.toArray(p));
        }
    }
}
