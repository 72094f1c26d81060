package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Adafactor's framework API against its plain step: update mode gives the step's difference,
 * {@code restore} resumes a run bit for bit, {@code setLr} and {@code setConfig} act from the next
 * step on as a config made with the new values, and a numbered step is that step.
 */
class AdafactorApiTest {
    private static final List<long[]> SHAPES = List.of(new long[] {13, 29}, new long[] {1, 100}, new long[] {0, 257});

    private static Optimizer make(AdafactorConfig c, long[] shape) {
        return shape[0] == 0 ? Optimizers.adafactor(c, shape[1]) : Optimizers.adafactor(c, shape[0], shape[1]);
    }

    private static long n(long[] shape) {
        return shape[0] == 0 ? shape[1] : shape[0] * shape[1];
    }

    private static MemorySegment random(Arena arena, SplittableRandom r, long n, double scale) {
        MemorySegment s = arena.allocate(n * 4, 64);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextGaussian() * scale));
        }
        return s;
    }

    /**
     * {@code p - update}, rounded as a framework computes it, is the step's {@code p'}: bit for bit
     * where {@code p'} is within a factor of 2 of {@code p}, else within {@code max(ulp(update),
     * ulp(p'))} (as {@link Optimizer#update} says); the state moves as the step's, bit for bit.
     */
    @Test
    void updateModeGivesTheStepsDifference() {
        for (long[] shape : SHAPES) {
            for (int seed = 0; seed < 20; seed++) {
                SplittableRandom r = new SplittableRandom(seed);
                AdafactorConfig c = AdafactorPropertyTest.randomConfig(r);
                long n = n(shape);
                try (Arena arena = Arena.ofConfined(); Optimizer stepper = make(c, shape); Optimizer updater = make(c, shape)) {
                    MemorySegment p = random(arena, r, n, 0.5), q = arena.allocate(n * 4, 64);
                    MemorySegment.copy(p, 0, q, 0, n * 4);
                    MemorySegment update = arena.allocate(n * 4, 64);
                    for (int t = 0; t < 3; t++) {
                        MemorySegment g = random(arena, r, n, 1e-2);
                        float[] before = Fixtures.toArray(q);
                        updater.update(q, g, update, StepOptions.next());
                        assertSameBits("update mode leaves the parameters", before, Fixtures.toArray(q));
                        stepper.step(p, g);
                        for (long i = 0; i < n; i++) {   // apply the update as a framework does
                            float want = p.getAtIndex(ValueLayout.JAVA_FLOAT, i), p0 = q.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                            float u = update.getAtIndex(ValueLayout.JAVA_FLOAT, i), got = p0 - u;
                            // Sterbenz: exact where p' is within a factor of 2 of p; else two roundings
                            boolean sterbenz = want / p0 >= 0.5f && want / p0 <= 2f;
                            double bound = sterbenz ? 0 : Math.max(Math.ulp(u), Math.ulp(want));
                            assertTrue(Math.abs((double) got - want) <= bound, "shape " + shape[0] + "x" + shape[1]
                                    + ", seed " + seed + ", step " + (t + 1) + ", index " + i + ": p - update " + got
                                    + ", step " + want + " (bound " + bound + ")");
                            q.setAtIndex(ValueLayout.JAVA_FLOAT, i, want);   // continue from the step's parameters
                        }
                        for (String name : stepper.stateNames()) {
                            assertSameBits("state " + name, Fixtures.toArray(stepper.state(name)),
                                    Fixtures.toArray(updater.state(name)));
                        }
                    }
                }
            }
        }
    }

    /**
     * Six steps in one run against three, a restore of the state and count into a new optimizer, and
     * three more; the learning rate changed before step 5 in both, once by {@code setLr} and once by
     * {@code setConfig}; and step 4 of the second run given its number explicitly.
     */
    @Test
    void restoreAndReconfigureResumeBitForBit() {
        for (long[] shape : SHAPES) {
            SplittableRandom r = new SplittableRandom(shape[1]);
            AdafactorConfig c = AdafactorPropertyTest.randomConfig(r).withLr(0.02);
            long n = n(shape);
            try (Arena arena = Arena.ofConfined(); Optimizer whole = make(c, shape); Optimizer first = make(c, shape);
                 Optimizer second = make(c, shape)) {
                MemorySegment p = random(arena, r, n, 0.3), q = arena.allocate(n * 4, 64);
                MemorySegment.copy(p, 0, q, 0, n * 4);
                MemorySegment[] grads = new MemorySegment[6];
                for (int t = 0; t < 6; t++) {
                    grads[t] = random(arena, r, n, 1e-3);
                }
                for (int t = 0; t < 6; t++) {
                    if (t == 4) {
                        whole.setLr(0.005);
                    }
                    whole.step(p, grads[t]);
                }
                for (int t = 0; t < 3; t++) {
                    first.step(q, grads[t]);
                }
                Map<String, float[]> saved = new HashMap<>();
                for (String name : first.stateNames()) {
                    saved.put(name, Fixtures.toArray(first.state(name)));
                }
                second.restore(first.stepCount(), (name, s) -> MemorySegment.copy(saved.get(name), 0, s,
                        ValueLayout.JAVA_FLOAT, 0, saved.get(name).length));
                assertEquals(3, second.stepCount());
                second.step(q, grads[3], StepOptions.number(4));
                second.setConfig(c.withLr(0.005));
                second.step(q, grads[4]);
                second.step(q, grads[5]);
                assertEquals(6, second.stepCount());
                assertEquals(c.withLr(0.005), second.config());
                assertSameBits("params", Fixtures.toArray(p), Fixtures.toArray(q));
                for (String name : whole.stateNames()) {
                    assertSameBits("state " + name, Fixtures.toArray(whole.state(name)),
                            Fixtures.toArray(second.state(name)));
                }
            }
        }
    }
}
