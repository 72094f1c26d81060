package dev.adamant.fp16;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every public bulk entry point refuses bad input with an exception that names the argument and
 * says what was expected, and writes nothing: each refused call below leaves its destination as it
 * was.
 */
class BadInputTest {
    private static final int N = 37;
    private final float[] floats = new float[N];
    private final short[] halves = new short[N];
    private final MemorySegment f = MemorySegment.ofArray(floats);
    private final MemorySegment h = MemorySegment.ofArray(halves);

    BadInputTest() {
        for (int i = 0; i < N; i++) {
            floats[i] = i + 0.5f;
            halves[i] = (short) (0x1111 * (i % 7));
        }
    }

    /** Asserts the call throws {@code type} mentioning every one of {@code mentions}, and that nothing changed. */
    private <T extends Throwable> void assertRefused(Class<T> type, Executable call, String... mentions) {
        float[] floatsBefore = floats.clone();
        short[] halvesBefore = halves.clone();
        T e = assertThrows(type, call);
        for (String m : mentions) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(m), "message should mention \"" + m + "\": " + e.getMessage());
        }
        assertArrayEquals(floatsBefore, floats, "a refused call wrote floats");
        assertArrayEquals(halvesBefore, halves, "a refused call wrote halves");
    }

    @Test
    void nulls() {
        assertRefused(NullPointerException.class, () -> Half.encode(null, 0, h, 0, 1), "floats");
        assertRefused(NullPointerException.class, () -> Half.encode(f, 0, null, 0, 1), "halves");
        assertRefused(NullPointerException.class, () -> Half.encode(f, 0, h, 0, 1, null, 0), "rounding");
        assertRefused(NullPointerException.class, () -> BFloat16.decode(null, 0, f, 0, 1), "halves");
        assertRefused(NullPointerException.class, () -> BFloat16.decode(h, 0, null, 0, 1), "floats");
        assertRefused(NullPointerException.class, () -> Half.encode(null, h), "floats");
        assertRefused(NullPointerException.class, () -> Half.decode(h, null), "floats");
        assertRefused(NullPointerException.class, () -> BFloat16.encode(f, h, null, 0), "rounding");
    }

    @Test
    void closedSegments() {
        MemorySegment closed;
        try (Arena arena = Arena.ofConfined()) {
            closed = arena.allocate(4L * N, 4);
        }
        MemorySegment dead = closed;
        assertRefused(IllegalArgumentException.class, () -> Half.encode(dead, 0, h, 0, 1), "floats", "closed");
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f, 0, dead, 0, 1), "halves", "closed");
        assertRefused(IllegalArgumentException.class, () -> BFloat16.decode(dead, 0, f, 0, 1), "halves", "closed");
        assertRefused(IllegalArgumentException.class, () -> BFloat16.decode(h, 0, dead, 0, 1), "floats", "closed");
    }

    @Test
    void misalignedSegments() {
        MemorySegment f2 = f.asSlice(2);
        MemorySegment h1 = h.asSlice(1);
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f2, 0, h, 0, 1), "floats", "4-byte aligned");
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f, 0, h1, 0, 1), "halves", "2-byte aligned");
        assertRefused(IllegalArgumentException.class, () -> Half.decode(h1, 0, f, 0, 1), "halves", "2-byte aligned");
        assertRefused(IllegalArgumentException.class, () -> BFloat16.decode(h, 0, f2, 0, 1), "floats", "4-byte aligned");
    }

    @Test
    void readOnlyDestinations() {
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f, 0, h.asReadOnly(), 0, 1), "halves", "read-only");
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f, h.asReadOnly()), "halves", "read-only");
        assertRefused(IllegalArgumentException.class, () -> BFloat16.decode(h, 0, f.asReadOnly(), 0, 1), "floats", "read-only");
        assertRefused(IllegalArgumentException.class,
                () -> BFloat16.encode(f, 0, h.asReadOnly(), 0, 1, Rounding.stochastic(1), 0), "halves", "read-only");
    }

    @Test
    void rangesOutOfBounds() {
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f, 0, h, 0, -1), "count", "-1");
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f, -1, h, 0, 1), "floats", "out of bounds");
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f, 0, h, -1, 1), "halves", "out of bounds");
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f, 1, h, 0, N), "floats", "out of bounds");
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f, 0, h, 1, N), "halves", "out of bounds", "37");
        assertRefused(IllegalArgumentException.class, () -> BFloat16.decode(h, N, f, 0, 1), "halves", "out of bounds");
        assertRefused(IllegalArgumentException.class, () -> BFloat16.decode(h, 0, f, Long.MAX_VALUE, 2), "floats", "out of bounds");
        assertRefused(IllegalArgumentException.class, () -> BFloat16.decode(h, Long.MAX_VALUE, f, 0, 2), "halves", "out of bounds");
    }

    @Test
    void overlappingSourceAndDestination() {
        MemorySegment shared = MemorySegment.ofArray(floats);
        // Halves written over the floats they are read from.
        assertRefused(IllegalArgumentException.class, () -> Half.encode(shared, 0, shared, 0, 4), "overlap");
        assertRefused(IllegalArgumentException.class, () -> BFloat16.decode(shared, 3, shared, 2, 4), "overlap");
        // Disjoint ranges of one buffer are fine.
        float[] before = floats.clone();
        BFloat16.encode(shared, 0, shared.asSlice(16L * 4), 0, 4);
        assertTrue(Arrays.equals(before, 0, 4, floats, 0, 4));
        System.arraycopy(before, 0, floats, 0, N);
    }

    @Test
    void wholeSegmentSizesMustAgree() {
        MemorySegment f10 = MemorySegment.ofArray(new float[10]);
        MemorySegment h10 = MemorySegment.ofArray(new short[10]);
        MemorySegment h20 = MemorySegment.ofArray(new short[20]);
        MemorySegment h11 = MemorySegment.ofArray(new short[11]);
        // A 16-bit buffer where floats belong: same byte size as the halves.
        assertRefused(IllegalArgumentException.class, () -> Half.encode(h10, h10), "floats", "16-bit buffer");
        assertRefused(IllegalArgumentException.class, () -> BFloat16.decode(h10, h10), "floats", "16-bit buffer");
        // Arguments swapped.
        assertRefused(IllegalArgumentException.class, () -> Half.decode(f10, h10), "floats", "swapped");
        // Merely different.
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f10, h11), "floats", "44 bytes", "40 bytes");
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f10, h20), "floats", "80 bytes");
        // A 16-bit buffer of an odd number of bytes.
        assertRefused(IllegalArgumentException.class, () -> Half.encode(f10, MemorySegment.ofArray(new byte[7])), "halves",
                "whole number");
        assertRefused(IllegalArgumentException.class, () -> Half.encode(MemorySegment.ofArray(new byte[6]), h10), "floats");
        // The refused destination was not written.
        assertArrayEquals(new short[10], h10.toArray(ValueLayout.JAVA_SHORT));
    }

    @Test
    void segmentsConfinedToAnotherThread() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mine = arena.allocate(4L * N, 4);
            CompletableFuture<Void> other = CompletableFuture.runAsync(() -> Half.encode(mine, 0, h, 0, 1));
            ExecutionException e = assertThrows(ExecutionException.class, other::get);
            assertTrue(e.getCause() instanceof WrongThreadException, String.valueOf(e.getCause()));
            assertTrue(e.getCause().getMessage().contains("floats"), e.getCause().getMessage());
            MemorySegment mineHalves = arena.allocate(2L * N, 2);
            CompletableFuture<Void> other2 = CompletableFuture.runAsync(() -> BFloat16.encode(f, 0, mineHalves, 0, 1));
            ExecutionException e2 = assertThrows(ExecutionException.class, other2::get);
            assertTrue(e2.getCause() instanceof WrongThreadException && e2.getCause().getMessage().contains("halves"),
                    String.valueOf(e2.getCause()));
            assertArrayEquals(new short[N], mineHalves.toArray(ValueLayout.JAVA_SHORT));
        }
    }
}
