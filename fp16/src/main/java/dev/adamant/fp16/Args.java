package dev.adamant.fp16;

import dev.adamant.core.memory.Segments;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Argument checks for the bulk codecs. Each names the argument and what was expected; none touches
 * a segment's contents, so a refused call writes nothing.
 */
final class Args {
    /** Bytes in one 16-bit value. */
    static final long HALF_BYTES = Short.BYTES;

    private Args() {}

    /** Checks an encode: floats (read) to 16-bit values (written). */
    static void checkEncode(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex, long count,
                            Rounding rounding) {
        Objects.requireNonNull(floats, "floats");
        Objects.requireNonNull(halves, "halves");
        Objects.requireNonNull(rounding, "rounding");
        checkCount(count);
        checkFloats(floats, floatIndex, count, false);
        checkHalves(halves, halfIndex, count, true);
        checkDisjoint(floats, floatIndex, halves, halfIndex, count);
    }

    /** Checks a decode: 16-bit values (read) to floats (written). */
    static void checkDecode(MemorySegment halves, long halfIndex, MemorySegment floats, long floatIndex, long count) {
        Objects.requireNonNull(halves, "halves");
        Objects.requireNonNull(floats, "floats");
        checkCount(count);
        checkHalves(halves, halfIndex, count, false);
        checkFloats(floats, floatIndex, count, true);
        checkDisjoint(floats, floatIndex, halves, halfIndex, count);
    }

    /**
     * The element count of a whole-segment call: {@code floats} must hold exactly one float per
     * 16-bit value of {@code halves}. A float buffer of the same byte size as {@code halves} is most
     * likely a 16-bit buffer passed as floats (or arguments swapped), and the message says so.
     */
    static long wholeCount(MemorySegment floats, MemorySegment halves) {
        Objects.requireNonNull(floats, "floats");
        Objects.requireNonNull(halves, "halves");
        long hb = halves.byteSize();
        long fb = floats.byteSize();
        if (hb % HALF_BYTES != 0) {
            throw new IllegalArgumentException("halves: expected a whole number of 16-bit values (2 bytes each), got "
                    + hb + " bytes" + (fb == 2 * hb ? "" : hint(fb, hb)));
        }
        long n = hb / HALF_BYTES;
        if (fb != n * Float.BYTES) {
            throw new IllegalArgumentException("floats: expected " + n * Float.BYTES + " bytes (" + n
                    + " floats, one per 16-bit value of halves), got " + fb + " bytes" + hint(fb, hb));
        }
        return n;
    }

    private static String hint(long floatBytes, long halfBytes) {
        if (floatBytes == halfBytes) {
            return ": floats is the size of halves; is it a 16-bit buffer?";
        }
        if (2 * floatBytes == halfBytes) {
            return ": floats is half the size of halves; are the arguments swapped?";
        }
        return "";
    }

    private static void checkCount(long count) {
        if (count < 0) {
            throw new IllegalArgumentException("count: expected >= 0, got " + count);
        }
    }

    private static void checkFloats(MemorySegment floats, long floatIndex, long count, boolean writable) {
        Segments.checkFloatRange("floats", floats, floatIndex, count, writable);
        Segments.checkAccessible("floats", floats);
    }

    /** As {@link #checkFloats}, for 16-bit values: live, 2-byte aligned, in bounds, writable if asked. */
    private static void checkHalves(MemorySegment halves, long halfIndex, long count, boolean writable) {
        Segments.checkRange("halves", halves, halfIndex, count, writable, HALF_BYTES);
        Segments.checkAccessible("halves", halves);
    }


    private static void checkDisjoint(MemorySegment floats, long floatIndex, MemorySegment halves, long halfIndex,
                                      long count) {
        if (count == 0) {
            return;
        }
        MemorySegment f = floats.asSlice(floatIndex * Float.BYTES, count * Float.BYTES);
        MemorySegment h = halves.asSlice(halfIndex * HALF_BYTES, count * HALF_BYTES);
        if (f.asOverlappingSlice(h).isPresent()) {
            throw new IllegalArgumentException("floats and halves: expected disjoint ranges, got floats [" + floatIndex
                    + ", " + floatIndex + " + " + count + ") and halves [" + halfIndex + ", " + halfIndex + " + " + count
                    + "), which overlap");
        }
    }
}
