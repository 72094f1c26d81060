package dev.adamant.zero.comm;

import dev.adamant.fp16.Precision;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The MPI backend under its 0.1 name: every member forwards to a
 * {@link dev.adamant.zero.comm.mpi.MpiCommunicator}, which has the documentation, so code written
 * against the old import compiles and runs unchanged. {@link Settings} is a record of its own with
 * the same components, checks and messages (a record cannot extend another), converted with
 * {@link Settings#replacement()} and {@link Settings#of}; a communicator made here is not a new
 * {@code MpiCommunicator}, though, so keep to one name per program.
 *
 * @deprecated use {@link dev.adamant.zero.comm.mpi.MpiCommunicator}; this name goes in a later release.
 */
@Deprecated(since = "0.2", forRemoval = true)
public final class MpiCommunicator implements Communicator, AutoCloseable {

    /**
     * {@link dev.adamant.zero.comm.mpi.MpiCommunicator.Settings} under its old name.
     *
     * @param timeout how long a rank waits for its peers in one collective before it fails
     * @param pieceElements the most elements one MPI call moves
     * @deprecated use {@link dev.adamant.zero.comm.mpi.MpiCommunicator.Settings}
     */
    @Deprecated(since = "0.2", forRemoval = true)
    public record Settings(Duration timeout, int pieceElements) {
        /** {@link dev.adamant.zero.comm.mpi.MpiCommunicator.Settings#DEFAULT_PIECE_ELEMENTS}. */
        public static final int DEFAULT_PIECE_ELEMENTS =
                dev.adamant.zero.comm.mpi.MpiCommunicator.Settings.DEFAULT_PIECE_ELEMENTS;

        /** Checks as the new record does, with its messages. */
        public Settings {
            new dev.adamant.zero.comm.mpi.MpiCommunicator.Settings(timeout, pieceElements);
        }

        /** {@link dev.adamant.zero.comm.mpi.MpiCommunicator.Settings#defaults()}. */
        public static Settings defaults() {
            return of(dev.adamant.zero.comm.mpi.MpiCommunicator.Settings.defaults());
        }

        public Settings withTimeout(Duration t) {
            return new Settings(t, pieceElements);
        }

        public Settings withPieceElements(int n) {
            return new Settings(timeout, n);
        }

        /** The same settings under the new name. */
        public dev.adamant.zero.comm.mpi.MpiCommunicator.Settings replacement() {
            return new dev.adamant.zero.comm.mpi.MpiCommunicator.Settings(timeout, pieceElements);
        }

        /** {@code settings} under the old name. */
        public static Settings of(dev.adamant.zero.comm.mpi.MpiCommunicator.Settings settings) {
            return new Settings(settings.timeout(), settings.pieceElements());
        }
    }

    private final dev.adamant.zero.comm.mpi.MpiCommunicator comm;

    private MpiCommunicator(dev.adamant.zero.comm.mpi.MpiCommunicator comm) {
        this.comm = comm;
    }

    /** {@link dev.adamant.zero.comm.mpi.MpiCommunicator#unavailableReason()}. */
    public static Optional<String> unavailableReason() {
        return dev.adamant.zero.comm.mpi.MpiCommunicator.unavailableReason();
    }

    /** {@link dev.adamant.zero.comm.mpi.MpiCommunicator#world()}. */
    public static MpiCommunicator world() {
        return new MpiCommunicator(dev.adamant.zero.comm.mpi.MpiCommunicator.world());
    }

    /** {@link dev.adamant.zero.comm.mpi.MpiCommunicator#world(dev.adamant.zero.comm.mpi.MpiCommunicator.Settings)}. */
    public static MpiCommunicator world(Settings settings) {
        Objects.requireNonNull(settings, "settings");
        return new MpiCommunicator(dev.adamant.zero.comm.mpi.MpiCommunicator.world(settings.replacement()));
    }

    /** {@link dev.adamant.zero.comm.mpi.MpiCommunicator#runRank}; {@code body} gets this forwarder. */
    public static void runRank(Settings settings, Consumer<? super MpiCommunicator> body) {
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(settings, "settings");
        dev.adamant.zero.comm.mpi.MpiCommunicator.runRank(settings.replacement(),
                c -> body.accept(new MpiCommunicator(c)));
    }

    /** {@link dev.adamant.zero.comm.mpi.MpiCommunicator#libraryVersion()}. */
    public static String libraryVersion() {
        return dev.adamant.zero.comm.mpi.MpiCommunicator.libraryVersion();
    }

    @Override public int rank() { return comm.rank(); }
    @Override public int size() { return comm.size(); }

    /** {@link dev.adamant.zero.comm.mpi.MpiCommunicator#settings()}, under the old name. */
    public Settings settings() {
        return Settings.of(comm.settings());
    }

    /** {@link dev.adamant.zero.comm.mpi.MpiCommunicator#abort}. */
    public void abort(int errorCode) {
        comm.abort(errorCode);
    }

    @Override
    public void reduceScatter(MemorySegment send, MemorySegment recv, Precision precision) {
        comm.reduceScatter(send, recv, precision);
    }

    @Override
    public void reduce(MemorySegment send, MemorySegment recv, Precision precision, int root) {
        comm.reduce(send, recv, precision, root);
    }

    @Override
    public void allGather(MemorySegment send, MemorySegment recv, Precision precision) {
        comm.allGather(send, recv, precision);
    }

    @Override
    public void allGatherInPlace(MemorySegment buffer, Precision precision) {
        comm.allGatherInPlace(buffer, precision);
    }

    @Override
    public void allReduce(MemorySegment buffer, Precision precision, ReduceOp op) {
        comm.allReduce(buffer, precision, op);
    }

    @Override
    public void broadcast(MemorySegment buffer, Precision precision, int root) {
        comm.broadcast(buffer, precision, root);
    }

    @Override
    public void barrier() {
        comm.barrier();
    }

    @Override
    public float allReduceMax(float value) {
        return comm.allReduceMax(value);
    }

    @Override
    public boolean anyTrue(boolean value) {
        return comm.anyTrue(value);
    }

    @Override
    public double[] allGatherDoubles(double[] local) {
        return comm.allGatherDoubles(local);
    }

    @Override
    public CommStats stats() {
        return comm.stats();
    }

    @Override
    public void resetStats() {
        comm.resetStats();
    }

    /** {@link dev.adamant.zero.comm.mpi.MpiCommunicator#close()}. */
    @Override
    public void close() {
        comm.close();
    }

    @Override
    public String toString() {
        return comm.toString();
    }
}
