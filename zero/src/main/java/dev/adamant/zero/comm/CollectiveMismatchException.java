package dev.adamant.zero.comm;

/**
 * The ranks did not make the same call: different collectives, precisions, operations, element
 * counts or roots, or one rank returned from its task while others waited in a collective. The
 * message lists what each rank called.
 */
public class CollectiveMismatchException extends GroupFailedException {
    private static final long serialVersionUID = 1L;

    public CollectiveMismatchException(String message) {
        super(message);
    }
}
