package dev.adamant.fp16.mixed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.SgdConfig;
import dev.adamant.core.Team;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.kernel.SquareSums;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The mixed-precision step on a {@link Team} of 1 to 4 threads against the serial step, bit for bit:
 * fp16 and bf16, with and without clipping, with master weights (Adam: the fused loop in Panama
 * mode; SGD: the tiled path) and without (bf16, stochastic rounding), on sizes that split into
 * several shares ending mid-block; and an injected overflow skipped on a team with nothing changed.
 * The reference is the serial step of this class, itself checked against an fp32 computation by
 * {@code MixedPrecisionOptimizerTest}.
 */
class MixedPrecisionTeamTest {
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
    /** Awkward sizes: a single value, a block and a bit, and sizes that give 2-4 members several blocks each. */
    private static final long[] SIZES = {1, 4099, 2 * Team.MIN_SHARE + 17, 4 * Team.MIN_SHARE + SquareSums.BLOCK / 2 + 3};
    private static final Team[] TEAMS = new Team[4];

    @BeforeAll
    static void start() {
        for (int i = 0; i < TEAMS.length; i++) {
            TEAMS[i] = Team.create(i + 1);
        }
    }

    @AfterAll
    static void stop() {
        for (Team t : TEAMS) {
            t.close();
        }
    }

    private static MixedPrecisionOptimizer build(Precision p, long n, boolean sgd, double clip, boolean master) {
        Optimizer inner = sgd ? Optimizers.sgd(SgdConfig.sgd(0.05).withMomentum(0.9), n)
                : Optimizers.adam(AdamConfig.adamW().withLr(1e-2), n);
        MixedPrecisionOptimizer.Builder b = MixedPrecisionOptimizer.builder(inner, p).maxGradNorm(clip);
        if (!master) {
            b.masterWeights(false).rounding(Rounding.stochastic(42));
        }
        return b.build();
    }

    /** Random 16-bit values of moderate size: |x| in [2^-6, 2^2), sign random. */
    private static void fill(MemorySegment s, Precision p, long n, SplittableRandom r, float scale) {
        for (long i = 0; i < n; i++) {
            float v = (float) ((r.nextDouble() * 3.9 + 0.1) * (r.nextBoolean() ? 1 : -1)) * scale;
            s.setAtIndex(S, i, bits(v, p));
        }
    }

    private static short bits(float v, Precision p) {
        if (p == Precision.FP16) {
            return Float.floatToFloat16(v);
        }
        int b = Float.floatToRawIntBits(v);
        return (short) ((b + 0x7FFF + ((b >>> 16) & 1)) >>> 16);
    }

    private static void assertSameState(MixedPrecisionOptimizer want, MixedPrecisionOptimizer got, String where) {
        if (want.hasMasterWeights()) {
            assertArrayEquals(want.masterWeights().toArray(ValueLayout.JAVA_INT), got.masterWeights().toArray(ValueLayout.JAVA_INT),
                    where + ": master");
        }
        for (String name : want.optimizer().stateNames()) {
            assertArrayEquals(want.optimizer().state(name).toArray(ValueLayout.JAVA_INT),
                    got.optimizer().state(name).toArray(ValueLayout.JAVA_INT), where + ": " + name);
        }
        assertEquals(want.optimizer().stepCount(), got.optimizer().stepCount(), where + ": steps");
        assertEquals(want.scaler().scale(), got.scaler().scale(), where + ": scale");
    }

    @Test
    void aStepOnATeamEqualsTheSerialStep() {
        int cases = 0;
        for (Precision p : new Precision[] {Precision.FP16, Precision.BF16}) {
            for (boolean sgd : new boolean[] {false, true}) {
                for (double clip : new double[] {0, 1.0}) {
                    for (boolean master : new boolean[] {true, false}) {
                        if (!master && p == Precision.FP16) {
                            continue;   // without master weights: bf16 with stochastic rounding
                        }
                        for (long n : SIZES) {
                            for (Team team : TEAMS) {
                                compare(p, sgd, clip, master, n, team);
                                cases++;
                            }
                        }
                    }
                }
            }
        }
        System.out.println("MixedPrecisionTeamTest: " + cases + " cases bit-identical to the serial step");
    }

    private static void compare(Precision p, boolean sgd, double clip, boolean master, long n, Team team) {
        String where = p + (sgd ? " sgd" : " adamW") + " clip=" + clip + " master=" + master + " n=" + n + " team="
                + team.threads();
        SplittableRandom r = new SplittableRandom(n * 31 + team.threads());
        try (Arena arena = Arena.ofShared();
             MixedPrecisionOptimizer serial = build(p, n, sgd, clip, master);
             MixedPrecisionOptimizer onTeam = build(p, n, sgd, clip, master)) {
            MemorySegment params = arena.allocate(n * 2, 64), grads = arena.allocate(n * 2, 64);
            fill(params, p, n, r, 1f);
            MemorySegment params2 = arena.allocate(n * 2, 64);
            params2.copyFrom(params);
            if (master) {
                serial.loadMasterFromHalf(params);
                onTeam.loadMasterFromHalf(params2);
            }
            for (int step = 0; step < 3; step++) {
                fill(grads, p, n, r, step == 1 ? 64f : 1f);   // step 1: large enough to clip
                StepReport want = serial.step(params, grads);
                StepReport got = onTeam.step(params2, grads, team);
                assertEquals(want.toString(), got.toString(), where + " step " + step);
                assertArrayEquals(params.toArray(ValueLayout.JAVA_SHORT), params2.toArray(ValueLayout.JAVA_SHORT),
                        where + " step " + step + ": params");
                assertSameState(serial, onTeam, where + " step " + step);
            }
            // The two passes alone, as ZeRO calls them.
            if (clip > 0) {
                double[] a = new double[serial.normBlocks()], b = new double[onTeam.normBlocks()];
                float scale = serial.scaler().scale();
                assertEquals(serial.checkGradients(grads, scale, a, Runnable::run, 1),
                        onTeam.checkGradients(grads, scale, b, team), where);
                assertArrayEquals(a, b, where + ": block sums");
                serial.applyUpdate(params, grads, scale, 0.5f, Runnable::run, 1);
                onTeam.applyUpdate(params2, grads, scale, 0.5f, team);
                assertArrayEquals(params.toArray(ValueLayout.JAVA_SHORT), params2.toArray(ValueLayout.JAVA_SHORT),
                        where + " applyUpdate: params");
                assertSameState(serial, onTeam, where + " applyUpdate");
            }
        }
    }

    @Test
    void anInjectedOverflowIsSkippedOnATeamWithNothingChanged() {
        long n = SIZES[3];
        for (Precision p : new Precision[] {Precision.FP16, Precision.BF16}) {
            for (double clip : new double[] {0, 1.0}) {
                for (Team team : TEAMS) {
                    SplittableRandom r = new SplittableRandom(7 + team.threads());
                    try (Arena arena = Arena.ofShared();
                         MixedPrecisionOptimizer m = build(p, n, false, clip, true)) {
                        MemorySegment params = arena.allocate(n * 2, 64), grads = arena.allocate(n * 2, 64);
                        fill(params, p, n, r, 1f);
                        m.loadMasterFromHalf(params);
                        fill(grads, p, n, r, 1f);
                        m.step(params, grads, team);
                        // In the last member's share, past the first block: only a team that checks every share sees it.
                        long at = n - 1 - r.nextLong(SquareSums.BLOCK);
                        grads.setAtIndex(S, at, bits(r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NaN, p));
                        short[] before = params.toArray(ValueLayout.JAVA_SHORT);
                        int[] masterBefore = m.masterWeights().toArray(ValueLayout.JAVA_INT);
                        int[] mBefore = m.optimizer().state(m.optimizer().stateNames().get(0)).toArray(ValueLayout.JAVA_INT);
                        float scale = m.scaler().scale();
                        StepReport report = m.step(params, grads, team);
                        String where = p + " clip=" + clip + " team=" + team.threads() + " at=" + at;
                        assertTrue(report.skipped(), where);
                        assertTrue(m.scaler().scale() < scale, where + ": the scale backs off");
                        assertEquals(1, m.optimizer().stepCount(), where);
                        assertArrayEquals(before, params.toArray(ValueLayout.JAVA_SHORT), where);
                        assertArrayEquals(masterBefore, m.masterWeights().toArray(ValueLayout.JAVA_INT), where);
                        assertArrayEquals(mBefore, m.optimizer().state(m.optimizer().stateNames().get(0))
                                .toArray(ValueLayout.JAVA_INT), where);
                    }
                }
            }
        }
    }

    @Test
    void aClosedTeamIsRefusedWithNothingChanged() {
        Team closed = Team.create(2);
        closed.close();
        long n = 100;
        try (Arena arena = Arena.ofShared(); MixedPrecisionOptimizer m = build(Precision.BF16, n, false, 0, true)) {
            MemorySegment params = arena.allocate(n * 2, 64), grads = arena.allocate(n * 2, 64);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.step(params, grads, closed));
            assertTrue(e.getMessage().contains("team"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> m.applyUpdate(params, grads, 1f, 1f, closed));
            assertThrows(IllegalStateException.class, () -> m.checkGradients(grads, 1f, null, closed));
            assertThrows(NullPointerException.class, () -> m.step(params, grads, (Team) null));
            assertEquals(0, m.optimizer().stepCount());
            m.step(params, grads, TEAMS[1]);   // still usable
            assertEquals(1, m.optimizer().stepCount());
        }
    }
}
