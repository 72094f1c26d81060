package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.quicktheories.generators.Generate;

/**
 * Update mode ({@link Optimizer#update}) against the step it stands for: the same state, the same
 * step count, the parameters left alone, and {@code p - update}, rounded to float as a framework
 * computes it, within the bounds the javadoc states of the step's {@code p'}. The step is the
 * reference: it is held to PyTorch's numbers by {@code TorchFixtureTest}.
 *
 * <p>The bounds. Write {@code r = fl(p - u)}.
 * <ul>
 *   <li>Parameters given: {@code u = fl(p - p')}, so {@code |u - (p - p')| <= ulp(p - p')/2}, and
 *       {@code p - u} lies that close to the float {@code p'}; {@code r}, the float nearest
 *       {@code p - u}, is no further from it than {@code p'} is, so {@code |r - p'| <= ulp(p - p')}.
 *       Where {@code p/2 <= p' <= 2p} (Sterbenz), {@code p - p'} is exact, so is {@code p - u}, and
 *       {@code r == p'}.
 *   <li>No parameters (read as 0), {@code p' = p + x} (Adam, AdamW, RMSProp without momentum, Adagrad,
 *       and Lion, whose {@code x = fma(sign, -lr, 0) = -lr * sign} is exact): the
 *       kernel computes {@code 0 * 1 + x = x} and {@code u = 0 - x = -x}, both exact, so
 *       {@code fl(p - u) = fl(p + x) = p'} bit for bit.
 *   <li>No parameters, {@code p' = fma(d, -lr, p)} (SGD, RMSProp with momentum): {@code u = fl(lr d)}
 *       (within {@code ulp(u)/2}) and {@code p'} within {@code ulp(p')/2} of {@code p - lr d}, so
 *       {@code p'} lies within {@code (ulp(u) + ulp(p'))/2} of {@code p - u}, and by the same nearest-float
 *       argument {@code |r - p'| <= ulp(u) + ulp(p')}.
 * </ul>
 */
class UpdateModePropertyTest {
    private static final int EXAMPLES = 250;

    /** How a case passes its buffers to update. */
    enum Mode { PARAMS, NO_PARAMS, INTO_GRADS }

    @Test
    void updateIsTheStepWithinTheStatedBounds() {
        qt().withExamples(EXAMPLES).forAll(Generate.range(1, 3000).mix(Generate.pick(List.of(1, 15, 17, 1021)), 30),
                Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE)).checkAssert((n, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            OptimizerConfig c = RandomConfigs.any(r);
            Mode mode = Mode.values()[r.nextInt(3)];
            if (mode == Mode.NO_PARAMS && c.weightDecay() != 0) {
                mode = Mode.PARAMS;
            }
            check(c, mode, n, r, null);
        });
    }

    /** The same on a team of two, large enough that both members step a share: bit-identical to one thread. */
    @Test
    void updateOnATeamIsTheUpdateOnOneThread() {
        try (Team team = Team.create(2)) {
            SplittableRandom r = new SplittableRandom(14);
            for (int kind = 0; kind < 6; kind++) {
                check(RandomConfigs.of(kind, r), Mode.INTO_GRADS, (int) (2 * Team.MIN_SHARE + 37), r, team);
                check(RandomConfigs.of(kind, r).withWeightDecay(0), Mode.NO_PARAMS, (int) (3 * Team.MIN_SHARE), r, team);
            }
        }
    }

    /**
     * Steps one optimizer and updates another from the same state at the same random step number;
     * with a team, the update also runs on it and must equal the one-thread update.
     */
    private static void check(OptimizerConfig c, Mode mode, int n, SplittableRandom r, Team team) {
        long t = 1 + r.nextInt(2000);
        long seed = r.nextLong();
        float[] p = RandomConfigs.params(r, n);
        float[] g = TestData.randomFloats(r, n, 1f, false);
        try (Arena arena = Arena.ofShared();
             Optimizer stepped = Optimizers.create(c, n);
             Optimizer updated = Optimizers.create(c, n);
             Optimizer onTeam = Optimizers.create(c, n)) {
            for (Optimizer o : List.of(stepped, updated, onTeam)) {
                SplittableRandom same = new SplittableRandom(seed);
                o.restore(t - 1, (name, buf) -> RandomConfigs.fill(same, name, buf));
            }
            MemorySegment ps = TestData.nativeCopy(arena, p), gs = TestData.nativeCopy(arena, g);
            stepped.step(ps, gs);
            float[] next = TestData.toArray(ps);

            float[] u = update(arena, updated, mode, p, g, null);
            String what = c + ", " + mode + ", n " + n + ", t " + t;
            assertEquals(t, updated.stepCount(), what);
            for (String name : stepped.stateNames()) {
                assertSameBits(what + ": " + name, TestData.toArray(stepped.state(name)), TestData.toArray(updated.state(name)));
            }
            if (team != null) {
                assertSameBits(what + ": on a team", u, update(arena, onTeam, mode, p, g, team));
            }
            boolean exactWithoutParams = c instanceof AdamConfig || c instanceof AdagradConfig || c instanceof LionConfig
                    || (c instanceof RmsPropConfig rms && rms.momentum() == 0);
            for (int i = 0; i < n; i++) {
                checkElement(what + ", element " + i, mode, exactWithoutParams, p[i], u[i], next[i]);
            }
        }
    }

    /** Runs {@code opt.update} in {@code mode} on copies of {@code p} and {@code g}; returns the update. */
    private static float[] update(Arena arena, Optimizer opt, Mode mode, float[] p, float[] g, Team team) {
        MemorySegment ps = TestData.nativeCopy(arena, p), gs = TestData.nativeCopy(arena, g);
        MemorySegment us = mode == Mode.INTO_GRADS ? gs : TestData.nativeCopy(arena, new float[p.length]);
        MemorySegment params = mode == Mode.NO_PARAMS ? null : ps.asReadOnly();
        if (team == null) {
            opt.update(params, gs, us, StepOptions.next());
        } else {
            opt.update(params, gs, us, StepOptions.next(), team);
        }
        assertSameBits("params left alone", p, TestData.toArray(ps));
        if (mode != Mode.INTO_GRADS) {
            assertSameBits("grads left alone", g, TestData.toArray(gs));
        }
        return TestData.toArray(us);
    }

    private static void checkElement(String what, Mode mode, boolean exactWithoutParams, float p, float u, float next) {
        float r = p - u;
        if (!Float.isFinite(p) || !Float.isFinite(next)) {
            if (Float.isNaN(next) && !Float.isNaN(r)) {
                throw new AssertionError(what + ": the step gave NaN, p - update gave " + r);
            }
            return;
        }
        if (Float.floatToIntBits(r) == Float.floatToIntBits(next)) {
            return;
        }
        boolean sterbenz = (p >= 0 && next >= p / 2 && next <= 2 * p) || (p <= 0 && next <= p / 2 && next >= 2 * p);
        double bound;
        if (mode == Mode.NO_PARAMS) {
            if (exactWithoutParams) {
                throw new AssertionError(what + ": expected p - update == p' bit for bit, got " + r + " vs " + next);
            }
            bound = Math.ulp(u) + Math.ulp(next);
        } else {
            if (sterbenz) {
                throw new AssertionError(what + ": p " + p + " and p' " + next + " within a factor 2: expected"
                        + " p - update == p' bit for bit, got " + r);
            }
            bound = Math.ulp((float) ((double) p - next));
        }
        double err = Math.abs((double) r - next);
        if (err > bound) {
            throw new AssertionError(what + ": |(p - update) - p'| = " + err + " > " + bound + " (p " + p + ", update "
                    + u + ", p' " + next + ", " + mode + ")");
        }
    }
}
