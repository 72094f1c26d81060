package dev.adamant.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.examples.MlpFixtures.Pass;
import dev.adamant.examples.MlpFixtures.Problem;
import dev.adamant.fp16.Precision;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The backward pass against an independent double-precision reference ({@link ReferenceMlp}), which
 * is itself checked against central finite differences.
 *
 * <p>Tolerance: each fp32 gradient element is the end of a chain of sums: the forward products
 * ({@code widths[l] + 1} terms each), the output difference, the backward products (over {@code out}
 * and over the batch). By the standard bound for recursive summation, |error| is at most about
 * {@code (number of terms along the chain) * 2^-24} times the same computation on absolute values,
 * which {@link ReferenceMlp#gradient} returns with {@code absolute = true}. We allow
 * {@code 2 * (sum of widths + batch + 8)} units of {@code 2^-24} of that bound, element by element.
 * A wrong formula (a missing factor 2, a transposed index, a wrong mask) is off by a large fraction of
 * the gradient itself, far above this.
 */
class MlpGradientTest {
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(new int[] {5, 7, 6, 3}, 4, Precision.FP16),
                Arguments.of(new int[] {5, 7, 6, 3}, 4, Precision.BF16),
                // Widths around the vector length (16 or 8 lanes): full, paired, masked columns, odd rows.
                Arguments.of(new int[] {17, 33, 19, 5}, 7, Precision.FP16),
                Arguments.of(new int[] {40, 70, 1}, 9, Precision.BF16),
                Arguments.of(new int[] {3, 2}, 1, Precision.FP16));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void fp32GradientMatchesDoubleReference(int[] widths, int batch, Precision precision) {
        Problem p = new Problem(widths, precision, batch, 11);
        float lossScale = 8;
        int globalBatch = 3 * batch;
        ReferenceMlp ref = new ReferenceMlp(widths);
        double[] exact = ref.gradient(p.params, p.x(), p.t(), lossScale, globalBatch, false);
        double[] bound = ref.gradient(p.params, p.x(), p.t(), lossScale, globalBatch, true);
        int terms = batch + 8;
        for (int w : widths) {
            terms += w;
        }
        double units = 2.0 * terms * 0x1p-24;

        Pass pass;
        try (Mlp model = new Mlp(widths, precision, batch)) {
            pass = MlpFixtures.run(model, p, lossScale, globalBatch);
        }
        double refLoss = ref.loss(p.params, p.x(), p.t(), 1, batch);
        assertEquals(refLoss, pass.loss(), 1e-5 * refLoss, "loss");

        double worst = 0, relative = 0;
        for (int l = 0; l + 1 < widths.length; l++) {
            int offset = (int) ref.offset(l);
            float[] g = pass.grads32()[l];
            double max = 0;
            for (int j = 0; j < g.length; j++) {
                double e = exact[offset + j], tol = units * bound[offset + j];
                double err = Math.abs(g[j] - e);
                assertTrue(err <= tol, "layer " + l + " element " + j + ": fp32 " + g[j] + " vs exact " + e
                        + " (error " + err + ", allowed " + tol + ")");
                worst = Math.max(worst, tol > 0 ? err / tol : 0);
                max = Math.max(max, Math.abs(e));
                // The 16-bit gradient is the fp32 one rounded once, to nearest even.
                assertEquals(MlpFixtures.narrow(precision, g[j]), pass.grads16()[l][j],
                        "layer " + l + " element " + j + ": 16-bit gradient of " + g[j]);
            }
            assertTrue(max > 1e-3, "layer " + l + ": a vanishing gradient would make this test vacuous");
            for (int j = 0; j < g.length; j++) {
                relative = Math.max(relative, Math.abs(g[j] - exact[offset + j]) / max);
            }
        }
        System.out.printf("gradient check %s %s: worst error %.4f of the allowed bound, %.2e of the layer's largest"
                + " gradient%n", java.util.Arrays.toString(widths), precision, worst, relative);
    }

    /** The reference's gradient is the derivative of its loss: central differences, in double. */
    @ParameterizedTest
    @MethodSource("cases")
    void referenceMatchesFiniteDifferences(int[] widths, int batch, Precision precision) {
        Problem p = new Problem(widths, precision, batch, 12);
        ReferenceMlp ref = new ReferenceMlp(widths);
        double scale = 8;
        int globalBatch = 2 * batch;
        double[] g = ref.gradient(p.params, p.x(), p.t(), scale, globalBatch, false);
        double max = 0;
        for (double v : g) {
            max = Math.max(max, Math.abs(v));
        }
        double h = 1e-6;
        for (int j = 0; j < g.length; j += Math.max(1, g.length / 97)) {
            double[] plus = p.params.clone(), minus = p.params.clone();
            plus[j] += h;
            minus[j] -= h;
            double fd = (ref.loss(plus, p.x(), p.t(), scale, globalBatch)
                    - ref.loss(minus, p.x(), p.t(), scale, globalBatch)) / (2 * h);
            // Central differences: O(h^2) truncation, O(eps * loss / h) cancellation; both below 1e-6 * max here.
            assertEquals(g[j], fd, 1e-6 * max + 1e-9, "parameter " + j);
        }
    }
}
