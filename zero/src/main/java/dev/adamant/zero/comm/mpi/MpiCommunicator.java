package dev.adamant.zero.comm.mpi;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.Collective;
import dev.adamant.zero.comm.CollectiveMismatchException;
import dev.adamant.zero.comm.CollectiveTimeoutException;
import dev.adamant.zero.comm.CommStats;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.GroupFailedException;
import dev.adamant.zero.comm.MpiException;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.comm.internal.Call;
import dev.adamant.zero.comm.internal.CommChecks;
import dev.adamant.zero.comm.internal.StatsRecorder;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
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
 * or, when the node has more ranks than processors ({@code mpirun --oversubscribe}) or the
 * environment has {@code ADAMANT_MPI_PARK=1} (hosts that share processors, as simulated ones do),
 * sleep 20 µs between polls ({@code -Dadamant.mpi.parkNanos}) so that the rank they wait for can run.
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

    private final int rank;
    private final int size;
    private final Settings settings;
    private final PieceExchange exchange;
    private final StatsRecorder stats = new StatsRecorder();
    /** Orders concurrent {@link #close} calls: the second returns once the first has finished. */
    private final Object closing = new Object();
    private long seq;
    private volatile Throwable failure;
    private boolean closed;

    private MpiCommunicator(MemorySegment comm, int rank, int size, Settings settings) {
        this.rank = rank;
        this.size = size;
        this.settings = settings;
        this.exchange = new PieceExchange(comm, rank, size, settings);
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
        MpiRuntime.World world = MpiRuntime.openWorld();
        return new MpiCommunicator(world.comm(), world.rank(), world.size(), settings);
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
            MpiRuntime.abortJob(comm.exchange.comm(), comm.rank(), comm.size(), t);
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
        MpiRuntime.abort(exchange.comm(), errorCode);
    }

    // ---------------------------------------------------------------- data collectives

    @Override
    public void reduceScatter(MemorySegment send, MemorySegment recv, Precision precision) {
        long p = CommChecks.reduceScatter(CommChecks::nativeElements, send, recv, precision, rank, size);
        Call call = Call.data(Collective.REDUCE_SCATTER, seq, precision, ReduceOp.SUM, p, -1, null, null, null, null);
        run(call, (tag, calls) -> {
            exchange.reduceScatter(send, recv, p, precision, tag, call);
            stats.scatterOrGather(Collective.REDUCE_SCATTER, size, p, precision.bytes());
        });
    }

    @Override
    public void reduce(MemorySegment send, MemorySegment recv, Precision precision, int root) {
        long count = CommChecks.reduce(CommChecks::nativeElements, send, recv, precision, root, rank, size);
        boolean isRoot = rank == root;
        Call call = Call.data(Collective.REDUCE, seq, precision, ReduceOp.SUM, count, root, null, null, null, null);
        run(call, (tag, calls) -> {
            exchange.reduce(send, isRoot ? recv : null, count, root, precision, tag, call);
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
            exchange.allGather(send, recv, p, precision, tag, call);
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
            exchange.allReduce(buffer, total, precision, op, tag, call);
            stats.allReduce(size, rank, total, precision.bytes());
        });
    }

    @Override
    public void broadcast(MemorySegment buffer, Precision precision, int root) {
        Objects.requireNonNull(precision, "precision");
        CommChecks.root(root, size);
        long total = CommChecks.nativeElements("buffer", buffer, precision, rank != root);
        Call call = Call.data(Collective.BROADCAST, seq, precision, null, total, root, null, null, null, null);
        run(call, (tag, calls) -> {
            exchange.broadcast(buffer, total, precision, root, call);
            stats.broadcast(size, rank, root, total, precision.bytes());
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
            exchange.allGatherDoubles(mine, all, call);
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
        synchronized (closing) {
            if (closed) {
                return;
            }
            closed = true;
            MpiRuntime.release(exchange.comm(), failure == null);
            exchange.close();
        }
    }

    @Override
    public String toString() {
        return "MpiCommunicator[rank " + rank + " of " + size + "]";
    }

    // ---------------------------------------------------------------- one collective

    /** The body of a collective, given the MPI tag its messages use and every rank's call. */
    private interface Body {
        void run(int tag, Call[] calls);
    }

    /**
     * One collective: claim the process's MPI, exchange and compare headers with every rank, run
     * the body. A failure from the header exchange on breaks this communicator.
     */
    private void run(Call call, Body body) {
        MpiRuntime.enter(rank, call);
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
                Call[] calls = exchange.exchangeHeaders(call);
                body.run(PieceExchange.tag(call.seq()), calls);
            } catch (RuntimeException | Error e) {
                failure = e;
                throw e;
            }
        } finally {
            MpiRuntime.exit();
        }
    }
}
