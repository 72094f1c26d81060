package dev.adamant.zero.comm;

import dev.adamant.fp16.Precision;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A {@link Communicator} across processes, one rank per process, over MPI: Open MPI's
 * {@code libmpi.so.40} called directly through {@code java.lang.foreign} downcalls, with the
 * segments' addresses as MPI buffers. No Java dependency, no JNI; the processes are started by
 * {@code mpirun}.
 *
 * <pre>{@code
 * // mpirun -np 4 java --enable-native-access=ALL-UNNAMED ... Main
 * MpiCommunicator.runRank(MpiCommunicator.Settings.defaults(), comm -> {
 *     try (ZeroDevice device = new ZeroDevice(config, layout, comm, initial)) { ... }
 * });
 * }</pre>
 *
 * <h2>Same bits as in process</h2>
 * The reductions are not MPI's: MPI does not fix the order in which it adds the ranks' values, and
 * has no fp16/bf16 sums. A reduce-scatter is an all-to-all of the slices (each rank sends slice
 * {@code j} of its buffer to rank {@code j}, point to point, which moves the same bytes per rank as a
 * ring reduce-scatter) followed by the same local fold in rank order that {@link InProcessGroup}
 * runs; an all-reduce is that reduce-scatter over the ring model's chunks, then an all-gather; a
 * reduce is a gather to the root and the same fold. So N processes produce the bits N threads do.
 * All-gather is point to point too; broadcast is {@code MPI_Ibcast}.
 *
 * <h2>Pieces</h2>
 * MPI counts are C ints. Every buffer moves in pieces of at most {@link Settings#pieceElements()}
 * elements ({@code MPI_FLOAT}, or {@code MPI_UINT16_T} for 16-bit elements), two pieces in flight so
 * that the next piece travels while this one is reduced. Reductions receive into scratch of
 * {@code 2 x size() x pieceElements} floats per communicator, allocated at the first reduction: a
 * fixed cost that does not grow with the model.
 *
 * <h2>Checks and failure</h2>
 * Before moving data, every collective exchanges a 64-byte header with all ranks (one small
 * {@code MPI_Iallgather}: the collective, its sequence number, precision, op, element count and
 * root), so calls that disagree across ranks, such as mismatched sizes, throw the same
 * {@link CollectiveMismatchException} on every rank instead of corrupting memory or hanging.
 * Buffers must be native segments (MPI reads and writes by address), open, accessible from the
 * calling thread; heap or closed segments are refused before anything moves. Every wait polls
 * {@code MPI_Testall} and gives up after {@link Settings#timeout()} with a
 * {@link CollectiveTimeoutException} that names the collective and this rank. Waiting ranks spin,
 * or, when the node has more ranks than processors ({@code mpirun --oversubscribe}), sleep 20 µs
 * between polls ({@code -Dadamant.mpi.parkNanos}) so that the rank they wait for can run.
 * MPI errors (returned, not fatal: the communicator uses {@code MPI_ERRORS_RETURN}) become
 * {@link MpiException}s with MPI's message. After any failure inside a collective the communicator
 * is broken, as an {@link InProcessGroup} is: every later call throws {@link GroupFailedException}.
 * A rank that fails should not go on alone, nor wait in {@code MPI_Finalize}: {@link #runRank}
 * prints the failure and calls {@code MPI_Abort}, which makes {@code mpirun} stop every rank at
 * once and exit non-zero; a rank that dies outright (a crash, SIGKILL) has the same effect.
 *
 * <h2>Threads and lifetime</h2>
 * MPI is initialized with {@code MPI_THREAD_SERIALIZED} by the first {@link #world}; one thread at a
 * time may be inside a collective across all the process's MPI communicators (a second concurrent
 * call throws {@link IllegalStateException}). {@link #close} frees the communicator and, when it is
 * the last open one and this class initialized MPI, finalizes MPI, after which MPI cannot start again
 * in this process. Byte counts follow {@link CommStats}' ring model, as the in-process backend's do,
 * whatever MPI moved (the headers are not counted).
 */
public final class MpiCommunicator implements Communicator, AutoCloseable {

    /**
     * @param timeout how long a rank waits for its peers in one collective before it fails
     * @param pieceElements the most elements one MPI call moves (at most {@link Integer#MAX_VALUE}),
     *     which also sizes the reduction scratch
     */
    public record Settings(Duration timeout, int pieceElements) {
        /** The default piece: 2^18 elements, 1 MiB of floats. */
        public static final int DEFAULT_PIECE_ELEMENTS = 1 << 18;

        public Settings {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout: expected > 0, got " + timeout);
            }
            if (pieceElements < 1) {
                throw new IllegalArgumentException("pieceElements: expected >= 1, got " + pieceElements);
            }
        }

        /** A 5-minute timeout and {@value #DEFAULT_PIECE_ELEMENTS}-element pieces. */
        public static Settings defaults() {
            return new Settings(Duration.ofMinutes(5), DEFAULT_PIECE_ELEMENTS);
        }

        public Settings withTimeout(Duration t) {
            return new Settings(t, pieceElements);
        }

        public Settings withPieceElements(int n) {
            return new Settings(timeout, n);
        }
    }

    private static final int HEADER_LONGS = 8;
    private static final int HEADER_BYTES = HEADER_LONGS * Long.BYTES;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    /**
     * Tags: MPI guarantees up to 32767. A collective's messages use its sequence number modulo 2^14,
     * and an all-reduce's gathering half sets bit 14, so no two collectives in flight share a tag.
     */
    private static final int SEQ_TAG_MASK = 0x3FFF, SECOND_HALF_TAG = 0x4000;
    /** The one thread inside a collective on any of this process's communicators (MPI_THREAD_SERIALIZED). */
    private static final AtomicReference<Thread> BUSY = new AtomicReference<>();
    private static final Object LIFECYCLE = new Object();
    private static final long PARK_NANOS = Long.getLong("adamant.mpi.parkNanos", 20_000);
    private static int openCount;
    private static boolean initializedHere;
    private static boolean finalized;

    private final MemorySegment comm;
    /** More ranks on this node than processors: waiting ranks sleep between polls instead of spinning. */
    private final boolean oversubscribed;
    private final int rank;
    private final int size;
    private final Settings settings;
    private final long timeoutNanos;
    private final Arena arena = Arena.ofShared();
    /** Two banks of request handles, {@code 2 * size} each. */
    private final MemorySegment requests;
    private final int bankRequests;
    private final MemorySegment flag;
    private final MemorySegment headerOut;
    private final MemorySegment headersIn;
    private final Reduction reduction = new Reduction();
    private final StatsRecorder stats = new StatsRecorder();
    private Arena scratchArena;
    private MemorySegment scratch;
    private long seq;
    private volatile Throwable failure;
    private boolean closed;

    private MpiCommunicator(MemorySegment comm, int rank, int size, Settings settings) {
        this.comm = comm;
        this.rank = rank;
        this.size = size;
        this.settings = settings;
        this.timeoutNanos = settings.timeout().toNanos();
        this.oversubscribed = localRanks() > Runtime.getRuntime().availableProcessors();
        this.bankRequests = 2 * size;
        this.requests = arena.allocate(Mpi.HANDLE.byteSize() * 2 * bankRequests, 8);
        this.flag = arena.allocate(INT);
        this.headerOut = arena.allocate(HEADER_BYTES, 8);
        this.headersIn = arena.allocate((long) HEADER_BYTES * size, 8);
    }

    /** Why MPI cannot be used in this process (the library is missing, say, and how to install it), or empty. */
    public static Optional<String> unavailableReason() {
        return Mpi.unavailable();
    }

    /** {@link #world(Settings)} with {@link Settings#defaults()}. */
    public static MpiCommunicator world() {
        return world(Settings.defaults());
    }

    /**
     * A communicator over all the job's processes (a duplicate of {@code MPI_COMM_WORLD}, so that
     * Adamant's messages never meet the application's), initializing MPI first if nobody has.
     *
     * @throws MpiException if the library is missing (the message says how to install it), MPI
     *     cannot start, or gives a thread level below {@code MPI_THREAD_SERIALIZED}
     * @throws IllegalStateException if MPI was already finalized in this process
     */
    public static MpiCommunicator world(Settings settings) {
        Objects.requireNonNull(settings, "settings");
        Mpi.requireAvailable();
        synchronized (LIFECYCLE) {
            if (finalized) {
                throw new IllegalStateException("MPI was finalized when the last MpiCommunicator closed;"
                        + " it cannot start again in this process");
            }
            try (Arena local = Arena.ofConfined()) {
                MemorySegment out = local.allocate(INT);
                Mpi.check(call(() -> (int) Mpi.INITIALIZED.invokeExact(out)), "MPI_Initialized");
                if (out.get(INT, 0) == 0) {
                    Mpi.check(call(() -> (int) Mpi.INIT_THREAD.invokeExact(MemorySegment.NULL, MemorySegment.NULL,
                            Mpi.THREAD_SERIALIZED, out)), "MPI_Init_thread");
                    initializedHere = true;
                    int provided = out.get(INT, 0);
                    if (provided < Mpi.THREAD_SERIALIZED) {
                        throw new MpiException("MPI_Init_thread: the library provides thread level " + provided
                                + ", Adamant needs MPI_THREAD_SERIALIZED (" + Mpi.THREAD_SERIALIZED + ")", -1);
                    }
                }
                Mpi.check(call(() -> (int) Mpi.COMM_SET_ERRHANDLER.invokeExact(Mpi.COMM_WORLD, Mpi.ERRORS_RETURN)),
                        "MPI_Comm_set_errhandler");
                MemorySegment handle = local.allocate(Mpi.HANDLE);
                Mpi.check(call(() -> (int) Mpi.COMM_DUP.invokeExact(Mpi.COMM_WORLD, handle)), "MPI_Comm_dup");
                MemorySegment dup = handle.get(ValueLayout.ADDRESS, 0);
                Mpi.check(call(() -> (int) Mpi.COMM_SET_ERRHANDLER.invokeExact(dup, Mpi.ERRORS_RETURN)),
                        "MPI_Comm_set_errhandler");
                Mpi.check(call(() -> (int) Mpi.COMM_RANK.invokeExact(dup, out)), "MPI_Comm_rank");
                int rank = out.get(INT, 0);
                Mpi.check(call(() -> (int) Mpi.COMM_SIZE.invokeExact(dup, out)), "MPI_Comm_size");
                int size = out.get(INT, 0);
                openCount++;
                return new MpiCommunicator(dup, rank, size, settings);
            }
        }
    }

    /**
     * Runs one rank's work, the way an MPI program's {@code main} should: a communicator over the
     * world, {@code body}, then {@link #close} (finalizing MPI). If {@code body} throws, the failure
     * is printed to standard error with this rank's number and {@code MPI_Abort} ends every rank of
     * the job at once (so no rank hangs waiting for this one, and {@code mpirun} exits non-zero);
     * this method then does not return.
     */
    public static void runRank(Settings settings, Consumer<? super MpiCommunicator> body) {
        Objects.requireNonNull(body, "body");
        MpiCommunicator comm = world(settings);
        try {
            body.accept(comm);
        } catch (Throwable t) {
            PrintStream err = System.err;
            err.println("rank " + comm.rank() + " of " + comm.size() + " failed, aborting the job (MPI_Abort): " + t);
            t.printStackTrace(err);
            err.flush();
            System.out.flush();
            comm.abort(1);
        }
        comm.close();
    }

    /** The MPI library's own description (the first line of {@code MPI_Get_library_version}). */
    public static String libraryVersion() {
        return Mpi.libraryVersion();
    }

    @Override public int rank() { return rank; }
    @Override public int size() { return size; }

    /** The settings this communicator was made with. */
    public Settings settings() {
        return settings;
    }

    /**
     * {@code MPI_Abort}: ends every process of the job with {@code errorCode}. Does not return while
     * MPI works; if MPI refuses, the calling JVM halts with the code.
     */
    public void abort(int errorCode) {
        try {
            int ignored = (int) Mpi.ABORT.invokeExact(comm, errorCode);
        } catch (Throwable ignored) {
            // Nothing left to try but ending this process.
        }
        Runtime.getRuntime().halt(errorCode == 0 ? 1 : errorCode);
    }

    // ---------------------------------------------------------------- data collectives

    @Override
    public void reduceScatter(MemorySegment send, MemorySegment recv, Precision precision) {
        long p = CommChecks.reduceScatter(CommChecks::nativeElements, send, recv, precision, rank, size);
        Call call = Call.data(Collective.REDUCE_SCATTER, seq, precision, ReduceOp.SUM, p, -1, null, null, null, null);
        run(call, (tag, calls) -> {
            long[] start = new long[size], len = new long[size];
            for (int j = 0; j < size; j++) {
                start[j] = j * p;
                len[j] = p;
            }
            reduceChunks(send, start, len, recv, precision, ReduceOp.SUM, tag, call);
            stats.scatterOrGather(Collective.REDUCE_SCATTER, size, p, precision.bytes());
        });
    }

    @Override
    public void reduce(MemorySegment send, MemorySegment recv, Precision precision, int root) {
        long count = CommChecks.reduce(CommChecks::nativeElements, send, recv, precision, root, rank, size);
        boolean isRoot = rank == root;
        Call call = Call.data(Collective.REDUCE, seq, precision, ReduceOp.SUM, count, root, null, null, null, null);
        run(call, (tag, calls) -> {
            long[] start = new long[size], len = new long[size];
            len[root] = count;
            reduceChunks(send, start, len, isRoot ? recv : null, precision, ReduceOp.SUM, tag, call);
            stats.reduce(size, isRoot, count, precision.bytes());
        });
    }

    @Override
    public void allGather(MemorySegment send, MemorySegment recv, Precision precision) {
        long p = CommChecks.allGather(CommChecks::nativeElements, send, recv, precision, rank, size);
        gather(send, recv, p, precision);
    }

    @Override
    public void allGatherInPlace(MemorySegment buffer, Precision precision) {
        long p = CommChecks.allGatherInPlace(CommChecks::nativeElements, buffer, precision, size);
        long sliceBytes = p * precision.bytes();
        gather(buffer.asSlice(rank * sliceBytes, sliceBytes), buffer, p, precision);
    }

    private void gather(MemorySegment send, MemorySegment recv, long p, Precision precision) {
        Call call = Call.data(Collective.ALL_GATHER, seq, precision, null, p, -1, null, null, null, null);
        run(call, (tag, calls) -> {
            long[] start = new long[size], len = new long[size];
            for (int j = 0; j < size; j++) {
                start[j] = j * p;
                len[j] = p;
            }
            gatherChunks(send, recv, start, len, precision, tag, call);
            stats.scatterOrGather(Collective.ALL_GATHER, size, p, precision.bytes());
        });
    }

    @Override
    public void allReduce(MemorySegment buffer, Precision precision, ReduceOp op) {
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(op, "op");
        long total = CommChecks.nativeElements("buffer", buffer, precision, true);
        Call call = Call.data(Collective.ALL_REDUCE, seq, precision, op, total, -1, null, null, null, null);
        run(call, (tag, calls) -> {
            long[] start = new long[size], len = new long[size];
            for (int j = 0; j < size; j++) {
                start[j] = RingVolume.chunkStart(size, j, total);
                len[j] = RingVolume.chunkSize(size, j, total);
            }
            int b = precision.bytes();
            MemorySegment mine = buffer.asSlice(start[rank] * b, len[rank] * b);
            reduceChunks(buffer, start, len, mine, precision, op, tag, call);
            gatherChunks(mine, buffer, start, len, precision, tag | SECOND_HALF_TAG, call);
            stats.allReduce(size, rank, total, b);
        });
    }

    @Override
    public void broadcast(MemorySegment buffer, Precision precision, int root) {
        Objects.requireNonNull(precision, "precision");
        CommChecks.root(root, size);
        long total = CommChecks.nativeElements("buffer", buffer, precision, rank != root);
        Call call = Call.data(Collective.BROADCAST, seq, precision, null, total, root, null, null, null, null);
        run(call, (tag, calls) -> {
            int b = precision.bytes();
            MemorySegment type = type(precision);
            MemorySegment request = requests.asSlice(0, Mpi.HANDLE.byteSize());
            for (long off = 0; off < total; off += settings.pieceElements()) {
                int count = (int) Math.min(settings.pieceElements(), total - off);
                MemorySegment piece = buffer.asSlice(off * b, (long) count * b);
                Mpi.check(call(() -> (int) Mpi.IBCAST.invokeExact(piece, count, type, root, comm, request)),
                        "MPI_Ibcast");
                await(request, 1, call, "not every rank joined it");
            }
            stats.broadcast(size, rank, root, total, b);
        });
    }

    // ---------------------------------------------------------------- control collectives

    @Override
    public void barrier() {
        Call call = Call.control(Collective.BARRIER, seq, 0, 0f, false, null);
        run(call, (tag, calls) -> stats.record(Collective.BARRIER, 0, 0));
    }

    @Override
    public float allReduceMax(float value) {
        Call call = Call.control(Collective.ALL_REDUCE_MAX, seq, 1, value, false, null);
        float[] result = new float[1];
        run(call, (tag, calls) -> {
            result[0] = Call.maxOf(calls);
            stats.scatterOrGather(Collective.ALL_REDUCE_MAX, size, 1, Float.BYTES);
        });
        return result[0];
    }

    @Override
    public boolean anyTrue(boolean value) {
        Call call = Call.control(Collective.ANY_TRUE, seq, 1, 0f, value, null);
        boolean[] result = new boolean[1];
        run(call, (tag, calls) -> {
            result[0] = Call.anyOf(calls);
            stats.scatterOrGather(Collective.ANY_TRUE, size, 1, 1);
        });
        return result[0];
    }

    @Override
    public double[] allGatherDoubles(double[] local) {
        Objects.requireNonNull(local, "local");
        double[] mine = local.clone();
        Call call = Call.control(Collective.ALL_GATHER_DOUBLES, seq, mine.length, 0f, false, null);
        double[] all = new double[Math.multiplyExact(size, mine.length)];
        run(call, (tag, calls) -> {
            try (Arena local2 = Arena.ofConfined()) {
                MemorySegment out = local2.allocate(Math.max(8L, (long) mine.length * Double.BYTES), 8);
                MemorySegment.copy(mine, 0, out, ValueLayout.JAVA_DOUBLE, 0, mine.length);
                MemorySegment in = local2.allocate(Math.max(8L, (long) all.length * Double.BYTES), 8);
                MemorySegment request = requests.asSlice(0, Mpi.HANDLE.byteSize());
                int n = mine.length;
                Mpi.check(call(() -> (int) Mpi.IALLGATHER.invokeExact(out, n, Mpi.DOUBLE, in, n, Mpi.DOUBLE, comm,
                        request)), "MPI_Iallgather");
                await(request, 1, call, "not every rank joined it");
                MemorySegment.copy(in, ValueLayout.JAVA_DOUBLE, 0, all, 0, all.length);
            }
            stats.scatterOrGather(Collective.ALL_GATHER_DOUBLES, size, mine.length, Double.BYTES);
        });
        return all;
    }

    @Override
    public CommStats stats() {
        return stats.snapshot();
    }

    @Override
    public void resetStats() {
        stats.reset();
    }

    /**
     * Frees the communicator and, if this is the last open one and this class initialized MPI,
     * calls {@code MPI_Finalize}, which waits for every rank to do the same. Idempotent. After a
     * failure nothing is freed or finalized (peers may never arrive): abort instead.
     */
    @Override
    public void close() {
        synchronized (LIFECYCLE) {
            if (closed) {
                return;
            }
            closed = true;
            openCount--;
            if (failure == null) {
                try (Arena local = Arena.ofConfined()) {
                    MemorySegment handle = local.allocate(Mpi.HANDLE);
                    handle.set(ValueLayout.ADDRESS, 0, comm);
                    Mpi.check(call(() -> (int) Mpi.COMM_FREE.invokeExact(handle)), "MPI_Comm_free");
                }
                if (openCount == 0 && initializedHere) {
                    finalized = true;
                    Mpi.check(call(() -> (int) Mpi.FINALIZE.invokeExact()), "MPI_Finalize");
                }
            }
            arena.close();
            if (scratchArena != null) {
                scratchArena.close();
            }
        }
    }

    @Override
    public String toString() {
        return "MpiCommunicator[rank " + rank + " of " + size + "]";
    }

    // ---------------------------------------------------------------- engine

    /** The body of a collective, given the MPI tag its messages use and every rank's call. */
    private interface Body {
        void run(int tag, Call[] calls);
    }

    /**
     * One collective: claim the process's MPI, exchange and compare headers with every rank, run
     * the body. A failure from the header exchange on breaks this communicator.
     */
    private void run(Call call, Body body) {
        Thread me = Thread.currentThread();
        Thread other = BUSY.compareAndExchange(null, me);
        if (other != null) {
            throw new IllegalStateException("rank " + rank + ": " + call.describe() + " called while "
                    + (other == me ? "this thread" : "thread " + other.getName())
                    + " is in another MPI collective; MPI runs MPI_THREAD_SERIALIZED: one thread at a time");
        }
        try {
            if (closed) {
                throw new IllegalStateException("rank " + rank + ": " + call.describe() + " on a closed MpiCommunicator");
            }
            Throwable failed = failure;
            if (failed != null) {
                throw new GroupFailedException("rank " + rank + ": " + call.describe()
                        + " on a communicator that failed earlier", failed);
            }
            seq++;
            try {
                Call[] calls = exchangeHeaders(call);
                body.run((int) (call.seq() & SEQ_TAG_MASK), calls);
            } catch (RuntimeException | Error e) {
                failure = e;
                throw e;
            }
        } finally {
            BUSY.set(null);
        }
    }

    /**
     * Every rank's call, from the headers all ranks exchange (with the control collectives' values);
     * throws the same mismatch on every rank if they differ.
     */
    private Call[] exchangeHeaders(Call call) {
        headerOut.setAtIndex(LONG, 0, call.kind().ordinal());
        headerOut.setAtIndex(LONG, 1, call.seq());
        headerOut.setAtIndex(LONG, 2, call.precision() == null ? -1 : call.precision().ordinal());
        headerOut.setAtIndex(LONG, 3, call.op() == null ? -1 : call.op().ordinal());
        headerOut.setAtIndex(LONG, 4, call.elements());
        headerOut.setAtIndex(LONG, 5, call.root());
        headerOut.setAtIndex(LONG, 6, call.kind() == Collective.ANY_TRUE ? (call.boolValue() ? 1 : 0)
                : Float.floatToRawIntBits(call.floatValue()));
        headerOut.setAtIndex(LONG, 7, 0);
        MemorySegment request = requests.asSlice(0, Mpi.HANDLE.byteSize());
        Mpi.check(call(() -> (int) Mpi.IALLGATHER.invokeExact(headerOut, HEADER_BYTES, Mpi.BYTE, headersIn,
                HEADER_BYTES, Mpi.BYTE, comm, request)), "MPI_Iallgather");
        await(request, 1, call, "not every rank joined it");
        Call[] calls = new Call[size];
        Collective[] kinds = Collective.values();
        Precision[] precisions = Precision.values();
        ReduceOp[] ops = ReduceOp.values();
        for (int k = 0; k < size; k++) {
            long base = (long) k * HEADER_LONGS;
            int kind = (int) headersIn.getAtIndex(LONG, base);
            int prec = (int) headersIn.getAtIndex(LONG, base + 2);
            int op = (int) headersIn.getAtIndex(LONG, base + 3);
            if (kind < 0 || kind >= kinds.length || prec < -1 || prec >= precisions.length || op < -1
                    || op >= ops.length) {
                throw new CollectiveMismatchException("rank " + rank + ": rank " + k + " sent a header that is not"
                        + " Adamant's in " + call.describe() + " (another program on the communicator?)");
            }
            int value = (int) headersIn.getAtIndex(LONG, base + 6);
            calls[k] = new Call(kinds[kind], headersIn.getAtIndex(LONG, base + 1), prec < 0 ? null : precisions[prec],
                    op < 0 ? null : ops[op], headersIn.getAtIndex(LONG, base + 4),
                    (int) headersIn.getAtIndex(LONG, base + 5), null, null, null, null, Float.intBitsToFloat(value),
                    value != 0, null);
        }
        RuntimeException problem = Call.checkGroup(calls);
        if (problem != null) {
            throw problem;
        }
        return calls;
    }

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
        Mpi.check(call(() -> (int) Mpi.ISEND.invokeExact(buf, count, type, dest, tag, comm, request)), "MPI_Isend");
    }

    private void irecv(MemorySegment buf, int count, MemorySegment type, int source, int tag, MemorySegment reqs,
                       int slot) {
        MemorySegment request = reqs.asSlice(slot * Mpi.HANDLE.byteSize(), Mpi.HANDLE.byteSize());
        Mpi.check(call(() -> (int) Mpi.IRECV.invokeExact(buf, count, type, source, tag, comm, request)), "MPI_Irecv");
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
            Mpi.check(call(() -> (int) Mpi.TESTALL.invokeExact(count, reqs, flag, Mpi.STATUSES_IGNORE)), "MPI_Testall");
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

    /** Ranks of this job on this node, as Open MPI's launcher tells them (1 if it does not). */
    private static int localRanks() {
        try {
            return Integer.parseInt(System.getenv().getOrDefault("OMPI_COMM_WORLD_LOCAL_SIZE", "1"));
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    private static MemorySegment type(Precision precision) {
        return precision == Precision.FP32 ? Mpi.FLOAT : Mpi.UINT16;
    }

    /** A downcall that returns an MPI error code. */
    private interface Downcall {
        int invoke() throws Throwable;
    }

    private static int call(Downcall d) {
        try {
            return d.invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
