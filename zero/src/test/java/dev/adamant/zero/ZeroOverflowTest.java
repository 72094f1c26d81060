package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * On every stage, a finite 16-bit gradient on one device that overflows when unscaled (a loss scale
 * below 1), or a finite gradient whose square overflows the norm when clipping, skips the step on
 * every device, changes no parameter, and backs the scale off: as an infinity does.
 */
class ZeroOverflowTest {

    private static ZeroConfig config(ZeroStage stage, Precision precision, double maxNorm, double initScale) {
        return ZeroConfig.builder().stage(stage).precision(precision).optimizer(AdamConfig.adamW().withLr(1e-2))
                .maxGradNorm(maxNorm).rounding(Rounding.nearestEven()).globalBatch(8)
                .lossScaler(() -> DynamicLossScaler.builder().initScale(initScale).build()).build();
    }

    @ParameterizedTest(name = "{0} {1} maxNorm={2} scale={3} injected={4}")
    @CsvSource({
        // overflow on unscale: finite, but injected / scale is past the largest float
        "0, BF16, 0, 0.25, 3.0e38", "1, BF16, 5, 0.25, 3.0e38", "2, FP16, 0, 1e-35, 60000", "3, FP16, 5, 1e-35, 60000",
        // with clipping: finite unscaled values (1e30) whose square overflows the float norm
        "0, BF16, 5, 1, 1e30", "3, BF16, 5, 1, 1e30", "2, FP16, 5, 1e-30, 60000"})
    void aFiniteGradientThatOverflowsSkipsTheStepOnEveryDevice(int stage, Precision precision, double maxNorm,
                                                               double scale, float injected) {
        int n = 2, steps = 3;
        ZeroEngineTest.Run run = ZeroEngineTest.train(n, config(ZeroStage.of(stage), precision, maxNorm, scale), steps,
                1, n - 1, injected);
        StepResult skipped = run.results().get(1);
        assertTrue(skipped.skipped(), "step 1: " + skipped);
        assertEquals(1, skipped.step());
        assertEquals((float) scale * 0.5f, skipped.nextScale());
        assertArrayEquals(run.params().get(0), run.params().get(1), "parameters changed by the skipped step");
        assertFalse(run.results().get(2).skipped(), "the next step: " + run.results().get(2));
    }
}
