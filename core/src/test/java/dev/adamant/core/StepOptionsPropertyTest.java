package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.quicktheories.generators.Generate;

/**
 * What a framework's loop passes per step ({@link StepOptions}, {@link Optimizer#setLr}) against
 * what it stands for, computed another way: a step numbered {@code t} against the {@code t}-th
 * counted step; a gradient scale against gradients the test multiplied itself; a learning rate set
 * between steps against an optimizer made with it; a multi-tensor step or update against each tensor
 * stepped alone. Bit for bit: the operations are the same ones in the same order.
 */
class StepOptionsPropertyTest {
    private static final int EXAMPLES = 150;

    private static org.quicktheories.core.Gen<Long> seeds() {
        return Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE);
    }

    /** Makes {@code c}'s optimizer over {@code n} parameters with random state (the same for a seed) at count {@code count}. */
    private static Optimizer restored(OptimizerConfig c, int n, long seed, long count) {
        Optimizer o = Optimizers.create(c, n);
        SplittableRandom r = new SplittableRandom(seed);
        o.restore(count, (name, buf) -> RandomConfigs.fill(r, name, buf));
        return o;
    }

    private static void assertSameState(String what, Optimizer expected, Optimizer actual) {
        assertEquals(expected.stepCount(), actual.stepCount(), what + ": step count");
        for (String name : expected.stateNames()) {
            assertSameBits(what + ": " + name, TestData.toArray(expected.state(name)), TestData.toArray(actual.state(name)));
        }
    }

    @Test
    void aNumberedStepIsTheCountedStepOfThatNumber() {
        qt().withExamples(EXAMPLES).forAll(Generate.range(1, 2000), seeds()).checkAssert((n, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            OptimizerConfig c = RandomConfigs.any(r);
            long t = r.nextInt(3) == 0 ? 1 : 1 + r.nextInt(100_000);
            long stateSeed = r.nextLong();
            float[] p = RandomConfigs.params(r, n), g = TestData.randomFloats(r, n, 1f, true);
            try (Arena arena = Arena.ofConfined();
                 Optimizer counted = restored(c, n, stateSeed, t - 1);
                 Optimizer numbered = restored(c, n, stateSeed, r.nextInt(5))) {
                MemorySegment p1 = TestData.nativeCopy(arena, p), p2 = TestData.nativeCopy(arena, p);
                counted.step(p1, TestData.nativeCopy(arena, g));
                numbered.step(p2, TestData.nativeCopy(arena, g), StepOptions.number(t));
                String what = c + ", t " + t;
                assertSameBits(what, TestData.toArray(p1), TestData.toArray(p2));
                assertSameState(what, counted, numbered);
                assertEquals(t, numbered.stepCount());
            }
        });
    }

    @Test
    void aGradientScaleIsGradientsMultipliedFirst() {
        qt().withExamples(EXAMPLES).forAll(Generate.range(1, 2000), seeds()).checkAssert((n, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            OptimizerConfig c = RandomConfigs.any(r);
            double scale = r.nextBoolean() ? 1.0 / (1 + r.nextInt(512)) : Math.pow(2, 8 * r.nextDouble() - 4);
            long t = 1 + r.nextInt(1000), stateSeed = r.nextLong();
            float[] p = RandomConfigs.params(r, n), g = TestData.randomFloats(r, n, 1f, true);
            float[] scaled = new float[n];
            for (int i = 0; i < n; i++) {
                scaled[i] = g[i] * (float) scale;   // what the option promises, in float
            }
            try (Arena arena = Arena.ofConfined();
                 Optimizer prescaled = restored(c, n, stateSeed, t - 1);
                 Optimizer inPass = restored(c, n, stateSeed, t - 1)) {
                MemorySegment p1 = TestData.nativeCopy(arena, p), p2 = TestData.nativeCopy(arena, p);
                prescaled.step(p1, TestData.nativeCopy(arena, scaled));
                inPass.step(p2, TestData.nativeCopy(arena, g), StepOptions.next().withGradScale(scale));
                String what = c + ", scale " + scale;
                assertSameBits(what, TestData.toArray(p1), TestData.toArray(p2));
                assertSameState(what, prescaled, inPass);
            }
        });
    }

    /** The claim in StepOptions' javadoc about multiplying by 1/b instead of dividing by b. */
    @Test
    void multiplyingByTheReciprocalIsWithinAnUlpOfDividing() {
        SplittableRandom r = new SplittableRandom(7);
        for (int b = 1; b <= 4096; b++) {
            float inv = (float) (1.0 / b);
            for (int k = 0; k < 200; k++) {
                float g = TestData.randomFloats(r, 1, 10f, false)[0];
                float divided = g / b, multiplied = g * inv;
                if (Integer.bitCount(b) == 1) {
                    assertEquals(Float.floatToIntBits(divided), Float.floatToIntBits(multiplied), "b " + b + ", g " + g);
                } else {
                    assertTrue(Math.abs(divided - multiplied) <= Math.ulp(divided), "b " + b + ", g " + g);
                }
            }
        }
    }

    @Test
    void aLearningRateSetBetweenStepsIsAnOptimizerMadeWithIt() {
        qt().withExamples(EXAMPLES).forAll(Generate.range(1, 2000), seeds()).checkAssert((n, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            OptimizerConfig c = RandomConfigs.any(r);
            double lr = r.nextDouble() * 0.02;
            long t = 1 + r.nextInt(1000), stateSeed = r.nextLong();
            float[] p = RandomConfigs.params(r, n), g = TestData.randomFloats(r, n, 1f, false);
            try (Arena arena = Arena.ofConfined();
                 Optimizer set = restored(c, n, stateSeed, t - 1);
                 Optimizer made = restored(c.withLr(lr), n, stateSeed, t - 1)) {
                set.setLr(lr);
                assertEquals(c.withLr(lr), set.config());
                MemorySegment p1 = TestData.nativeCopy(arena, p), p2 = TestData.nativeCopy(arena, p);
                set.step(p1, TestData.nativeCopy(arena, g));
                made.step(p2, TestData.nativeCopy(arena, g));
                assertSameBits(c + ", lr " + lr, TestData.toArray(p2), TestData.toArray(p1));
                assertSameState(c + ", lr " + lr, made, set);
            }
        });
    }

    /**
     * A multi-tensor step and update with options against each tensor stepped alone with its group's
     * config and the same options: parameters, updates and state bit for bit.
     */
    @Test
    void multiTensorWithOptionsIsEachTensorAlone() {
        qt().withExamples(60).forAll(Generate.range(1, 4), seeds()).checkAssert((groupCount, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            int kind = r.nextInt(6);
            List<ParamGroup> groups = new ArrayList<>();
            List<OptimizerConfig> configOf = new ArrayList<>();
            List<Integer> sizes = new ArrayList<>();
            OptimizerConfig first = RandomConfigs.of(kind, r);
            for (int k = 0; k < groupCount; k++) {
                // Same kind and buffers as the first group, other hyper-parameters.
                OptimizerConfig c = k == 0 ? first : sameBuffers(first, RandomConfigs.of(kind, r));
                int tensors = 1 + r.nextInt(3);
                long[] s = new long[tensors];
                for (int i = 0; i < tensors; i++) {
                    s[i] = 1 + r.nextInt(r.nextBoolean() ? 40 : 3000);
                    sizes.add((int) s[i]);
                    configOf.add(c);
                }
                groups.add(ParamGroup.of(c, s));
            }
            boolean update = r.nextBoolean();
            StepOptions o = StepOptions.number(1 + r.nextInt(500)).withGradScale(0.25 + r.nextDouble());
            long stateSeed = r.nextLong();
            try (Arena arena = Arena.ofConfined(); MultiTensorOptimizer multi = Optimizers.multiTensor(groups)) {
                SplittableRandom fill = new SplittableRandom(stateSeed);
                multi.restore(3, (tensor, name, buf) -> RandomConfigs.fill(fill, name, buf));
                List<MemorySegment> ps = new ArrayList<>(), gs = new ArrayList<>(), us = new ArrayList<>();
                List<float[]> p = new ArrayList<>(), g = new ArrayList<>();
                for (int size : sizes) {
                    p.add(RandomConfigs.params(r, size));
                    g.add(TestData.randomFloats(r, size, 1f, false));
                    ps.add(TestData.nativeCopy(arena, p.getLast()));
                    gs.add(TestData.nativeCopy(arena, g.getLast()));
                    us.add(TestData.nativeCopy(arena, new float[size]));
                }
                if (update) {
                    multi.update(ps, gs, us, o);
                } else {
                    multi.step(ps, gs, o);
                }
                assertEquals(o.number(), multi.stepCount());
                SplittableRandom aloneFill = new SplittableRandom(stateSeed);
                for (int i = 0; i < sizes.size(); i++) {
                    // Each tensor's state as the multi-tensor restore filled it: same order of draws.
                    List<float[]> state = new ArrayList<>();
                    for (String name : configOf.get(i).stateNames()) {
                        float[] s = new float[sizes.get(i)];
                        MemorySegment seg = MemorySegment.ofArray(s);
                        RandomConfigs.fill(aloneFill, name, seg);
                        state.add(s);
                    }
                    try (Optimizer alone = Optimizers.create(configOf.get(i), sizes.get(i))) {
                        List<String> names = alone.stateNames();
                        int size = sizes.get(i);
                        alone.restore(3, (name, buf) -> MemorySegment.copy(state.get(names.indexOf(name)), 0, buf,
                                TestData.F, 0, size));
                        MemorySegment pa = TestData.nativeCopy(arena, p.get(i)), ga = TestData.nativeCopy(arena, g.get(i));
                        MemorySegment ua = TestData.nativeCopy(arena, new float[sizes.get(i)]);
                        String what = configOf.get(i) + ", tensor " + i + (update ? ", update" : ", step");
                        if (update) {
                            alone.update(pa, ga, ua, o);
                            assertSameBits(what, TestData.toArray(ua), TestData.toArray(us.get(i)));
                            assertSameBits(what + ": params left alone", p.get(i), TestData.toArray(ps.get(i)));
                        } else {
                            alone.step(pa, ga, o);
                            assertSameBits(what, TestData.toArray(pa), TestData.toArray(ps.get(i)));
                        }
                        for (String name : names) {
                            assertSameBits(what + ": " + name, TestData.toArray(alone.state(name)),
                                    TestData.toArray(multi.state(i, name)));
                        }
                    }
                }
            }
        });
    }

    /** {@code other} with {@code first}'s state-deciding switches, so that both keep the same buffers. */
    private static OptimizerConfig sameBuffers(OptimizerConfig first, OptimizerConfig other) {
        return switch (first) {
            case AdamConfig a -> ((AdamConfig) other).withAmsgrad(a.amsgrad());
            case SgdConfig s -> {
                SgdConfig o = (SgdConfig) other;
                yield s.momentum() == 0 ? o.withMomentum(0).withNesterov(false).withDampening(0)
                        : o.momentum() == 0 ? o.withMomentum(s.momentum()) : o;
            }
            case RmsPropConfig m -> ((RmsPropConfig) other).withCentered(m.centered())
                    .withMomentum(m.momentum() == 0 ? 0 : Math.max(((RmsPropConfig) other).momentum(), 0.1));
            case AdagradConfig a -> other;   // always sum
            case LionConfig l -> other;      // always exp_avg
            case AdafactorConfig a -> throw new AssertionError("not drawn: " + a);   // made per tensor
        };
    }
}
