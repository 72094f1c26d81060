package dev.adamant.core.kernel;

import java.lang.foreign.MemorySegment;

/**
 * One RMSProp step over floats {@code [from, from + count)} of every buffer, by
 * {@link RmsPropStep}'s formula. {@code gradAvg} is null unless centered, {@code momentumBuffer}
 * null unless momentum is on. {@code update} and a null {@code param} as {@link AdamKernel}'s.
 * Callers have checked the buffers; a count of 0 is a no-op.
 */
public interface RmsPropKernel {
    void step(RmsPropStep step, MemorySegment param, MemorySegment grad, MemorySegment update,
              MemorySegment squareAvg,
              MemorySegment gradAvg, MemorySegment momentumBuffer, long from, long count);
}
