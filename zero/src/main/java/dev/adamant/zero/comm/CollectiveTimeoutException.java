package dev.adamant.zero.comm;

/**
 * A rank waited longer than the group's timeout for the others to reach the same collective. The
 * message names the collective and which ranks had arrived and which had not (in process, also
 * where the missing ones were). Under {@link dev.adamant.zero.comm.inprocess.InProcessGroup#call} it also means that ranks did not
 * return from their tasks within the timeout after the first one had; the message then names the
 * ranks still running.
 */
public class CollectiveTimeoutException extends GroupFailedException {
    private static final long serialVersionUID = 1L;

    public CollectiveTimeoutException(String message) {
        super(message);
    }
}
