package dev.adamant.dl4j;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Trains the Iris network (4-16-3, full batch, lr 0.01, seeded) with DL4J's own {@code Adam} and with
 * {@link AdamantUpdater} (DL4J's eps placement) side by side: the loss every 20 iterations, the
 * accuracy, and the time a training step took with each (the whole {@code fit}: forward, backward,
 * update). On a 150-row, 131-parameter network the update is a sliver of the step; the update alone,
 * at 10M and 50M parameters, is {@link Dl4jUpdaterBenchmark}'s. Run: see the module README.
 * Arguments: [iterations, default 200].
 */
public final class Dl4jDemo {
    private Dl4jDemo() {}

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        DataSet iris = Dl4jFixtures.iris();
        MultiLayerNetwork dl4j = Dl4jFixtures.irisNetwork(new Adam(0.01), b -> b);
        MultiLayerNetwork adamant = Dl4jFixtures.irisNetwork(
                AdamantUpdater.adam(0.01).withEpsPlacement(AdamantUpdater.EpsPlacement.DL4J), b -> b);
        // warm both up on throwaway copies, so neither pays the JIT's first compilations in the timing
        Dl4jFixtures.train(Dl4jFixtures.irisNetwork(new Adam(0.01), b -> b), iris, 200);
        Dl4jFixtures.train(Dl4jFixtures.irisNetwork(AdamantUpdater.adam(0.01), b -> b), iris, 200);

        System.out.println("nd4j natives: " + Dl4jFixtures.nd4jNatives());
        System.out.println("Iris, 4-16-3, full batch (150 rows), Adam lr 0.01: DL4J's Adam vs AdamantUpdater");
        System.out.printf("%9s %14s %14s %12s%n", "iteration", "DL4J Adam", "Adamant", "difference");
        long dl4jNanos = 0;
        long adamantNanos = 0;
        double maxDifference = 0;
        for (int i = 1; i <= iterations; i++) {
            // alternate, so both see the same machine
            long t0 = System.nanoTime();
            dl4j.fit(iris);
            long t1 = System.nanoTime();
            adamant.fit(iris);
            long t2 = System.nanoTime();
            dl4jNanos += t1 - t0;
            adamantNanos += t2 - t1;
            double a = dl4j.score();
            double b = adamant.score();
            maxDifference = Math.max(maxDifference, Math.abs(a - b));
            if (i == 1 || i % 20 == 0) {
                System.out.printf("%9d %14.8f %14.8f %12.2e%n", i, a, b, a - b);
            }
        }
        System.out.printf("largest loss difference over %d iterations: %.3g%n", iterations, maxDifference);
        System.out.printf("accuracy: DL4J %.4f, Adamant %.4f%n",
                Dl4jFixtures.accuracy(dl4j, iris), Dl4jFixtures.accuracy(adamant, iris));
        System.out.printf("time per training step (fit): DL4J %.1f µs, Adamant %.1f µs%n",
                dl4jNanos / 1e3 / iterations, adamantNanos / 1e3 / iterations);
    }
}
