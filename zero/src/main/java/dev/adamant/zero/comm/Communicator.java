package dev.adamant.zero.comm;

import dev.adamant.fp16.Precision;
import java.lang.foreign.MemorySegment;

/**
 * One rank's end of a group of {@link #size()} ranks that run collectives together, in the manner
 * of MPI and NCCL: every rank makes the same calls in the same order, each with its own buffers,
 * and a call returns on a rank once that rank's output is complete. Nothing in the interface
 * assumes the ranks share memory; {@link dev.adamant.zero.comm.inprocess.InProcessGroup} runs them
 * as threads of one JVM, and {@link dev.adamant.zero.comm.mpi.MpiCommunicator} as processes over MPI.
 *
 * <h2>Numbers</h2>
 * Buffers hold elements of a {@link Precision} in the platform's byte order. Reductions widen
 * half-precision elements to fp32, fold them in rank order {@code ((x0 + x1) + x2) + ...} in float,
 * and narrow the result once with round-to-nearest-even. The order is fixed, so results are
 * bit-reproducible whatever the timing and identical on every rank.
 *
 * <h2>Bad input and failure</h2>
 * Each call first checks its own arguments: null precision, op or segment, a closed, read-only
 * (where written) or, in-process, thread-confined segment, or sizes that do not fit give an
 * exception naming the argument ({@link NullPointerException} or {@link IllegalArgumentException}),
 * and the call changes nothing; the other ranks then wait for this one (see the backend for how
 * long). Once a call has joined its peers, any failure is fatal to the group: calls that disagree
 * across ranks (collective, precision, op, element count, root) throw
 * {@link CollectiveMismatchException}, a peer that does not arrive in time
 * {@link CollectiveTimeoutException}, a peer that threw {@link GroupFailedException} with its
 * exception as the cause; output buffers may then be partly written.
 *
 * <h2>Threads</h2>
 * A communicator is used by one thread at a time (a second concurrent call on the same rank throws
 * {@link IllegalStateException}). Byte counts ({@link #stats()}) follow the ring model that
 * {@link CommStats} documents.
 */
public interface Communicator {

    /** This rank, in {@code [0, size())}. */
    int rank();

    /** Ranks in the group, at least 1. */
    int size();

    /**
     * Sums {@code send} across ranks and leaves slice {@code rank()} of the sum in {@code recv}:
     * with {@code P} the elements of {@code recv}, {@code send} holds {@code size()*P} elements and
     * {@code recv[i] = sum over ranks k in order of send_k[rank()*P + i]}. {@code recv} may be exactly
     * slice {@code rank()} of {@code send} (in place) but must not otherwise overlap it.
     * Reads {@code size()} slices of {@code P} elements, writes one.
     */
    void reduceScatter(MemorySegment send, MemorySegment recv, Precision precision);

    /**
     * Sums {@code send} over the ranks, in rank order, into {@code recv} on {@code root} only:
     * every rank passes {@code send} of the same element count; {@code recv} (as many elements) is
     * read only on the root, where it may be {@code send} itself; other ranks pass null. Counted as
     * each non-root sending its buffer once and the root receiving N-1 of them: a reduce-scatter's
     * volume when the ranks take turns as root over equal ranges.
     */
    void reduce(MemorySegment send, MemorySegment recv, Precision precision, int root);

    /**
     * Gathers every rank's {@code send} of {@code P} elements into {@code recv} of {@code size()*P}:
     * slice {@code j} of {@code recv} is rank {@code j}'s {@code send}. {@code send} may be exactly
     * slice {@code rank()} of {@code recv} (in place), else the two must be disjoint. Ranks may mix
     * this form and {@link #allGatherInPlace}.
     */
    void allGather(MemorySegment send, MemorySegment recv, Precision precision);

    /**
     * {@link #allGather} where each rank's contribution is already slice {@code rank()} of
     * {@code buffer} ({@code size()*P} elements); fills the other slices.
     */
    void allGatherInPlace(MemorySegment buffer, Precision precision);

    /**
     * Replaces {@code buffer} on every rank with the elementwise {@code op} over all ranks' buffers,
     * folded in rank order. The buffers hold the same number of elements on every rank, which need
     * not be a multiple of {@code size()}. Runs as a reduce-scatter then an all-gather: each rank
     * reduces about {@code 1/size()} of the elements.
     */
    void allReduce(MemorySegment buffer, Precision precision, ReduceOp op);

    /** Copies rank {@code root}'s {@code buffer} into every other rank's {@code buffer} (same size on every rank). */
    void broadcast(MemorySegment buffer, Precision precision, int root);

    /** Returns once every rank has called it. */
    void barrier();

    /** The maximum of every rank's {@code value} ({@link ReduceOp#MAX}'s rules: NaN wins). A control collective. */
    float allReduceMax(float value);

    /** Whether any rank passed {@code true} (say, "overflow on any device"). A control collective. */
    boolean anyTrue(boolean value);

    /**
     * Every rank's {@code local} concatenated in rank order (a new array of {@code size() * local.length});
     * every rank passes the same length. For small arrays, such as per-block partial sums. A control collective.
     */
    double[] allGatherDoubles(double[] local);

    /** Bytes this rank has sent and received since creation or the last {@link #resetStats()}. */
    CommStats stats();

    /** Zeroes this rank's counts. */
    void resetStats();
}
