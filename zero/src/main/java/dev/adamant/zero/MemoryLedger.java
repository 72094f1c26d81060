package dev.adamant.zero;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One device's memory, counted by purpose: every buffer the device holds is allocated (or, for
 * buffers another component allocates, recorded) here, so that tests and the demo can read what a
 * device really holds, by purpose, now and at its peak.
 *
 * <p>Allocations come from an arena the ledger owns, cache-line aligned and zeroed; {@link #close()}
 * frees them all and refuses to close (listing them) if the caller asks for a strict close while
 * buffers are still handed out. Thread-safe.
 */
public final class MemoryLedger implements AutoCloseable {
    /** What a buffer is for. */
    public enum Purpose {
        /** 16-bit parameters (the device's copy or its partition). */
        PARAMETERS,
        /** 16-bit gradients. */
        GRADIENTS,
        /** fp32 master weights. */
        MASTER_WEIGHTS,
        /** Optimizer state (Adam's moments). */
        OPTIMIZER_STATE,
        /** Buckets for reducing gradients as backward produces them. */
        COMMUNICATION_BUCKETS,
        /** A layer's parameters gathered for its forward or backward (stage 3). */
        GATHERED_LAYERS
    }

    private final Arena arena = Arena.ofShared();
    private final Map<Purpose, Long> current = new EnumMap<>(Purpose.class);
    private final Map<Purpose, Long> peak = new EnumMap<>(Purpose.class);
    private final Map<MemorySegment, Purpose> live = new IdentityHashMap<>();
    private long currentTotal, peakTotal;
    private boolean closed;

    public MemoryLedger() {
        for (Purpose p : Purpose.values()) {
            current.put(p, 0L);
            peak.put(p, 0L);
        }
    }

    /** Allocates {@code bytes} zeroed bytes for {@code purpose}. */
    public synchronized MemorySegment allocate(Purpose purpose, long bytes) {
        Objects.requireNonNull(purpose, "purpose");
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes: expected >= 0, got " + bytes);
        }
        checkOpen();
        MemorySegment s = arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes);
        live.put(s, purpose);
        add(purpose, bytes);
        return s;
    }

    /**
     * Records {@code bytes} that another component allocated for {@code purpose} (the wrapped
     * optimizer's state, say); undo with {@link #forget(Purpose, long)} when it frees them.
     */
    public synchronized void record(Purpose purpose, long bytes) {
        Objects.requireNonNull(purpose, "purpose");
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes: expected >= 0, got " + bytes);
        }
        checkOpen();
        add(purpose, bytes);
    }

    /** Undoes a {@link #record}. */
    public synchronized void forget(Purpose purpose, long bytes) {
        if (bytes > current.get(purpose)) {
            throw new IllegalArgumentException("bytes: " + purpose + " holds " + current.get(purpose) + ", cannot forget "
                    + bytes);
        }
        add(purpose, -bytes);
    }

    /**
     * Releases a buffer from {@link #allocate}: it is no longer counted. (Its memory returns when the
     * ledger closes: arenas free all at once; the count is what a pooled allocator would hold.)
     */
    public synchronized void release(MemorySegment segment) {
        Purpose p = live.remove(Objects.requireNonNull(segment, "segment"));
        if (p == null) {
            throw new IllegalArgumentException("segment: not allocated by this ledger, or already released");
        }
        add(p, -segment.byteSize());
    }

    private void add(Purpose p, long bytes) {
        long now = current.get(p) + bytes;
        current.put(p, now);
        peak.put(p, Math.max(peak.get(p), now));
        currentTotal += bytes;
        peakTotal = Math.max(peakTotal, currentTotal);
    }

    /** Bytes held now for {@code purpose}. */
    public synchronized long current(Purpose purpose) {
        return current.get(purpose);
    }

    /** The most bytes held at once for {@code purpose}. */
    public synchronized long peak(Purpose purpose) {
        return peak.get(purpose);
    }

    /** Bytes held now, all purposes. */
    public synchronized long currentTotal() {
        return currentTotal;
    }

    /** The most bytes held at once, all purposes together. */
    public synchronized long peakTotal() {
        return peakTotal;
    }

    /** A copy of the current counts by purpose. */
    public synchronized Map<Purpose, Long> snapshot() {
        return new EnumMap<>(current);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("ledger is closed");
        }
    }

    /** Frees every buffer allocated here. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}
