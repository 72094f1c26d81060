package dev.adamant.fp16.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.quicktheories.generators.Generate;

/**
 * The scaler against an independent model of the rules, written here as counts of events since the
 * last reset (overflows since the hysteresis was refilled, good steps since the last overflow or
 * growth), walked through long random sequences, and against hand-worked scenarios.
 */
class DynamicLossScalerTest {

    /** The rules as a reader of PyTorch's and DeepSpeed's docs would write them. */
    static final class Model {
        final double growth, backoff, min;
        final int interval, hysteresis;
        final boolean consecutive, throwAtMin;
        double scale;
        int goodRun;              // good steps since the last overflow or growth
        int overflowsSinceRefill; // the k-th one (k = hysteresis) backs off

        Model(double init, double growth, double backoff, int interval, int hysteresis, boolean consecutive,
              double min, boolean throwAtMin) {
            this.scale = init;
            this.growth = growth;
            this.backoff = backoff;
            this.interval = interval;
            this.hysteresis = hysteresis;
            this.consecutive = consecutive;
            this.min = min;
            this.throwAtMin = throwAtMin;
        }

        /** Returns false where the real scaler must throw (state then unchanged). */
        boolean step(boolean overflow) {
            double floor = Math.max(min, 0x1p-126);
            if (overflow) {
                if (overflowsSinceRefill + 1 >= hysteresis) {
                    if (throwAtMin && scale <= floor) {
                        return false;
                    }
                    // A float times a float is exact in double; one rounding to float, as the scaler's.
                    scale = Math.max((float) (scale * backoff), floor);
                }
                overflowsSinceRefill++;
                goodRun = 0;
            } else {
                goodRun++;
                if (consecutive) {
                    overflowsSinceRefill = 0;
                }
                if (goodRun == interval) {
                    double grown = (float) (scale * growth);
                    if (!Double.isInfinite(grown)) {
                        scale = grown;
                    }
                    goodRun = 0;
                    overflowsSinceRefill = 0;
                }
            }
            return true;
        }
    }

    @Test
    void pyTorchDefaults() {
        DynamicLossScaler s = DynamicLossScaler.create();
        assertEquals(65536f, s.scale());
        for (int i = 0; i < 1999; i++) {
            s.update(false);
        }
        assertEquals(65536f, s.scale(), "grows only at the 2000th good step");
        assertEquals(131072f, s.update(false));
        assertEquals(65536f, s.update(true), "an overflow halves the scale");
        for (int i = 0; i < 1999; i++) {
            s.update(false);
        }
        assertEquals(65536f, s.scale(), "the overflow restarted the count");
        assertEquals(131072f, s.update(false));
        assertEquals(1f / 131072f, s.inverseScale());
    }

    @Test
    void neverGrowsToInfinity() {
        DynamicLossScaler s = DynamicLossScaler.builder().initScale(0x1p127).growthInterval(1).build();
        assertEquals(0x1p127f, s.update(false), "2^128 would be infinite: the scale stays");
        assertEquals(0x1p127f, s.update(false));
    }

    @Test
    void hysteresisToleratesOverflowsBeforeBackingOff() {
        DynamicLossScaler s = DynamicLossScaler.builder().initScale(1024).hysteresis(3).growthInterval(4).build();
        assertEquals(1024f, s.update(true));
        assertEquals(1024f, s.update(true));
        assertEquals(512f, s.update(true), "the third overflow backs off");
        assertEquals(256f, s.update(true), "and, not refilled, so does the next");
        for (int i = 0; i < 3; i++) {
            s.update(false);
        }
        assertEquals(512f, s.update(false), "growth refills the hysteresis");
        assertEquals(512f, s.update(true));
    }

    @Test
    void minimumClampsOrThrows() {
        DynamicLossScaler clamp = DynamicLossScaler.builder().initScale(4).minScale(1).build();
        assertEquals(2f, clamp.update(true));
        assertEquals(1f, clamp.update(true));
        assertEquals(1f, clamp.update(true), "clamped at the minimum");

        DynamicLossScaler strict = DynamicLossScaler.builder().initScale(3).minScale(1)
                .atMinimum(DynamicLossScaler.AtMinimum.THROW).build();
        assertEquals(1.5f, strict.update(true));
        assertEquals(1f, strict.update(true), "clamped to the minimum on the way down");
        var before = strict.state();
        var e = assertThrows(LossScaleException.class, () -> strict.update(true));
        assertTrue(e.getMessage().contains("minimum"), e.getMessage());
        assertEquals(before, strict.state(), "a throw changes nothing");
    }

    @Test
    void neverBelowTheSmallestNormalFloat() {
        DynamicLossScaler s = DynamicLossScaler.builder().initScale(1).build();
        for (int i = 0; i < 300; i++) {
            s.update(true);
        }
        assertEquals(Float.MIN_NORMAL, s.scale());
        assertTrue(Float.isFinite(s.inverseScale()));
    }

    @Test
    void longRandomSequencesAgreeWithTheModel() {
        qt().withExamples(300).forAll(Generate.longRange(0, Long.MAX_VALUE)).checkAssert(seed -> {
            SplittableRandom r = new SplittableRandom(seed);
            double[] growths = {2, 2, 1.5, 4, 1.0001};
            double[] backoffs = {0.5, 0.5, 0.25, 0.7, 0.999};
            double init = Math.scalb(1.0 + r.nextInt(8) / 8.0, r.nextInt(-20, 40));
            double growth = growths[r.nextInt(growths.length)], backoff = backoffs[r.nextInt(backoffs.length)];
            int interval = 1 + r.nextInt(r.nextBoolean() ? 5 : 50);
            int hysteresis = 1 + r.nextInt(4);
            boolean consecutive = r.nextBoolean(), throwAtMin = r.nextBoolean();
            double min = r.nextBoolean() ? 0 : Math.min(init, (float) Math.scalb(1.0, r.nextInt(-30, 10)));
            DynamicLossScaler s = DynamicLossScaler.builder().initScale(init).growthFactor(growth)
                    .backoffFactor(backoff).growthInterval(interval).hysteresis(hysteresis)
                    .consecutiveHysteresis(consecutive).minScale(min)
                    .atMinimum(throwAtMin ? DynamicLossScaler.AtMinimum.THROW : DynamicLossScaler.AtMinimum.CLAMP)
                    .build();
            Model m = new Model((float) init, (float) growth, (float) backoff, interval, hysteresis, consecutive,
                    (float) min, throwAtMin);
            double overflowRate = r.nextDouble() * 0.5;
            for (int step = 0; step < 3000; step++) {
                boolean overflow = r.nextDouble() < overflowRate;
                var before = s.state();
                if (m.step(overflow)) {
                    s.update(overflow);
                } else {
                    assertThrows(LossScaleException.class, () -> s.update(true));
                    assertEquals(before, s.state());
                    continue;
                }
                assertEquals((float) m.scale, s.scale(), "step " + step + " (seed " + seed + "): " + s);
            }
        });
    }

    @Test
    void stateSavesAndRestores() {
        SplittableRandom r = new SplittableRandom(7);
        DynamicLossScaler a = DynamicLossScaler.builder().hysteresis(2).growthInterval(10).build();
        for (int i = 0; i < 500; i++) {
            a.update(r.nextInt(10) == 0);
        }
        DynamicLossScaler b = DynamicLossScaler.builder().hysteresis(2).growthInterval(10).build();
        b.restore(a.state());
        for (int i = 0; i < 500; i++) {
            boolean overflow = r.nextInt(10) == 0;
            assertEquals(a.update(overflow), b.update(overflow));
            assertEquals(a.state(), b.state());
        }
    }

    @Test
    void badOptionsAreRefusedByName() {
        var b = DynamicLossScaler.builder();
        assertMessage("initScale", assertThrows(IllegalArgumentException.class, () -> b.initScale(0)));
        assertMessage("initScale", assertThrows(IllegalArgumentException.class, () -> b.initScale(-1)));
        assertMessage("initScale", assertThrows(IllegalArgumentException.class, () -> b.initScale(Double.NaN)));
        assertMessage("initScale", assertThrows(IllegalArgumentException.class, () -> b.initScale(1e39)));
        assertMessage("growthFactor", assertThrows(IllegalArgumentException.class, () -> b.growthFactor(1)));
        assertMessage("growthFactor", assertThrows(IllegalArgumentException.class, () -> b.growthFactor(Double.NaN)));
        assertMessage("backoffFactor", assertThrows(IllegalArgumentException.class, () -> b.backoffFactor(1)));
        assertMessage("backoffFactor", assertThrows(IllegalArgumentException.class, () -> b.backoffFactor(0)));
        // Values that are valid as doubles but not as the floats the scaler would use.
        assertMessage("backoffFactor", assertThrows(IllegalArgumentException.class, () -> b.backoffFactor(1 - 1e-10)));
        assertMessage("backoffFactor", assertThrows(IllegalArgumentException.class, () -> b.backoffFactor(1e-50)));
        assertMessage("growthFactor", assertThrows(IllegalArgumentException.class, () -> b.growthFactor(1 + 1e-10)));
        assertMessage("initScale", assertThrows(IllegalArgumentException.class, () -> b.initScale(1e-46)));
        assertMessage("initScale", assertThrows(IllegalArgumentException.class, () -> b.initScale(1e-40)));
        assertMessage("growthInterval", assertThrows(IllegalArgumentException.class, () -> b.growthInterval(0)));
        assertMessage("hysteresis", assertThrows(IllegalArgumentException.class, () -> b.hysteresis(0)));
        assertMessage("minScale", assertThrows(IllegalArgumentException.class, () -> b.minScale(-1)));
        assertMessage("minScale", assertThrows(IllegalArgumentException.class,
                () -> DynamicLossScaler.builder().initScale(2).minScale(4).build()));
        DynamicLossScaler s = DynamicLossScaler.builder().growthInterval(10).hysteresis(2).minScale(1).build();
        var before = s.state();
        assertMessage("state.scale", assertThrows(IllegalArgumentException.class,
                () -> s.restore(new DynamicLossScaler.State(Float.NaN, 0, 1))));
        assertMessage("state.scale", assertThrows(IllegalArgumentException.class,
                () -> s.restore(new DynamicLossScaler.State(0.5f, 0, 1))));
        assertMessage("state.scale", assertThrows(IllegalArgumentException.class,
                () -> DynamicLossScaler.create().restore(new DynamicLossScaler.State(1e-40f, 0, 1))));
        assertMessage("state.scale", assertThrows(IllegalArgumentException.class,
                () -> s.restore(new DynamicLossScaler.State(Float.POSITIVE_INFINITY, 0, 1))));
        assertMessage("state.goodSteps", assertThrows(IllegalArgumentException.class,
                () -> s.restore(new DynamicLossScaler.State(2f, 10, 1))));
        assertMessage("state.hysteresisLeft", assertThrows(IllegalArgumentException.class,
                () -> s.restore(new DynamicLossScaler.State(2f, 0, 3))));
        assertEquals(before, s.state());
    }

    private static void assertMessage(String mentions, Exception e) {
        assertTrue(e.getMessage().startsWith(mentions), e.getMessage());
    }
}
