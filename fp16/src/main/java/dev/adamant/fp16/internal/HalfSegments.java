package dev.adamant.fp16.internal;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The argument check for 16-bit buffers, as {@code Segments.checkUsable} is for float buffers: a
 * 16-bit value needs 2-byte alignment only, so a slice at an odd 16-bit index of a larger buffer is
 * accepted. Reads only the segment's metadata.
 */
public final class HalfSegments {
    /** Bytes in one 16-bit value. */
    public static final long HALF_BYTES = Short.BYTES;

    private HalfSegments() {}

    /** Checks that {@code segment} is non-null, open, 2-byte aligned and, if asked, writable; names it. */
    public static void checkUsable(String name, MemorySegment segment, boolean writable) {
        Objects.requireNonNull(segment, name);
        if (!segment.scope().isAlive()) {
            throw new IllegalArgumentException(name + ": the segment's arena is closed");
        }
        if (segment.address() % HALF_BYTES != 0) {
            throw new IllegalArgumentException(name + ": expected a 2-byte aligned segment, got address 0x"
                    + Long.toHexString(segment.address()));
        }
        if (writable && segment.isReadOnly()) {
            throw new IllegalArgumentException(name + ": expected a writable segment, got a read-only one");
        }
    }
}
