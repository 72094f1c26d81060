package dev.adamant.zero;

/**
 * A checkpoint cannot be restored: a file is missing, truncated or corrupt (a CRC32C mismatch), not a
 * checkpoint, of a newer format, or holds a model or configuration other than the one it is restored
 * into. The message names the file and the problem; nothing was restored (the new device or
 * optimizer it was to fill has been closed).
 */
public class CheckpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
