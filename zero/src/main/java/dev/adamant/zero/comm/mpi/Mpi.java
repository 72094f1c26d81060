package dev.adamant.zero.comm.mpi;

import dev.adamant.zero.comm.MpiException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Downcalls into Open MPI's {@code libmpi.so.40} through {@link Linker}: the few functions
 * {@link MpiRuntime} and {@link PieceExchange} need, and Open MPI's predefined handles, which are the addresses of the
 * library's exported globals ({@code MPI_COMM_WORLD} is {@code &ompi_mpi_comm_world}, {@code MPI_FLOAT}
 * is {@code &ompi_mpi_float}, ...). {@code MPI_STATUSES_IGNORE} is the address 0, as Open MPI's
 * {@code mpi.h} defines it. Every function
 * returns an MPI error code, which {@link #check} turns into an {@link MpiException} carrying
 * {@code MPI_Error_string}'s text (the communicators are set to {@code MPI_ERRORS_RETURN}, so errors
 * come back instead of aborting).
 *
 * <p>The library is looked up once, when this class initializes: by the name in the system property
 * {@value #LIBRARY_PROPERTY} if set, else {@value #DEFAULT_LIBRARY} on the loader's path. If that
 * fails, {@link #unavailable()} says why and how to install it, and every call throws.
 */
final class Mpi {
    static final String LIBRARY_PROPERTY = "adamant.mpi.library";
    static final String DEFAULT_LIBRARY = "libmpi.so.40";

    static final int SUCCESS = 0;
    static final int THREAD_SERIALIZED = 2;
    static final int MAX_ERROR_STRING = 256;
    static final int MAX_LIBRARY_VERSION_STRING = 256;
    static final MemorySegment STATUSES_IGNORE = MemorySegment.NULL;

    private static final ValueLayout INT = ValueLayout.JAVA_INT;
    private static final ValueLayout ADDR = ValueLayout.ADDRESS;

    private static final String PROBLEM;
    private static final SymbolLookup LIB;

    static {
        String name = System.getProperty(LIBRARY_PROPERTY, DEFAULT_LIBRARY);
        SymbolLookup lib = null;
        String problem = null;
        try {
            lib = SymbolLookup.libraryLookup(name, Arena.global());
            if (lib.find("ompi_mpi_comm_world").isEmpty()) {
                problem = name + " is not Open MPI (it has no ompi_mpi_comm_world); Adamant binds Open MPI's ABI."
                        + " Point -D" + LIBRARY_PROPERTY + " at Open MPI's libmpi.so.40";
                lib = null;
            }
        } catch (IllegalArgumentException e) {
            problem = "cannot load the MPI library " + name + " (" + e.getMessage() + "). Install Open MPI"
                    + " (Debian/Ubuntu: apt-get install openmpi-bin; it brings libmpi.so.40), or point -D"
                    + LIBRARY_PROPERTY + " at its libmpi.so.40, and run the ranks under mpirun";
        } catch (RuntimeException e) {
            // IllegalCallerException without --enable-native-access, for instance.
            problem = "cannot load the MPI library " + name + ": " + e;
        }
        LIB = lib;
        PROBLEM = problem;
    }

    static final MethodHandle INITIALIZED = handle("MPI_Initialized", FunctionDescriptor.of(INT, ADDR));
    static final MethodHandle FINALIZED = handle("MPI_Finalized", FunctionDescriptor.of(INT, ADDR));
    static final MethodHandle INIT_THREAD = handle("MPI_Init_thread", FunctionDescriptor.of(INT, ADDR, ADDR, INT, ADDR));
    static final MethodHandle FINALIZE = handle("MPI_Finalize", FunctionDescriptor.of(INT));
    static final MethodHandle ABORT = handle("MPI_Abort", FunctionDescriptor.of(INT, ADDR, INT));
    static final MethodHandle COMM_DUP = handle("MPI_Comm_dup", FunctionDescriptor.of(INT, ADDR, ADDR));
    static final MethodHandle COMM_FREE = handle("MPI_Comm_free", FunctionDescriptor.of(INT, ADDR));
    static final MethodHandle COMM_RANK = handle("MPI_Comm_rank", FunctionDescriptor.of(INT, ADDR, ADDR));
    static final MethodHandle COMM_SIZE = handle("MPI_Comm_size", FunctionDescriptor.of(INT, ADDR, ADDR));
    static final MethodHandle COMM_SET_ERRHANDLER = handle("MPI_Comm_set_errhandler", FunctionDescriptor.of(INT, ADDR, ADDR));
    static final MethodHandle ERROR_STRING = handle("MPI_Error_string", FunctionDescriptor.of(INT, INT, ADDR, ADDR));
    static final MethodHandle LIBRARY_VERSION = handle("MPI_Get_library_version", FunctionDescriptor.of(INT, ADDR, ADDR));
    /** {@code MPI_Isend(buf, count, datatype, dest, tag, comm, &request)}. */
    static final MethodHandle ISEND = handle("MPI_Isend", FunctionDescriptor.of(INT, ADDR, INT, ADDR, INT, INT, ADDR, ADDR));
    /** {@code MPI_Irecv(buf, count, datatype, source, tag, comm, &request)}. */
    static final MethodHandle IRECV = handle("MPI_Irecv", FunctionDescriptor.of(INT, ADDR, INT, ADDR, INT, INT, ADDR, ADDR));
    /** {@code MPI_Testall(count, requests, &flag, statuses)}. */
    static final MethodHandle TESTALL = handle("MPI_Testall", FunctionDescriptor.of(INT, INT, ADDR, ADDR, ADDR));
    /** {@code MPI_Iallgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm, &request)}. */
    static final MethodHandle IALLGATHER = handle("MPI_Iallgather",
            FunctionDescriptor.of(INT, ADDR, INT, ADDR, ADDR, INT, ADDR, ADDR, ADDR));
    /** {@code MPI_Ibcast(buf, count, datatype, root, comm, &request)}. */
    static final MethodHandle IBCAST = handle("MPI_Ibcast", FunctionDescriptor.of(INT, ADDR, INT, ADDR, INT, ADDR, ADDR));

    static final MemorySegment COMM_WORLD = global("ompi_mpi_comm_world");
    static final MemorySegment ERRORS_RETURN = global("ompi_mpi_errors_return");
    static final MemorySegment BYTE = global("ompi_mpi_byte");
    static final MemorySegment FLOAT = global("ompi_mpi_float");
    static final MemorySegment UINT16 = global("ompi_mpi_uint16_t");
    static final MemorySegment DOUBLE = global("ompi_mpi_double");

    /** An {@code MPI_Request} or {@code MPI_Comm}: a pointer. */
    static final MemoryLayout HANDLE = ADDR;

    private Mpi() {}

    /** Why the library cannot be used, or empty when it was found. */
    static Optional<String> unavailable() {
        return Optional.ofNullable(PROBLEM);
    }

    /** Throws the reason the library is unusable, if it is. */
    static void requireAvailable() {
        if (PROBLEM != null) {
            throw new MpiException(PROBLEM, -1);
        }
    }

    private static MethodHandle handle(String name, FunctionDescriptor descriptor) {
        return LIB == null ? null : Linker.nativeLinker().downcallHandle(symbol(name), descriptor);
    }

    private static MemorySegment global(String name) {
        return LIB == null ? MemorySegment.NULL : symbol(name);
    }

    private static MemorySegment symbol(String name) {
        return LIB.find(name).orElseThrow(() -> new IllegalStateException(
                "the MPI library has no symbol " + name + ": expected Open MPI 4 or later (libmpi.so.40)"));
    }

    /** Throws an {@link MpiException} naming {@code function} and MPI's text for {@code code} unless it is {@link #SUCCESS}. */
    static void check(int code, String function) {
        if (code != SUCCESS) {
            throw new MpiException(function + " failed: " + errorString(code) + " (MPI error " + code + ")", code);
        }
    }

    static String errorString(int code) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(MAX_ERROR_STRING + 1);
            MemorySegment length = arena.allocate(INT);
            int rc = (int) ERROR_STRING.invokeExact(code, text, length);
            if (rc != SUCCESS) {
                return "unknown error";
            }
            int n = Math.clamp(length.get(ValueLayout.JAVA_INT, 0), 0, MAX_ERROR_STRING);
            return new String(text.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        } catch (Throwable t) {
            return "unknown error (" + t + ")";
        }
    }

    /** A downcall that returns an MPI error code. */
    @FunctionalInterface
    interface Downcall {
        int invoke() throws Throwable;
    }

    /**
     * Runs {@code d} and returns its MPI error code (pass it to {@link #check}); unchecked
     * throwables pass through, anything else ({@code invokeExact} declares {@code Throwable}) comes
     * back as the cause of an {@link IllegalStateException}.
     */
    static int call(Downcall d) {
        try {
            return d.invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** What the library says it is, for logs: {@code MPI_Get_library_version}'s first line. */
    static String libraryVersion() {
        requireAvailable();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(MAX_LIBRARY_VERSION_STRING + 1);
            MemorySegment length = arena.allocate(INT);
            check((int) LIBRARY_VERSION.invokeExact(text, length), "MPI_Get_library_version");
            int n = Math.clamp(length.get(ValueLayout.JAVA_INT, 0), 0, MAX_LIBRARY_VERSION_STRING);
            String s = new String(text.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8).trim();
            int nl = s.indexOf('\n');
            return (nl < 0 ? s : s.substring(0, nl)).replace("\0", "").trim();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
