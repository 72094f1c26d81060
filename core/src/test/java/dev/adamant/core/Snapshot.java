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
record Snapshot(long steps, List<byte[]> state, List<byte[]> buffers) {

    static Snapshot of(Optimizer opt, MemorySegment... buffers) {
        List<byte[]> state = new ArrayList<>();
        for (String name : opt.stateNames()) {
            state.add(opt.state(name).toArray(ValueLayout.JAVA_BYTE));
        }
        List<byte[]> copies = new ArrayList<>();
        for (MemorySegment b : buffers) {
            copies.add(b.toArray(ValueLayout.JAVA_BYTE));
        }
        return new Snapshot(opt.stepCount(), state, copies);
    }

    /** Asserts {@code opt} and {@code buffers} hold exactly what they held when this was taken. */
    void assertUnchanged(String what, Optimizer opt, MemorySegment... buffers) {
        Snapshot now = of(opt, buffers);
        assertEquals(steps, now.steps, what + ": step count changed");
        for (int i = 0; i < state.size(); i++) {
            assertArrayEquals(state.get(i), now.state.get(i), what + ": state " + opt.stateNames().get(i) + " changed");
        }
        for (int i = 0; i < buffers.length; i++) {
            assertArrayEquals(this.buffers.get(i), now.buffers.get(i), what + ": buffer " + i + " changed");
        }
    }
}
