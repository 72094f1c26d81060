package dev.adamant.dl4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * DL4J's Adam against {@link AdamantUpdater} (Adam, DL4J eps placement), in one JVM, alternating, at
 * about 10M and 50M parameters, 1 and 2 threads (ND4J's OpenMP threads and Adamant's team alike).
 * A careful harness rather than JMH (JMH forks and its generated code did not fit this test-scoped,
 * native-library setup in the time there was): buffers are allocated and touched in setup, each
 * measurement is a block of {@code REPS} steps after {@code WARMUP} unmeasured ones, DL4J and
 * Adamant take turns block by block, and the median block is reported.
 *
 * <ul>
 *   <li><b>op</b>: the GradientUpdater's {@code applyUpdater} alone, over a gradient and a state
 *       view of n floats (DL4J's {@code AdamUpdater}, a native op, against Adamant's).
 *   <li><b>path</b>: DL4J's whole update path: {@code net.getUpdater().update(...)} (the minibatch
 *       division, the updater blocks and their updaters) plus {@code params.subi(update)}, as
 *       {@code fit} runs it, on a one-layer network of n parameters with each updater.
 *   <li><b>path/s</b>: the same DL4J path against Adamant wired as the module README suggests:
 *       {@code .miniBatch(false)} and {@code withGradientScale(1.0 / 32)}, so the division by the
 *       minibatch is done in Adamant's pass instead of a pass of DL4J's own.
 *   <li><b>noop</b>: the path with DL4J's {@code NoOp} updater, the floor under any updater: with
 *       {@code miniBatch(true)} (the "DL4J" column: division and subtraction) and {@code false}
 *       (the "Adamant" column: the subtraction alone).
 * </ul>
 *
 * Each step's gradient is refilled from a fixed random source before the step, outside the timing.
 * Run: see the module README.
 */
public final class Dl4jUpdaterBenchmark {
    static final int WARMUP = 3;
    static final int REPS = 5;
    static final int BLOCKS = 5;
    static final int BATCH = 32;

    private Dl4jUpdaterBenchmark() {}

    /** One measured step: {@link #prepare} (not timed) refills the gradient, {@link #run} is timed. */
    interface Step {
        void prepare();

        void run(int iteration);
    }

    public static void main(String[] args) {
        long[] sizes = args.length > 0 ? Arrays.stream(args[0].split(",")).mapToLong(Long::parseLong).toArray()
                : new long[] {10_000_000, 50_000_000};
        int[] threadCounts = args.length > 1 ? Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, 2};
        System.out.printf("nd4j backend %s, Adamant kernels %s, %d cores%n",
                Nd4j.getBackend().getClass().getSimpleName(), dev.adamant.core.Optimizers.implementation(),
                Runtime.getRuntime().availableProcessors());
        System.out.println("nd4j natives: " + Dl4jFixtures.nd4jNatives());
        System.out.printf("%-10s %7s %8s %12s %12s %8s%n", "params", "threads", "what", "DL4J ms", "Adamant ms", "speed-up");
        for (long n : sizes) {
            for (int threads : threadCounts) {
                Nd4j.getEnvironment().setMaxThreads(threads);
                Nd4j.getEnvironment().setMaxMasterThreads(threads);
                AdamantUpdater adamant = AdamantUpdater.adam(1e-3)
                        .withEpsPlacement(AdamantUpdater.EpsPlacement.DL4J).withThreads(threads);
                INDArray source = Nd4j.rand(DataType.FLOAT, 1, n).subi(0.5).muli(0.02);
                compare(n, threads, "op", opStep(new Adam(1e-3), source), opStep(adamant, source));
                compare(n, threads, "path", pathStep(new Adam(1e-3), source, true), pathStep(adamant, source, true));
                compare(n, threads, "path/s", pathStep(new Adam(1e-3), source, true),
                        pathStep(adamant.withGradientScale(1.0 / BATCH), source, false));
                // what the path costs with no updater at all: with DL4J's division / without it
                compare(n, threads, "noop", pathStep(new NoOp(), source, true), pathStep(new NoOp(), source, false));
                System.gc();
            }
        }
    }

    static void compare(long n, int threads, String what, Step dl4j, Step ours) {
        List<Double> a = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        int[] iteration = {0, 0};
        for (int w = 0; w < WARMUP; w++) {
            dl4j.run(iteration[0]++);
            ours.run(iteration[1]++);
        }
        for (int block = 0; block < BLOCKS; block++) {
            a.add(time(dl4j, iteration, 0));
            b.add(time(ours, iteration, 1));
        }
        double ma = median(a);
        double mb = median(b);
        System.out.printf("%-10d %7d %8s %12.2f %12.2f %7.2fx%n", n, threads, what, ma, mb, ma / mb);
    }

    /** The mean per-step time of one block, in ms; the refill before each step is not timed. */
    static double time(Step step, int[] iteration, int which) {
        long total = 0;
        for (int r = 0; r < REPS; r++) {
            step.prepare();
            long t0 = System.nanoTime();
            step.run(iteration[which]++);
            total += System.nanoTime() - t0;
        }
        return total / 1e6 / REPS;
    }

    static double median(List<Double> xs) {
        double[] s = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s[s.length / 2];
    }

    /** applyUpdater alone, over a state view of the config's size. */
    static Step opStep(IUpdater config, INDArray source) {
        long n = source.length();
        INDArray state = Nd4j.zeros(DataType.FLOAT, 1, config.stateSize(n));
        GradientUpdater<?> updater = config.instantiate(state, true);
        INDArray gradient = source.dup();
        return new Step() {
            @Override
            public void prepare() {
                gradient.assign(source);
            }

            @Override
            public void run(int iteration) {
                updater.applyUpdater(gradient, iteration, 0);
            }
        };
    }

    /**
     * DL4J's update path on a one-layer network of about n parameters (an output layer of nIn x 1000
     * weights and 1000 biases): {@code net.getUpdater().update(...)} with a minibatch of 32, then
     * {@code params.subi(gradient)}, as {@code fit} does after the backward pass.
     */
    static Step pathStep(IUpdater config, INDArray source, boolean miniBatch) {
        long n = source.length();
        int nOut = 1000;
        int nIn = (int) ((n - nOut) / nOut);
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(1).dataType(DataType.FLOAT).updater(config).miniBatch(miniBatch).list()
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(nIn).nOut(nOut)
                        .activation(Activation.IDENTITY).build())
                .build());
        net.init();
        // one backward pass on one row makes DL4J's Gradient over its flattened gradient view
        net.setInput(Nd4j.rand(DataType.FLOAT, 1, nIn));
        net.setLabels(Nd4j.rand(DataType.FLOAT, 1, nOut));
        net.computeGradientAndScore();
        Gradient gradient = net.gradient();
        INDArray flat = net.getFlattenedGradients();
        long used = flat.length();
        INDArray src = source.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, used)).reshape(flat.shape());
        INDArray params = net.params();
        INDArray update = flat.reshape(params.shape());
        // touch everything once: the updater's state view is made at the first update
        flat.assign(src);
        net.getUpdater().update(net, gradient, 0, 0, BATCH, LayerWorkspaceMgr.noWorkspaces());
        return new Step() {
            @Override
            public void prepare() {
                flat.assign(src);
            }

            @Override
            public void run(int iteration) {
                net.getUpdater().update(net, gradient, iteration, 0, BATCH, LayerWorkspaceMgr.noWorkspaces());
                params.subi(update);
            }
        };
    }
}
