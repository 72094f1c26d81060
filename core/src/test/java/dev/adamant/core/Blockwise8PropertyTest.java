package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.adamant.core.quant.Blockwise8Codec;
import dev.adamant.core.quant.DynamicMap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.quicktheories.generators.Generate;

/**
 * Properties of the 8-bit optimizers ({@link StateFormat#BLOCKWISE_8BIT}), for random
 * hyper-parameters of every kind it supports, sizes 1 to 5000 (every size quantized:
 * {@code minBlockwiseSize} 0) and parameter and gradient slices at random offsets:
 * <ul>
 *   <li>The fused step (dequantize a tile, the fp32 kernel, re-quantize) equals, bit for bit, the
 *       composition the test makes of separately tested pieces: {@link Blockwise8Codec} dequantizes
 *       the state, the fp32 optimizer of the same config steps it (caller-owned state, the same step
 *       number), and the codec quantizes it again.</li>
 *   <li>The Panama and scalar optimizers agree bit for bit (parameters, codes, absmax), whatever
 *       the JVM-wide kernels are.</li>
 *   <li>A step split (on a team, over an executor, or in block-aligned pieces applied in any order)
 *       equals the serial step bit for bit.</li>
 * </ul>
 */
class Blockwise8PropertyTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final StateFormat EVERY_SIZE = StateFormat.BLOCKWISE_8BIT.withMinBlockwiseSize(0);
    private static final int STEPS = 3;

    /** A random config of {@code kind} (as {@link RandomConfigs#of}) made one the 8-bit format supports. */
    static OptimizerConfig supported(int kind, SplittableRandom r) {
        OptimizerConfig c = RandomConfigs.of(kind, r);
        c = switch (c) {
            case AdamConfig a -> (a.weightDecay() != 0 && !a.decoupledWeightDecay()
                    ? AdamConfig.adamW().withLr(a.lr()).withBetas(a.beta1(), a.beta2()).withEps(a.eps())
                            .withWeightDecay(a.weightDecay()).withMaximize(a.maximize())
                    : a).withAmsgrad(false);
            case SgdConfig s -> s.withNesterov(false).withDampening(0).withMomentum(s.momentum() == 0 ? 0.9 : s.momentum());
            case RmsPropConfig p -> p.withMomentum(0).withCentered(false);
            case AdagradConfig a -> a.withInitialAccumulatorValue(0);
            default -> c;   // Lion: every setting is supported
        };
        return c.withStateFormat(EVERY_SIZE);
    }

    /** Asserts that every state buffer of {@code actual} holds the bytes of {@code expected}'s. */
    static void assertSameState(String what, Optimizer expected, Optimizer actual) {
        assertEquals(expected.stateNames(), actual.stateNames(), what + ": state names");
        for (String name : expected.stateNames()) {
            assertArrayEquals(expected.state(name).toArray(ValueLayout.JAVA_BYTE), actual.state(name).toArray(ValueLayout.JAVA_BYTE),
                    what + ": " + name);
        }
    }

    @Test
    void fusedStepIsDequantizeStepQuantize() {
        qt().withExamples(150).forAll(Generate.range(0, 5), Generate.range(1, 5000), Generate.range(0, 31),
                Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE)).checkAssert((kind, n, offset, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            OptimizerConfig c = supported(kind, r);
            OptimizerConfig fp32 = c.withStateFormat(StateFormat.FP32);
            List<String> fp32Names = fp32.stateNames();
            int states = fp32Names.size(), blocks = (n + 255) / 256;
            try (Arena arena = Arena.ofConfined(); Optimizer opt = Optimizers.create(c, n)) {
                MemorySegment p = slice(arena, RandomConfigs.params(r, n), offset);
                MemorySegment pRef = slice(arena, p.toArray(F), offset);
                MemorySegment[] codes = new MemorySegment[states], absmax = new MemorySegment[states];
                for (int k = 0; k < states; k++) {
                    codes[k] = arena.allocate(n);
                    absmax[k] = arena.allocate(blocks * 4L);
                }
                MemorySegment fp32State = arena.allocate((long) states * n * 4, 4);
                for (int t = 1; t <= STEPS; t++) {
                    MemorySegment g = slice(arena, TestData.randomFloats(r, n, (float) Math.pow(10, -3 + 3 * r.nextDouble()), false), offset);
                    StepOptions o = r.nextBoolean() ? StepOptions.next() : StepOptions.next().withGradScale(0.5 + r.nextDouble());
                    opt.step(p, g, o);
                    for (int k = 0; k < states; k++) {
                        Blockwise8Codec.dequantize(map(k), codes[k], absmax[k], fp32State.asSlice((long) k * n * 4, n * 4L), n);
                    }
                    try (Optimizer ref = Optimizers.create(fp32, n, fp32State)) {
                        ref.step(pRef, g, StepOptions.number(t).withGradScale(o.gradScale()));
                    }
                    for (int k = 0; k < states; k++) {
                        Blockwise8Codec.quantize(map(k), fp32State.asSlice((long) k * n * 4, n * 4L), codes[k], absmax[k], n);
                    }
                    TestData.assertSameBits(c + ", n " + n + ", step " + t + ": params", pRef.toArray(F), p.toArray(F));
                }
                for (int k = 0; k < states; k++) {
                    assertArrayEquals(codes[k].toArray(ValueLayout.JAVA_BYTE), opt.state("state" + (k + 1)).toArray(ValueLayout.JAVA_BYTE),
                            c + ", n " + n + ": state" + (k + 1));
                    assertArrayEquals(absmax[k].toArray(ValueLayout.JAVA_BYTE), opt.state("absmax" + (k + 1)).toArray(ValueLayout.JAVA_BYTE),
                            c + ", n " + n + ": absmax" + (k + 1));
                }
            }
        });
    }

    @Test
    void panamaAndScalarAgree() {
        assumeTrue(Implementation.PANAMA.isAvailable(), "PANAMA is not available in this JVM");
        qt().withExamples(150).forAll(Generate.range(0, 5), Generate.range(1, 5000), Generate.range(0, 31),
                Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE)).checkAssert((kind, n, offset, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            OptimizerConfig c = supported(kind, r);
            try (Arena arena = Arena.ofConfined();
                 Optimizer vector = Optimizers.createOn(c, n, Implementation.PANAMA);
                 Optimizer scalar = Optimizers.createOn(c, n, Implementation.SCALAR)) {
                float[] p0 = RandomConfigs.params(r, n);
                MemorySegment pv = slice(arena, p0, offset), ps = slice(arena, p0, offset);
                for (int t = 1; t <= STEPS; t++) {
                    MemorySegment g = slice(arena, TestData.randomFloats(r, n, 1e-2f, false), offset);
                    vector.step(pv, g);
                    scalar.step(ps, g);
                }
                TestData.assertSameBits(c + ", n " + n + ": params", ps.toArray(F), pv.toArray(F));
                assertSameState(c + ", n " + n, scalar, vector);
            }
        });
    }

    @Test
    void splitStepsEqualSerialSteps() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Team team = Team.create(3)) {
            qt().withExamples(12).forAll(Generate.range(0, 5), Generate.range(0, 3 * 256),
                    Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE)).checkAssert((kind, extra, seed) -> {
                SplittableRandom r = new SplittableRandom(seed);
                OptimizerConfig c = supported(kind, r);
                int n = (int) (3 * Team.MIN_SHARE) + extra;   // a team of 3 takes three shares
                try (Arena arena = Arena.ofShared();
                     Optimizer serial = Optimizers.create(c, n);
                     Optimizer onTeam = Optimizers.create(c, n);
                     Optimizer onPool = Optimizers.create(c, n);
                     Optimizer inPieces = Optimizers.create(c, n)) {
                    float[] p0 = RandomConfigs.params(r, n);
                    MemorySegment p1 = slice(arena, p0, 0), p2 = slice(arena, p0, 0), p3 = slice(arena, p0, 0),
                            p4 = slice(arena, p0, 0);
                    for (int t = 1; t <= 2; t++) {
                        MemorySegment g = slice(arena, TestData.randomFloats(r, n, 1e-2f, false), 0);
                        serial.step(p1, g);
                        onTeam.step(p2, g, team);
                        onPool.step(p3, g, pool, 3);
                        try (Optimizer.Step step = inPieces.beginStep()) {
                            long piece = 256L * (1 + r.nextInt(300));
                            for (long from = (n - 1) / piece * piece; from >= 0; from -= piece) {
                                long len = Math.min(piece, n - from);
                                step.apply(p4.asSlice(from * 4, len * 4), g.asSlice(from * 4, len * 4), from);
                            }
                        }
                    }
                    float[] expected = p1.toArray(F);
                    TestData.assertSameBits(c + ": on a team", expected, p2.toArray(F));
                    TestData.assertSameBits(c + ": over an executor", expected, p3.toArray(F));
                    TestData.assertSameBits(c + ": in pieces", expected, p4.toArray(F));
                    for (Optimizer o : List.of(onTeam, onPool, inPieces)) {
                        assertSameState(c.toString(), serial, o);
                    }
                    assertEquals(2, onTeam.stepCount());
                }
            });
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void restoredStateContinuesBitForBit() {
        qt().withExamples(30).forAll(Generate.range(0, 5), Generate.range(1, 5000),
                Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE)).checkAssert((kind, n, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            OptimizerConfig c = supported(kind, r);
            try (Arena arena = Arena.ofConfined(); Optimizer a = Optimizers.create(c, n); Optimizer b = Optimizers.create(c, n)) {
                float[] p0 = RandomConfigs.params(r, n);
                MemorySegment pa = slice(arena, p0, 0);
                for (int t = 1; t <= 2; t++) {
                    a.step(pa, slice(arena, TestData.randomFloats(r, n, 1e-2f, false), 0));
                }
                MemorySegment pb = slice(arena, pa.toArray(F), 0);
                b.restore(a.stepCount(), (name, buffer) -> buffer.copyFrom(a.state(name)));
                MemorySegment g = slice(arena, TestData.randomFloats(r, n, 1e-2f, false), 0);
                a.step(pa, g);
                b.step(pb, g);
                TestData.assertSameBits(c + ": params after restore", pa.toArray(F), pb.toArray(F));
                assertSameState(c.toString(), a, b);
                assertEquals(3, b.stepCount());
            }
        });
    }

    @Test
    void callerOwnedStateIsOwnedStateAtTheDocumentedOffsets() {
        qt().withExamples(60).forAll(Generate.range(0, 5), Generate.range(1, 5000),
                Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE)).checkAssert((kind, n, seed) -> {
            SplittableRandom r = new SplittableRandom(seed);
            OptimizerConfig c = supported(kind, r);
            // The layout, computed here: state1 (n bytes, rounded up to 4), absmax1 (a float a block), state2, absmax2.
            long codes = (n + 3) / 4 * 4, absmax = (n + 255) / 256 * 4L;
            List<String> names = c.stateNames(n);
            long[] offsets = {0, codes, codes + absmax, 2 * codes + absmax};
            assertEquals((names.size() / 2) * (codes + absmax), c.stateFloats(n) * 4, c + ": stateFloats(" + n + ")");
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = r.nextBoolean() ? arena.allocate(c.stateFloats(n) * 4, 4)
                        : MemorySegment.ofArray(new float[(int) c.stateFloats(n)]);
                try (Optimizer owned = Optimizers.create(c, n); Optimizer callers = Optimizers.create(c, n, state)) {
                    float[] p0 = RandomConfigs.params(r, n);
                    MemorySegment p1 = slice(arena, p0, 0), p2 = slice(arena, p0, 0);
                    for (int t = 1; t <= STEPS; t++) {
                        MemorySegment g = slice(arena, TestData.randomFloats(r, n, 1e-2f, false), 0);
                        owned.step(p1, g);
                        callers.step(p2, g);
                    }
                    TestData.assertSameBits(c + ": params", p1.toArray(F), p2.toArray(F));
                    for (int k = 0; k < names.size(); k++) {
                        byte[] expected = owned.state(names.get(k)).toArray(ValueLayout.JAVA_BYTE);
                        assertArrayEquals(expected, state.asSlice(offsets[k], expected.length).toArray(ValueLayout.JAVA_BYTE),
                                c + ": " + names.get(k) + " at byte " + offsets[k] + " of the caller's state");
                    }
                }
            }
        });
    }

    private static DynamicMap map(int k) {
        return k == 0 ? DynamicMap.SIGNED : DynamicMap.UNSIGNED;
    }

    /** {@code a} in a native segment, {@code offset} floats into a larger one (the slice returned). */
    private static MemorySegment slice(Arena arena, float[] a, int offset) {
        MemorySegment whole = arena.allocate((long) (a.length + offset + 7) * Float.BYTES, 64);
        MemorySegment s = whole.asSlice((long) offset * Float.BYTES, (long) a.length * Float.BYTES);
        MemorySegment.copy(a, 0, s, F, 0, a.length);
        return s;
    }
}
