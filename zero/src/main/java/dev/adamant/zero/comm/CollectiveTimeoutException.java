package dev.adamant.zero.comm;

/**
 * A rank waited longer than the group's timeout for the others to reach the same collective. The
 * message names the collective and which ranks had arrived and which had not.
 */
public class CollectiveTimeoutException extends GroupFailedException {
    private static final long serialVersionUID = 1L;

    public CollectiveTimeoutException(String message) {
        super(message);
    }
}
