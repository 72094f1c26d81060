package dev.adamant.zero.comm.mpi;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.CollectiveTimeoutException;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.internal.Call;
import dev.adamant.zero.comm.internal.Reduction;
import dev.adamant.zero.comm.internal.RingVolume;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

/**
 * What one {@link MpiCommunicator} moves over MPI, once its caller has checked the arguments,
 * built the {@link Call} and entered the collective ({@link MpiRuntime#enter}): the header exchange,
 * then the data, point to point, in pieces of at most {@link MpiCommunicator.Settings#pieceElements()}
 * elements with two pieces in flight (banks 0 and 1 of the request handles), the reductions folded
 * locally in rank order by the shared {@link Reduction}. Every wait polls {@code MPI_Testall} and
 * gives up after the settings' timeout. One thread at a time; owns its request handles, headers and
 * reduction scratch ({@code 2 x size x pieceElements} elements at most), freed by {@link #close}.
 */
final class PieceExchange implements AutoCloseable {
    /**
     * Tags: MPI guarantees up to 32767. A collective's messages use its sequence number modulo 2^14,
     * and an all-reduce's gathering half sets bit 14, so no two collectives in flight share a tag.
     */
    private static final int SEQ_TAG_MASK = 0x3FFF, SECOND_HALF_TAG = 0x4000;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final long PARK_NANOS = Long.getLong("adamant.mpi.parkNanos", 20_000);

    private final MemorySegment comm;
    /** More ranks on this node than processors: waiting ranks sleep between polls instead of spinning. */
    private final boolean oversubscribed;
    private final int rank;
    private final int size;
    private final MpiCommunicator.Settings settings;
    private final long timeoutNanos;
    private final Arena arena = Arena.ofShared();
    /** Two banks of request handles, {@code 2 * size} each. */
    private final MemorySegment requests;
    private final int bankRequests;
    private final MemorySegment flag;
    private final MemorySegment headerOut;
    private final MemorySegment headersIn;
    private final Reduction reduction = new Reduction();
    private Arena scratchArena;
    private MemorySegment scratch;

    PieceExchange(MemorySegment comm, int rank, int size, MpiCommunicator.Settings settings) {
        this.comm = comm;
        this.rank = rank;
        this.size = size;
        this.settings = settings;
        this.timeoutNanos = settings.timeout().toNanos();
        this.oversubscribed = MpiRuntime.oversubscribed();
        this.bankRequests = 2 * size;
        this.requests = arena.allocate(Mpi.HANDLE.byteSize() * 2 * bankRequests, 8);
        this.flag = arena.allocate(INT);
        this.headerOut = arena.allocate(CallHeader.BYTES, 8);
        this.headersIn = arena.allocate((long) CallHeader.BYTES * size, 8);
    }

    /** The MPI communicator handle. */
    MemorySegment comm() {
        return comm;
    }

    /** The tag of the collective with sequence number {@code seq}. */
    static int tag(long seq) {
        return (int) (seq & SEQ_TAG_MASK);
    }

    /**
     * Every rank's call, from the headers all ranks exchange (with the control collectives' values);
     * throws the same mismatch on every rank if they differ.
     */
    Call[] exchangeHeaders(Call call) {
        CallHeader.encode(call, headerOut);
        MemorySegment request = requests.asSlice(0, Mpi.HANDLE.byteSize());
        Mpi.check(Mpi.call(() -> (int) Mpi.IALLGATHER.invokeExact(headerOut, CallHeader.BYTES, Mpi.BYTE, headersIn,
                CallHeader.BYTES, Mpi.BYTE, comm, request)), "MPI_Iallgather");
        await(request, 1, call, "not every rank joined it");
        Call[] calls = CallHeader.decode(headersIn, size, rank, call);
        RuntimeException problem = Call.checkGroup(calls);
        if (problem != null) {
            throw problem;
        }
        return calls;
    }

    // ---------------------------------------------------------------- the collectives' data

    /** Reduce-scatter: slice {@code j} ({@code p} elements) of {@code send} to rank {@code j}, this rank's folded into {@code recv}. */
    void reduceScatter(MemorySegment send, MemorySegment recv, long p, Precision precision, int tag, Call call) {
        long[] start = new long[size], len = new long[size];
        for (int j = 0; j < size; j++) {
            start[j] = j * p;
            len[j] = p;
        }
        reduceChunks(send, start, len, recv, precision, ReduceOp.SUM, tag, call);
    }

    /** Reduce: every rank's {@code count} elements to {@code root}, folded into {@code recv} (null elsewhere). */
    void reduce(MemorySegment send, MemorySegment recv, long count, int root, Precision precision, int tag, Call call) {
        long[] start = new long[size], len = new long[size];
        len[root] = count;
        reduceChunks(send, start, len, recv, precision, ReduceOp.SUM, tag, call);
    }

    /** All-gather: {@code send} ({@code p} elements) to slice {@code rank} of every rank's {@code recv}. */
    void allGather(MemorySegment send, MemorySegment recv, long p, Precision precision, int tag, Call call) {
        long[] start = new long[size], len = new long[size];
        for (int j = 0; j < size; j++) {
            start[j] = j * p;
            len[j] = p;
        }
        gatherChunks(send, recv, start, len, precision, tag, call);
    }

    /** All-reduce in place: a reduce-scatter over the ring model's chunks of {@code total}, then an all-gather. */
    void allReduce(MemorySegment buffer, long total, Precision precision, ReduceOp op, int tag, Call call) {
        long[] start = new long[size], len = new long[size];
        for (int j = 0; j < size; j++) {
            start[j] = RingVolume.chunkStart(size, j, total);
            len[j] = RingVolume.chunkSize(size, j, total);
        }
        int b = precision.bytes();
        MemorySegment mine = buffer.asSlice(start[rank] * b, len[rank] * b);
        reduceChunks(buffer, start, len, mine, precision, op, tag, call);
        gatherChunks(mine, buffer, start, len, precision, tag | SECOND_HALF_TAG, call);
    }

    /** Broadcast of {@code total} elements from {@code root}: {@code MPI_Ibcast}, one piece at a time. */
    void broadcast(MemorySegment buffer, long total, Precision precision, int root, Call call) {
        int b = precision.bytes();
        MemorySegment type = type(precision);
        MemorySegment request = requests.asSlice(0, Mpi.HANDLE.byteSize());
        for (long off = 0; off < total; off += settings.pieceElements()) {
            int count = (int) Math.min(settings.pieceElements(), total - off);
            MemorySegment piece = buffer.asSlice(off * b, (long) count * b);
            Mpi.check(Mpi.call(() -> (int) Mpi.IBCAST.invokeExact(piece, count, type, root, comm, request)),
                    "MPI_Ibcast");
            await(request, 1, call, "not every rank joined it");
        }
    }

    /** Every rank's {@code mine}, in rank order, into {@code all} ({@code size x mine.length}): one {@code MPI_Iallgather}. */
    void allGatherDoubles(double[] mine, double[] all, Call call) {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment out = local.allocate(Math.max(8L, (long) mine.length * Double.BYTES), 8);
            MemorySegment.copy(mine, 0, out, ValueLayout.JAVA_DOUBLE, 0, mine.length);
            MemorySegment in = local.allocate(Math.max(8L, (long) all.length * Double.BYTES), 8);
            MemorySegment request = requests.asSlice(0, Mpi.HANDLE.byteSize());
            int n = mine.length;
            Mpi.check(Mpi.call(() -> (int) Mpi.IALLGATHER.invokeExact(out, n, Mpi.DOUBLE, in, n, Mpi.DOUBLE, comm,
                    request)), "MPI_Iallgather");
            await(request, 1, call, "not every rank joined it");
            MemorySegment.copy(in, ValueLayout.JAVA_DOUBLE, 0, all, 0, all.length);
        }
    }

    /** Frees the request handles, headers and scratch. */
    @Override
    public void close() {
        arena.close();
        if (scratchArena != null) {
            scratchArena.close();
        }
    }

    // ---------------------------------------------------------------- pieces

    /**
     * The reducing half of every reducing collective: rank {@code j}'s chunk of {@code send} is
     * elements {@code [start[j], start[j] + len[j])}; every rank sends chunk {@code j} to rank
     * {@code j} and folds the {@code size} copies of its own chunk, in rank order, into {@code out}
     * ({@code len[rank]} elements; may be this rank's chunk of {@code send} itself). In pieces, the
     * next one in flight while this one is folded.
     */
    private void reduceChunks(MemorySegment send, long[] start, long[] len, MemorySegment out, Precision precision,
                              ReduceOp op, int tag, Call call) {
        int b = precision.bytes();
        if (size == 1) {
            MemorySegment own = send.asSlice(start[rank] * b, len[rank] * b);
            if (len[rank] > 0 && own.address() != out.address()) {
                MemorySegment.copy(own, 0, out, 0, own.byteSize());
            }
            return;
        }
        long piece = settings.pieceElements();
        long stride = Math.min(piece, len[rank]) * b;   // scratch bytes per peer and bank
        ensureScratch(2L * size * stride);
        MemorySegment[] inputs = new MemorySegment[size];
        int pieces = pieces(len);
        int posted = pieces > 0 ? postReduce(0, send, start, len, precision, tag, stride) : 0;
        for (int i = 0; i < pieces; i++) {
            int bank = i & 1;
            int next = i + 1 < pieces ? postReduce(i + 1, send, start, len, precision, tag, stride) : 0;
            await(bank(bank), posted, call, "data from some ranks never came");
            posted = next;
            long off = i * piece;
            long count = Math.min(piece, len[rank] - off);
            if (count <= 0) {
                continue;
            }
            for (int k = 0; k < size; k++) {
                inputs[k] = k == rank ? send.asSlice((start[rank] + off) * b, count * b)
                        : scratch.asSlice(((long) bank * size + k) * stride, count * b);
            }
            reduction.reduce(inputs, out.asSlice(off * b, count * b), count, precision, op);
        }
    }

    /** Posts piece {@code i} of a reduction into bank {@code i & 1}; returns the number of requests. */
    private int postReduce(int i, MemorySegment send, long[] start, long[] len, Precision precision, int tag,
                           long stride) {
        int bank = i & 1, b = precision.bytes(), n = 0;
        long piece = settings.pieceElements(), off = i * piece;
        MemorySegment type = type(precision);
        MemorySegment reqs = bank(bank);
        long mine = Math.min(piece, len[rank] - off);
        for (int k = 0; k < size; k++) {
            if (k != rank && mine > 0) {
                irecv(scratch.asSlice(((long) bank * size + k) * stride, mine * b), (int) mine, type, k, tag, reqs, n++);
            }
        }
        for (int j = 0; j < size; j++) {
            long count = Math.min(piece, len[j] - off);
            if (j != rank && count > 0) {
                isend(send.asSlice((start[j] + off) * b, count * b), (int) count, type, j, tag, reqs, n++);
            }
        }
        return n;
    }

    /**
     * The gathering half: this rank's chunk ({@code mine}, {@code len[rank]} elements) goes to every
     * rank, and chunk {@code j} arrives from rank {@code j} at element {@code start[j]} of
     * {@code recv}. {@code mine} may already be this rank's chunk of {@code recv}; else it is copied there.
     */
    private void gatherChunks(MemorySegment mine, MemorySegment recv, long[] start, long[] len, Precision precision,
                              int tag, Call call) {
        int b = precision.bytes();
        MemorySegment own = recv.asSlice(start[rank] * b, len[rank] * b);
        if (own.address() != mine.address()) {
            MemorySegment.copy(mine, 0, own, 0, own.byteSize());
        }
        int pieces = pieces(len);
        int posted = pieces > 0 ? postGather(0, mine, recv, start, len, precision, tag) : 0;
        for (int i = 0; i < pieces; i++) {
            int next = i + 1 < pieces ? postGather(i + 1, mine, recv, start, len, precision, tag) : 0;
            await(bank(i & 1), posted, call, "data from some ranks never came");
            posted = next;
        }
    }

    private int postGather(int i, MemorySegment mine, MemorySegment recv, long[] start, long[] len, Precision precision,
                           int tag) {
        int b = precision.bytes(), n = 0;
        long piece = settings.pieceElements(), off = i * piece;
        MemorySegment type = type(precision);
        MemorySegment reqs = bank(i & 1);
        for (int k = 0; k < size; k++) {
            long count = Math.min(piece, len[k] - off);
            if (k != rank && count > 0) {
                irecv(recv.asSlice((start[k] + off) * b, count * b), (int) count, type, k, tag, reqs, n++);
            }
        }
        long count = Math.min(piece, len[rank] - off);
        for (int j = 0; j < size && count > 0; j++) {
            if (j != rank) {
                isend(mine.asSlice(off * b, count * b), (int) count, type, j, tag, reqs, n++);
            }
        }
        return n;
    }

    /** Pieces needed for the longest chunk; 0 with one rank (nothing moves) or empty chunks. */
    private int pieces(long[] len) {
        if (size == 1) {
            return 0;
        }
        long longest = Arrays.stream(len).max().orElse(0);
        return Math.toIntExact((longest + settings.pieceElements() - 1) / settings.pieceElements());
    }

    private MemorySegment bank(int bank) {
        long bytes = Mpi.HANDLE.byteSize() * bankRequests;
        return requests.asSlice(bank * bytes, bytes);
    }

    /** Grows the reduction scratch to {@code bytes}: at most {@code 2 x size x pieceElements} floats. */
    private void ensureScratch(long bytes) {
        if (scratch == null || scratch.byteSize() < bytes) {
            if (scratchArena != null) {
                scratchArena.close();
            }
            scratchArena = Arena.ofShared();
            scratch = scratchArena.allocate(Math.max(bytes, 64), 64);
        }
    }

    private void isend(MemorySegment buf, int count, MemorySegment type, int dest, int tag, MemorySegment reqs, int slot) {
        MemorySegment request = reqs.asSlice(slot * Mpi.HANDLE.byteSize(), Mpi.HANDLE.byteSize());
        Mpi.check(Mpi.call(() -> (int) Mpi.ISEND.invokeExact(buf, count, type, dest, tag, comm, request)), "MPI_Isend");
    }

    private void irecv(MemorySegment buf, int count, MemorySegment type, int source, int tag, MemorySegment reqs,
                       int slot) {
        MemorySegment request = reqs.asSlice(slot * Mpi.HANDLE.byteSize(), Mpi.HANDLE.byteSize());
        Mpi.check(Mpi.call(() -> (int) Mpi.IRECV.invokeExact(buf, count, type, source, tag, comm, request)), "MPI_Irecv");
    }

    /**
     * Polls {@code MPI_Testall} (which also drives MPI's progress) until the first {@code count}
     * requests of {@code reqs} complete or the timeout passes. Yields between polls once the wait
     * is not short, so that oversubscribed ranks let each other run.
     */
    private void await(MemorySegment reqs, int count, Call call, String missing) {
        if (count == 0) {
            return;
        }
        long begin = System.nanoTime();
        for (int spin = 0; ; spin++) {
            Mpi.check(Mpi.call(() -> (int) Mpi.TESTALL.invokeExact(count, reqs, flag, Mpi.STATUSES_IGNORE)),
                    "MPI_Testall");
            if (flag.get(INT, 0) != 0) {
                return;
            }
            if (spin >= 64) {
                if (oversubscribed) {
                    LockSupport.parkNanos(PARK_NANOS);
                } else {
                    Thread.onSpinWait();
                }
                if ((spin & 63) == 0 && System.nanoTime() - begin > timeoutNanos) {
                    throw new CollectiveTimeoutException("rank " + rank + " of " + size + ": " + call.describe()
                            + " did not complete within " + settings.timeout() + ": "
                            + missing
                            + " (a rank that is stuck, or calls a different collective without reaching it)");
                }
            }
        }
    }

    private static MemorySegment type(Precision precision) {
        return precision == Precision.FP32 ? Mpi.FLOAT : Mpi.UINT16;
    }
}
