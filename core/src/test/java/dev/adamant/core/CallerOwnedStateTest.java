package dev.adamant.core;

import static dev.adamant.core.TestData.F;
import static dev.adamant.core.TestData.assertSameBits;
import static dev.adamant.core.TestData.toArray;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Caller-owned state ({@link Optimizers#create(OptimizerConfig, long, MemorySegment)} and
 * {@link Optimizers#multiTensor(List, MemorySegment)}): an optimizer over a zeroed segment of the
 * caller's steps bit for bit as one that owns its state, and the segment holds the owned one's state
 * at the documented offsets; close() leaves it alone; a copy of it, taken mid-run and given to a new
 * optimizer with the caller's step numbers, continues the run bit for bit.
 *
 * <p>The layouts are checked against offsets computed here from the javadoc (buffer {@code k} at
 * floats {@code k * n}; multi-tensor slices padded to 16 floats), and the state names against
 * PyTorch's lists written out here, not taken from the code under test.
 */
class CallerOwnedStateTest {
    private static final int[] SIZES = {1, 17, 1021};
    private static final int STEPS = 4;

    /** A config and the state buffers PyTorch keeps for it, in its order. */
    private record Case(OptimizerConfig config, List<String> names) {
        @Override
        public String toString() {
            return config.toString();
        }
    }

    private static final List<Case> CASES = List.of(
            new Case(AdamConfig.adam().withLr(1e-2), List.of("exp_avg", "exp_avg_sq")),
            new Case(AdamConfig.adamW().withLr(1e-2).withWeightDecay(0.05), List.of("exp_avg", "exp_avg_sq")),
            new Case(AdamConfig.adamW().withLr(1e-2).withWeightDecay(0.05).withAmsgrad(true),
                    List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
            new Case(SgdConfig.sgd(0.1), List.of()),
            new Case(SgdConfig.sgd(0.05).withMomentum(0.9).withWeightDecay(0.01), List.of("momentum_buffer")),
            new Case(RmsPropConfig.rmsProp().withLr(0.01), List.of("square_avg")),
            new Case(RmsPropConfig.rmsProp().withLr(0.01).withMomentum(0.9), List.of("square_avg", "momentum_buffer")),
            new Case(RmsPropConfig.rmsProp().withLr(0.01).withMomentum(0.5).withCentered(true).withWeightDecay(0.01),
                    List.of("square_avg", "momentum_buffer", "grad_avg")));

    /** The JVM-wide kernels (null), and each named one this JVM has. */
    private static List<Implementation> implementations() {
        List<Implementation> all = new ArrayList<>();
        all.add(null);
        all.add(Implementation.SCALAR);
        if (Implementation.PANAMA.isAvailable()) {
            all.add(Implementation.PANAMA);
        }
        return all;
    }

    private static Optimizer owned(OptimizerConfig c, long n, Implementation impl) {
        if (impl == null) {
            return Optimizers.create(c, n);
        }
        return switch (c) {
            case AdamConfig a -> Optimizers.adam(a, n, impl);
            case SgdConfig s -> Optimizers.sgd(s, n, impl);
            case RmsPropConfig r -> Optimizers.rmsProp(r, n, impl);
            case AdagradConfig a -> Optimizers.adagrad(a, n, impl);
            case LionConfig l -> Optimizers.lion(l, n, impl);
            case AdafactorConfig a -> throw new AssertionError("not drawn: " + a);   // no caller-owned state
        };
    }

    private static Optimizer callers(OptimizerConfig c, long n, MemorySegment state, Implementation impl) {
        return impl == null ? Optimizers.create(c, n, state) : Optimizers.create(c, n, state, impl);
    }

    private static MultiTensorOptimizer owned(List<ParamGroup> groups, Implementation impl) {
        return impl == null ? Optimizers.multiTensor(groups) : Optimizers.multiTensor(groups, impl);
    }

    private static MultiTensorOptimizer callers(List<ParamGroup> groups, MemorySegment state, Implementation impl) {
        return impl == null ? Optimizers.multiTensor(groups, state) : Optimizers.multiTensor(groups, state, impl);
    }

    /** A zeroed segment of {@code floats} floats: native (64-byte aligned) or a heap float array; null for none. */
    private static MemorySegment zeroed(Arena arena, boolean heap, long floats) {
        if (floats == 0) {
            return null;
        }
        return heap ? MemorySegment.ofArray(new float[Math.toIntExact(floats)]) : arena.allocate(floats * Float.BYTES, 64);
    }

    private static float[] random(long seed, int n) {
        return TestData.randomFloats(new SplittableRandom(seed), n, 1f, false);
    }

    private static MemorySegment copy(Arena arena, MemorySegment s) {
        MemorySegment c = arena.allocate(s.byteSize(), 64);
        MemorySegment.copy(s, 0, c, 0, s.byteSize());
        return c;
    }

    private static float[] floats(MemorySegment s, long fromFloat, long count) {
        return toArray(s.asSlice(fromFloat * Float.BYTES, count * Float.BYTES));
    }

    // ---- single tensor ----

    @Test
    void stateNamesAndSizesAreTheDocumentedOnes() {
        for (Case c : CASES) {
            assertEquals(c.names, c.config.stateNames(), c.toString());
            for (int n : SIZES) {
                assertEquals((long) c.names.size() * n, c.config.stateFloats(n), c + ", n " + n);
            }
        }
    }

    /** (a) Bit for bit as the owned optimizer; the caller's segment is the owned state, laid out as documented. */
    @Test
    void stepsAsAnOwnedOptimizerAndHoldsItsStateAtTheDocumentedOffsets() {
        try (Arena arena = Arena.ofConfined()) {
            for (Implementation impl : implementations()) {
                for (Case c : CASES) {
                    for (int n : SIZES) {
                        for (boolean heap : new boolean[] {false, true}) {
                            String what = c + ", n " + n + (heap ? ", heap" : ", native") + ", " + impl;
                            MemorySegment state = zeroed(arena, heap, (long) c.names.size() * n);
                            sameAsOwned(what, c, n, state, impl, arena);
                        }
                    }
                }
            }
        }
    }

    private static void sameAsOwned(String what, Case c, int n, MemorySegment state, Implementation impl, Arena arena) {
        float[] start = random(1, n);
        MemorySegment p1 = TestData.nativeCopy(arena, start), p2 = TestData.nativeCopy(arena, start);
        try (Optimizer own = owned(c.config, n, impl); Optimizer theirs = callers(c.config, n, state, impl)) {
            assertEquals(c.names, theirs.stateNames(), what);
            List<MemorySegment> views = c.names.stream().map(theirs::state).toList();
            for (int t = 1; t <= STEPS; t++) {
                MemorySegment g = TestData.nativeCopy(arena, random(100 + t, n));
                own.step(p1, g);
                theirs.step(p2, g);
                assertSameBits(what + ", params after step " + t, toArray(p1), toArray(p2));
                for (int k = 0; k < c.names.size(); k++) {
                    String name = c.names.get(k);
                    float[] expected = toArray(own.state(name));
                    assertSameBits(what + ", caller's floats [" + k + " * n, ...) = " + name + " after step " + t,
                            expected, floats(state, (long) k * n, n));
                    assertSameBits(what + ", state(" + name + ")", expected, toArray(views.get(k)));
                }
            }
            assertEquals(STEPS, theirs.stepCount(), what);
            // The views are of the caller's memory, not copies: a write there shows through a view taken earlier.
            for (int k = 0; k < c.names.size(); k++) {
                long at = (long) k * n + n - 1;
                float marker = 1234.5f + k;
                state.setAtIndex(F, at, marker);
                assertEquals(marker, views.get(k).getAtIndex(F, n - 1), what + ", view of " + c.names.get(k));
                assertEquals(marker, theirs.state(c.names.get(k)).getAtIndex(F, n - 1), what);
                if (state.isNative()) {
                    assertEquals(state.address() + (long) k * n * Float.BYTES, theirs.state(c.names.get(k)).address(),
                            what + ", " + c.names.get(k) + " starts at float k * n of the caller's segment");
                }
            }
        }
    }

    /** Update mode over the caller's state: the update and the state are the owned optimizer's, bit for bit. */
    @Test
    void updateModeOverTheCallersStateIsTheOwnedOnes() {
        int n = 17;
        for (Case c : CASES) {
            try (Arena arena = Arena.ofConfined(); Optimizer own = Optimizers.create(c.config, n)) {
                MemorySegment state = zeroed(arena, true, c.config.stateFloats(n));
                MemorySegment p = TestData.nativeCopy(arena, random(1, n)).asReadOnly();
                MemorySegment u1 = arena.allocate(n * 4L, 64), u2 = arena.allocate(n * 4L, 64);
                try (Optimizer theirs = Optimizers.create(c.config, n, state)) {
                    for (int t = 1; t <= 3; t++) {
                        MemorySegment g = TestData.nativeCopy(arena, random(100 + t, n));
                        StepOptions o = StepOptions.number(t).withGradScale(0.25);
                        own.update(p, g, u1, o);
                        theirs.update(p, g, u2, o);
                        assertSameBits(c + ", update " + t, toArray(u1), toArray(u2));
                    }
                    for (int k = 0; k < c.names.size(); k++) {
                        assertSameBits(c + ", " + c.names.get(k), toArray(own.state(c.names.get(k))),
                                floats(state, (long) k * n, n));
                    }
                }
            }
        }
    }

    /**
     * A step split across a team over caller-owned state in a shared arena: as the owned optimizer's
     * on one thread (large enough that the team's members each take a share).
     */
    @Test
    void aTeamStepsTheCallersSharedState() {
        int n = (int) (2 * Team.MIN_SHARE + 17);
        OptimizerConfig c = AdamConfig.adamW().withLr(1e-2).withWeightDecay(0.05).withAmsgrad(true);
        try (Arena arena = Arena.ofShared(); Team team = Team.create(2); Optimizer own = Optimizers.create(c, n)) {
            MemorySegment state = arena.allocate(c.stateFloats(n) * 4, 64);
            float[] start = random(1, n);
            MemorySegment p1 = TestData.nativeCopy(arena, start), p2 = TestData.nativeCopy(arena, start);
            try (Optimizer theirs = Optimizers.create(c, n, state)) {
                for (int t = 1; t <= 2; t++) {
                    MemorySegment g = TestData.nativeCopy(arena, random(100 + t, n));
                    own.step(p1, g);
                    theirs.step(p2, g, StepOptions.number(t), team);
                }
                assertSameBits("params", toArray(p1), toArray(p2));
                for (int k = 0; k < c.stateNames().size(); k++) {
                    assertSameBits(c.stateNames().get(k), toArray(own.state(c.stateNames().get(k))),
                            floats(state, (long) k * n, n));
                }
            }
        }
    }

    /** (b) close() frees nothing of the caller's: the segment stays readable and as it was. */
    @Test
    void closeLeavesTheCallersMemoryAlone() {
        for (Case c : CASES) {
            if (c.names.isEmpty()) {
                continue;
            }
            int n = 17;
            for (boolean heap : new boolean[] {false, true}) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment state = zeroed(arena, heap, c.config.stateFloats(n));
                    MemorySegment p = TestData.nativeCopy(arena, random(1, n)), q = copy(arena, p);
                    Optimizer theirs = Optimizers.create(c.config, n, state);
                    Optimizer own = Optimizers.create(c.config, n);
                    for (int t = 1; t <= 3; t++) {
                        MemorySegment g = TestData.nativeCopy(arena, random(100 + t, n));
                        theirs.step(p, g);
                        own.step(q, g);
                    }
                    MemorySegment theirView = theirs.state(c.names.get(0));
                    MemorySegment ownView = own.state(c.names.get(0));
                    byte[] before = state.toArray(ValueLayout.JAVA_BYTE);
                    assertFalse(allZero(before), c + ": the state should have been written");
                    theirs.close();
                    own.close();
                    assertTrue(state.scope().isAlive(), c.toString());
                    assertArrayEquals(before, state.toArray(ValueLayout.JAVA_BYTE), c + ": close changed the caller's state");
                    // A view taken before close still reads the caller's memory; the owned one's view is freed.
                    assertArrayEquals(floats(state, 0, n), toArray(theirView), c.toString());
                    assertThrows(IllegalStateException.class, () -> toArray(ownView), c.toString());
                    MemorySegment g = TestData.nativeCopy(arena, random(9, n));
                    assertThrows(IllegalStateException.class, () -> theirs.step(p, g), c.toString());
                    assertArrayEquals(before, state.toArray(ValueLayout.JAVA_BYTE), c + ": a refused step after close");
                }
            }
        }
    }

    private static boolean allZero(byte[] bytes) {
        for (byte b : bytes) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * (c) A copy of the caller's state taken after step 3, given to a new optimizer stepped with the
     * caller's numbers, continues as the run straight through, bit for bit: no restore needed.
     */
    @Test
    void aCopyOfTheStateResumesTheRunWithTheCallersStepNumbers() {
        int n = 1021, total = 7, cut = 3;
        for (Case c : CASES) {
            for (boolean heapCopy : new boolean[] {false, true}) {
                String what = c + (heapCopy ? ", resumed from a heap copy" : ", resumed from a native copy");
                try (Arena arena = Arena.ofConfined()) {
                    float[] start = random(1, n);
                    MemorySegment straight = TestData.nativeCopy(arena, start), resumed = TestData.nativeCopy(arena, start);
                    MemorySegment state = zeroed(arena, false, c.config.stateFloats(n));
                    try (Optimizer through = Optimizers.create(c.config, n)) {
                        Optimizer first = Optimizers.create(c.config, n, state);
                        for (int t = 1; t <= cut; t++) {
                            MemorySegment g = TestData.nativeCopy(arena, random(100 + t, n));
                            through.step(straight, g);
                            first.step(resumed, g, StepOptions.number(t));
                        }
                        MemorySegment saved = state == null ? null : heapCopy
                                ? MemorySegment.ofArray(toArray(state)) : copy(arena, state);
                        first.close();
                        if (state != null) {
                            state.fill((byte) 0x7f);   // the run goes on from the copy alone
                        }
                        byte[] savedBytes = saved == null ? new byte[0] : saved.toArray(ValueLayout.JAVA_BYTE);
                        try (Optimizer second = Optimizers.create(c.config, n, saved)) {
                            assertEquals(0, second.stepCount(), what);
                            // Made over it, nothing is zeroed or written until a step.
                            assertArrayEquals(savedBytes, saved == null ? new byte[0] : saved.toArray(ValueLayout.JAVA_BYTE),
                                    what + ": making the optimizer wrote the caller's state");
                            for (int t = cut + 1; t <= total; t++) {
                                MemorySegment g = TestData.nativeCopy(arena, random(100 + t, n));
                                through.step(straight, g);
                                second.step(resumed, g, StepOptions.number(t));
                                assertEquals(t, second.stepCount(), what);
                            }
                            assertSameBits(what + ", params", toArray(straight), toArray(resumed));
                            for (int k = 0; k < c.names.size(); k++) {
                                assertSameBits(what + ", " + c.names.get(k), toArray(through.state(c.names.get(k))),
                                        floats(saved, (long) k * n, n));
                            }
                        }
                    }
                }
            }
        }
    }

    /** (d) next() after a caller-numbered step is the step after that number. */
    @Test
    void nextContinuesFromTheCallersNumber() {
        int n = 17;
        for (Case c : CASES) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment sa = zeroed(arena, false, c.config.stateFloats(n));
                MemorySegment sb = zeroed(arena, false, c.config.stateFloats(n));
                float[] start = random(1, n);
                MemorySegment pa = TestData.nativeCopy(arena, start), pb = TestData.nativeCopy(arena, start);
                try (Optimizer a = Optimizers.create(c.config, n, sa); Optimizer b = Optimizers.create(c.config, n, sb)) {
                    MemorySegment g0 = TestData.nativeCopy(arena, random(100, n));
                    a.step(pa, g0, StepOptions.number(5));
                    b.step(pb, g0, StepOptions.number(5));
                    assertEquals(5, a.stepCount(), c.toString());
                    for (int t = 6; t <= 8; t++) {
                        MemorySegment g = TestData.nativeCopy(arena, random(100 + t, n));
                        a.step(pa, g, StepOptions.next());
                        b.step(pb, g, StepOptions.number(t));
                        assertEquals(t, a.stepCount(), c.toString());
                    }
                    assertSameBits(c + ", params", toArray(pb), toArray(pa));
                    if (sa != null) {
                        assertSameBits(c + ", state", toArray(sb), toArray(sa));
                    }
                }
            }
        }
    }

    /** The step number reaches the maths (else (c) and (d) would pass however numbers were ignored). */
    @Test
    void theStepNumberChangesAdamsStep() {
        int n = 17;
        try (Arena arena = Arena.ofConfined(); Optimizer a = Optimizers.create(AdamConfig.adam(), n);
             Optimizer b = Optimizers.create(AdamConfig.adam(), n)) {
            float[] start = random(1, n);
            MemorySegment pa = TestData.nativeCopy(arena, start), pb = TestData.nativeCopy(arena, start);
            MemorySegment g = TestData.nativeCopy(arena, random(2, n));
            a.step(pa, g, StepOptions.number(1));
            b.step(pb, g, StepOptions.number(5));
            assertFalse(Arrays.equals(toArray(pa), toArray(pb)), "step 1 and step 5 gave the same parameters");
        }
    }

    // ---- multi-tensor ----

    private record MultiCase(String label, List<ParamGroup> groups, List<String> names) {
        @Override
        public String toString() {
            return label;
        }

        long[] sizes() {
            return groups.stream().flatMapToLong(g -> Arrays.stream(g.sizes())).toArray();
        }

        /** Tensor {@code i}'s state offset, from the javadoc: the sizes before it, each rounded up to 16. */
        long offset(int i) {
            long[] s = sizes();
            long o = 0;
            for (int j = 0; j < i; j++) {
                o += (s[j] + 15) / 16 * 16;
            }
            return o;
        }

        long stateSize() {
            return offset(sizes().length);
        }
    }

    private static final List<MultiCase> MULTI = List.of(
            new MultiCase("adam", List.of(
                    ParamGroup.of(AdamConfig.adamW().withLr(1e-2).withWeightDecay(0.1).withAmsgrad(true), 1, 1021),
                    ParamGroup.of(AdamConfig.adam().withLr(3e-3).withBetas(0.8, 0.99), 17)),
                    List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq")),
            new MultiCase("sgd, momentum in one group", List.of(
                    ParamGroup.of(SgdConfig.sgd(0.1).withMomentum(0.9), 17, 1),
                    ParamGroup.of(SgdConfig.sgd(0.05).withWeightDecay(0.01), 1021)),
                    List.of("momentum_buffer")),
            new MultiCase("sgd, no state", List.of(
                    ParamGroup.of(SgdConfig.sgd(0.1), 17),
                    ParamGroup.of(SgdConfig.sgd(0.2).withWeightDecay(0.01), 1, 1021)),
                    List.of()),
            new MultiCase("rmsprop", List.of(
                    ParamGroup.of(RmsPropConfig.rmsProp().withLr(0.01).withMomentum(0.5).withCentered(true), 1021),
                    ParamGroup.of(RmsPropConfig.rmsProp().withLr(0.02).withWeightDecay(0.01), 1, 17)),
                    List.of("square_avg", "momentum_buffer", "grad_avg")));

    private static List<MemorySegment> tensors(Arena arena, long[] sizes, long seed) {
        List<MemorySegment> out = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            out.add(TestData.nativeCopy(arena, random(seed * 31 + i, (int) sizes[i])));
        }
        return out;
    }

    private static List<MemorySegment> copies(Arena arena, List<MemorySegment> segments) {
        return segments.stream().map(s -> copy(arena, s)).toList();
    }

    @Test
    void multiTensorStateSizeAndOffsetsAreTheDocumentedOnes() {
        for (MultiCase m : MULTI) {
            assertEquals(m.names.size() * m.stateSize(), Optimizers.multiTensorStateFloats(m.groups), m.toString());
            try (MultiTensorOptimizer o = Optimizers.multiTensor(m.groups)) {
                assertEquals(m.names, o.stateNames(), m.toString());
                assertEquals(m.stateSize(), o.stateSize(), m.toString());
                for (int i = 0; i < o.tensors(); i++) {
                    assertEquals(m.offset(i), o.stateOffset(i), m + ", tensor " + i);
                }
            }
        }
    }

    /** (a) for many tensors: bit for bit as the owned optimizer, its state in the caller's segment. */
    @Test
    void multiTensorStepsAsAnOwnedOneAndHoldsItsState() {
        try (Arena arena = Arena.ofConfined()) {
            for (Implementation impl : implementations()) {
                for (MultiCase m : MULTI) {
                    for (boolean heap : new boolean[] {false, true}) {
                        String what = m + (heap ? ", heap" : ", native") + ", " + impl;
                        long[] sizes = m.sizes();
                        long size = m.stateSize();
                        MemorySegment state = zeroed(arena, heap, Optimizers.multiTensorStateFloats(m.groups));
                        List<MemorySegment> p1 = tensors(arena, sizes, 1), p2 = copies(arena, p1);
                        try (MultiTensorOptimizer own = owned(m.groups, impl);
                             MultiTensorOptimizer theirs = callers(m.groups, state, impl)) {
                            List<MemorySegment> views = m.names.stream().map(theirs::state).toList();
                            for (int t = 1; t <= STEPS; t++) {
                                List<MemorySegment> g = tensors(arena, sizes, 100 + t);
                                own.step(p1, g);
                                theirs.step(p2, g);
                                for (int i = 0; i < sizes.length; i++) {
                                    assertSameBits(what + ", params[" + i + "] after step " + t, toArray(p1.get(i)),
                                            toArray(p2.get(i)));
                                }
                                for (int k = 0; k < m.names.size(); k++) {
                                    String name = m.names.get(k);
                                    // The whole buffer, padding and the slices of groups that keep no such buffer too.
                                    float[] expected = toArray(own.state(name));
                                    assertSameBits(what + ", caller's floats [" + k + " * stateSize, ...) = " + name,
                                            expected, floats(state, k * size, size));
                                    assertSameBits(what + ", state(" + name + ")", expected, toArray(views.get(k)));
                                    for (int i = 0; i < sizes.length; i++) {
                                        if (own.stateNames(own.group(i)).contains(name)) {
                                            assertSameBits(what + ", tensor " + i + "'s " + name,
                                                    toArray(own.state(i, name)),
                                                    floats(state, k * size + m.offset(i), sizes[i]));
                                            assertSameBits(what + ", tensor " + i + "'s " + name + " view",
                                                    toArray(own.state(i, name)), toArray(theirs.state(i, name)));
                                        }
                                    }
                                }
                            }
                            for (int k = 0; k < m.names.size(); k++) {
                                float marker = -777.25f - k;
                                state.setAtIndex(F, k * size + size - 1, marker);
                                assertEquals(marker, views.get(k).getAtIndex(F, size - 1), what + ", view of " + m.names.get(k));
                            }
                        }
                    }
                }
            }
        }
    }

    /** (b) for many tensors. */
    @Test
    void multiTensorCloseLeavesTheCallersMemoryAlone() {
        for (MultiCase m : MULTI) {
            if (m.names.isEmpty()) {
                continue;
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = zeroed(arena, false, Optimizers.multiTensorStateFloats(m.groups));
                List<MemorySegment> p = tensors(arena, m.sizes(), 1);
                MultiTensorOptimizer theirs = Optimizers.multiTensor(m.groups, state);
                theirs.step(p, tensors(arena, m.sizes(), 2));
                MemorySegment view = theirs.state(m.names.get(0));
                byte[] before = state.toArray(ValueLayout.JAVA_BYTE);
                assertFalse(allZero(before), m + ": the state should have been written");
                theirs.close();
                assertArrayEquals(before, state.toArray(ValueLayout.JAVA_BYTE), m + ": close changed the caller's state");
                assertArrayEquals(floats(state, 0, m.stateSize()), toArray(view), m.toString());
            }
        }
    }

    /** (c) for many tensors: a copy taken mid-run, a new optimizer, the caller's step numbers. */
    @Test
    void multiTensorResumesFromACopyWithTheCallersStepNumbers() {
        int total = 6, cut = 2;
        for (MultiCase m : MULTI) {
            try (Arena arena = Arena.ofConfined()) {
                long[] sizes = m.sizes();
                MemorySegment state = zeroed(arena, false, Optimizers.multiTensorStateFloats(m.groups));
                List<MemorySegment> straight = tensors(arena, sizes, 1), resumed = copies(arena, straight);
                try (MultiTensorOptimizer through = Optimizers.multiTensor(m.groups)) {
                    MultiTensorOptimizer first = Optimizers.multiTensor(m.groups, state);
                    for (int t = 1; t <= cut; t++) {
                        List<MemorySegment> g = tensors(arena, sizes, 100 + t);
                        through.step(straight, g);
                        first.step(resumed, g, StepOptions.number(t));
                    }
                    MemorySegment saved = state == null ? null : MemorySegment.ofArray(toArray(state));
                    first.close();
                    if (state != null) {
                        state.fill((byte) 0x7f);
                    }
                    try (MultiTensorOptimizer second = Optimizers.multiTensor(m.groups, saved)) {
                        for (int t = cut + 1; t <= total; t++) {
                            List<MemorySegment> g = tensors(arena, sizes, 100 + t);
                            through.step(straight, g);
                            second.step(resumed, g, StepOptions.number(t));
                        }
                        assertEquals(total, second.stepCount(), m.toString());
                        for (int i = 0; i < sizes.length; i++) {
                            assertSameBits(m + ", params[" + i + "]", toArray(straight.get(i)), toArray(resumed.get(i)));
                        }
                        for (int k = 0; k < m.names.size(); k++) {
                            assertSameBits(m + ", " + m.names.get(k), toArray(through.state(m.names.get(k))),
                                    floats(saved, k * m.stateSize(), m.stateSize()));
                        }
                    }
                }
            }
        }
    }

    /** (d) for many tensors. */
    @Test
    void multiTensorNextContinuesFromTheCallersNumber() {
        for (MultiCase m : MULTI) {
            try (Arena arena = Arena.ofConfined();
                 MultiTensorOptimizer a = Optimizers.multiTensor(m.groups,
                         zeroed(arena, false, Optimizers.multiTensorStateFloats(m.groups)));
                 MultiTensorOptimizer b = Optimizers.multiTensor(m.groups)) {
                long[] sizes = m.sizes();
                List<MemorySegment> pa = tensors(arena, sizes, 1), pb = copies(arena, pa);
                List<MemorySegment> g0 = tensors(arena, sizes, 100);
                a.step(pa, g0, StepOptions.number(4));
                b.step(pb, g0, StepOptions.number(4));
                for (int t = 5; t <= 6; t++) {
                    List<MemorySegment> g = tensors(arena, sizes, 100 + t);
                    a.step(pa, g, StepOptions.next());
                    b.step(pb, g, StepOptions.number(t));
                    assertEquals(t, a.stepCount(), m.toString());
                }
                for (int i = 0; i < sizes.length; i++) {
                    assertSameBits(m + ", params[" + i + "]", toArray(pb.get(i)), toArray(pa.get(i)));
                }
                for (String name : m.names) {
                    assertSameBits(m + ", " + name, toArray(b.state(name)), toArray(a.state(name)));
                }
            }
        }
    }
}
