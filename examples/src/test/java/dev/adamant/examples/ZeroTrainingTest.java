package dev.adamant.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizers;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.mixed.MixedPrecisionOptimizer;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.StepResult;
import dev.adamant.zero.ZeroConfig;
import dev.adamant.zero.ZeroRun;
import dev.adamant.zero.ZeroStage;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** End to end with the real MLP: the engine against the plain mixed-precision optimizer, and learning. */
class ZeroTrainingTest {
    private static final int[] WIDTHS = {32, 64, 64, 8};
    private static final long SEED = 42;

    static ZeroConfig config(ZeroStage stage, int devices, int microBatch) {
        return ZeroConfig.builder().stage(stage).precision(Precision.FP16).optimizer(AdamConfig.adamW().withLr(3e-3))
                .lossScaler(() -> DynamicLossScaler.builder().initScale(65536).growthInterval(10).build())
                .globalBatch(devices * microBatch).build();
    }

    /** The layout's padded 16-bit parameters without the padding. */
    static short[] unpadded(ZeroRun.Result r) {
        short[] out = new short[(int) r.layout().parameters()];
        int at = 0;
        for (FlatLayout.Tensor t : r.layout().tensors()) {
            System.arraycopy(r.finalParams(), (int) t.offset(), out, at, (int) t.count());
            at += (int) t.count();
        }
        return out;
    }

    @Test
    void stageZeroOnOneDeviceEqualsThePlainMixedPrecisionOptimizer() {
        int steps = 40, batch = 32;
        ZeroRun.Result zero = ZeroTraining.run(new ZeroTraining.Options(1, config(ZeroStage.DATA_PARALLEL, 1, batch),
                WIDTHS, batch, steps, SEED, Duration.ofMinutes(1)), r -> { });
        // The same training by hand: one flat buffer, one optimizer, no engine.
        long n = Mlp.parameters(WIDTHS);
        try (Arena arena = Arena.ofShared(); Mlp model = new Mlp(WIDTHS, Precision.FP16, batch);
             MixedPrecisionOptimizer opt = MixedPrecisionOptimizer.builder(
                     Optimizers.adam(AdamConfig.adamW().withLr(3e-3), n), Precision.FP16)
                     .lossScaler(DynamicLossScaler.builder().initScale(65536).growthInterval(10).build()).build()) {
            MemorySegment init = arena.allocate(n * 4, 64), params = arena.allocate(n * 2, 64);
            MemorySegment grads = arena.allocate(n * 2, 64);
            Mlp.initialize(WIDTHS, init, SEED);
            opt.loadMaster(init);
            opt.writeParams(params);
            Teacher teacher = new Teacher(WIDTHS, SEED + 1_000_003);
            MemorySegment x = arena.allocate(batch * 32L * 4, 64), y = arena.allocate(batch * 8L * 4, 64);
            for (int s = 0; s < steps; s++) {
                teacher.sample(s, 0, x, y, batch);
                model.loadBatch(x, y);
                for (int l = 0; l < model.layers(); l++) {
                    model.forward(l, slice(params, model, l));
                }
                float loss = model.loss();
                float scale = opt.scaler().scale();
                for (int l = model.layers() - 1; l >= 0; l--) {
                    model.backward(l, slice(params, model, l), slice(grads, model, l), scale, batch);
                }
                var report = opt.step(params, grads);
                StepResult e = zero.history().get(s);
                assertEquals(report.skipped(), e.skipped(), "step " + s);
                assertEquals(report.scale(), e.scale(), "step " + s);
                assertEquals(loss, e.loss(), "step " + s);
            }
            assertArrayEquals(params.toArray(ValueLayout.JAVA_SHORT_UNALIGNED), unpadded(zero));
        }
    }

    private static MemorySegment slice(MemorySegment buffer, Mlp model, int layer) {
        return buffer.asSlice(model.layerOffset(layer) * 2, model.layerParameters(layer) * 2);
    }

    @Test
    void stagesAgreeBitForBitWithTheRealModel() {
        int batch = 16, steps = 15;
        short[] reference = null;
        for (ZeroStage stage : ZeroStage.values()) {
            ZeroRun.Result r = ZeroTraining.run(new ZeroTraining.Options(3, config(stage, 3, batch), WIDTHS, batch,
                    steps, SEED, Duration.ofMinutes(1)), s -> { });
            short[] params = unpadded(r);
            if (reference == null) {
                reference = params;
            } else {
                assertArrayEquals(reference, params, stage.toString());
            }
        }
    }

    @Test
    void theDemosDefaultRunLearns() {
        // The demo's defaults: widths {32, 128, 128, 8}, 2 devices, stage 2, 64 examples each, 400 steps, lr 3e-3.
        int[] widths = {32, 128, 128, 8};
        ZeroConfig config = ZeroConfig.builder().stage(ZeroStage.GRADIENTS).precision(Precision.FP16)
                .optimizer(AdamConfig.adamW().withLr(3e-3))
                .lossScaler(() -> DynamicLossScaler.builder().initScale(65536).growthInterval(50).build())
                .globalBatch(128).build();
        ZeroRun.Result r = ZeroTraining.run(new ZeroTraining.Options(2, config, widths, 64, 400, SEED,
                Duration.ofMinutes(2)), s -> { });
        double first = r.history().get(0).loss();
        double last = Arrays.stream(r.history().subList(390, 400).stream().mapToDouble(StepResult::loss).toArray())
                .average().orElseThrow();
        assertTrue(first / last >= 10, "loss " + first + " -> " + last + ": only " + first / last + "x lower");
    }
}
