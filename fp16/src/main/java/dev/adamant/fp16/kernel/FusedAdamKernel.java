package dev.adamant.fp16.kernel;

import dev.adamant.core.kernel.AdamState;
import java.lang.foreign.MemorySegment;

/**
 * The mixed-precision update pass's arithmetic for Adam and AdamW in one loop: for each parameter,
 * widen its 16-bit gradient ({@link Widening}; finite: the check pass has run), unscale
 * ({@code * invScale}) and clip ({@code * coef}), and step the fp32 master weight and the moments
 * as {@code AdamKernel} does, in {@code AdamStep}'s order; every value in registers from load to
 * store. The same bits as widening into a tile ({@link ScalingKernel#widenScaled}) and running
 * core's Adam kernel on it. The caller narrows the new master weights to the 16-bit parameters
 * itself, a tile at a time while they are in cache: in the same loop the narrowing would take the
 * loop past C2's inlining budget (see {@code HalfVectors}).
 *
 * <p>Steps whole vectors of parameters {@code [from, from + count)} and returns how many it
 * stepped from {@code from}: the caller steps the rest the long way. Returns 0, stepping nothing,
 * for buffers it does not take (segments that are not native). The caller has checked sizes and
 * that no gradient is infinite or NaN; for one that is, the result is not specified.
 */
public interface FusedAdamKernel {
    long step(AdamState adam, Widening widening, MemorySegment grads16, MemorySegment master, float invScale,
              float coef, long from, long count);
}
