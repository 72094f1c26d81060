package dev.adamant.core.memory;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The one set of argument checks for the segments that every module's public entry points accept:
 * floats (4-byte elements) and 16-bit values (2-byte elements).
 *
 * <p>Every check names the argument and says what was expected, in the manner of
 * {@code "params: expected 4096 bytes (1024 floats), got 4092 bytes"}, with one exception type per
 * kind of mistake: {@link NullPointerException} for a null segment, {@link IllegalArgumentException}
 * for a closed, misaligned, read-only, wrongly sized, out-of-range or overlapping one, and
 * {@link WrongThreadException} for one that a thread of the call may not access
 * ({@link #checkAccessible(String, MemorySegment, int)}). Checks only read the segment's metadata;
 * none touches its contents, so a rejected call changes nothing. Internal: see the package.
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
        checkRange(name, segment, offset, count, writable, FLOAT_BYTES);
    }

    /**
     * Checks that elements {@code [offset, offset + count)} of {@code elementBytes} bytes each (4 for
     * floats, 2 for 16-bit values) lie inside {@code segment}, which must be live, aligned to
     * {@code elementBytes}, and writable if {@code writable}.
     */
    public static void checkRange(String name, MemorySegment segment, long offset, long count, boolean writable,
                                  long elementBytes) {
        checkUsable(name, segment, writable, elementBytes);
        long n = segment.byteSize() / elementBytes;
        if (offset < 0 || count < 0 || offset > n - count) {
            String what = elements(elementBytes);
            throw new IllegalArgumentException(name + ": " + what + " [" + offset + ", " + offset + " + " + count
                    + ") out of bounds for a segment of " + n + " " + what + " (expected: offset >= 0, count >= 0,"
                    + " offset + count <= " + n + ")");
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
            throw new IllegalArgumentException(name + ": expected a segment whose arena is open, got one whose arena"
                    + " is closed");
        }
        if (segment.address() % elementBytes != 0) {
            throw new IllegalArgumentException(name + ": expected a " + elementBytes + "-byte aligned segment, got"
                    + " address 0x" + Long.toHexString(segment.address()));
        }
        if (writable && segment.isReadOnly()) {
            throw new IllegalArgumentException(name + ": expected a writable segment, got a read-only one");
        }
    }

    /**
     * As {@link #checkUsable(String, MemorySegment, boolean, long)}, and the segment must hold a whole
     * number of {@code elementBytes}-byte elements; returns how many it holds.
     */
    public static long checkWhole(String name, MemorySegment segment, boolean writable, long elementBytes) {
        checkUsable(name, segment, writable, elementBytes);
        if (segment.byteSize() % elementBytes != 0) {
            throw new IllegalArgumentException(name + ": expected a whole number of " + elements(elementBytes) + " ("
                    + elementBytes + " bytes each), got " + segment.byteSize() + " bytes");
        }
        return segment.byteSize() / elementBytes;
    }

    /** What elements of that size are called in messages. */
    private static String elements(long elementBytes) {
        return elementBytes == FLOAT_BYTES ? "floats" : elementBytes == Short.BYTES ? "16-bit values"
                : elementBytes + "-byte elements";
    }

    /**
     * Refuses two segments that share a byte unless they are the same bytes ({@link #same}): for a
     * buffer that may be another argument itself but not part of it.
     */
    public static void checkSameOrDisjoint(String nameA, MemorySegment a, String nameB, MemorySegment b) {
        if (!same(a, b)) {
            checkDisjoint(nameA, a, nameB, b);
        }
    }

    /**
     * Whether {@code a} and {@code b} are the same bytes: native at one address, or views of one array
     * at one offset, of one size.
     */
    public static boolean same(MemorySegment a, MemorySegment b) {
        if (a.isNative() != b.isNative() || a.address() != b.address() || a.byteSize() != b.byteSize()) {
            return false;
        }
        return a.isNative() || (a.heapBase().isPresent() && a.heapBase().get() == b.heapBase().orElse(null));
    }

    /**
     * Refuses {@code a} and {@code b} if they share a byte, with an {@link IllegalArgumentException}
     * that names both and the bytes shared.
     */
    public static void checkDisjoint(String nameA, MemorySegment a, String nameB, MemorySegment b) {
        a.asOverlappingSlice(b).ifPresent(shared -> {
            // The bytes shared, from the addresses (offsets in one array, for heap segments): JDK 25's slice
            // is too long where b starts inside a and ends before it (it adds b's start offset to b's size).
            long bytes = Math.min(a.address() + a.byteSize(), b.address() + b.byteSize())
                    - Math.max(a.address(), b.address());
            throw new IllegalArgumentException(nameA + " and " + nameB + ": expected disjoint segments, got ones that"
                    + " overlap by " + bytes + " bytes");
        });
    }

    /**
     * Refuses a segment that the calling thread may not access, as {@link #checkAccessible(String,
     * MemorySegment, int)} with one thread.
     */
    public static void checkAccessible(String name, MemorySegment segment) {
        checkAccessible(name, segment, 1);
    }

    /** A thread that is never started: only confined segments refuse it access. */
    private static final Thread OTHER_THREAD = Thread.ofPlatform().unstarted(() -> { });

    /**
     * The one thread-access check: refuses a segment that one of the {@code threads} threads which
     * will touch it may not access. With one thread that is the calling thread; with more, the
     * calling thread and others, so only a segment every thread can access will do (from
     * {@code Arena.ofShared()}, {@code ofAuto()} or {@code global()}, or a heap array), not one from
     * {@code Arena.ofConfined()}.
     *
     * <p>The exception is the JDK's own for this condition, {@link WrongThreadException}, so a
     * caller that catches it around a plain segment access catches ours too; ours names the
     * argument, says what was expected, and is thrown before anything is written, in the manner of
     * {@code "grads: expected a segment that all 2 threads of the call can access (...), got one
     * confined to thread main"}.
     *
     * @throws IllegalArgumentException if {@code threads < 1}
     * @throws WrongThreadException if one of those threads may not access {@code segment}
     */
    public static void checkAccessible(String name, MemorySegment segment, int threads) {
        checkPositive("threads", threads);
        Thread caller = Thread.currentThread();
        boolean callerMay = segment.isAccessibleBy(caller);
        if (threads == 1) {
            if (!callerMay) {
                throw new WrongThreadException(name + ": expected a segment the calling thread (" + caller.getName()
                        + ") can access, got one confined to another thread");
            }
        } else if (!callerMay || !segment.isAccessibleBy(OTHER_THREAD)) {
            throw new WrongThreadException(name + ": expected a segment that all " + threads + " threads of the call"
                    + " can access (from Arena.ofShared(), ofAuto() or global(), or a heap array), got one confined to "
                    + (callerMay ? "the calling thread (" + caller.getName() + ")" : "another thread"));
        }
    }

    /** Refuses counts below one: {@code "n: expected > 0, got 0"}. */
    public static void checkPositive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + ": expected > 0, got " + value);
        }
    }
}
