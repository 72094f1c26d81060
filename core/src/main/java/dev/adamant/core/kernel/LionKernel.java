package dev.adamant.core.kernel;

import java.lang.foreign.MemorySegment;

/**
 * One Lion step over floats {@code [from, from + count)} of every buffer, by {@link LionStep}'s
 * formula. One pass over memory: 3 floats read (parameter, gradient, momentum) and 2 written, 20
 * bytes an element against AdamW's 28. {@code update} and a null {@code param} as
 * {@link AdamKernel}'s. Callers have checked the buffers (see {@link AdamKernel}); a count of 0 is a
 * no-op.
 */
public interface LionKernel {
    void step(LionStep step, MemorySegment param, MemorySegment grad, MemorySegment update, MemorySegment expAvg,
              long from, long count);
}
