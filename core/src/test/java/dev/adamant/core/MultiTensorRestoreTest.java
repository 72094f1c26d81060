package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link MultiTensorOptimizer#restore}: a fresh optimizer given another's state, read out tensor by
 * tensor with {@code state(tensor, name)}, and its step count continues bit for bit as the other
 * does, for every kind, on a team of two, and for groups that keep different buffers.
 */
class MultiTensorRestoreTest {
    private static final long[][] SIZES = {{20_000, 3, 17}, {}, {4099, 1}};

    private static void continuesAsTheOriginal(OptimizerConfig first, OptimizerConfig second, OptimizerConfig third) {
        List<ParamGroup> groups = List.of(ParamGroup.of(first, SIZES[0]), ParamGroup.of(second, SIZES[1]),
                ParamGroup.of(third, SIZES[2]));
        SplittableRandom r = new SplittableRandom(42);
        try (Arena arena = Arena.ofShared(); Team team = Team.create(2);
             MultiTensorOptimizer original = Optimizers.multiTensor(groups)) {
            List<MemorySegment> p = new ArrayList<>(), q = new ArrayList<>();
            for (long[] sizes : SIZES) {
                for (long n : sizes) {
                    p.add(TestData.nativeCopy(arena, TestData.randomFloats(r, (int) n, 1f, false)));
                    q.add(arena.allocate(n * Float.BYTES, 64));
                }
            }
            for (int t = 0; t < 5; t++) {
                original.step(p, grads(arena, r), team);
            }
            original.setLr(2, 1e-4);
            // Read out, as a checkpoint would: every tensor's buffers under PyTorch's names.
            Map<String, float[]> saved = new HashMap<>();
            for (int i = 0; i < original.tensors(); i++) {
                MemorySegment.copy(p.get(i), 0, q.get(i), 0, p.get(i).byteSize());
                for (String name : original.stateNames(original.group(i))) {
                    saved.put(i + " " + name, TestData.toArray(original.state(i, name)));
                }
            }
            try (MultiTensorOptimizer copy = Optimizers.multiTensor(groups)) {
                copy.setLr(2, 1e-4);
                List<String> filled = new ArrayList<>();
                copy.restore(original.stepCount(), (tensor, name, state) -> {
                    assertEquals(copy.size(tensor) * Float.BYTES, state.byteSize());
                    assertFalse(state.isReadOnly());
                    MemorySegment.copy(saved.get(tensor + " " + name), 0, state, TestData.F, 0, (int) copy.size(tensor));
                    filled.add(tensor + " " + name);
                });
                assertEquals(saved.keySet(), new HashSet<>(filled));
                assertEquals(saved.size(), filled.size(), "each buffer once");
                assertEquals(5, copy.stepCount());
                for (int t = 0; t < 2; t++) {
                    List<MemorySegment> g = grads(arena, r);
                    original.step(p, g, team);
                    copy.step(q, g);
                }
                for (int i = 0; i < original.tensors(); i++) {
                    assertSameBits("params[" + i + "]", TestData.toArray(p.get(i)), TestData.toArray(q.get(i)));
                }
                for (String name : original.stateNames()) {
                    assertSameBits(name, TestData.toArray(original.state(name)), TestData.toArray(copy.state(name)));
                }
            }
        }
    }

    private static List<MemorySegment> grads(Arena arena, SplittableRandom r) {
        List<MemorySegment> g = new ArrayList<>();
        for (long[] sizes : SIZES) {
            for (long n : sizes) {
                g.add(TestData.nativeCopy(arena, TestData.randomFloats(r, (int) n, 1f, false)));
            }
        }
        return g;
    }

    @Test
    void everyKindContinuesBitForBitFromARestoredState() {
        continuesAsTheOriginal(AdamConfig.adamW().withAmsgrad(true), AdamConfig.adam(), AdamConfig.adamW().withWeightDecay(0));
        continuesAsTheOriginal(SgdConfig.sgd(0.01).withMomentum(0.9).withNesterov(true), SgdConfig.sgd(0.1),
                SgdConfig.sgd(0.05));
        continuesAsTheOriginal(RmsPropConfig.rmsProp().withCentered(true), RmsPropConfig.rmsProp(),
                RmsPropConfig.rmsProp().withMomentum(0.5));
    }

    @Test
    void aFillThatThrowsClosesTheOptimizer() {
        MultiTensorOptimizer o = Optimizers.multiTensor(List.of(ParamGroup.of(AdamConfig.adam(), 5, 6)));
        List<String> filled = new ArrayList<>();
        RuntimeException boom = new IllegalStateException("disk on fire");
        assertEquals(boom, assertThrows(IllegalStateException.class,
                () -> o.restore(3, (tensor, name, state) -> {
                    filled.add(tensor + " " + name);
                    if (tensor == 1) {
                        throw boom;
                    }
                })));
        assertEquals(List.of("0 exp_avg", "0 exp_avg_sq", "1 exp_avg"), filled);
        assertEquals(0, o.stepCount());
        assertThrows(IllegalStateException.class, () -> o.state(0, "exp_avg"));
    }
}
