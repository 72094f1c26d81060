package dev.adamant.dl4j;

import static dev.adamant.dl4j.Dl4jFixtures.SEED;
import static dev.adamant.dl4j.Dl4jFixtures.maxDifference;
import static dev.adamant.dl4j.Dl4jFixtures.regression;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.dl4j.AdamantUpdater.EpsPlacement;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * A second task: regression of a fixed smooth function on 256 generated rows, 4-32-32-1, as a
 * MultiLayerNetwork and as a ComputationGraph; and the minibatch division done in Adamant's pass.
 */
class Dl4jRegressionTest {
    static final DataSet DATA = regression();
    static final int ITERATIONS = 150;

    static NeuralNetConfiguration.Builder base(IUpdater updater, boolean miniBatch) {
        return new NeuralNetConfiguration.Builder().seed(SEED).dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER)
                .updater(updater).miniBatch(miniBatch);
    }

    static MultiLayerNetwork mlp(IUpdater updater, boolean miniBatch) {
        MultiLayerNetwork net = new MultiLayerNetwork(base(updater, miniBatch).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(32).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nIn(32).nOut(32).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(32).nOut(1).activation(Activation.IDENTITY).build())
                .build());
        net.init();
        return net;
    }

    static ComputationGraph graph(IUpdater updater) {
        ComputationGraphConfiguration conf = base(updater, true).graphBuilder()
                .addInputs("in")
                .addLayer("h1", new DenseLayer.Builder().nIn(4).nOut(32).activation(Activation.TANH).build(), "in")
                .addLayer("h2", new DenseLayer.Builder().nIn(32).nOut(32).activation(Activation.TANH).build(), "h1")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(32).nOut(1)
                        .activation(Activation.IDENTITY).build(), "h2")
                .setOutputs("out")
                .build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    static double[] train(Model model, int iterations) {
        double[] losses = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            if (model instanceof ComputationGraph g) {
                g.fit(DATA);
            } else {
                ((MultiLayerNetwork) model).fit(DATA);
            }
            losses[i] = model.score();
        }
        return losses;
    }

    static void assertSameCurve(String what, Model dl4j, Model ours) {
        assertEquals(0, maxDifference(dl4j.params(), ours.params()), what + ": the two start apart");
        double[] la = train(dl4j, ITERATIONS);
        double[] lb = train(ours, ITERATIONS);
        double max = maxDifference(la, lb);
        System.out.printf("%s: loss %.6f -> %.6f (DL4J) vs %.6f (Adamant), max difference %.3g%n",
                what, la[0], la[ITERATIONS - 1], lb[ITERATIONS - 1], max);
        assertTrue(max <= 1e-5, what + ": loss curves differ by " + max);
        assertTrue(la[ITERATIONS - 1] < 0.2 * la[0], what + ": did not learn: " + la[0] + " -> " + la[ITERATIONS - 1]);
    }

    static AdamantUpdater adamant() {
        return AdamantUpdater.adam(0.01).withEpsPlacement(EpsPlacement.DL4J);
    }

    @Test
    void multiLayerNetworkMatchesDl4jAdam() {
        assertSameCurve("regression, MultiLayerNetwork", mlp(new Adam(0.01), true), mlp(adamant(), true));
    }

    @Test
    void computationGraphMatchesDl4jAdam() {
        assertSameCurve("regression, ComputationGraph", graph(new Adam(0.01)), graph(adamant()));
    }

    @Test
    void gradientScaleWithoutMiniBatchMatchesDl4jsDivision() {
        // SGD, where the scale matters (Adam is nearly scale-free): DL4J dividing by 256 in a pass of its
        // own vs Adamant multiplying by 1/256 as it reads the gradient, a power of two: the same floats.
        int batch = (int) DATA.numExamples();
        MultiLayerNetwork divided = mlp(new Sgd(0.05), true);
        MultiLayerNetwork scaled = mlp(AdamantUpdater.sgd(0.05).withGradientScale(1.0 / batch), false);
        MultiLayerNetwork unscaled = mlp(AdamantUpdater.sgd(0.05), false);
        train(divided, 30);
        train(scaled, 30);
        train(unscaled, 30);
        double gap = maxDifference(divided.params(), scaled.params());
        System.out.printf("gradient scale 1/%d without miniBatch vs DL4J's division: max parameter difference %.3g%n", batch, gap);
        assertTrue(gap <= 1e-6, "parameters differ by " + gap);
        // without the scale, miniBatch(false) steps 256 times the gradient: this SGD diverges (NaN)
        assertTrue(!(maxDifference(divided.params(), unscaled.params()) <= 1e-3), "miniBatch(false) made no difference");
        // Adam with a non-power-of-two batch: within float rounding
        MultiLayerNetwork a = mlp(new Adam(0.01), true);
        MultiLayerNetwork b = mlp(adamant().withGradientScale(1.0 / batch), false);
        double[] la = train(a, 50);
        double[] lb = train(b, 50);
        // with miniBatch(false) DL4J's score is the sum over the batch, not the mean: compare parameters
        double pgap = maxDifference(a.params(), b.params());
        System.out.printf("Adam, gradient scale vs division: max parameter difference %.3g (scores %.6f / %.6f)%n",
                pgap, la[49], lb[49]);
        assertTrue(pgap <= 1e-5, "Adam parameters differ by " + pgap);
    }
}
