package dev.adamant.zero.comm;

/**
 * The operations a {@link Communicator} runs, as {@link CommStats} counts them.
 *
 * <p>Data collectives move the model's buffers and are what the ZeRO volume formulas describe;
 * control collectives move a few bytes of flags and scalars and are counted apart so that tests of
 * those formulas can leave them out.
 */
public enum Collective {
    REDUCE_SCATTER("reduceScatter", false),
    /** A sum delivered to one root rank (ZeRO-2's gradient buckets, reduced to each range's owner). */
    REDUCE("reduce", false),
    /** Both {@code allGather} and {@code allGatherInPlace}. */
    ALL_GATHER("allGather", false),
    ALL_REDUCE("allReduce", false),
    BROADCAST("broadcast", false),
    BARRIER("barrier", true),
    ALL_REDUCE_MAX("allReduceMax", true),
    ANY_TRUE("anyTrue", true),
    ALL_GATHER_DOUBLES("allGatherDoubles", true);

    private final String methodName;
    private final boolean control;

    Collective(String methodName, boolean control) {
        this.methodName = methodName;
        this.control = control;
    }

    /** The {@link Communicator} method's name, as messages print it. */
    public String methodName() {
        return methodName;
    }

    /** Whether this is a control collective (flags, scalars, barriers) rather than a data one. */
    public boolean isControl() {
        return control;
    }
}
