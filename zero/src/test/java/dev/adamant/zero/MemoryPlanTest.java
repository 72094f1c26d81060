package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The calculator against the ZeRO paper's worked example and against hand-computed values. */
class MemoryPlanTest {

    @Test
    void theZeroPapersExample() {
        // Rajbhandari et al., figure 1: Ψ = 7.5B, N = 64, K = 12: 120 GB, 31.4 GB, 16.6 GB, 1.88 GB.
        long psi = 7_500_000_000L;
        assertEquals(120_000_000_000L, MemoryPlan.bytesPerDevice(ZeroStage.DATA_PARALLEL, psi, 64));
        assertEquals(31_406_250_000L, MemoryPlan.bytesPerDevice(ZeroStage.OPTIMIZER_STATE, psi, 64));
        assertEquals(16_640_625_000L, MemoryPlan.bytesPerDevice(ZeroStage.GRADIENTS, psi, 64));
        assertEquals(1_875_000_000L, MemoryPlan.bytesPerDevice(ZeroStage.PARAMETERS, psi, 64));
    }

    @Test
    void otherKAndUnevenPartitions() {
        // K = 8 (SGD-free Adam without master weights, say), Ψ = 10, N = 4: partitions of 3.
        assertEquals(120, MemoryPlan.bytesPerDevice(ZeroStage.DATA_PARALLEL, 10, 4, 8));
        assertEquals(40 + 24, MemoryPlan.bytesPerDevice(ZeroStage.OPTIMIZER_STATE, 10, 4, 8));
        assertEquals(20 + 30, MemoryPlan.bytesPerDevice(ZeroStage.GRADIENTS, 10, 4, 8));
        assertEquals(36, MemoryPlan.bytesPerDevice(ZeroStage.PARAMETERS, 10, 4, 8));
        assertEquals(16, MemoryPlan.bytesPerDevice(ZeroStage.PARAMETERS, 1, 1));
        assertEquals(0, MemoryPlan.bytesPerDevice(ZeroStage.PARAMETERS, 0, 8));
    }

    @Test
    void stagesAndBadInput() {
        assertEquals(ZeroStage.DATA_PARALLEL, ZeroStage.of(0));
        assertEquals(ZeroStage.OPTIMIZER_STATE, ZeroStage.of(1));
        assertEquals(ZeroStage.GRADIENTS, ZeroStage.of(2));
        assertEquals(ZeroStage.PARAMETERS, ZeroStage.of(3));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ZeroStage.of(4)).getMessage().startsWith("stage"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> MemoryPlan.bytesPerDevice(ZeroStage.of(1), -1, 2)).getMessage().startsWith("parameters"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> MemoryPlan.bytesPerDevice(ZeroStage.of(1), 1, 0)).getMessage().startsWith("devices"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> MemoryPlan.bytesPerDevice(ZeroStage.of(1), 1, 1, -1)).getMessage().startsWith("optimizerBytes"));
        assertThrows(ArithmeticException.class, () -> MemoryPlan.bytesPerDevice(ZeroStage.of(0), Long.MAX_VALUE / 2, 1));
    }
}
