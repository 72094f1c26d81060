package dev.adamant.dl4j;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** The data sets and networks the DL4J tests train: Iris (from the test resources) and a generated regression. */
final class Dl4jFixtures {
    static final long SEED = 42;

    private Dl4jFixtures() {}

    /** Iris, 150 rows, features standardized (in double, then rounded to float), labels one-hot. */
    static DataSet iris() {
        List<double[]> rows = new ArrayList<>();
        try (var in = Dl4jFixtures.class.getResourceAsStream("/iris.csv");
             var reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            for (String line; (line = reader.readLine()) != null; ) {
                if (!line.isBlank()) {
                    String[] f = line.split(",");
                    double[] row = new double[5];
                    for (int i = 0; i < 5; i++) {
                        row[i] = Double.parseDouble(f[i]);
                    }
                    rows.add(row);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int m = rows.size();
        double[] mean = new double[4];
        double[] sd = new double[4];
        for (double[] r : rows) {
            for (int j = 0; j < 4; j++) mean[j] += r[j] / m;
        }
        for (double[] r : rows) {
            for (int j = 0; j < 4; j++) sd[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / m;
        }
        float[][] x = new float[m][4];
        float[][] y = new float[m][3];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < 4; j++) x[i][j] = (float) ((rows.get(i)[j] - mean[j]) / Math.sqrt(sd[j]));
            y[i][(int) rows.get(i)[4]] = 1;
        }
        return new DataSet(Nd4j.create(x), Nd4j.create(y));
    }

    /** y = sin(2 x0) + 0.5 x1 x2 - 0.3 x3, 256 rows, x from a fixed linear congruential sequence in [-1, 1). */
    static DataSet regression() {
        int m = 256;
        float[][] x = new float[m][4];
        float[][] y = new float[m][1];
        long s = 12345;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < 4; j++) {
                s = s * 6364136223846793005L + 1442695040888963407L;
                x[i][j] = (float) (((s >>> 11) * 0x1.0p-53) * 2 - 1);
            }
            y[i][0] = (float) (Math.sin(2 * x[i][0]) + 0.5 * x[i][1] * x[i][2] - 0.3 * x[i][3]);
        }
        return new DataSet(Nd4j.create(x), Nd4j.create(y));
    }

    /** The Iris network 4-16-3 (tanh, softmax), seeded; {@code tweak} adds regularization and the like. */
    static MultiLayerNetwork irisNetwork(IUpdater updater, UnaryOperator<NeuralNetConfiguration.Builder> tweak) {
        return irisNetwork(updater, tweak, 0, false);
    }

    /**
     * As above, with a per-layer weight decay (DL4J's {@code WeightDecay(coeff, applyLR = true)}) of
     * {@code layerDecay} on each layer's weights, if above 0, and on its biases too if {@code decayBiases}.
     */
    static MultiLayerNetwork irisNetwork(IUpdater updater, UnaryOperator<NeuralNetConfiguration.Builder> tweak,
                                         double layerDecay, boolean decayBiases) {
        var hidden = new DenseLayer.Builder().nIn(4).nOut(16).activation(Activation.TANH);
        var output = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(16).nOut(3).activation(Activation.SOFTMAX);
        if (layerDecay > 0) {
            List<Regularization> decay = List.of(new WeightDecay(layerDecay, true));
            hidden.regularization(decay);
            output.regularization(decay);
            if (decayBiases) {
                hidden.regularizationBias(decay);
                output.regularizationBias(decay);
            }
        }
        NeuralNetConfiguration.Builder b = new NeuralNetConfiguration.Builder()
                .seed(SEED).dataType(DataType.FLOAT).weightInit(WeightInit.XAVIER).updater(updater);
        var conf = tweak.apply(b).list()
                .layer(hidden.build())
                .layer(output.build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** The loss after each of {@code iterations} full-batch fits (DL4J's score of that iteration). */
    static double[] train(MultiLayerNetwork net, DataSet data, int iterations) {
        double[] losses = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            net.fit(data);
            losses[i] = net.score();
        }
        return losses;
    }

    /** The native library ND4J loaded (JavaCPP's cache path says which classifier's: -avx512 or not). */
    static String nd4jNatives() {
        Nd4j.create(1); // loads the backend
        try {
            return org.bytedeco.javacpp.Loader.load(Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu"));
        } catch (ClassNotFoundException e) {
            return "(not the CPU backend)";
        }
    }

    static double maxDifference(double[] a, double[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    static double maxDifference(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    static double accuracy(MultiLayerNetwork net, DataSet data) {
        Evaluation e = new Evaluation(3);
        e.eval(data.getLabels(), net.output(data.getFeatures()));
        return e.accuracy();
    }
}
