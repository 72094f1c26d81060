package dev.adamant.core.kernel;

import java.lang.foreign.MemorySegment;

/**
 * One Adagrad step over floats {@code [from, from + count)} of every buffer, by
 * {@link AdagradStep}'s formula. One pass over memory: 3 floats read (parameter, gradient, sum) and
 * 2 written, 20 bytes an element. {@code update} and a null {@code param} as {@link AdamKernel}'s.
 * Callers have checked the buffers (see {@link AdamKernel}); a count of 0 is a no-op.
 */
public interface AdagradKernel {
    void step(AdagradStep step, MemorySegment param, MemorySegment grad, MemorySegment update, MemorySegment sum,
              long from, long count);
}
