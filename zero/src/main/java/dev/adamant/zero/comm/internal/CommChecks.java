package dev.adamant.zero.comm.internal;

import dev.adamant.core.memory.Segments;
import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.Communicator;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Argument checks shared by the backends, in core's check vocabulary ({@code dev.adamant.core.memory.Segments}:
 * null, closed and read-only segments, and the one thread-access check with its
 * {@link WrongThreadException}); each names the argument and says what was expected, and reads only
 * the segment's metadata.
 */
public final class CommChecks {
    private CommChecks() {}

    /**
     * Checks that {@code segment} is non-null, open, accessible from all {@code ranks} ranks' threads
     * (they read and write each other's buffers), writable if asked, and holds whole elements of
     * {@code precision}; returns its element count.
     *
     * @throws WrongThreadException if a rank's thread may not access it (a confined segment)
     */
    public static long elements(String name, MemorySegment segment, Precision precision, boolean writable, int ranks) {
        Segments.checkUsable(name, segment, writable, 1);
        Segments.checkAccessible(name, segment, ranks);
        return wholeElements(name, segment, precision);
    }

    /**
     * Checks that {@code segment} is non-null, open, native (MPI reads and writes it by address),
     * accessible from this thread, writable if asked, and holds whole elements of {@code precision};
     * returns its element count.
     *
     * @throws WrongThreadException if the calling thread may not access it
     */
    public static long nativeElements(String name, MemorySegment segment, Precision precision, boolean writable) {
        Segments.checkUsable(name, segment, writable, 1);
        if (!segment.isNative()) {
            throw new IllegalArgumentException(name + ": expected a native segment (MPI reads and writes memory by"
                    + " address: allocate it from an Arena), got a heap segment");
        }
        Segments.checkAccessible(name, segment);
        return wholeElements(name, segment, precision);
    }

    private static long wholeElements(String name, MemorySegment segment, Precision precision) {
        int bytes = precision.bytes();
        if (segment.byteSize() % bytes != 0) {
            throw new IllegalArgumentException(name + ": expected whole " + precision + " elements (a multiple of "
                    + bytes + " bytes), got " + segment.byteSize() + " bytes");
        }
        return segment.byteSize() / bytes;
    }

    /** Checks that {@code segment} holds exactly {@code expected} elements; {@code why} says where that number comes from. */
    public static void exactly(String name, MemorySegment segment, Precision precision, long expected, String why) {
        long got = segment.byteSize() / precision.bytes();
        if (got != expected) {
            throw new IllegalArgumentException(name + ": expected " + expected + " " + precision + " elements ("
                    + expected * precision.bytes() + " bytes) " + why + ", got " + got + " elements ("
                    + segment.byteSize() + " bytes)");
        }
    }

    /** Checks that a buffer of {@code elements} elements splits evenly across {@code size} ranks; returns the share. */
    public static long perRank(String name, long elements, int size, Precision precision) {
        if (elements % size != 0) {
            throw new IllegalArgumentException(name + ": expected a multiple of " + size + " " + precision
                    + " elements (one equal slice per rank), got " + elements);
        }
        return elements / size;
    }

    /**
     * Refuses {@code part} overlapping {@code whole} unless it is exactly the slice of
     * {@code whole} at {@code offset} bytes (the in-place form).
     */
    public static void disjointOrSlice(String partName, MemorySegment part, String wholeName, MemorySegment whole,
                                long offset, String sliceName) {
        if (part.asOverlappingSlice(whole).isEmpty()) {
            return;
        }
        // Overlapping segments share their memory, so their addresses (heap: offsets into the one array) compare.
        long got = part.address() - whole.address();
        if (got == offset) {
            return;
        }
        throw new IllegalArgumentException(partName + " and " + wholeName + " overlap: expected disjoint segments,"
                + " or " + partName + " exactly " + sliceName + " of " + wholeName + " (bytes [" + offset + ", "
                + (offset + part.byteSize()) + ")), got bytes [" + got + ", " + (got + part.byteSize()) + ")");
    }

    /** How a backend checks one segment: {@link #elements} with its rank count (in process) or {@link #nativeElements} (MPI). */
    @FunctionalInterface
    public interface SegmentCheck {
        long elements(String name, MemorySegment segment, Precision precision, boolean writable);
    }

    /** {@link Communicator#reduceScatter}'s arguments; returns the per-rank count {@code P}. */
    public static long reduceScatter(SegmentCheck check, MemorySegment send, MemorySegment recv, Precision precision, int rank,
                              int size) {
        Objects.requireNonNull(precision, "precision");
        check.elements("send", send, precision, false);
        long p = check.elements("recv", recv, precision, true);
        exactly("send", send, precision, size * p, "(" + size + " ranks x the recv's " + p + ")");
        disjointOrSlice("recv", recv, "send", send, rank * p * precision.bytes(), "slice " + rank);
        return p;
    }

    /** {@link Communicator#reduce}'s arguments; returns the element count. */
    public static long reduce(SegmentCheck check, MemorySegment send, MemorySegment recv, Precision precision, int root,
                       int rank, int size) {
        Objects.requireNonNull(precision, "precision");
        root(root, size);
        boolean isRoot = rank == root;
        long count = check.elements("send", send, precision, isRoot && recv != null && recv.equals(send));
        if (isRoot) {
            check.elements("recv", recv, precision, true);
            exactly("recv", recv, precision, count, "(the send's " + count + ")");
            if (!recv.equals(send)) {
                disjointOrSlice("recv", recv, "send", send, 0, "itself");
            }
        }
        return count;
    }

    /** {@link Communicator#allGather}'s arguments; returns the per-rank count {@code P}. */
    public static long allGather(SegmentCheck check, MemorySegment send, MemorySegment recv, Precision precision, int rank,
                          int size) {
        Objects.requireNonNull(precision, "precision");
        long p = check.elements("send", send, precision, false);
        check.elements("recv", recv, precision, true);
        exactly("recv", recv, precision, size * p, "(" + size + " ranks x the send's " + p + ")");
        disjointOrSlice("send", send, "recv", recv, rank * p * precision.bytes(), "slice " + rank);
        return p;
    }

    /** {@link Communicator#allGatherInPlace}'s arguments; returns the per-rank count {@code P}. */
    public static long allGatherInPlace(SegmentCheck check, MemorySegment buffer, Precision precision, int size) {
        Objects.requireNonNull(precision, "precision");
        return perRank("buffer", check.elements("buffer", buffer, precision, true), size, precision);
    }

    /** Checks {@code 0 <= root < size}. */
    public static void root(int root, int size) {
        if (root < 0 || root >= size) {
            throw new IllegalArgumentException("root: expected a rank in [0, " + size + "), got " + root);
        }
    }
}
