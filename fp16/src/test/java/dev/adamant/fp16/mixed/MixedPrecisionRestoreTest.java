package dev.adamant.fp16.mixed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizers;
import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link MixedPrecisionOptimizer#restore}: master weights, optimizer state, step count (and with it
 * stochastic rounding's counters) and loss scale carried over make a second optimizer continue
 * exactly as the first.
 */
class MixedPrecisionRestoreTest {
    private static final int N = 5000;

    private static MixedPrecisionOptimizer make() {
        return MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adamW(), N), Precision.BF16)
                .rounding(Rounding.stochastic(3))
                .lossScaler(DynamicLossScaler.builder().initScale(1024).growthInterval(3).build()).build();
    }

    private static MemorySegment grads(Arena arena, long seed) {
        Random r = new Random(seed);
        MemorySegment g = arena.allocate(N * 2L, 64);
        for (int i = 0; i < N; i++) {
            g.setAtIndex(ValueLayout.JAVA_SHORT, i, BFloat16.fromFloat((float) (r.nextGaussian() * (seed == 104 ? 1e38 : 10))));
        }
        return g;
    }

    @Test
    void aRestoredOptimizerContinuesBitForBit() {
        try (Arena arena = Arena.ofConfined(); MixedPrecisionOptimizer a = make(); MixedPrecisionOptimizer b = make()) {
            MemorySegment init = arena.allocate(N * 4L, 64);
            Random r = new Random(1);
            for (int i = 0; i < N; i++) {
                init.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            }
            MemorySegment pa = arena.allocate(N * 2L, 64), pb = arena.allocate(N * 2L, 64);
            a.loadMaster(init);
            a.writeParams(pa);
            for (int t = 0; t < 6; t++) {   // step 104's gradients overflow: one skipped step, the scale backs off
                a.step(pa, grads(arena, 100 + t));
            }
            MemorySegment.copy(pa, 0, pb, 0, pa.byteSize());
            b.restore(a.optimizer().stepCount(), a.scaler().state(), (name, buffer) -> MemorySegment.copy(
                    name.equals(MixedPrecisionOptimizer.MASTER) ? a.masterWeights() : a.optimizer().state(name), 0,
                    buffer, 0, buffer.byteSize()));
            assertEquals(a.scaler().state(), b.scaler().state());
            for (int t = 6; t < 10; t++) {
                MemorySegment g = grads(arena, 100 + t);
                assertEquals(a.step(pa, g), b.step(pb, g));
            }
            assertArrayEquals(pa.toArray(ValueLayout.JAVA_SHORT), pb.toArray(ValueLayout.JAVA_SHORT));
            assertArrayEquals(a.masterWeights().toArray(ValueLayout.JAVA_FLOAT), b.masterWeights().toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    @Test
    void aFailedFillClosesTheOptimizerAndARefusedScaleChangesNothing() {
        MixedPrecisionOptimizer m = make();
        DynamicLossScaler.State before = m.scaler().state();
        assertThrows(IllegalArgumentException.class, () -> m.restore(3, new DynamicLossScaler.State(-1f, 0, 1), (n, b) -> { }));
        assertEquals(before, m.scaler().state());
        assertThrows(IllegalArgumentException.class, () -> m.restore(-1, null, (n, b) -> { }));
        assertThrows(IllegalStateException.class, () -> m.restore(3, null, (n, b) -> {
            throw new IllegalStateException("corrupt");
        }));
        assertThrows(IllegalStateException.class, m::masterWeights);
    }
}
