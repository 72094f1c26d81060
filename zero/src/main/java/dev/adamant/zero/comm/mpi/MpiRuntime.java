package dev.adamant.zero.comm.mpi;

import dev.adamant.zero.comm.MpiException;
import dev.adamant.zero.comm.internal.Call;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;

/**
 * MPI as this process has it, one per process whatever the number of communicators: starting it
 * ({@code MPI_Init_thread} with {@code MPI_THREAD_SERIALIZED}, by whichever communicator comes
 * first), counting the open communicators so that the last to close finalizes it (if this class
 * started it; after that MPI cannot start again in the process), the guard that lets one thread at
 * a time into a collective across all communicators, and ending the whole job ({@code MPI_Abort})
 * when a rank fails. The library itself is {@link Mpi}'s.
 */
final class MpiRuntime {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    /** The one thread inside a collective on any of this process's communicators (MPI_THREAD_SERIALIZED). */
    private static final AtomicReference<Thread> BUSY = new AtomicReference<>();
    private static final Object LIFECYCLE = new Object();
    private static int openCount;
    private static boolean initializedHere;
    private static boolean finalized;

    private MpiRuntime() {}

    /** A new communicator over the world and this process's place in it. */
    record World(MemorySegment comm, int rank, int size) {}

    /**
     * A duplicate of {@code MPI_COMM_WORLD} with {@code MPI_ERRORS_RETURN}, initializing MPI first if
     * nobody has; counts it open. The caller must {@link #release} it.
     *
     * @throws MpiException if the library is missing, MPI cannot start, or gives a thread level below
     *     {@code MPI_THREAD_SERIALIZED}
     * @throws IllegalStateException if MPI was already finalized in this process
     */
    static World openWorld() {
        Mpi.requireAvailable();
        synchronized (LIFECYCLE) {
            if (finalized) {
                throw new IllegalStateException("MPI was finalized when the last MpiCommunicator closed;"
                        + " it cannot start again in this process");
            }
            try (Arena local = Arena.ofConfined()) {
                MemorySegment out = local.allocate(INT);
                Mpi.check(Mpi.call(() -> (int) Mpi.INITIALIZED.invokeExact(out)), "MPI_Initialized");
                if (out.get(INT, 0) == 0) {
                    Mpi.check(Mpi.call(() -> (int) Mpi.INIT_THREAD.invokeExact(MemorySegment.NULL, MemorySegment.NULL,
                            Mpi.THREAD_SERIALIZED, out)), "MPI_Init_thread");
                    initializedHere = true;
                    int provided = out.get(INT, 0);
                    if (provided < Mpi.THREAD_SERIALIZED) {
                        throw new MpiException("MPI_Init_thread: the library provides thread level " + provided
                                + ", Adamant needs MPI_THREAD_SERIALIZED (" + Mpi.THREAD_SERIALIZED + ")", -1);
                    }
                }
                Mpi.check(Mpi.call(() -> (int) Mpi.COMM_SET_ERRHANDLER.invokeExact(Mpi.COMM_WORLD, Mpi.ERRORS_RETURN)),
                        "MPI_Comm_set_errhandler");
                MemorySegment handle = local.allocate(Mpi.HANDLE);
                Mpi.check(Mpi.call(() -> (int) Mpi.COMM_DUP.invokeExact(Mpi.COMM_WORLD, handle)), "MPI_Comm_dup");
                MemorySegment dup = handle.get(ValueLayout.ADDRESS, 0);
                Mpi.check(Mpi.call(() -> (int) Mpi.COMM_SET_ERRHANDLER.invokeExact(dup, Mpi.ERRORS_RETURN)),
                        "MPI_Comm_set_errhandler");
                Mpi.check(Mpi.call(() -> (int) Mpi.COMM_RANK.invokeExact(dup, out)), "MPI_Comm_rank");
                int rank = out.get(INT, 0);
                Mpi.check(Mpi.call(() -> (int) Mpi.COMM_SIZE.invokeExact(dup, out)), "MPI_Comm_size");
                int size = out.get(INT, 0);
                openCount++;
                return new World(dup, rank, size);
            }
        }
    }

    /**
     * Counts {@code comm} closed. With {@code free} (no failure on it: its peers will arrive) frees
     * it and, if it was the last open one and this class initialized MPI, calls {@code MPI_Finalize},
     * which waits for every rank to do the same. Without, nothing is freed or finalized.
     */
    static void release(MemorySegment comm, boolean free) {
        synchronized (LIFECYCLE) {
            openCount--;
            if (free) {
                try (Arena local = Arena.ofConfined()) {
                    MemorySegment handle = local.allocate(Mpi.HANDLE);
                    handle.set(ValueLayout.ADDRESS, 0, comm);
                    Mpi.check(Mpi.call(() -> (int) Mpi.COMM_FREE.invokeExact(handle)), "MPI_Comm_free");
                }
                if (openCount == 0 && initializedHere) {
                    finalized = true;
                    Mpi.check(Mpi.call(() -> (int) Mpi.FINALIZE.invokeExact()), "MPI_Finalize");
                }
            }
        }
    }

    /**
     * Lets the calling thread into a collective, or refuses if another thread (or this one, from
     * within a collective) is in one on any communicator of the process. Pair with {@link #exit}.
     *
     * @throws IllegalStateException naming {@code rank}, {@code call} and the thread inside
     */
    static void enter(int rank, Call call) {
        Thread me = Thread.currentThread();
        Thread other = BUSY.compareAndExchange(null, me);
        if (other != null) {
            throw new IllegalStateException("rank " + rank + ": " + call.describe() + " called while "
                    + (other == me ? "this thread" : "thread " + other.getName())
                    + " is in another MPI collective; MPI runs MPI_THREAD_SERIALIZED: one thread at a time");
        }
    }

    /** The calling thread leaves its collective. */
    static void exit() {
        BUSY.set(null);
    }

    /**
     * More ranks of this job on this node than processors, as Open MPI's launcher tells it; or the
     * environment says so ({@code ADAMANT_MPI_PARK=1}, {@code mpirun -x ADAMANT_MPI_PARK=1}): for
     * hosts that share processors the launcher does not know of, such as simulated ones.
     */
    static boolean oversubscribed() {
        return "1".equals(System.getenv("ADAMANT_MPI_PARK")) || localRanks() > Runtime.getRuntime().availableProcessors();
    }

    /** Ranks of this job on this node, as Open MPI's launcher tells them (1 if it does not). */
    private static int localRanks() {
        try {
            return Integer.parseInt(System.getenv().getOrDefault("OMPI_COMM_WORLD_LOCAL_SIZE", "1"));
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    /**
     * {@code MPI_Abort} on {@code comm}: ends every process of the job with {@code errorCode}. Does
     * not return while MPI works; if MPI refuses, the calling JVM halts with the code.
     */
    static void abort(MemorySegment comm, int errorCode) {
        try {
            int ignored = (int) Mpi.ABORT.invokeExact(comm, errorCode);
        } catch (Throwable ignored) {
            // Nothing left to try but ending this process.
        }
        Runtime.getRuntime().halt(errorCode == 0 ? 1 : errorCode);
    }

    /**
     * A rank's work failed with {@code t}: prints it to standard error with the rank's number, flushes
     * both streams and aborts the job with code 1. Does not return.
     */
    static void abortJob(MemorySegment comm, int rank, int size, Throwable t) {
        PrintStream err = System.err;
        err.println("rank " + rank + " of " + size + " failed, aborting the job (MPI_Abort): " + t);
        t.printStackTrace(err);
        err.flush();
        System.out.flush();
        abort(comm, 1);
    }
}
