package dev.adamant.zero.comm;

/**
 * How {@link Communicator#allReduce} combines the ranks' elements. Both fold in rank order
 * {@code 0, 1, ..., N-1} in fp32, whatever the buffer's precision.
 */
public enum ReduceOp {
    /** {@code ((x0 + x1) + x2) + ...}, in float. */
    SUM,
    /**
     * {@link Math#max(float, float)} folded in rank order: NaN wins over any number, and
     * {@code +0.0} is greater than {@code -0.0}. Exact in every precision (the result is one of the inputs).
     */
    MAX
}
