package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every public entry refuses bad input with an exception that names the argument and what was
 * expected, and changes nothing: not the parameters, not the state, not the step count.
 */
class BadInputTest {
    private static final int N = 37;

    static <T extends Throwable> T assertRefused(Class<T> type, String mentions, Executable call) {
        T e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(mentions),
                "message should mention \"" + mentions + "\": " + e.getMessage());
        return e;
    }

    // ---- hyper-parameters ----

    @Test
    void adamHyperParameters() {
        AdamConfig c = AdamConfig.adam();
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(-1e-3));
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(Double.NaN));
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(Double.POSITIVE_INFINITY));
        assertRefused(IllegalArgumentException.class, "beta1", () -> c.withBetas(1.0, 0.999));
        assertRefused(IllegalArgumentException.class, "beta1", () -> c.withBetas(-0.1, 0.999));
        assertRefused(IllegalArgumentException.class, "beta2", () -> c.withBetas(0.9, 1.0));
        assertRefused(IllegalArgumentException.class, "beta2", () -> c.withBetas(0.9, Double.NaN));
        assertRefused(IllegalArgumentException.class, "eps", () -> c.withEps(0));
        assertRefused(IllegalArgumentException.class, "eps", () -> c.withEps(-1e-8));
        assertRefused(IllegalArgumentException.class, "weightDecay", () -> c.withWeightDecay(-0.01));
        assertRefused(IllegalArgumentException.class, "weightDecay", () -> c.withWeightDecay(Double.NaN));
        assertRefused(NullPointerException.class, "config", () -> Optimizers.adam(null, N));
    }

    @Test
    void sgdHyperParameters() {
        assertRefused(IllegalArgumentException.class, "lr", () -> SgdConfig.sgd(Double.NaN));
        assertRefused(IllegalArgumentException.class, "lr", () -> SgdConfig.sgd(-1));
        SgdConfig c = SgdConfig.sgd(0.1);
        assertRefused(IllegalArgumentException.class, "momentum", () -> c.withMomentum(-0.9));
        assertRefused(IllegalArgumentException.class, "dampening", () -> c.withDampening(1.5));
        assertRefused(IllegalArgumentException.class, "weightDecay", () -> c.withWeightDecay(-1));
        assertRefused(IllegalArgumentException.class, "nesterov", () -> Optimizers.sgd(c.withNesterov(true), N));
        assertRefused(IllegalArgumentException.class, "nesterov",
                () -> Optimizers.sgd(c.withNesterov(true).withMomentum(0.9).withDampening(0.1), N));
        assertRefused(IllegalArgumentException.class, "biasCorrection", () -> Optimizers.sgd(c.withBiasCorrection(true), N));
        assertRefused(IllegalArgumentException.class, "biasCorrection",
                () -> Optimizers.sgd(c.withBiasCorrection(true).withMomentum(0.9).withDampening(0.5), N));
    }

    @Test
    void rmsPropHyperParameters() {
        RmsPropConfig c = RmsPropConfig.rmsProp();
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(Double.NaN));
        assertRefused(IllegalArgumentException.class, "alpha", () -> c.withAlpha(1.0));
        assertRefused(IllegalArgumentException.class, "alpha", () -> c.withAlpha(-0.5));
        assertRefused(IllegalArgumentException.class, "eps", () -> c.withEps(0));
        assertRefused(IllegalArgumentException.class, "momentum", () -> c.withMomentum(Double.NaN));
        assertRefused(IllegalArgumentException.class, "weightDecay", () -> c.withWeightDecay(-1));
    }

    @Test
    void adagradHyperParameters() {
        AdagradConfig c = AdagradConfig.adagrad();
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(-1e-3));
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(Double.POSITIVE_INFINITY));
        assertRefused(IllegalArgumentException.class, "lrDecay", () -> c.withLrDecay(-1e-3));
        assertRefused(IllegalArgumentException.class, "lrDecay", () -> c.withLrDecay(Double.NaN));
        assertRefused(IllegalArgumentException.class, "weightDecay", () -> c.withWeightDecay(-1));
        assertRefused(IllegalArgumentException.class, "initialAccumulatorValue", () -> c.withInitialAccumulatorValue(-0.1));
        assertRefused(IllegalArgumentException.class, "initialAccumulatorValue",
                () -> c.withInitialAccumulatorValue(Double.NaN));
        assertRefused(IllegalArgumentException.class, "eps", () -> c.withEps(0));
        assertRefused(IllegalArgumentException.class, "eps", () -> c.withEps(Double.POSITIVE_INFINITY));
        assertEquals(c, AdagradConfig.adagrad());
        assertEquals(c.hashCode(), AdagradConfig.adagrad().hashCode());
        assertEquals("Adagrad[lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1.0E-10,"
                + " maximize=false]", c.toString());
    }

    @Test
    void lionHyperParameters() {
        LionConfig c = LionConfig.lion();
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(Double.NaN));
        assertRefused(IllegalArgumentException.class, "lr", () -> c.withLr(-1));
        assertRefused(IllegalArgumentException.class, "beta1", () -> c.withBetas(1.0, 0.99));
        assertRefused(IllegalArgumentException.class, "beta1", () -> c.withBetas(-0.1, 0.99));
        assertRefused(IllegalArgumentException.class, "beta2", () -> c.withBetas(0.9, 1.0));
        assertRefused(IllegalArgumentException.class, "beta2", () -> c.withBetas(0.9, Double.NaN));
        assertRefused(IllegalArgumentException.class, "weightDecay", () -> c.withWeightDecay(-0.01));
        assertRefused(IllegalArgumentException.class, "weightDecay", () -> c.withWeightDecay(Double.NaN));
        assertEquals(c, LionConfig.lion());
        assertEquals(c.hashCode(), LionConfig.lion().hashCode());
        assertEquals("Lion[lr=1.0E-4, betas=(0.9, 0.99), weight_decay=0.0]", c.toString());
    }

    /** An owned Adagrad state starts at initial_accumulator_value; the caller's is used as it is. */
    @Test
    void adagradSumStartsAtTheInitialAccumulatorValue() {
        AdagradConfig c = AdagradConfig.adagrad().withInitialAccumulatorValue(0.1);
        try (Optimizer opt = Optimizers.adagrad(c, 37)) {
            for (float v : opt.state("sum").toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT)) {
                assertEquals(0.1f, v);
            }
        }
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            var state = arena.allocate(37L * Float.BYTES, 4);
            try (Optimizer opt = Optimizers.create(c, 37, state)) {
                assertEquals(List.of("sum"), opt.stateNames());
                assertEquals(0f, opt.state("sum").getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0));
            }
        }
        assertEquals(37, c.stateFloats(37));
        assertEquals(37, LionConfig.lion().stateFloats(37));
    }

    @Test
    void sizeMustBePositive() {
        assertRefused(IllegalArgumentException.class, "n: expected > 0, got 0", () -> Optimizers.adam(AdamConfig.adam(), 0));
        assertRefused(IllegalArgumentException.class, "n: expected > 0, got -5", () -> Optimizers.sgd(SgdConfig.sgd(0.1), -5));
        assertRefused(IllegalArgumentException.class, "n: expected > 0", () -> Optimizers.rmsProp(RmsPropConfig.rmsProp(), 0));
    }

    /** The case: 2^62 floats overflowed the byte size ({@code ArithmeticException: long overflow}). */
    @Test
    void sizeMustFitInALong() {
        assertRefused(IllegalArgumentException.class,
                "n: expected at most 2305843009213693951 floats (a byte size that fits in a long), got 4611686018427387904",
                () -> Optimizers.adam(AdamConfig.adam(), 1L << 62));
        // SGD without momentum allocates nothing, and is refused all the same.
        assertRefused(IllegalArgumentException.class, "n: expected at most", () -> Optimizers.sgd(SgdConfig.sgd(0.1), Long.MAX_VALUE));
        // Within the limit but beyond any machine (4 PiB a buffer, more than x86-64's 128 TiB of
        // address space): the allocator's OutOfMemoryError, with n and the bytes named.
        OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> Optimizers.adam(AdamConfig.adam(), 1L << 50));
        assertTrue(e.getMessage().startsWith("n: 1125899906842624 parameters need 2 state buffers of 4503599627370496 bytes"),
                e.getMessage());
    }

    // ---- step arguments: each refused call leaves parameters, state and step count as they were ----

    /** Makes an optimizer that has taken one step, and checks a bad call changes nothing. */
    private static void refusedAndUnchanged(Class<? extends Throwable> type, String mentions, StepCall call) {
        for (Supplier<Optimizer> make : List.<Supplier<Optimizer>>of(
                () -> Optimizers.adam(AdamConfig.adamW().withAmsgrad(true), N),
                () -> Optimizers.sgd(SgdConfig.sgd(0.1).withMomentum(0.9), N),
                () -> Optimizers.rmsProp(RmsPropConfig.rmsProp().withCentered(true).withMomentum(0.9), N))) {
            try (Arena arena = Arena.ofConfined(); Optimizer opt = make.get()) {
                MemorySegment p = arena.allocate(N * 4L, 64);
                MemorySegment g = arena.allocate(N * 4L, 64);
                for (int i = 0; i < N; i++) {
                    p.setAtIndex(TestData.F, i, 1 + i);
                    g.setAtIndex(TestData.F, i, 0.5f - i);
                }
                opt.step(p, g);
                float[] params = TestData.toArray(p);
                List<float[]> state = opt.stateNames().stream().map(s -> TestData.toArray(opt.state(s))).toList();
                assertRefused(type, mentions, () -> call.step(opt, arena, p, g));
                assertArrayEquals(params, TestData.toArray(p), "parameters changed by a refused call");
                for (int s = 0; s < state.size(); s++) {
                    assertArrayEquals(state.get(s), TestData.toArray(opt.state(opt.stateNames().get(s))),
                            "state changed by a refused call");
                }
                assertEquals(1, opt.stepCount(), "step count changed by a refused call");
            }
        }
    }

    @FunctionalInterface
    interface StepCall {
        void step(Optimizer opt, Arena arena, MemorySegment params, MemorySegment grads);
    }

    @Test
    void sizesThatDoNotMatch() {
        refusedAndUnchanged(IllegalArgumentException.class, "params: expected 148 bytes (37 floats), got 144 bytes",
                (o, a, p, g) -> o.step(p.asSlice(0, 36 * 4), g));
        refusedAndUnchanged(IllegalArgumentException.class, "grads: expected 148 bytes (37 floats), got 152 bytes",
                (o, a, p, g) -> o.step(p, a.allocate(38 * 4)));
        refusedAndUnchanged(IllegalArgumentException.class, "grads: expected 148 bytes",
                (o, a, p, g) -> o.step(p, MemorySegment.ofArray(new float[36])));
    }

    @Test
    void misalignedSegments() {
        refusedAndUnchanged(IllegalArgumentException.class, "params: expected a 4-byte aligned segment",
                (o, a, p, g) -> o.step(a.allocate(N * 4 + 2, 8).asSlice(2, N * 4), g));
        refusedAndUnchanged(IllegalArgumentException.class, "grads: expected a 4-byte aligned segment",
                (o, a, p, g) -> o.step(p, MemorySegment.ofArray(new byte[N * 4 + 1]).asSlice(1)));
    }

    @Test
    void readOnlyParameters() {
        refusedAndUnchanged(IllegalArgumentException.class, "params: expected a writable segment",
                (o, a, p, g) -> o.step(p.asReadOnly(), g));
    }

    @Test
    void readOnlyGradientsAreFine() {
        try (Arena arena = Arena.ofConfined(); Optimizer opt = Optimizers.adam(AdamConfig.adam(), N)) {
            opt.step(arena.allocate(N * 4L), arena.allocate(N * 4L).asReadOnly());
            assertEquals(1, opt.stepCount());
        }
    }

    @Test
    void closedArena() {
        refusedAndUnchanged(IllegalArgumentException.class, "grads: expected a segment whose arena is open, got one whose arena is closed", (o, a, p, g) -> {
            MemorySegment dead;
            try (Arena other = Arena.ofConfined()) {
                dead = other.allocate(N * 4L);
            }
            o.step(p, dead);
        });
    }

    @Test
    void overlappingParametersAndGradients() {
        refusedAndUnchanged(IllegalArgumentException.class, "params and grads: expected disjoint segments, got ones that overlap",
                (o, a, p, g) -> o.step(p, p));
    }

    @Test
    void nullsAndBadParallelism() {
        refusedAndUnchanged(NullPointerException.class, "params", (o, a, p, g) -> o.step(null, g));
        refusedAndUnchanged(NullPointerException.class, "grads", (o, a, p, g) -> o.step(p, null));
        refusedAndUnchanged(NullPointerException.class, "executor", (o, a, p, g) -> o.step(p, g, (Executor) null, 2));
        refusedAndUnchanged(IllegalArgumentException.class, "parallelism: expected >= 1, got 0", (o, a, p, g) -> o.step(p, g, 0));
    }

    @Test
    void parallelStepOverConfinedSegments() {
        int n = 100_000;   // large enough to be split
        try (Arena confined = Arena.ofConfined(); Arena shared = Arena.ofShared();
             Optimizer opt = Optimizers.adam(AdamConfig.adam(), n)) {
            MemorySegment p = shared.allocate(n * 4L), g = shared.allocate(n * 4L);
            assertRefused(WrongThreadException.class, "grads: expected a segment that all 2 threads of the call can"
                    + " access", () -> opt.step(p, confined.allocate(n * 4L), 2));
            assertRefused(WrongThreadException.class, "params: expected a segment that all 2 threads",
                    () -> opt.step(confined.allocate(n * 4L), g, 2));
            assertEquals(0, opt.stepCount());
            opt.step(confined.allocate(n * 4L), confined.allocate(n * 4L));   // serial: fine
            opt.step(p, g, 2);
            assertEquals(2, opt.stepCount());
        }
    }

    /** The one-thread form of the same check: segments confined to another thread, in a step and in a begun step. */
    @Test
    void segmentsConfinedToAnotherThread() throws Exception {
        ExecutorService owner = Executors.newSingleThreadExecutor();
        try {
            Arena theirs = owner.submit(Arena::ofConfined).get();
            MemorySegment foreign = owner.submit(() -> theirs.allocate(N * 4L, 64)).get();
            refusedAndUnchanged(WrongThreadException.class, "grads: expected a segment the calling thread",
                    (o, a, p, g) -> o.step(p, foreign));
            refusedAndUnchanged(WrongThreadException.class, "params: expected a segment the calling thread",
                    (o, a, p, g) -> o.step(foreign, g, 3));
            try (Arena arena = Arena.ofConfined(); Optimizer opt = Optimizers.adam(AdamConfig.adam(), N);
                 Optimizer.Step step = opt.beginStep()) {
                MemorySegment p = arena.allocate(N * 4L, 64);
                assertRefused(WrongThreadException.class, "params: expected a segment the calling thread",
                        () -> step.apply(foreign, p, 0));
                assertRefused(WrongThreadException.class, "confined to another thread", () -> step.apply(p, foreign, 0));
                assertEquals(0f, p.getAtIndex(TestData.F, 0));
            }
            owner.submit(theirs::close).get();
        } finally {
            owner.shutdown();
        }
    }

    @Test
    void stepAfterClose() {
        try (Arena arena = Arena.ofConfined()) {
            Optimizer opt = Optimizers.adam(AdamConfig.adam(), N);
            opt.close();
            opt.close();   // idempotent
            assertRefused(IllegalStateException.class, "closed",
                    () -> opt.step(arena.allocate(N * 4L), arena.allocate(N * 4L)));
            assertRefused(IllegalStateException.class, "closed", () -> opt.state("exp_avg"));
            assertEquals(0, opt.stepCount());
        }
    }

    @Test
    void unknownStateName() {
        try (Optimizer opt = Optimizers.adam(AdamConfig.adam(), N)) {
            assertRefused(IllegalArgumentException.class, "expected one of [exp_avg, exp_avg_sq]",
                    () -> opt.state("max_exp_avg_sq"));
            assertTrue(opt.state("exp_avg").isReadOnly(), "state views are read-only");
        }
    }

    @Test
    void stateNamesFollowPyTorch() {
        try (Optimizer a = Optimizers.adam(AdamConfig.adam().withAmsgrad(true), N);
             Optimizer s = Optimizers.sgd(SgdConfig.sgd(0.1), N);
             Optimizer sm = Optimizers.sgd(SgdConfig.sgd(0.1).withMomentum(0.9), N);
             Optimizer r = Optimizers.rmsProp(RmsPropConfig.rmsProp().withMomentum(0.9).withCentered(true), N)) {
            assertEquals(List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), a.stateNames());
            assertEquals(List.of(), s.stateNames());
            assertEquals(List.of("momentum_buffer"), sm.stateNames());
            assertEquals(List.of("square_avg", "momentum_buffer", "grad_avg"), r.stateNames());
        }
    }
}
