package dev.adamant.core;

import dev.adamant.core.memory.Buffers;
import dev.adamant.core.memory.Segments;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The hyper-parameters of one optimizer kind: {@link AdamConfig} (Adam and AdamW), {@link SgdConfig},
 * {@link RmsPropConfig}, {@link AdagradConfig}, {@link LionConfig} or {@link AdafactorConfig} (not
 * elementwise: made per tensor with its shape, see its class comment). Immutable; each {@code with…}
 * method checks its argument and names it. What they share is here, so that a {@link ParamGroup} can hold any of them and
 * {@link MultiTensorOptimizer#setLr} can change any group's learning rate.
 */
public sealed interface OptimizerConfig permits AdamConfig, SgdConfig, RmsPropConfig, AdagradConfig, LionConfig,
        AdafactorConfig {
    /** The learning rate. */
    double lr();

    /** The weight decay (L2 for Adam, SGD, RMSProp and Adagrad; decoupled for AdamW and Lion). */
    double weightDecay();

    /** Whether the objective is maximized (the gradient's sign flipped). */
    boolean maximize();

    /**
     * This config with learning rate {@code lr}.
     *
     * @throws IllegalArgumentException naming {@code lr} if it is NaN, infinite or negative
     */
    OptimizerConfig withLr(double lr);

    /**
     * This config with weight decay {@code weightDecay}.
     *
     * @throws IllegalArgumentException naming {@code weightDecay} if it is NaN, infinite or negative
     */
    OptimizerConfig withWeightDecay(double weightDecay);

    /**
     * How the state is kept: {@link StateFormat#FP32} (the default) or
     * {@link StateFormat#BLOCKWISE_8BIT}.
     */
    StateFormat stateFormat();

    /**
     * This config with its state kept in {@code stateFormat}; what the 8-bit format supports is
     * checked as an optimizer is made (see {@link StateFormat}).
     *
     * @throws NullPointerException naming {@code stateFormat} if it is null
     */
    OptimizerConfig withStateFormat(StateFormat stateFormat);

    /**
     * The state buffers an optimizer of {@code n} parameters under this config keeps: the 8-bit
     * buffers ({@code state1}, {@code absmax1}, and for Adam {@code state2}, {@code absmax2}) where
     * {@link #stateFormat()} quantizes a tensor of {@code n}, else {@link #stateNames()}' fp32 ones.
     * In caller-owned 8-bit state ({@link Optimizers#create(OptimizerConfig, long, MemorySegment)},
     * {@link #stateFloats(long)} floats) the buffers lie in this order, each starting where the one
     * before ends rounded up to 4 bytes: {@code state1} ({@code n} bytes), {@code absmax1}
     * ({@code ceil(n / 256)} floats), then Adam's {@code state2} and {@code absmax2}. Zeroed, they
     * are the initial state.
     *
     * @throws IllegalArgumentException naming {@code n} if it is below 1
     */
    default List<String> stateNames(long n) {
        Segments.checkPositive("n", n);
        return StepRules.stateNames(this, n);
    }

    /**
     * The state buffers an optimizer under this config keeps, in PyTorch's names and order: the
     * layout of caller-owned state ({@link Optimizers#create(OptimizerConfig, long, MemorySegment)}),
     * where buffer {@code k} is floats {@code [k * n, (k + 1) * n)} of one segment.
     * <ul>
     *   <li>Adam, AdamW: {@code exp_avg}, {@code exp_avg_sq}, and with amsgrad {@code max_exp_avg_sq}.
     *   <li>SGD: {@code momentum_buffer} with momentum, else none.
     *   <li>RMSProp: {@code square_avg}, then {@code momentum_buffer} with momentum, then
     *       {@code grad_avg} if centered.
     *   <li>Adagrad: {@code sum} (PyTorch's name). An optimizer that owns its state starts it at
     *       {@code initial_accumulator_value}; in caller-owned state the caller fills it.
     *   <li>Lion: {@code exp_avg}, the momentum (bitsandbytes' {@code state1}), zero at the start.
     *   <li>Adafactor: refused ({@link UnsupportedOperationException}): its state depends on the
     *       tensor's shape; its optimizer's {@link Optimizer#stateNames()} answers.
     * </ul>
     * These are the fp32 buffers, whatever {@link #stateFormat()}: an 8-bit config keeps them for
     * tensors below its {@link StateFormat#minBlockwiseSize()}; see {@link #stateNames(long)}.
     */
    default List<String> stateNames() {
        return StepRules.stateNames(this);
    }

    /**
     * Floats of state for {@code n} parameters, the size of caller-owned state: {@code
     * stateNames().size() * n} for fp32 states; for 8-bit ones the bytes of the layout
     * {@link #stateNames(long)} describes, in floats (4-byte units).
     *
     * @throws IllegalArgumentException naming {@code n} if it is below 1 or the product overflows
     *     {@code Buffers.MAX_FLOATS}
     */
    default long stateFloats(long n) {
        Segments.checkPositive("n", n);
        if (Blockwise8Rules.quantizes(this, n)) {
            return Blockwise8Rules.stateBytes(this, n) / Float.BYTES;
        }
        long floats;
        try {
            floats = Math.multiplyExact(n, (long) stateNames().size());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("n: " + n + " parameters need more state than a long counts", e);
        }
        Buffers.checkFloatCount("n", floats);
        return floats;
    }
}
