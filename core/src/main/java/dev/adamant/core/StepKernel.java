package dev.adamant.core;

import dev.adamant.core.kernel.AdamState;
import java.lang.foreign.MemorySegment;

/**
 * One step's kernel call over a range, its coefficients computed once: {@code params},
 * {@code grads} and {@code update} hold {@code count} floats each and pair with state floats
 * {@code [stateFrom, stateFrom + count)}. {@code update} null: a normal step, the parameters written.
 * {@code update} non-null: update mode (see the kernels), {@code params} null where the step does
 * not read them. The caller has checked everything.
 */
@FunctionalInterface
interface StepKernel {
    void run(MemorySegment params, MemorySegment grads, MemorySegment update, long stateFrom, long count);

    /** The step's Adam coefficients and state, for {@code FusibleStep}; null but for Adam. */
    default AdamState adam() {
        return null;
    }

    /** {@code count} floats of {@code buffer} from float {@code from}, or null for an absent buffer. */
    static MemorySegment range(MemorySegment buffer, long from, long count) {
        return buffer == null ? null : buffer.asSlice(from * Float.BYTES, count * Float.BYTES);
    }
}
