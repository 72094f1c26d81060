package dev.adamant.zero.comm;

/**
 * The MPI library refused a call, or cannot be used at all. The message names the MPI function and
 * carries the library's own text ({@code MPI_Error_string}); {@link #errorCode()} is the MPI error
 * code, or -1 when the library could not be loaded or initialized (the message then says how to
 * install it or what is missing).
 */
public class MpiException extends GroupFailedException {
    private static final long serialVersionUID = 1L;

    private final int errorCode;

    public MpiException(String message, int errorCode) {
        super(message);
        this.errorCode = errorCode;
    }

    /** MPI's error code, or -1 when no MPI call returned one. */
    public int errorCode() {
        return errorCode;
    }
}
