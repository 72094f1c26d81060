package dev.adamant.examples;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.scaling.Gradients;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The demo's task end to end on one device: an fp32 master copy stepped by AdamW, 16-bit parameters
 * for the model, a fixed loss scale, the teacher's data. The loss on held-out data must fall tenfold.
 *
 * <p>Each step is its own method: a loop body that runs only as an on-stack-replacement compilation
 * (one long loop in one method) was measured 20x slower, its Vector API calls not all intrinsified.
 */
class MlpTrainingTest {
    static final int[] WIDTHS = {32, 128, 128, 8};
    static final int BATCH = 64, STEPS = 300, EVAL_ROWS = 256;
    static final double LR = 3e-3;
    static final float LOSS_SCALE = 1024;

    private final Arena arena = Arena.ofShared();
    private Mlp model, evaluator;
    private Teacher teacher;
    private Optimizer optimizer;
    private Precision precision;
    private MemorySegment master, params16, grads16, grads32, x, t, evalX, evalT;

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP16", "BF16"})
    void lossFallsTenfold(Precision precision) {
        this.precision = precision;
        long n = Mlp.parameters(WIDTHS);
        try (arena; Mlp m = new Mlp(WIDTHS, precision, BATCH); Mlp e = new Mlp(WIDTHS, precision, EVAL_ROWS);
             Optimizer opt = Optimizers.adam(AdamConfig.adamW().withLr(LR), n)) {
            model = m;
            evaluator = e;
            optimizer = opt;
            teacher = new Teacher(WIDTHS, 1234);
            master = arena.allocate(4 * n, 64);
            params16 = arena.allocate(2 * n, 64);
            grads16 = arena.allocate(2 * n, 64);
            grads32 = arena.allocate(4 * n, 64);
            x = arena.allocate(4L * BATCH * WIDTHS[0], 64);
            t = arena.allocate(4L * BATCH * WIDTHS[3], 64);
            evalX = arena.allocate(4L * EVAL_ROWS * WIDTHS[0], 64);
            evalT = arena.allocate(4L * EVAL_ROWS * WIDTHS[3], 64);
            Mlp.initialize(WIDTHS, master, 42);
            teacher.sample(-1, 0, evalX, evalT, EVAL_ROWS);     // held out: training uses steps 0, 1, ...

            List<String> curve = new ArrayList<>();
            double first = evaluate(), last = first, targetPower = meanSquare(evalT);
            curve.add("0: " + fmt(first));
            long start = 0;
            for (int step = 0; step < STEPS; step++) {
                if (step == STEPS - 100) {
                    start = System.nanoTime();
                }
                float loss = trainStep(step);
                if ((step + 1) % 50 == 0) {
                    last = evaluate();
                    curve.add((step + 1) + ": " + fmt(last) + " (train " + fmt(loss) + ")");
                }
            }
            double msPerStep = (System.nanoTime() - start) / 1e6 / 100;
            System.out.printf("training %s %s, batch %d, AdamW lr %s, kernels %s: held-out loss %s; %.1fx lower"
                            + " (E[t^2] = %.3f); %.3f ms/step%n", precision, java.util.Arrays.toString(WIDTHS), BATCH,
                    LR, Mlp.implementation(), curve, first / last, targetPower, msPerStep);
            assertTrue(last * 10 <= first, "held-out loss fell only from " + first + " to " + last + ": " + curve);
        }
    }

    private float trainStep(int step) {
        if (precision == Precision.FP16) {
            Half.encode(master, params16);
        } else {
            BFloat16.encode(master, params16);
        }
        teacher.sample(step, 0, x, t, BATCH);
        model.loadBatch(x, t);
        for (int l = 0; l < model.layers(); l++) {
            model.forward(l, slice(params16, l));
        }
        float loss = model.loss();
        for (int l = model.layers() - 1; l >= 0; l--) {
            model.backward(l, slice(params16, l), slice(grads16, l), LOSS_SCALE, BATCH);
        }
        if (precision == Precision.FP16) {
            Half.decode(grads16, grads32);
        } else {
            BFloat16.decode(grads16, grads32);
        }
        assertFalse(Gradients.unscale(grads32, LOSS_SCALE).nonFinite(), "step " + step + ": gradients overflowed");
        optimizer.step(master, grads32);
        return loss;
    }

    private double evaluate() {
        MemorySegment p = arena.allocate(params16.byteSize(), 64);
        if (precision == Precision.FP16) {
            Half.encode(master, p);
        } else {
            BFloat16.encode(master, p);
        }
        evaluator.loadBatch(evalX, evalT);
        for (int l = 0; l < evaluator.layers(); l++) {
            evaluator.forward(l, slice(p, l));
        }
        return evaluator.loss();
    }

    private MemorySegment slice(MemorySegment halves, int layer) {
        return halves.asSlice(2 * model.layerOffset(layer), 2 * model.layerParameters(layer));
    }

    private static double meanSquare(MemorySegment s) {
        double sum = 0;
        float[] f = MlpFixtures.toFloats(s);
        for (float v : f) {
            sum += (double) v * v;
        }
        return sum / f.length;
    }

    private static String fmt(double v) {
        return String.format("%.4f", v);
    }
}
