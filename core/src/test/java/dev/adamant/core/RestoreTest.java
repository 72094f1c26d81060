package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Random;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/**
 * {@link Optimizer#restore}: an optimizer given another's state and step count continues exactly as
 * the other does; bad input changes nothing; a fill that fails closes the optimizer.
 */
class RestoreTest {
    private static final int N = 1000;

    private static MemorySegment floats(Arena arena, long seed) {
        Random r = new Random(seed);
        MemorySegment s = arena.allocate((long) N * Float.BYTES, 64);
        for (int i = 0; i < N; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
        }
        return s;
    }

    private static void continuesAsTheOriginal(LongFunction<Optimizer> make) {
        try (Arena arena = Arena.ofConfined(); Optimizer original = make.apply(N); Optimizer copy = make.apply(N)) {
            MemorySegment p = floats(arena, 1), q = arena.allocate((long) N * Float.BYTES, 64);
            for (int t = 0; t < 7; t++) {
                original.step(p, floats(arena, 100 + t));
            }
            MemorySegment.copy(p, 0, q, 0, p.byteSize());
            copy.restore(original.stepCount(), (name, buffer) -> MemorySegment.copy(original.state(name), 0, buffer, 0,
                    buffer.byteSize()));
            assertEquals(7, copy.stepCount());
            for (int t = 7; t < 10; t++) {
                MemorySegment g = floats(arena, 100 + t);
                original.step(p, g);
                copy.step(q, g);
            }
            assertArrayEquals(p.toArray(ValueLayout.JAVA_FLOAT), q.toArray(ValueLayout.JAVA_FLOAT));
            for (String name : original.stateNames()) {
                assertArrayEquals(original.state(name).toArray(ValueLayout.JAVA_FLOAT),
                        copy.state(name).toArray(ValueLayout.JAVA_FLOAT), name);
            }
        }
    }

    @Test
    void everyOptimizerContinuesBitForBitFromARestoredState() {
        continuesAsTheOriginal(n -> Optimizers.adam(AdamConfig.adamW().withAmsgrad(true), n));
        continuesAsTheOriginal(n -> Optimizers.adam(AdamConfig.adam(), n));
        continuesAsTheOriginal(n -> Optimizers.sgd(SgdConfig.sgd(0.01).withMomentum(0.9).withNesterov(true), n));
        continuesAsTheOriginal(n -> Optimizers.rmsProp(RmsPropConfig.rmsProp().withCentered(true).withMomentum(0.5), n));
    }

    @Test
    void theFillSeesEveryStateBufferByName() {
        try (Optimizer o = Optimizers.adam(AdamConfig.adam().withAmsgrad(true), N)) {
            List<String> seen = new java.util.ArrayList<>();
            o.restore(3, (name, buffer) -> {
                seen.add(name);
                assertEquals((long) N * Float.BYTES, buffer.byteSize());
                assertTrue(!buffer.isReadOnly());
            });
            assertEquals(List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), seen);
            assertEquals(o.stateNames(), seen);
        }
    }

    @Test
    void aNegativeStepCountChangesNothing() {
        try (Optimizer o = Optimizers.adam(AdamConfig.adam(), N)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> o.restore(-1, (n, b) -> b.fill((byte) 1)));
            assertEquals("stepCount: expected >= 0, got -1", e.getMessage());
            assertEquals(0, o.stepCount());
            assertEquals(0f, o.state("exp_avg").getAtIndex(ValueLayout.JAVA_FLOAT, 0));
        }
    }

    @Test
    void aFillThatFailsClosesTheOptimizer() {
        Optimizer o = Optimizers.adam(AdamConfig.adam(), N);
        RuntimeException boom = new IllegalStateException("disk on fire");
        assertEquals(boom, assertThrows(IllegalStateException.class, () -> o.restore(5, (n, b) -> {
            throw boom;
        })));
        try (Arena arena = Arena.ofConfined()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> o.step(floats(arena, 1), floats(arena, 2)));
            assertEquals("optimizer is closed", e.getMessage());
        }
    }
}
