package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.quicktheories.QuickTheory.qt;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * Adafactor's Panama kernel against its scalar twin, and a {@link Team}-split step against the
 * serial one, bit for bit, through the public API: random hyper-parameters (eps1 None or given,
 * maximize, weight decay or none, lerp weights either side of 0.5), step numbers and gradient
 * scales; shapes 1 x n, n x 1, odd and prime sizes around the 8-lane order's groups, and vectors;
 * parameters and gradients at random float offsets inside larger segments; steps and updates
 * (into a buffer of its own and into the gradients). The floats around each slice must stay as
 * they were, and an update must leave the parameters alone.
 */
class AdafactorPropertyTest {
    private static final int EXAMPLES = 200;
    /** Row and column counts around the 8-lane groups and the vector widths (4, 8, 16). */
    private static final List<Integer> AWKWARD = List.of(1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 127);

    /** One drawn case: {@code rows} 0 is a vector of {@code cols}. */
    record Case(int rows, int cols, long seed) {
        long n() {
            return rows == 0 ? cols : (long) rows * cols;
        }

        @Override
        public String toString() {
            return (rows == 0 ? "vector " + cols : rows + "x" + cols) + ", seed " + seed;
        }
    }

    private static Gen<Integer> dims() {
        return Generate.range(1, 90).mix(Generate.pick(AWKWARD), 50);
    }

    private static Gen<Case> cases() {
        Gen<Integer> rows = Generate.range(0, 70).mix(Generate.pick(AWKWARD), 40).mix(Generate.constant(0), 20);
        return rows.zip(dims().mix(Generate.range(90, 3000), 15), Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE),
                (r, c, s) -> new Case(r, r == 0 ? c * 3 + 1 : c, s));
    }

    static AdafactorConfig randomConfig(SplittableRandom r) {
        AdafactorConfig c = AdafactorConfig.adafactor().withLr(r.nextDouble() * 0.05)
                .withBeta2Decay(-r.nextDouble() * 1.5).withEps2(r.nextBoolean() ? 1e-3 : r.nextDouble() * 1e-2)
                .withD(1 + r.nextDouble() * 2 * r.nextInt(2)).withMaximize(r.nextBoolean());
        if (r.nextInt(3) == 0) {
            c = c.withEps1(Math.pow(10, -r.nextInt(12) - 1));
        }
        return r.nextBoolean() ? c.withWeightDecay(r.nextDouble() * 0.1) : c;
    }

    /** Gradients of a random scale (some tiny, so eps1 bites), a few exact zeros. */
    static float[] randomFloats(SplittableRandom r, long n, double scale) {
        float[] a = new float[(int) n];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextInt(50) == 0 ? 0f : (float) (r.nextGaussian() * scale);
        }
        return a;
    }

    /** What one run leaves: the parameters (or updates) after each step and the final state. */
    private static List<float[]> run(Case c, Implementation impl, Team team, boolean updateMode, boolean intoGrads) {
        SplittableRandom r = new SplittableRandom(c.seed());
        AdafactorConfig config = randomConfig(r);
        long n = c.n();
        int offset = r.nextInt(20), extra = 7;
        float[] p0 = randomFloats(r, n, Math.pow(10, r.nextInt(5) - 3));
        List<float[]> grads = new ArrayList<>();
        List<StepOptions> options = new ArrayList<>();
        long t = r.nextBoolean() ? 0 : 1 + r.nextInt(1000);
        for (int s = 0; s < 3; s++) {
            grads.add(randomFloats(r, n, Math.pow(10, r.nextInt(9) - 6)));
            StepOptions o = t == 0 ? StepOptions.next() : StepOptions.number(t + s);
            options.add(r.nextInt(3) == 0 ? o.withGradScale(0.25 + r.nextDouble()) : o);
        }
        List<float[]> out = new ArrayList<>();
        try (Arena arena = Arena.ofShared();
             Optimizer opt = c.rows() == 0 ? Optimizers.adafactor(config, n, impl)
                     : Optimizers.adafactor(config, c.rows(), c.cols(), impl)) {
            long total = offset + n + extra;
            MemorySegment pAll = arena.allocate(total * 4, 64), gAll = arena.allocate(total * 4, 64);
            MemorySegment uAll = arena.allocate(total * 4, 64);
            pAll.fill((byte) 0x5a);
            gAll.fill((byte) 0x5a);
            uAll.fill((byte) 0x5a);
            MemorySegment p = pAll.asSlice(offset * 4L, n * 4), g = gAll.asSlice(offset * 4L, n * 4);
            MemorySegment u = intoGrads ? g : uAll.asSlice(offset * 4L, n * 4);
            MemorySegment.copy(p0, 0, p, ValueLayout.JAVA_FLOAT, 0, (int) n);
            for (int s = 0; s < 3; s++) {
                MemorySegment.copy(grads.get(s), 0, g, ValueLayout.JAVA_FLOAT, 0, (int) n);
                if (updateMode) {
                    if (team == null) {
                        opt.update(p, g, u, options.get(s));
                    } else {
                        opt.update(p, g, u, options.get(s), team);
                    }
                    out.add(Fixtures.toArray(u));
                    assertSameBits(c + ": params after an update", p0, Fixtures.toArray(p));
                } else {
                    if (team == null) {
                        opt.step(p, g, options.get(s));
                    } else {
                        opt.step(p, g, options.get(s), team);
                    }
                    out.add(Fixtures.toArray(p));
                }
            }
            for (String name : opt.stateNames()) {
                out.add(Fixtures.toArray(opt.state(name)));
            }
            for (MemorySegment all : List.of(pAll, gAll, uAll)) {   // around the slices: untouched
                for (long k : new long[] {0, offset - 1L, offset + n, total - 1}) {
                    if (k >= 0 && (k < offset || k >= offset + n)) {
                        assertEquals(0x5a5a5a5a, all.getAtIndex(ValueLayout.JAVA_INT, k), c + ": float " + k
                                + " outside the slice was written");
                    }
                }
            }
        }
        return out;
    }

    private static void assertSameRuns(String what, List<float[]> expected, List<float[]> actual) {
        assertEquals(expected.size(), actual.size(), what);
        for (int k = 0; k < expected.size(); k++) {
            assertSameBits(what + ", output " + k, expected.get(k), actual.get(k));
        }
    }

    @Test
    void panamaMatchesScalarBitForBit() {
        assumeTrue(Implementation.PANAMA.isAvailable(), "no Panama kernels in this JVM");
        qt().withExamples(EXAMPLES).forAll(cases()).checkAssert(c -> {
            SplittableRandom r = new SplittableRandom(~c.seed());
            boolean update = r.nextInt(3) == 0, intoGrads = update && r.nextBoolean();
            List<float[]> scalar = run(c, Implementation.SCALAR, null, update, intoGrads);
            List<float[]> panama = run(c, Implementation.PANAMA, null, update, intoGrads);
            assertSameRuns(c + " (update " + update + ", into grads " + intoGrads + "): panama vs scalar", scalar,
                    panama);
        });
    }

    /** Shapes big enough that a team of 2 or 3 really splits the apply pass (shares of {@code Team.MIN_SHARE}). */
    @Test
    void teamStepMatchesSerialStepBitForBit() {
        List<Case> big = List.of(new Case(411, 517, 1), new Case(1, 200_003, 2), new Case(200_003, 1, 3),
                new Case(0, 262_147, 4), new Case(390, 1021, 5));
        try (Team two = Team.create(2); Team three = Team.create(3)) {
            assertTrue(two.members(big.get(0).n(), Team.MIN_SHARE) > 1, "the team must split the step");
            for (Implementation impl : Implementation.values()) {
                if (!impl.isAvailable()) {
                    continue;
                }
                for (Case c : big) {
                    boolean update = c.seed() % 2 == 0;
                    List<float[]> serial = run(c, impl, null, update, false);
                    assertSameRuns(c + " on " + impl + ": team of 2", serial, run(c, impl, two, update, false));
                    assertSameRuns(c + " on " + impl + ": team of 3", serial, run(c, impl, three, update, false));
                }
            }
        }
    }
}
