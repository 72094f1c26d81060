package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.generators.Generate;

/**
 * A multi-tensor step is, bit for bit, each tensor stepped alone by an {@link Optimizer} made with
 * its group's config: parameters and every state buffer, for random tensor lists (0 to 300 tensors,
 * sizes 1 to 5000 and a few of 100,000 and more, native and heap, at random float offsets), random
 * groups of one random kind, config changes between steps, the calling thread and every team size
 * from 1 to 8. A config change is followed on the reference side by a new optimizer with the new
 * config, restored from the old one: an independent path to the same state.
 */
class MultiTensorPropertyTest {
    private static final int STEPS = 3;
    private static final int MAX_TEAM = 8;
    private static final List<Team> TEAMS = new ArrayList<>();

    @BeforeAll
    static void startTeams() {
        for (int t = 1; t <= MAX_TEAM; t++) {
            TEAMS.add(Team.create(t));
        }
    }

    @AfterAll
    static void closeTeams() {
        TEAMS.forEach(Team::close);
    }

    /** One change before a step: group {@code group} gets {@code config} (by setLr where only lr changed). */
    private record Change(int group, OptimizerConfig config, boolean lrOnly) {}

    /** A random case: groups, where each tensor lives, the starting parameters and each step's gradients. */
    private record Case(List<ParamGroup> groups, long[] sizes, float[][] p0, float[][][] grads,
                        List<List<Change>> changes, boolean[] onHeap, int[] paramGap, int[] gradGap) {
        int tensors() {
            return sizes.length;
        }
    }

    @Test
    void multiTensorStepsEqualEachTensorSteppedAlone() {
        qt().withExamples(8).forAll(Generate.longRange(0, Long.MAX_VALUE)).checkAssert(seed -> {
            Case c = randomCase(new SplittableRandom(seed));
            String what = "seed " + seed + ", " + c.tensors() + " tensors in " + c.groups().size() + " groups";
            if (c.tensors() == 0) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Optimizers.multiTensor(c.groups()), what);
                assertTrue(e.getMessage().startsWith("groups: "), e.getMessage());
                return;
            }
            Reference expected = reference(c);
            try {
                for (int team = 0; team <= MAX_TEAM; team++) {   // 0: step(params, grads) on the calling thread
                    runAndCompare(c, team == 0 ? null : TEAMS.get(team - 1), expected,
                            what + ", " + (team == 0 ? "calling thread" : "team of " + team));
                }
            } finally {
                expected.close();
            }
        });
    }

    // ---- the random case ----

    private static Case randomCase(SplittableRandom r) {
        int kind = r.nextInt(5);
        int groupCount = 1 + r.nextInt(4);
        int tensors = r.nextInt(20) == 0 ? 0 : r.nextInt(4) == 0 ? 1 + r.nextInt(300) : 1 + r.nextInt(60);
        int[] perGroup = new int[groupCount];
        for (int i = 0; i < tensors; i++) {
            perGroup[r.nextInt(groupCount)]++;
        }
        List<ParamGroup> groups = new ArrayList<>();
        long[] sizes = new long[tensors];
        int i = 0;
        for (int g = 0; g < groupCount; g++) {
            long[] groupSizes = new long[perGroup[g]];
            for (int k = 0; k < groupSizes.length; k++, i++) {
                int roll = r.nextInt(100);
                sizes[i] = groupSizes[k] = roll == 0 ? 100_000 + r.nextInt(60_000) : roll < 20 ? 1 + r.nextInt(40)
                        : 1 + r.nextInt(5000);
            }
            groups.add(ParamGroup.of(randomConfig(r, kind, null), groupSizes));
        }
        float[][] p0 = new float[tensors][];
        float[][][] grads = new float[STEPS][tensors][];
        boolean[] onHeap = new boolean[tensors];
        int[] paramGap = new int[tensors], gradGap = new int[tensors];
        for (int t = 0; t < tensors; t++) {
            p0[t] = TestData.randomFloats(r, (int) sizes[t], 1f, true);
            for (int s = 0; s < STEPS; s++) {
                grads[s][t] = TestData.randomFloats(r, (int) sizes[t], 1f, true);
            }
            onHeap[t] = r.nextInt(8) == 0;
            paramGap[t] = r.nextInt(40);
            gradGap[t] = r.nextInt(40);
        }
        List<List<Change>> changes = new ArrayList<>();
        for (int s = 0; s < STEPS; s++) {
            List<Change> before = new ArrayList<>();
            if (s > 0) {
                for (int k = r.nextInt(3); k > 0; k--) {
                    int g = r.nextInt(groupCount);
                    OptimizerConfig old = latest(groups, changes, before, g);
                    before.add(r.nextBoolean() ? new Change(g, old.withLr(randomLr(r)), true)
                            : new Change(g, randomConfig(r, kind, old), false));
                }
            }
            changes.add(before);
        }
        return new Case(groups, sizes, p0, grads, changes, onHeap, paramGap, gradGap);
    }

    /** Group {@code g}'s config after the changes so far. */
    private static OptimizerConfig latest(List<ParamGroup> groups, List<List<Change>> changes, List<Change> now, int g) {
        OptimizerConfig c = groups.get(g).config();
        for (List<Change> step : changes) {
            for (Change ch : step) {
                c = ch.group() == g ? ch.config() : c;
            }
        }
        for (Change ch : now) {
            c = ch.group() == g ? ch.config() : c;
        }
        return c;
    }

    private static double randomLr(SplittableRandom r) {
        return r.nextInt(10) == 0 ? 0 : Math.pow(10, -4 + 3 * r.nextDouble());
    }

    /**
     * A random config of {@code kind} (0 Adam, 1 SGD, 2 RMSProp, 3 Adagrad, 4 Lion); with {@code like}, one that keeps its
     * state buffers (amsgrad, momentum zero or not, centered as {@code like}'s), as a change must.
     */
    private static OptimizerConfig randomConfig(SplittableRandom r, int kind, OptimizerConfig like) {
        double wd = r.nextBoolean() ? 0 : 0.2 * r.nextDouble();
        return switch (kind) {
            case 0 -> {
                boolean amsgrad = like instanceof AdamConfig a ? a.amsgrad() : r.nextBoolean();
                yield (r.nextBoolean() ? AdamConfig.adamW() : AdamConfig.adam()).withLr(randomLr(r))
                        .withBetas(0.99 * r.nextDouble(), 0.9 + 0.0999 * r.nextDouble())
                        .withEps(Math.pow(10, -8 + 5 * r.nextDouble())).withWeightDecay(wd).withAmsgrad(amsgrad)
                        .withMaximize(r.nextInt(4) == 0).withBiasCorrection(r.nextInt(4) != 0);
            }
            case 1 -> {
                boolean momentum = like instanceof SgdConfig s ? s.momentum() != 0 : r.nextBoolean();
                SgdConfig c = SgdConfig.sgd(randomLr(r)).withWeightDecay(wd).withMaximize(r.nextInt(4) == 0);
                if (!momentum) {
                    yield c;
                }
                c = c.withMomentum(0.01 + 0.98 * r.nextDouble());
                yield switch (r.nextInt(4)) {
                    case 0 -> c.withNesterov(true);
                    case 1 -> c.withDampening(r.nextDouble());
                    case 2 -> c.withBiasCorrection(true).withDampening(r.nextBoolean() ? 0 : c.momentum());
                    default -> c;
                };
            }
            case 3 -> AdagradConfig.adagrad().withLr(randomLr(r)).withLrDecay(r.nextBoolean() ? 0 : 0.01 * r.nextDouble())
                    .withEps(Math.pow(10, -10 + 5 * r.nextDouble())).withWeightDecay(wd)
                    .withInitialAccumulatorValue(r.nextBoolean() ? 0 : r.nextDouble()).withMaximize(r.nextInt(4) == 0);
            case 4 -> LionConfig.lion().withLr(randomLr(r)).withBetas(0.99 * r.nextDouble(), 0.9 + 0.0999 * r.nextDouble())
                    .withWeightDecay(wd);
            default -> {
                boolean momentum = like instanceof RmsPropConfig p ? p.momentum() > 0 : r.nextBoolean();
                boolean centered = like instanceof RmsPropConfig p ? p.centered() : r.nextBoolean();
                yield RmsPropConfig.rmsProp().withLr(randomLr(r)).withAlpha(0.999 * r.nextDouble())
                        .withEps(Math.pow(10, -8 + 5 * r.nextDouble())).withWeightDecay(wd)
                        .withMomentum(momentum ? 0.01 + 0.9 * r.nextDouble() : 0).withCentered(centered)
                        .withMaximize(r.nextInt(4) == 0).withBiasCorrection(r.nextInt(4) == 0);
            }
        };
    }

    // ---- the reference: each tensor alone ----

    /** Each tensor's own optimizer and parameters after every step. */
    private record Reference(Optimizer[] opts, float[][] params) implements AutoCloseable {
        @Override
        public void close() {
            for (Optimizer o : opts) {
                o.close();
            }
        }
    }

    private static Optimizer alone(OptimizerConfig config, long n) {
        return switch (config) {
            case AdamConfig a -> Optimizers.adam(a, n);
            case SgdConfig s -> Optimizers.sgd(s, n);
            case RmsPropConfig r -> Optimizers.rmsProp(r, n);
            case AdagradConfig a -> Optimizers.adagrad(a, n);
            case LionConfig l -> Optimizers.lion(l, n);
            case AdafactorConfig a -> throw new AssertionError("not drawn: " + a);   // not multi-tensor
        };
    }

    private static Reference reference(Case c) {
        int n = c.tensors();
        Optimizer[] opts = new Optimizer[n];
        float[][] params = new float[n][];
        int[] groupOf = new int[n];
        int i = 0;
        for (int g = 0; g < c.groups().size(); g++) {
            for (int k = 0; k < c.groups().get(g).tensors(); k++, i++) {
                opts[i] = alone(c.groups().get(g).config(), c.sizes()[i]);
                groupOf[i] = g;
            }
        }
        for (int t = 0; t < n; t++) {
            params[t] = c.p0()[t].clone();
        }
        for (int s = 0; s < STEPS; s++) {
            for (Change ch : c.changes().get(s)) {
                for (int t = 0; t < n; t++) {
                    if (groupOf[t] == ch.group()) {
                        Optimizer old = opts[t];
                        opts[t] = alone(ch.config(), c.sizes()[t]);
                        opts[t].restore(old.stepCount(), (name, buffer) -> MemorySegment.copy(old.state(name), 0,
                                buffer, 0, buffer.byteSize()));
                        old.close();
                    }
                }
            }
            for (int t = 0; t < n; t++) {
                opts[t].step(MemorySegment.ofArray(params[t]), MemorySegment.ofArray(c.grads()[s][t]));
            }
        }
        return new Reference(opts, params);
    }

    // ---- the multi-tensor run ----

    private static void runAndCompare(Case c, Team team, Reference expected, String what) {
        int n = c.tensors();
        long floats = 0;
        for (int t = 0; t < n; t++) {
            floats += 2 * c.sizes()[t] + c.paramGap()[t] + c.gradGap()[t];
        }
        try (Arena arena = Arena.ofShared(); MultiTensorOptimizer opt = Optimizers.multiTensor(c.groups())) {
            MemorySegment all = arena.allocate(floats * Float.BYTES, 64);
            List<MemorySegment> params = new ArrayList<>(), grads = new ArrayList<>();
            long at = 0;
            for (int t = 0; t < n; t++) {   // tensors back to back with gaps: misaligned by whole floats
                long size = c.sizes()[t];
                at += c.paramGap()[t];
                params.add(c.onHeap()[t] ? MemorySegment.ofArray(new float[(int) size + c.paramGap()[t]])
                        .asSlice((long) c.paramGap()[t] * Float.BYTES)
                        : all.asSlice(at * Float.BYTES, size * Float.BYTES));
                at += size + c.gradGap()[t];
                grads.add(all.asSlice(at * Float.BYTES, size * Float.BYTES));
                at += size;
                MemorySegment.copy(c.p0()[t], 0, params.get(t), TestData.F, 0, (int) size);
            }
            for (int s = 0; s < STEPS; s++) {
                for (Change ch : c.changes().get(s)) {
                    if (ch.lrOnly()) {
                        opt.setLr(ch.group(), ch.config().lr());
                    } else {
                        opt.setConfig(ch.group(), ch.config());
                    }
                    assertEquals(ch.config(), opt.config(ch.group()), what);
                }
                for (int t = 0; t < n; t++) {
                    MemorySegment.copy(c.grads()[s][t], 0, grads.get(t), TestData.F, 0, (int) c.sizes()[t]);
                }
                if (team == null) {
                    opt.step(params, grads);
                } else {
                    opt.step(params, grads, team);
                }
            }
            assertEquals(STEPS, opt.stepCount(), what);
            for (int t = 0; t < n; t++) {
                Optimizer alone = expected.opts()[t];
                assertSameBits(what + ", params[" + t + "]", expected.params()[t], TestData.toArray(params.get(t)));
                assertEquals(alone.stateNames(), opt.stateNames(opt.group(t)), what);
                for (String name : alone.stateNames()) {
                    assertSameBits(what + ", tensor " + t + " " + name, TestData.toArray(alone.state(name)),
                            TestData.toArray(opt.state(t, name)));
                }
                assertEquals(0, opt.stateOffset(t) % 16, what);
            }
        }
    }
}
