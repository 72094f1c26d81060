package dev.adamant.examples;

import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.examples.MlpFixtures.Problem;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad input is refused with an exception that names the argument, and a refused call changes nothing. */
class MlpArgumentsTest {
    private static final int[] WIDTHS = {6, 10, 4};
    private static final int BATCH = 3;

    private static <T extends Throwable> void refused(Class<T> type, String mentions, Executable call) {
        T e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(mentions),
                "expected the message to mention '" + mentions + "': " + e.getMessage());
    }

    @Test
    void constructorArguments() {
        refused(NullPointerException.class, "widths", () -> new Mlp(null, Precision.FP16, 1));
        refused(IllegalArgumentException.class, "widths", () -> new Mlp(new int[] {4}, Precision.FP16, 1));
        refused(IllegalArgumentException.class, "widths[1]", () -> new Mlp(new int[] {4, 0, 2}, Precision.FP16, 1));
        refused(NullPointerException.class, "precision", () -> new Mlp(WIDTHS, null, 1));
        refused(IllegalArgumentException.class, "precision", () -> new Mlp(WIDTHS, Precision.FP32, 1));
        refused(IllegalArgumentException.class, "FP32", () -> new Mlp(WIDTHS, Precision.FP32, 1));
        refused(IllegalArgumentException.class, "microBatch", () -> new Mlp(WIDTHS, Precision.BF16, 0));
        refused(IllegalArgumentException.class, "widths", () -> new Teacher(new int[] {3}, 1));
    }

    @Test
    void sizesAndLayout() {
        try (Mlp m = new Mlp(WIDTHS, Precision.FP16, BATCH)) {
            assertEquals(2, m.layers());
            assertEquals(10 * 6 + 10, m.layerParameters(0));
            assertEquals(4 * 10 + 4, m.layerParameters(1));
            assertEquals(0, m.layerOffset(0));
            assertEquals(70, m.layerOffset(1));
            assertEquals(114, m.parameters());
            assertEquals(114, Mlp.parameters(WIDTHS));
            assertEquals(java.util.List.of("layer0", "layer1"), java.util.List.copyOf(m.tensorSizes().keySet()));
            assertEquals(java.util.List.of(70L, 44L), java.util.List.copyOf(m.tensorSizes().values()));
            assertTrue(m.workspaceBytes() > 0);
            refused(IllegalArgumentException.class, "layer", () -> m.layerParameters(2));
            refused(IllegalArgumentException.class, "layer", () -> m.layerOffset(-1));
        }
    }

    @Test
    void callsOutOfOrderAndBadSegments() {
        Problem p = new Problem(WIDTHS, Precision.FP16, BATCH, 1);
        try (Arena arena = Arena.ofShared(); Mlp m = new Mlp(WIDTHS, Precision.FP16, BATCH)) {
            MemorySegment x = MlpFixtures.floats(arena, p.inputs), t = MlpFixtures.floats(arena, p.targets);
            MemorySegment p0 = arena.allocate(2 * 70, 64), p1 = arena.allocate(2 * 44, 64);
            MemorySegment.copy(p.params16, 0, p0, JAVA_SHORT, 0, 70);
            MemorySegment.copy(p.params16, 70, p1, JAVA_SHORT, 0, 44);
            MemorySegment g0 = arena.allocate(2 * 70, 64), g1 = arena.allocate(2 * 44, 64);

            refused(IllegalStateException.class, "loadBatch", () -> m.forward(0, p0));
            refused(IllegalArgumentException.class, "inputs", () -> m.loadBatch(x.asSlice(4), t));
            refused(IllegalArgumentException.class, "targets", () -> m.loadBatch(x, t.asSlice(0, 8)));
            refused(NullPointerException.class, "inputs", () -> m.loadBatch(null, t));
            m.loadBatch(x.asReadOnly(), t.asReadOnly());                     // inputs may be read-only

            refused(IllegalStateException.class, "layer", () -> m.forward(1, p1));
            refused(IllegalArgumentException.class, "layer", () -> m.forward(2, p1));
            refused(IllegalArgumentException.class, "layerParams16", () -> m.forward(0, p1));
            MemorySegment odd = arena.allocate(142, 2).asSlice(1);
            refused(IllegalArgumentException.class, "2-byte aligned", () -> m.forward(0, odd));
            refused(IllegalStateException.class, "loss", m::loss);
            refused(IllegalStateException.class, "layer", () -> m.backward(1, p1, g1, 1, BATCH));
            m.forward(0, p0);
            refused(IllegalStateException.class, "complete forward", () -> m.backward(1, p1, g1, 1, BATCH));
            m.forward(1, p1);
            refused(IllegalStateException.class, "layer", () -> m.forward(1, p1));

            refused(IllegalStateException.class, "layer", () -> m.backward(0, p0, g0, 1, BATCH));
            refused(IllegalArgumentException.class, "layerGrads16", () -> m.backward(1, p1, g0, 1, BATCH));
            refused(IllegalArgumentException.class, "layerGrads16", () -> m.backward(1, p1, g1.asReadOnly(), 1, BATCH));
            refused(IllegalArgumentException.class, "layerParams16", () -> m.backward(1, p0, g1, 1, BATCH));
            for (float bad : new float[] {0, -1, Float.NaN, Float.POSITIVE_INFINITY}) {
                refused(IllegalArgumentException.class, "lossScale", () -> m.backward(1, p1, g1, bad, BATCH));
            }
            refused(IllegalArgumentException.class, "globalBatch", () -> m.backward(1, p1, g1, 1, BATCH - 1));

            // Nothing changed: the gradient buffer is untouched and the backward pass starts as if new.
            g1.fill((byte) 0x55);
            refused(IllegalArgumentException.class, "lossScale", () -> m.backward(1, p1, g1, Float.NaN, BATCH));
            for (short s : MlpFixtures.toShorts(g1)) {
                assertEquals((short) 0x5555, s);
            }
            m.backward(1, p1, g1, 1, BATCH);
            refused(IllegalArgumentException.class, "layer", () -> m.backward(-1, p0, g0, 1, BATCH));
            m.backward(0, p0, g0, 1, BATCH);
            refused(IllegalStateException.class, "complete", () -> m.backward(0, p0, g0, 1, BATCH));
            m.backward(1, p1, g1, 1, BATCH);                                  // backward(L-1) restarts
        }
    }

    @Test
    void gradientsMayOverwriteTheParameters() {
        Problem p = new Problem(WIDTHS, Precision.FP16, BATCH, 2);
        try (Arena arena = Arena.ofShared(); Mlp m = new Mlp(WIDTHS, Precision.FP16, BATCH)) {
            short[][] separate = MlpFixtures.run(m, p, 64, BATCH).grads16();
            MemorySegment[] params = {arena.allocate(140, 64), arena.allocate(88, 64)};
            MemorySegment.copy(p.params16, 0, params[0], JAVA_SHORT, 0, 70);
            MemorySegment.copy(p.params16, 70, params[1], JAVA_SHORT, 0, 44);
            m.loadBatch(MlpFixtures.floats(arena, p.inputs), MlpFixtures.floats(arena, p.targets));
            m.forward(0, params[0]);
            m.forward(1, params[1]);
            for (int l = 1; l >= 0; l--) {
                m.backward(l, params[l], params[l], 64, BATCH);               // in place
                assertArrayEquals(separate[l], MlpFixtures.toShorts(params[l]), "layer " + l);
            }
        }
    }

    @Test
    void fp16OverflowGivesInfinityNotAClamp() {
        Problem p = new Problem(WIDTHS, Precision.FP16, BATCH, 3);
        try (Mlp m = new Mlp(WIDTHS, Precision.FP16, BATCH)) {
            short[][] g = MlpFixtures.run(m, p, 1e30f, BATCH).grads16();
            int infinities = 0;
            for (short[] layer : g) {
                for (short h : layer) {
                    float f = Half.toFloat(h);
                    assertTrue(Float.isInfinite(f) || Math.abs(f) <= 65504, "finite or infinite, never clamped");
                    infinities += Float.isInfinite(f) ? 1 : 0;
                }
            }
            assertTrue(infinities > 0, "a loss scale of 1e30 must overflow fp16");
        }
    }

    @Test
    void closedModelsAndForeignThreads() throws Exception {
        Mlp m = new Mlp(WIDTHS, Precision.BF16, BATCH);
        try (Arena confined = Arena.ofConfined()) {
            MemorySegment x = confined.allocate(4L * BATCH * 6, 4), t = confined.allocate(4L * BATCH * 4, 4);
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> CompletableFuture.runAsync(() -> m.loadBatch(x, t)).get());
            assertTrue(e.getCause() instanceof WrongThreadException && e.getCause().getMessage().contains("inputs"),
                    String.valueOf(e.getCause()));
        }
        m.close();
        m.close();                                                          // idempotent
        refused(IllegalStateException.class, "closed", m::loss);
        refused(IllegalStateException.class, "closed", () -> m.forward(0, MemorySegment.NULL));
    }

    @Test
    void staticAndTeacherArguments() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment p = arena.allocate(4 * 114, 64);
            refused(IllegalArgumentException.class, "fp32Params", () -> Mlp.initialize(WIDTHS, p.asSlice(4), 1));
            refused(IllegalArgumentException.class, "fp32Params", () -> Mlp.initialize(WIDTHS, p.asReadOnly(), 1));
            refused(NullPointerException.class, "fp32Params", () -> Mlp.initialize(WIDTHS, null, 1));

            Teacher teacher = new Teacher(WIDTHS, 4);
            MemorySegment x = arena.allocate(4L * 5 * 6, 64), t = arena.allocate(4L * 5 * 4, 64);
            refused(IllegalArgumentException.class, "rows", () -> teacher.sample(0, 0, x, t, 0));
            refused(IllegalArgumentException.class, "rank", () -> teacher.sample(0, -1, x, t, 5));
            refused(IllegalArgumentException.class, "inputs", () -> teacher.sample(0, 0, x, t, 4));
            refused(IllegalArgumentException.class, "targets", () -> teacher.sample(0, 0, x, t.asSlice(4), 5));
            refused(IllegalArgumentException.class, "overlap",
                    () -> teacher.sample(0, 0, x, x.asSlice(0, 4L * 5 * 4), 5));
            refused(IllegalArgumentException.class, "inputs", () -> teacher.sample(0, 0, x.asReadOnly(), t, 5));
        }
    }
}
