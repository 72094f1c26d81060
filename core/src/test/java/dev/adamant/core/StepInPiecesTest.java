package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Optimizer#beginStep()}: applying every range once, in any order and in pieces of any size,
 * equals one whole step bit for bit; a begun step blocks other steps until closed; bad ranges and
 * finished steps are refused with nothing changed.
 */
class StepInPiecesTest {
    private static final int N = 10_007;

    @Test
    void piecesInAnyOrderEqualTheWholeStep() {
        SplittableRandom r = new SplittableRandom(3);
        float[] p0 = TestData.randomFloats(r, N, 1f, false);
        float[][] grads = {TestData.randomFloats(r, N, 1f, false), TestData.randomFloats(r, N, 1f, false)};
        try (Arena arena = Arena.ofConfined();
             Optimizer whole = Optimizers.adam(AdamConfig.adamW().withAmsgrad(true), N);
             Optimizer pieces = Optimizers.adam(AdamConfig.adamW().withAmsgrad(true), N)) {
            MemorySegment pw = TestData.nativeCopy(arena, p0), pp = TestData.nativeCopy(arena, p0);
            for (float[] g : grads) {
                MemorySegment gs = TestData.nativeCopy(arena, g);
                whole.step(pw, gs);
                // Pieces from the end backwards, of uneven sizes; the gradients in a separate buffer.
                try (Optimizer.Step step = pieces.beginStep()) {
                    assertEquals(pieces.stepCount() + 1, step.number());
                    long end = N;
                    while (end > 0) {
                        long count = Math.min(end, 1 + r.nextInt(3000));
                        long from = end - count;
                        MemorySegment gCopy = TestData.nativeCopy(arena, java.util.Arrays.copyOfRange(g, (int) from, (int) end));
                        step.apply(pp.asSlice(from * 4, count * 4), gCopy, from);
                        end = from;
                    }
                }
            }
            assertEquals(2, pieces.stepCount());
            assertSameBits("params", TestData.toArray(pw), TestData.toArray(pp));
            for (String name : whole.stateNames()) {
                assertSameBits(name, TestData.toArray(whole.state(name)), TestData.toArray(pieces.state(name)));
            }
        }
    }

    @Test
    void aBegunStepBlocksOthersAndBadRangesChangeNothing() {
        try (Arena arena = Arena.ofConfined(); Optimizer opt = Optimizers.sgd(SgdConfig.sgd(0.1).withMomentum(0.9), N)) {
            MemorySegment p = arena.allocate(N * 4L), g = arena.allocate(N * 4L);
            Optimizer.Step step = opt.beginStep();
            assertTrue(assertThrows(IllegalStateException.class, () -> opt.step(p, g)).getMessage().contains("still open"));
            assertThrows(IllegalStateException.class, opt::beginStep);
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> step.apply(p.asSlice(0, 400), g.asSlice(0, 400), N - 50)).getMessage().startsWith("stateOffset"));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> step.apply(p.asSlice(0, 400), g.asSlice(0, 404), 0)).getMessage().startsWith("grads"));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> step.apply(p.asSlice(0, 400).asReadOnly(), g.asSlice(0, 400), 0)).getMessage().startsWith("params"));
            step.close();
            step.close();   // idempotent
            assertEquals(1, opt.stepCount());
            assertTrue(assertThrows(IllegalStateException.class,
                    () -> step.apply(p.asSlice(0, 400), g.asSlice(0, 400), 0)).getMessage().contains("finished"));
            opt.step(p, g);
            assertEquals(2, opt.stepCount());
        }
    }
}
