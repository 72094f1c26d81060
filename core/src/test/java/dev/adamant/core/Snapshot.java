package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of an optimizer's state, its step count and any buffers besides, to show that a refused
 * call changed nothing.
 */
record Snapshot(long steps, List<String> names, List<byte[]> state, List<byte[]> buffers) {

    static Snapshot of(Optimizer opt, MemorySegment... buffers) {
        return of(opt.stepCount(), opt.stateNames(), opt.stateNames().stream().map(opt::state).toList(), buffers);
    }

    /** A multi-tensor optimizer's whole state buffers (every tensor's state and the padding). */
    static Snapshot of(MultiTensorOptimizer opt, MemorySegment... buffers) {
        return of(opt.stepCount(), opt.stateNames(), opt.stateNames().stream().map(opt::state).toList(), buffers);
    }

    private static Snapshot of(long steps, List<String> names, List<MemorySegment> state, MemorySegment... buffers) {
        List<byte[]> copies = new ArrayList<>();
        for (MemorySegment b : buffers) {
            copies.add(b.toArray(ValueLayout.JAVA_BYTE));
        }
        return new Snapshot(steps, names, state.stream().map(s -> s.toArray(ValueLayout.JAVA_BYTE)).toList(), copies);
    }

    /** Asserts {@code opt} and {@code buffers} hold exactly what they held when this was taken. */
    void assertUnchanged(String what, Optimizer opt, MemorySegment... buffers) {
        assertSame(what, of(opt, buffers));
    }

    /** Asserts {@code opt} and {@code buffers} hold exactly what they held when this was taken. */
    void assertUnchanged(String what, MultiTensorOptimizer opt, MemorySegment... buffers) {
        assertSame(what, of(opt, buffers));
    }

    private void assertSame(String what, Snapshot now) {
        assertEquals(steps, now.steps, what + ": step count changed");
        assertEquals(names, now.names, what + ": state names changed");
        for (int i = 0; i < state.size(); i++) {
            assertArrayEquals(state.get(i), now.state.get(i), what + ": state " + names.get(i) + " changed");
        }
        for (int i = 0; i < buffers.size(); i++) {
            assertArrayEquals(buffers.get(i), now.buffers.get(i), what + ": buffer " + i + " changed");
        }
    }
}
