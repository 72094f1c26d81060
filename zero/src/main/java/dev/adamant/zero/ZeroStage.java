package dev.adamant.zero;

/** What a ZeRO stage partitions across devices. */
public enum ZeroStage {
    /** Stage 0: plain data parallelism, nothing partitioned. */
    DATA_PARALLEL,
    /** Stage 1: the optimizer state. */
    OPTIMIZER_STATE,
    /** Stage 2: the optimizer state and the gradients. */
    GRADIENTS,
    /** Stage 3: the optimizer state, the gradients and the parameters. */
    PARAMETERS;

    /** The stage numbered {@code stage}, 0 to 3. */
    public static ZeroStage of(int stage) {
        if (stage < 0 || stage > 3) {
            throw new IllegalArgumentException("stage: expected 0, 1, 2 or 3, got " + stage);
        }
        return values()[stage];
    }
}
