package dev.adamant.core;

import dev.adamant.core.memory.Buffers;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An optimizer's state: one zeroed, cache-line-aligned off-heap buffer of floats per name, all of
 * one size, in one shared arena that this owns (the optimizer closes it).
 */
final class StateBuffers {
    private final Arena arena = Arena.ofShared();
    private final Map<String, MemorySegment> buffers = new LinkedHashMap<>();

    /**
     * Allocates a buffer of {@code floats} floats for each name. Memory that is not there is an
     * {@link OutOfMemoryError} whose message starts with {@code what} and names the buffer and the
     * bytes; nothing stays allocated after a failure.
     */
    StateBuffers(String what, long floats, List<String> names) {
        String name = null;
        try {
            for (String s : names) {
                name = s;
                buffers.put(s, Buffers.allocateFloats(arena, floats));
            }
        } catch (OutOfMemoryError e) {
            arena.close();
            OutOfMemoryError named = new OutOfMemoryError(what + " need " + names.size() + " state buffers of "
                    + floats * Float.BYTES + " bytes; " + name + " could not be allocated (" + e.getMessage() + ")");
            named.initCause(e);
            throw named;
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The names, in the order given. */
    List<String> names() {
        return List.copyOf(buffers.keySet());
    }

    /** The writable buffer {@code name}, or null if there is none. */
    MemorySegment get(String name) {
        return buffers.get(name);
    }

    /**
     * A read-only view of buffer {@code name}.
     *
     * @throws IllegalArgumentException naming {@code name} if there is no such buffer
     */
    MemorySegment readOnly(String name) {
        MemorySegment s = buffers.get(Objects.requireNonNull(name, "name"));
        if (s == null) {
            throw new IllegalArgumentException("name: expected one of " + buffers.keySet() + ", got \"" + name + "\"");
        }
        return s.asReadOnly();
    }

    /** Frees every buffer; views of them become inaccessible. Call once. */
    void close() {
        arena.close();
    }
}
