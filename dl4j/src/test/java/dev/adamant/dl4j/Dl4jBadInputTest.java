package dev.adamant.dl4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;

/** Bad input is refused with an exception naming the argument, and changes nothing. */
class Dl4jBadInputTest {

    static void refused(String name, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(name), "expected the message to name " + name + ": " + e.getMessage());
    }

    @Test
    void nonFloatOrNonContiguousGradientsAreRefusedAndNothingChanges() {
        INDArray state = Nd4j.create(DataType.FLOAT, 1, 2 * 12);
        GradientUpdater<?> u = AdamantUpdater.adam(1e-3).instantiate(state, true);
        state.assign(0.25);
        float[] stateBefore = state.toFloatVector();

        INDArray doubles = Nd4j.rand(DataType.DOUBLE, 1, 12);
        double[] doublesBefore = doubles.toDoubleVector();
        refused("gradient", () -> u.applyUpdater(doubles, 0, 0));
        assertArrayEquals(doublesBefore, doubles.toDoubleVector());

        INDArray halves = Nd4j.rand(DataType.HALF, 1, 12);
        refused("gradient", () -> u.applyUpdater(halves, 0, 0));

        INDArray fOrder = Nd4j.rand(DataType.FLOAT, 'f', 3, 4);
        INDArray fBefore = fOrder.dup('f');
        refused("gradient", () -> u.applyUpdater(fOrder, 0, 0));
        assertEquals(fBefore, fOrder);

        INDArray strided = Nd4j.rand(DataType.FLOAT, 1, 24).get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 2, 24));
        refused("gradient", () -> u.applyUpdater(strided, 0, 0));

        INDArray wrongLength = Nd4j.rand(DataType.FLOAT, 1, 13);
        float[] wrongBefore = wrongLength.toFloatVector();
        refused("gradient", () -> u.applyUpdater(wrongLength, 0, 0));
        assertArrayEquals(wrongBefore, wrongLength.toFloatVector());

        refused("iteration", () -> u.applyUpdater(Nd4j.rand(DataType.FLOAT, 1, 12), -1, 0));
        assertArrayEquals(stateBefore, state.toFloatVector(), "a refused call wrote the state");
    }

    @Test
    void badStateViewsAreRefused() {
        refused("viewArray", () -> AdamantUpdater.adam(1e-3).instantiate(Nd4j.create(DataType.DOUBLE, 1, 8), true));
        refused("viewArray", () -> AdamantUpdater.adam(1e-3).instantiate(Nd4j.create(DataType.FLOAT, 1, 7), true));
        refused("stateMap", () -> AdamantUpdater.adam(1e-3).instantiate(
                java.util.Map.of("M", Nd4j.create(DataType.FLOAT, 1, 4)), false));
        refused("stateMap[V]", () -> AdamantUpdater.adam(1e-3).instantiate(
                java.util.Map.of("M", Nd4j.create(DataType.FLOAT, 1, 4), "V", Nd4j.create(DataType.FLOAT, 1, 5)), false));
    }

    @Test
    void badHyperParametersAreRefusedNamingThem() {
        refused("lr", () -> AdamantUpdater.adam(-1));
        refused("lr", () -> AdamantUpdater.adam(Double.NaN));
        refused("beta1", () -> AdamantUpdater.adam(1e-3).withBetas(1.5, 0.999));
        refused("beta2", () -> AdamantUpdater.adam(1e-3).withBetas(0.9, -0.1));
        refused("eps", () -> AdamantUpdater.adam(1e-3).withEpsilon(-1));
        refused("momentum", () -> AdamantUpdater.adam(1e-3).withMomentum(0.9));
        refused("momentum", () -> AdamantUpdater.sgd(1e-3).withMomentum(-0.5));
        refused("nesterov", () -> AdamantUpdater.sgd(1e-3).withNesterov(true));
        refused("nesterov", () -> AdamantUpdater.rmsProp(1e-3).withNesterov(true));
        refused("epsilon", () -> AdamantUpdater.sgd(1e-3).withEpsilon(1e-8));
        refused("gradientScale", () -> AdamantUpdater.adam(1e-3).withGradientScale(0));
        refused("gradientScale", () -> AdamantUpdater.adam(1e-3).withGradientScale(Double.POSITIVE_INFINITY));
        refused("threads", () -> AdamantUpdater.adam(1e-3).withThreads(0));
        AdamantUpdater u = AdamantUpdater.adam(1e-3);
        refused("lr", () -> u.setLrAndSchedule(Double.NaN, null));
        assertTrue(u.getLearningRate(0, 0) == 1e-3, "a refused setLrAndSchedule changed the rate");
    }
}
