package dev.adamant.dl4j;

import static dev.adamant.dl4j.Dl4jFixtures.maxDifference;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.dl4j.AdamantUpdater.EpsPlacement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;

/** The GradientUpdater on its own, over arrays made here: steps, state, threads, scale, wrapping. */
class Dl4jStepTest {

    static INDArray gradient(long seed, long n) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.FLOAT, 1, n).muli(0.01);
    }

    /** The largest difference as a fraction of the largest magnitude of {@code a}. */
    static double relative(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue() / a.amaxNumber().doubleValue();
    }

    @Test
    void segmentOfAViewStartsAtTheViewsOffset() {
        INDArray whole = Nd4j.linspace(1, 40, 40, DataType.FLOAT).reshape(1, 40);
        INDArray view = whole.get(NDArrayIndex.point(0), NDArrayIndex.interval(7, 19));
        assertTrue(view.isView());
        MemorySegment s = Dl4jArrays.segment(view);
        assertEquals(12 * 4, s.byteSize());
        for (int i = 0; i < 12; i++) {
            assertEquals(view.getFloat(i), s.getAtIndex(ValueLayout.JAVA_FLOAT, i));
        }
    }

    @Test
    void adamStepsAsDl4jsAdamUpdaterStepByStep() {
        int n = 1021;
        INDArray dl4jState = Nd4j.create(DataType.FLOAT, 1, 2 * n);
        INDArray ourState = Nd4j.create(DataType.FLOAT, 1, 2 * n);
        GradientUpdater<?> dl4j = new Adam(1e-3).instantiate(dl4jState, true);
        GradientUpdater<?> ours = AdamantUpdater.adam(1e-3).withEpsPlacement(EpsPlacement.DL4J).instantiate(ourState, true);
        for (int it = 0; it < 20; it++) {
            INDArray g1 = gradient(it, n);
            INDArray g2 = g1.dup();
            dl4j.applyUpdater(g1, it, 0);
            ours.applyUpdater(g2, it, 0);
            // DL4J computes the step's scalars in float, ours in double: 1 - 0.999f^t in float keeps few
            // digits for small t (an error of about 6e-8 / 0.002 = 3e-5 at t = 2), later ones a few ulps.
            double rel = relative(g1, g2);
            assertTrue(rel < (it < 5 ? 1e-4 : 1e-5), "iteration " + it + ": difference " + rel + " of the largest update");
        }
        // the same state layout as DL4J's Adam: M then V
        assertTrue(relative(dl4jState, ourState) < 1e-6, "states differ by " + relative(dl4jState, ourState));
        Map<String, INDArray> state = ours.getState();
        assertEquals(List.of("M", "V"), List.copyOf(state.keySet()));
        assertEquals(ourState.getFloat(0, 3), state.get("M").getFloat(3));
        assertEquals(ourState.getFloat(0, n + 3), state.get("V").getFloat(3));
    }

    @Test
    void twoThreadsGiveTheBitsOfOne() {
        int n = 300_001;
        INDArray s1 = Nd4j.create(DataType.FLOAT, 1, 2 * n);
        INDArray s2 = Nd4j.create(DataType.FLOAT, 1, 2 * n);
        GradientUpdater<?> one = AdamantUpdater.adam(1e-3).instantiate(s1, true);
        GradientUpdater<?> two = AdamantUpdater.adam(1e-3).withThreads(2).instantiate(s2, true);
        for (int it = 0; it < 3; it++) {
            INDArray g1 = gradient(it, n);
            INDArray g2 = g1.dup();
            one.applyUpdater(g1, it, 0);
            two.applyUpdater(g2, it, 0);
            assertArrayEquals(g1.toFloatVector(), g2.toFloatVector());
        }
        assertArrayEquals(s1.toFloatVector(), s2.toFloatVector());
    }

    @Test
    void gradientScaleMatchesAGradientDividedFirst() {
        int n = 4099;
        int batch = 150;
        INDArray s1 = Nd4j.create(DataType.FLOAT, 1, 2 * n);
        INDArray s2 = Nd4j.create(DataType.FLOAT, 1, 2 * n);
        GradientUpdater<?> divided = AdamantUpdater.adam(1e-3).instantiate(s1, true);
        GradientUpdater<?> scaled = AdamantUpdater.adam(1e-3).withGradientScale(1.0 / batch).instantiate(s2, true);
        for (int it = 0; it < 5; it++) {
            INDArray g = gradient(it, n).muli(batch);
            INDArray g1 = g.div(batch); // what DL4J's miniBatch(true) does, a pass of its own
            INDArray g2 = g.dup();
            divided.applyUpdater(g1, it, 0);
            scaled.applyUpdater(g2, it, 0);
            double rel = relative(g1, g2);
            assertTrue(rel < 2e-6, "iteration " + it + ": difference " + rel + " of the largest update");
        }
    }

    @Test
    void stepNumberIsIterationPlusOneSoARestoredStateContinues() {
        int n = 257;
        INDArray straight = Nd4j.create(DataType.FLOAT, 1, 2 * n);
        GradientUpdater<?> a = AdamantUpdater.adam(1e-2).instantiate(straight, true);
        INDArray last1 = null;
        for (int it = 0; it < 10; it++) {
            last1 = gradient(it, n);
            a.applyUpdater(last1, it, 0);
            if (it == 4) {
                // a checkpoint after 5 steps: the state, as ModelSerializer saves it
                INDArray saved = straight.dup();
                GradientUpdater<?> b = AdamantUpdater.adam(1e-2).instantiate(saved, false);
                INDArray last2 = null;
                for (int j = 5; j < 10; j++) {
                    last2 = gradient(j, n);
                    b.applyUpdater(last2, j, 0);
                }
                for (int j = 5; j < 10; j++) {
                    a.applyUpdater(last1 = gradient(j, n), j, 0);
                }
                assertArrayEquals(last1.toFloatVector(), last2.toFloatVector());
                assertArrayEquals(straight.toFloatVector(), saved.toFloatVector());
                return;
            }
        }
    }

    @Test
    void aNewStateViewIsSteppedFromThenOn() {
        int n = 100;
        INDArray first = Nd4j.create(DataType.FLOAT, 1, 2 * n);
        AdamantGradientUpdater u = (AdamantGradientUpdater) AdamantUpdater.adam(1e-2).instantiate(first, true);
        u.applyUpdater(gradient(1, n), 0, 0);
        float[] before = first.toFloatVector();
        INDArray moved = first.dup(); // DL4J may give the updater a new view (a reallocation, a restore)
        u.setStateViewArray(moved, new long[] {1, n}, 'c', false);
        u.applyUpdater(gradient(2, n), 1, 0);
        assertArrayEquals(before, first.toFloatVector(), "the old view was written after the new one came");
        assertTrue(maxDifference(moved, first) > 0, "the new view was not stepped");
    }

    @Test
    void stateMapIsCopiedInAndReadBack() {
        int n = 33;
        INDArray view = Nd4j.create(DataType.FLOAT, 1, 2 * n);
        GradientUpdater<?> a = AdamantUpdater.adam(1e-2).instantiate(view, true);
        a.applyUpdater(gradient(3, n), 0, 0);
        Map<String, INDArray> saved = Map.of("M", a.getState().get("M").dup(), "V", a.getState().get("V").dup());
        GradientUpdater<?> b = AdamantUpdater.adam(1e-2).instantiate(saved, false);
        assertArrayEquals(saved.get("M").toFloatVector(), b.getState().get("M").toFloatVector());
        INDArray g1 = gradient(4, n);
        INDArray g2 = g1.dup();
        a.applyUpdater(g1, 1, 0);
        b.applyUpdater(g2, 1, 0);
        assertArrayEquals(g1.toFloatVector(), g2.toFloatVector());
        assertSame(AdamantUpdater.class, b.getConfig().getClass());
    }

    @Test
    void rmsPropDl4jPlacementStartsTheSquaredAverageAtEps() {
        int n = 10;
        INDArray view = Nd4j.create(DataType.FLOAT, 1, n);
        AdamantUpdater.rmsProp(0.1).withEpsilon(1e-3).withEpsPlacement(EpsPlacement.DL4J).instantiate(view, true);
        assertEquals(1e-3f, view.getFloat(0, 9));
        AdamantUpdater.rmsProp(0.1).withEpsilon(1e-3).instantiate(view, true);
        assertEquals(0f, view.getFloat(0, 9));
    }

    @Test
    void sgdKeepsNoStateAndStepsLrTimesGradient() {
        AdamantUpdater sgd = AdamantUpdater.sgd(0.5);
        assertEquals(0, sgd.stateSize(1000));
        GradientUpdater<?> u = sgd.instantiate((INDArray) null, false);
        INDArray g = gradient(5, 64);
        float[] expected = g.toFloatVector();
        for (int i = 0; i < expected.length; i++) expected[i] *= 0.5f;
        u.applyUpdater(g, 0, 0);
        assertArrayEquals(expected, g.toFloatVector());
    }
}
