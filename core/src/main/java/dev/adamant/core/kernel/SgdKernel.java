package dev.adamant.core.kernel;

import java.lang.foreign.MemorySegment;

/**
 * One SGD step over floats {@code [from, from + count)} of every buffer, by {@link SgdStep}'s
 * formula. {@code momentumBuffer} is null exactly when {@code !step.hasMomentum()}. {@code update}
 * and a null {@code param} as {@link AdamKernel}'s. Callers have checked the buffers (see
 * {@link AdamKernel}); a count of 0 is a no-op.
 */
public interface SgdKernel {
    void step(SgdStep step, MemorySegment param, MemorySegment grad, MemorySegment update,
              MemorySegment momentumBuffer, long from, long count);
}
