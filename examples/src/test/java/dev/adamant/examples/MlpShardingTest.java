package dev.adamant.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.examples.MlpFixtures.Pass;
import dev.adamant.examples.MlpFixtures.Problem;
import dev.adamant.fp16.Precision;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Data parallelism: two "devices", each with half the batch and {@code globalBatch} = the whole,
 * give gradients that sum to the gradient of one model on the whole batch.
 */
class MlpShardingTest {
    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP16", "BF16"})
    void halvesSumToWhole(Precision precision) {
        int[] widths = {32, 64, 48, 8};
        int batch = 16;
        float lossScale = 1024;
        Problem whole = new Problem(widths, precision, batch, 21);
        Pass all, first, second;
        try (Mlp one = new Mlp(widths, precision, batch);
             Mlp a = new Mlp(widths, precision, batch / 2);
             Mlp b = new Mlp(widths, precision, batch / 2)) {
            all = MlpFixtures.run(one, whole, lossScale, batch);
            first = MlpFixtures.run(a, whole.rows(0, batch / 2), lossScale, batch);
            second = MlpFixtures.run(b, whole.rows(batch / 2, batch / 2), lossScale, batch);
        }
        // Each device's loss is the mean over its own rows: equal halves average to the whole.
        assertEquals(all.loss(), (first.loss() + second.loss()) / 2, 1e-6 * all.loss(), "loss");

        double worst16 = 0;
        for (int l = 0; l + 1 < widths.length; l++) {
            float[] g = all.grads32()[l], g1 = first.grads32()[l], g2 = second.grads32()[l];
            double max = 0;
            for (float v : g) {
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > 1, "layer " + l + ": gradients this small would make the test vacuous");
            for (int j = 0; j < g.length; j++) {
                // fp32: the sums differ only in rounding (the halves are summed in another order).
                assertEquals(g[j], g1[j] + g2[j], 1e-5 * max, "layer " + l + " element " + j + " (fp32)");
                // 16-bit: each of the three values was rounded once, by at most half a unit of the format.
                float h = MlpFixtures.widen(precision, all.grads16()[l][j]);
                float h1 = MlpFixtures.widen(precision, first.grads16()[l][j]);
                float h2 = MlpFixtures.widen(precision, second.grads16()[l][j]);
                double allowed = (MlpFixtures.ulp16(precision, h) + MlpFixtures.ulp16(precision, h1)
                        + MlpFixtures.ulp16(precision, h2)) / 2 + 1e-5 * max;
                double err = Math.abs(h - ((double) h1 + h2));
                assertTrue(err <= allowed, "layer " + l + " element " + j + ": " + h + " vs " + h1 + " + " + h2);
                worst16 = Math.max(worst16, err / allowed);
            }
        }
        System.out.printf("sharding %s: worst 16-bit discrepancy %.2f of the rounding bound%n", precision, worst16);
    }
}
