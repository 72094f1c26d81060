package dev.adamant.fp16.kernel;

import dev.adamant.core.kernel.AdamState;
import java.lang.foreign.MemorySegment;

/**
 * The mixed-precision update pass for Adam and AdamW in one loop: for each parameter, widen its
 * 16-bit gradient (finite: the check pass has run), unscale ({@code * invScale}) and clip
 * ({@code * coef}), step the fp32 master weight and the moments as {@code AdamKernel} does, in
 * {@code AdamStep}'s order, and narrow the new master weight to the 16-bit parameter, nearest even.
 * The same bits as the tiled pass (widen, core's Adam kernel, the codec), with every value in
 * registers from load to store: 2 + 12 bytes read and 12 + 2 written a parameter, nothing else.
 *
 * <p>Each method steps whole vectors of parameters {@code [from, from + count)} and returns how
 * many it stepped from {@code from}: the caller steps the rest the long way. It returns 0, stepping
 * nothing, for buffers it does not take (segments that are not native). The caller has checked
 * sizes and that no gradient is infinite or NaN; for one that is, the result is not specified.
 */
public interface FusedAdamKernel {
    /** With fp16 gradients and parameters. */
    long stepHalf(AdamState adam, MemorySegment grads16, MemorySegment params16, MemorySegment master, float invScale,
                  float coef, long from, long count);

    /** With bf16 gradients and parameters. */
    long stepBFloat16(AdamState adam, MemorySegment grads16, MemorySegment params16, MemorySegment master,
                      float invScale, float coef, long from, long count);
}
