package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.StateFormat;
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
    void eightBitStatesAreKSixPlusAbsmax() {
        // The paper's example with 8-bit Adam: K = 6, plus 8 bytes per 256 parameters a device steps.
        // Ψ = 7.5B: 29,296,875 blocks unsharded; Ψ/64 = 117,187,500: 457,764 blocks (the last partial).
        long psi = 7_500_000_000L;
        StateFormat f = StateFormat.BLOCKWISE_8BIT;
        assertEquals(75_000_000_000L + 8 * 29_296_875L, MemoryPlan.bytesPerDevice(ZeroStage.DATA_PARALLEL, psi, 64, f));
        assertEquals(30_000_000_000L + 703_125_000L + 8 * 457_764L,
                MemoryPlan.bytesPerDevice(ZeroStage.OPTIMIZER_STATE, psi, 64, f));
        assertEquals(15_000_000_000L + 937_500_000L + 8 * 457_764L,
                MemoryPlan.bytesPerDevice(ZeroStage.GRADIENTS, psi, 64, f));
        assertEquals(1_171_875_000L + 8 * 457_764L, MemoryPlan.bytesPerDevice(ZeroStage.PARAMETERS, psi, 64, f));
        // Ψ = 10, N = 4: partitions of 3, one (partial) block each, one of 10 unsharded.
        assertEquals(100 + 8, MemoryPlan.bytesPerDevice(ZeroStage.DATA_PARALLEL, 10, 4, 6, 8));
        assertEquals(40 + 18 + 8, MemoryPlan.bytesPerDevice(ZeroStage.OPTIMIZER_STATE, 10, 4, f));
        assertEquals(20 + 24 + 8, MemoryPlan.bytesPerDevice(ZeroStage.GRADIENTS, 10, 4, f));
        assertEquals(30 + 8, MemoryPlan.bytesPerDevice(ZeroStage.PARAMETERS, 10, 4, f));
        // FP32 states: the K = 12 table, unchanged.
        for (ZeroStage stage : ZeroStage.values()) {
            assertEquals(MemoryPlan.bytesPerDevice(stage, psi, 64), MemoryPlan.bytesPerDevice(stage, psi, 64, StateFormat.FP32));
            assertEquals(MemoryPlan.bytesPerDevice(stage, psi, 64, 12), MemoryPlan.bytesPerDevice(stage, psi, 64, 12, 0));
        }
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> MemoryPlan.bytesPerDevice(ZeroStage.of(1), 1, 1, 6, -1)).getMessage().startsWith("bytesPerBlock"));
        assertTrue(assertThrows(NullPointerException.class,
                () -> MemoryPlan.bytesPerDevice(ZeroStage.of(1), 1, 1, (StateFormat) null)).getMessage().contains("format"));
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
