package dev.adamant.zero.comm;

/**
 * A collective could not complete because the group failed: a rank threw, timed out, left, or was
 * interrupted, or the ranks called different collectives. The cause is the first failure, the one
 * that broke the group; every later collective on any rank of the group throws this too (in
 * process, also on a rank whose thread {@link dev.adamant.zero.comm.inprocess.InProcessGroup#call} abandoned, saying so).
 *
 * <p>A failed group stays failed: its ranks may have been stopped in the middle of a collective,
 * with output buffers partly written. Start again with a new group.
 */
public class GroupFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GroupFailedException(String message, Throwable cause) {
        super(message, cause);
    }

    public GroupFailedException(String message) {
        super(message);
    }
}
