package dev.adamant.core;

import static dev.adamant.core.BadInputTest.assertRefused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the 8-bit state format refuses, and what it does below its size threshold: every refusal
 * names the argument and the setting, and changes nothing.
 */
class Blockwise8BadInputTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final StateFormat Q = StateFormat.BLOCKWISE_8BIT;
    private static final int N = 5000;

    private static MemorySegment floats(Arena arena, long n, float scale) {
        MemorySegment s = arena.allocate(n * Float.BYTES, 64);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(F, i, scale * (float) Math.sin(i + 1 + scale));
        }
        return s;
    }

    @Test
    void unsupportedSettingsAreRefusedNamingThem() {
        List<Object[]> cases = List.of(
                new Object[] {AdamConfig.adamW().withAmsgrad(true), "amsgrad"},
                new Object[] {AdamConfig.adam().withWeightDecay(0.1), "L2 weight decay"},
                new Object[] {SgdConfig.sgd(0.1).withMomentum(0.9).withNesterov(true), "nesterov"},
                new Object[] {SgdConfig.sgd(0.1).withMomentum(0.9).withDampening(0.5), "dampening"},
                new Object[] {RmsPropConfig.rmsProp().withMomentum(0.9), "momentum"},
                new Object[] {RmsPropConfig.rmsProp().withCentered(true), "centered"},
                new Object[] {AdagradConfig.adagrad().withInitialAccumulatorValue(0.1), "initialAccumulatorValue"});
        for (Object[] c : cases) {
            OptimizerConfig config = ((OptimizerConfig) c[0]).withStateFormat(Q);
            IllegalArgumentException e = assertRefused(IllegalArgumentException.class, (String) c[1],
                    () -> Optimizers.create(config, N));
            assertTrue(e.getMessage().startsWith("config: the 8-bit block-wise state format does not support"),
                    e.getMessage());
            // The same settings with fp32 states are fine, and Adam with weight decay 0 is fine in 8 bits.
            Optimizers.create(config.withStateFormat(StateFormat.FP32), N).close();
        }
        Optimizers.create(AdamConfig.adam().withStateFormat(Q), N).close();
    }

    @Test
    void formatArgumentsAreChecked() {
        assertRefused(NullPointerException.class, "stateFormat", () -> AdamConfig.adamW().withStateFormat(null));
        assertRefused(IllegalArgumentException.class, "minBlockwiseSize", () -> Q.withMinBlockwiseSize(-1));
        assertRefused(IllegalStateException.class, "FP32", () -> StateFormat.FP32.withMinBlockwiseSize(0));
        assertEquals(4096, Q.minBlockwiseSize());
        assertEquals(256, StateFormat.BLOCK);
        // The codes of 0.0, looked up in bitsandbytes' tables (the fixture's qmap files): signed index 127, unsigned 0.
        float[] signed = dev.adamant.core.quant.QuantFixtures.floats("bnb-8bit/qmap-signed.f32", 256);
        float[] unsigned = dev.adamant.core.quant.QuantFixtures.floats("bnb-8bit/qmap-unsigned.f32", 256);
        assertEquals(0f, signed[StateFormat.zeroCode("state1") & 0xFF]);
        assertEquals(0f, unsigned[StateFormat.zeroCode("state2") & 0xFF]);
        assertRefused(IllegalArgumentException.class, "name: expected state1 or state2", () -> StateFormat.zeroCode("absmax1"));
        assertTrue(Q.quantizes(4096) && !Q.quantizes(4095) && !StateFormat.FP32.quantizes(1L << 40));
        assertEquals(AdamConfig.adamW(), AdamConfig.adamW().withStateFormat(StateFormat.FP32));
        assertTrue(!AdamConfig.adamW().equals(AdamConfig.adamW().withStateFormat(Q)));
        assertTrue(AdamConfig.adamW().withStateFormat(Q).toString().contains("state_format=BLOCKWISE_8BIT"));
        assertEquals(Q, AdamConfig.adamW().withStateFormat(Q).withLr(0.5).withBetas(0.8, 0.9).stateFormat(),
                "with… keeps the format");
    }

    @Test
    void callerOwnedStateOfTheWrongSizeAndMultiTensor8BitStateAreRefused() {
        OptimizerConfig c = AdamConfig.adamW().withStateFormat(Q);
        // 5000 bytes of codes (already a whole number of floats), 20 blocks of absmax, twice.
        assertEquals(2 * (5000 + 20 * 4) / 4, c.stateFloats(N));
        assertEquals(2L * 100, c.stateFloats(100), "below the threshold: fp32");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fp32Sized = arena.allocate(2L * N * Float.BYTES, 64);
            assertRefused(IllegalArgumentException.class, "state: ", () -> Optimizers.create(c, N, fp32Sized));
            assertTrue(fp32Sized.asByteBuffer().equals(arena.allocate(fp32Sized.byteSize()).asByteBuffer()),
                    "state untouched");
            Optimizers.create(c, N, arena.allocate(c.stateFloats(N) * 4, 4)).close();
            Optimizers.create(c, 100, arena.allocate(800, 4)).close();
            List<ParamGroup> groups = List.of(ParamGroup.of(c, N));
            assertRefused(IllegalArgumentException.class, "groups[0].config", () -> Optimizers.multiTensor(groups));
        }
    }

    @Test
    void misalignedPiecesWrongNamesAndOtherFormatsAreRefusedChangingNothing() {
        OptimizerConfig c = LionConfig.lion().withStateFormat(Q);
        try (Arena arena = Arena.ofShared(); Optimizer opt = Optimizers.create(c, N)) {
            MemorySegment p = floats(arena, N, 1f), g = floats(arena, N, 1e-2f);
            opt.step(p, g);
            Snapshot before = Snapshot.of(opt, p, g);
            try (Optimizer.Step step = opt.beginStep()) {
                assertRefused(IllegalArgumentException.class, "stateOffset: elements [100, 612)",
                        () -> step.apply(p.asSlice(400, 2048), g.asSlice(400, 2048), 100));
                assertRefused(IllegalArgumentException.class, "stateOffset: elements [256, 356)",
                        () -> step.apply(p.asSlice(1024, 400), g.asSlice(1024, 400), 256));
                step.cancel();
            }
            before.assertUnchanged("misaligned pieces", opt, p, g);
            assertRefused(IllegalArgumentException.class, "state format", () -> opt.setConfig(LionConfig.lion()));
            assertRefused(IllegalArgumentException.class, "name: expected one of [state1]",
                    () -> opt.dequantizedState("absmax1", arena));
            assertRefused(IllegalArgumentException.class, "name: expected one of [state1]",
                    () -> opt.dequantizedState("exp_avg", arena));
            assertRefused(NullPointerException.class, "arena", () -> opt.dequantizedState("state1", null));
            before.assertUnchanged("refused calls", opt, p, g);
            opt.setLr(1e-3);
            assertEquals(Q, opt.config().stateFormat(), "setLr keeps the format");
            // A piece that ends at the end of the tensor may be partial.
            try (Optimizer.Step step = opt.beginStep()) {
                step.apply(p.asSlice(4864L * 4), g.asSlice(4864L * 4), 4864);
                step.apply(p.asSlice(0, 4864L * 4), g.asSlice(0, 4864L * 4), 0);
            }
            assertEquals(2, opt.stepCount());
        }
    }

    @Test
    void belowTheThresholdTheOptimizerIsTheFp32One() {
        int n = 4095;
        OptimizerConfig c = AdamConfig.adamW().withStateFormat(Q);
        try (Arena arena = Arena.ofConfined();
             Optimizer small = Optimizers.create(c, n);
             Optimizer fp32 = Optimizers.create(AdamConfig.adamW(), n)) {
            assertEquals(List.of("exp_avg", "exp_avg_sq"), small.stateNames());
            assertEquals(List.of("exp_avg", "exp_avg_sq"), c.stateNames(n));
            assertEquals(List.of("state1", "absmax1", "state2", "absmax2"), c.stateNames(n + 1));
            MemorySegment p1 = floats(arena, n, 1f), p2 = floats(arena, n, 1f), g = floats(arena, n, 1e-2f);
            for (int t = 0; t < 3; t++) {
                small.step(p1, g);
                fp32.step(p2, g);
            }
            TestData.assertSameBits("params", TestData.toArray(p2), TestData.toArray(p1));
            TestData.assertSameBits("exp_avg_sq", TestData.toArray(fp32.state("exp_avg_sq")),
                    TestData.toArray(small.state("exp_avg_sq")));
            MemorySegment copy = small.dequantizedState("exp_avg", arena);
            TestData.assertSameBits("fp32 copy", TestData.toArray(fp32.state("exp_avg")), TestData.toArray(copy));
        }
    }
}
