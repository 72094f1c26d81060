package dev.adamant.zero;

/**
 * A checkpoint cannot be restored: a file is missing, truncated, appended to or corrupt (a CRC32C
 * mismatch), not a checkpoint, of a newer format, a shard of another save or in another shard's
 * place, has a header field with an impossible value (the field is named), or holds a model or
 * configuration other than the one it is restored into. The message names the file (or files) and
 * the problem; nothing was restored (the new device or optimizer it was to fill has been closed).
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
