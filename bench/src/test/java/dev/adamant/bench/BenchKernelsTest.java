package dev.adamant.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Implementation;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The benchmarks' local loops do what they claim: the plain loop stays close to core's kernel and
 * the yardstick adds.
 */
class BenchKernelsTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    /** Sizes for the plain-loop comparison. */
    private static final int[] SIZES = {32, 4096};

    @Test
    void plainLoopStaysCloseToCore() {
        for (int n : SIZES) {
            float[] core = coreAdamW(n, 3);
            float[] p = AdamWStepBenchmark.Sized.params(n), g = AdamWStepBenchmark.Sized.grads(n);
            float[] m = new float[n], v = new float[n];
            for (int t = 1; t <= 3; t++) {
                AdamConfig c = AdamWStepBenchmark.CONFIG;
                AdamWStepBenchmark.plainAdamW(p, g, m, v, 0, n, (float) c.lr(), (float) c.beta1(),
                        (float) c.beta2(), (float) c.eps(), (float) c.weightDecay(),
                        (float) (1 - Math.pow(c.beta1(), t)), (float) (1 - Math.pow(c.beta2(), t)));
            }
            // Its coefficients are rounded in float ((1 - beta2) is 1.3e-5 off, (1 - lr * wd) up to
            // half an ulp of 1), so it drifts from core by a few ulps of p and 1e-5 of a step.
            for (int i = 0; i < n; i++) {
                assertEquals(core[i], p[i], 4 * Math.ulp(core[i]) + 1e-4 * lr(), "plainAdamW, n=" + n + ", p[" + i + "]");
            }
        }
    }

    @Test
    void yardstickAddsTheGradientToEachStream() {
        try (Arena arena = Arena.ofConfined()) {
            int n = 37; // a vector body and a tail on any species
            float[] p0 = AdamWStepBenchmark.Sized.params(n), g0 = AdamWStepBenchmark.Sized.grads(n);
            MemorySegment p = AdamWStepBenchmark.Sized.nativeCopy(arena, p0);
            MemorySegment g = AdamWStepBenchmark.Sized.nativeCopy(arena, g0);
            MemorySegment m = AdamWStepBenchmark.Sized.nativeCopy(arena, new float[n]);
            MemorySegment v = AdamWStepBenchmark.Sized.nativeCopy(arena, new float[n]);
            AdamWStepBenchmark.stream(p, g, m, v, 0, n);
            for (int i = 0; i < n; i++) {
                assertEquals(p0[i] + g0[i], p.getAtIndex(F, i), "p[" + i + "]");
                assertEquals(g0[i], m.getAtIndex(F, i), "m[" + i + "]");
                assertEquals(g0[i], v.getAtIndex(F, i), "v[" + i + "]");
            }
        }
    }

    @Test
    void reportParsesJmhJson() {
        String json = """
                [ { "benchmark" : "dev.adamant.bench.AdamWStepBenchmark.vector", "mode" : "avgt",
                    "params" : { "n" : "1000", "threads" : "2" },
                    "primaryMetric" : { "score" : 2.0, "scoreError" : 0.5, "scoreUnit" : "us/op",
                        "rawData" : [ [ 1.0, 3.0 ] ] }, "secondaryMetrics" : { } },
                  { "benchmark" : "dev.adamant.bench.AdamWStepBenchmark.streamYardstick", "mode" : "avgt",
                    "params" : { "n" : "1000", "threads" : "2" },
                    "primaryMetric" : { "score" : 1.0, "scoreError" : "NaN", "scoreUnit" : "ms/op",
                        "rawData" : [ [ 1.0 ] ] }, "secondaryMetrics" : { } } ]
                """;
        List<BenchReport.Row> mean = BenchReport.parse(json, false), best = BenchReport.parse(json, true);
        assertEquals(2, mean.size());
        assertEquals("vector", mean.get(0).variant());
        assertEquals(2, mean.get(0).threads());
        assertEquals(1000 / 2e-6, mean.get(0).elementsPerSecond(), 1e-3);
        assertEquals(0.25, mean.get(0).relativeError(), 1e-12);
        assertEquals(1000 / 1e-6, best.get(0).elementsPerSecond(), 1e-3);
        assertEquals(1000 / 1e-3, mean.get(1).elementsPerSecond(), 1e-6);
        assertTrue(Double.isNaN(mean.get(1).relativeError()));
    }

    /** The learning rate: about the size of one step. */
    private static double lr() {
        return AdamWStepBenchmark.CONFIG.lr();
    }

    /** Parameters after {@code steps} AdamW steps through core's Panama kernel. */
    private static float[] coreAdamW(int n, int steps) {
        try (Arena arena = Arena.ofConfined();
             Optimizer opt = Optimizers.adam(AdamWStepBenchmark.CONFIG, n, Implementation.PANAMA)) {
            MemorySegment p = AdamWStepBenchmark.Sized.nativeCopy(arena, AdamWStepBenchmark.Sized.params(n));
            MemorySegment g = AdamWStepBenchmark.Sized.nativeCopy(arena, AdamWStepBenchmark.Sized.grads(n));
            for (int t = 0; t < steps; t++) {
                opt.step(p, g);
            }
            return p.toArray(F);
        }
    }

}
