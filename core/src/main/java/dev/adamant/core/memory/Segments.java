package dev.adamant.core.memory;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Argument checks for the float buffers that public entry points accept.
 *
 * <p>Every check names the argument and says what was expected, in the manner of
 * {@code "params: expected 4096 bytes (1024 floats), got 4092"}. Checks only read the segment's
 * metadata; none touches its contents, so a rejected call changes nothing.
 */
public final class Segments {
    /** Bytes in one fp32 element. */
    public static final long FLOAT_BYTES = Float.BYTES;

    private Segments() {}

    /**
     * Checks that {@code segment} is a live, 4-byte aligned buffer of exactly {@code floats} floats.
     *
     * @param name the argument's name, for the message
     * @param writable whether the caller will write to it (read-only segments are then refused)
     * @throws NullPointerException if {@code segment} is null
     * @throws IllegalArgumentException if it is closed, misaligned, read-only where it must be
     *     writable, or not exactly {@code floats} floats long
     */
    public static void checkFloats(String name, MemorySegment segment, long floats, boolean writable) {
        checkUsable(name, segment, writable);
        long expected = floats * FLOAT_BYTES;
        if (segment.byteSize() != expected) {
            throw new IllegalArgumentException(name + ": expected " + expected + " bytes (" + floats
                    + " floats), got " + segment.byteSize() + " bytes");
        }
    }

    /**
     * Checks that floats {@code [offset, offset + count)} lie inside {@code segment}, which must be
     * live, 4-byte aligned, and writable if {@code writable}.
     */
    public static void checkFloatRange(String name, MemorySegment segment, long offset, long count,
                                       boolean writable) {
        checkUsable(name, segment, writable);
        long floats = segment.byteSize() / FLOAT_BYTES;
        if (offset < 0 || count < 0 || offset > floats - count) {
            throw new IllegalArgumentException(name + ": floats [" + offset + ", " + offset + " + "
                    + count + ") out of bounds for a segment of " + floats
                    + " floats (expected: offset >= 0, count >= 0, offset + count <= " + floats + ")");
        }
    }

    /** Checks that {@code segment} is non-null, open, 4-byte aligned and, if asked, writable. */
    public static void checkUsable(String name, MemorySegment segment, boolean writable) {
        checkUsable(name, segment, writable, FLOAT_BYTES);
    }

    /**
     * Checks that {@code segment} is non-null, open, aligned to {@code elementBytes} (the size of
     * its elements: 4 for floats, 2 for 16-bit values) and, if asked, writable.
     */
    public static void checkUsable(String name, MemorySegment segment, boolean writable, long elementBytes) {
        Objects.requireNonNull(segment, name);
        if (!segment.scope().isAlive()) {
            throw new IllegalArgumentException(name + ": the segment's arena is closed");
        }
        if (segment.address() % elementBytes != 0) {
            throw new IllegalArgumentException(name + ": expected a " + elementBytes + "-byte aligned segment, got"
                    + " address 0x" + Long.toHexString(segment.address()));
        }
        if (writable && segment.isReadOnly()) {
            throw new IllegalArgumentException(name + ": expected a writable segment, got a read-only one");
        }
    }

    /** Refuses two segments that share any byte. */
    public static void checkDisjoint(String nameA, MemorySegment a, String nameB, MemorySegment b) {
        if (a.asOverlappingSlice(b).isPresent()) {
            throw new IllegalArgumentException(nameA + " and " + nameB + " must not overlap");
        }
    }

    /**
     * Refuses a segment the calling thread may not access (confined to another thread) with the
     * JDK's own exception for that, {@link WrongThreadException}, but naming the argument and thrown
     * before anything is written. (A parallel step's need for a segment every thread can access is
     * {@link #checkShared}.)
     */
    public static void checkAccessible(String name, MemorySegment segment) {
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException(name + ": the segment is confined to another thread");
        }
    }

    /** A thread that is never started: only confined segments refuse it access. */
    private static final Thread OTHER_THREAD = Thread.ofPlatform().unstarted(() -> { });

    /**
     * Refuses a segment that only its owner thread may access (from {@code Arena.ofConfined()}),
     * for work that other threads will do.
     */
    public static void checkShared(String name, MemorySegment segment) {
        if (!segment.isAccessibleBy(OTHER_THREAD)) {
            throw new IllegalArgumentException(name + ": a parallel step needs a segment that every thread can"
                    + " access (from Arena.ofShared(), ofAuto() or global(), or a heap array); this one is"
                    + " confined to its owner thread");
        }
    }

    /** Refuses counts below one: {@code "n: expected > 0, got 0"}. */
    public static void checkPositive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + ": expected > 0, got " + value);
        }
    }
}
