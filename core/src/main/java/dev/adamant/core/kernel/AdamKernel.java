package dev.adamant.core.kernel;

import java.lang.foreign.MemorySegment;

/**
 * One Adam/AdamW step over floats {@code [from, from + count)} of every buffer (the same element
 * range in each). The formula is {@link AdamStep}'s. One pass over memory: 4 floats read
 * (parameter, gradient, two moments) and 3 written, 28 bytes per element; amsgrad adds 8.
 *
 * <p>Callers have checked everything: segments live, large enough, 4-byte aligned, parameters and
 * moments writable, {@code maxExpAvgSq} non-null exactly when {@code step.amsgrad()}. A count of 0
 * is a no-op.
 */
public interface AdamKernel {
    void step(AdamStep step, MemorySegment param, MemorySegment grad, MemorySegment expAvg,
              MemorySegment expAvgSq, MemorySegment maxExpAvgSq, long from, long count);
}
