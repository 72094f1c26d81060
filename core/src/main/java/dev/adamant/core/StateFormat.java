package dev.adamant.core;

import dev.adamant.core.quant.Blockwise8;
import dev.adamant.core.quant.DynamicMap;
import java.util.Objects;

/**
 * How an optimizer keeps its state: {@link #FP32} (a float per element and buffer, PyTorch's
 * layout) or {@link #BLOCKWISE_8BIT} (bitsandbytes' 8-bit block-wise states). Immutable; set on a
 * config with {@code withStateFormat}.
 *
 * <p><b>8-bit block-wise</b>, as bitsandbytes' pure-PyTorch reference defines it
 * ({@code optimizer_update_8bit_blockwise_pytorch}): each state is kept in blocks of 256 consecutive
 * elements (the last one partial), one float {@code absmax} a block and one byte an element, an
 * index into a 256-entry dynamic code table (signed for the first state, unsigned for Adam's
 * second). A step dequantizes each block ({@code code * absmax}), runs the optimizer's fp32 update
 * (the same kernels and order of operations as {@code FP32}), and re-quantizes: {@code absmax} = the
 * block's largest {@code |value|} (0 becomes 1), each value divided by it and replaced by the
 * nearest code (the lower on a tie). States start at zero (codes 0, absmax 0). The buffers, under
 * bitsandbytes' names: {@code state1} (n bytes), {@code absmax1} ({@code ceil(n / 256)} floats) and,
 * for Adam, {@code state2}, {@code absmax2}. Adam's state then takes 2 bytes and 8 bytes a block per
 * parameter instead of 8.
 *
 * <p>As bitsandbytes, tensors of fewer than {@link #minBlockwiseSize()} elements (4096 by default)
 * keep fp32 states: an optimizer of {@code n < minBlockwiseSize()} parameters under an 8-bit config
 * is exactly the fp32 one, with PyTorch's state names.
 *
 * <p>What 8-bit supports, as bitsandbytes' reference: Adam with decoupled weight decay (AdamW; Adam
 * with weight decay 0), no amsgrad; SGD with momentum (no dampening, no Nesterov); RMSProp without
 * momentum and not centered; Adagrad with initial accumulator 0 (learning-rate decay is allowed:
 * it only scales the step); Lion. Other settings are refused as the optimizer is made, naming them.
 */
public final class StateFormat {
    /** Elements a block of 8-bit states: bitsandbytes' block size for optimizer states. */
    public static final int BLOCK = Blockwise8.BLOCK;

    /** bitsandbytes' default {@code min_8bit_size}: smaller tensors keep fp32 states. */
    public static final long DEFAULT_MIN_BLOCKWISE_SIZE = 4096;

    /** A float per element and buffer: PyTorch's state. The default. */
    public static final StateFormat FP32 = new StateFormat(false, 0);

    /** bitsandbytes' 8-bit block-wise states, for tensors of at least 4096 elements. */
    public static final StateFormat BLOCKWISE_8BIT = new StateFormat(true, DEFAULT_MIN_BLOCKWISE_SIZE);

    private final boolean blockwise8;
    private final long minBlockwiseSize;

    private StateFormat(boolean blockwise8, long minBlockwiseSize) {
        this.blockwise8 = blockwise8;
        this.minBlockwiseSize = minBlockwiseSize;
    }

    /**
     * This 8-bit format with smaller tensors than {@code minBlockwiseSize} kept in fp32 (0 or 1: every
     * tensor in 8 bits).
     *
     * @throws IllegalArgumentException naming {@code minBlockwiseSize} if it is negative
     * @throws IllegalStateException on {@link #FP32}, which has no blocks
     */
    public StateFormat withMinBlockwiseSize(long minBlockwiseSize) {
        if (!blockwise8) {
            throw new IllegalStateException("withMinBlockwiseSize: the FP32 format has no blocks; use"
                    + " BLOCKWISE_8BIT.withMinBlockwiseSize(" + minBlockwiseSize + ")");
        }
        if (minBlockwiseSize < 0) {
            throw new IllegalArgumentException("minBlockwiseSize: " + minBlockwiseSize + " (expected: >= 0)");
        }
        return new StateFormat(true, minBlockwiseSize);
    }

    /**
     * The code that reads as 0.0 in 8-bit state {@code name}, whatever the block's absmax: for
     * {@code state1} (the signed map) 127, for {@code state2} (the unsigned map) 0. What a caller fills
     * elements with that a step never wrote (padding that shares a tensor's last block) so that they
     * read as a live run's would.
     *
     * @throws IllegalArgumentException naming {@code name} unless it is {@code state1} or {@code state2}
     */
    public static byte zeroCode(String name) {
        DynamicMap map = "state1".equals(name) ? DynamicMap.SIGNED : "state2".equals(name) ? DynamicMap.UNSIGNED : null;
        if (map == null) {
            throw new IllegalArgumentException("name: expected state1 or state2 (8-bit codes), got "
                    + (name == null ? "null" : "\"" + name + "\""));
        }
        return (byte) map.nearest(0f);
    }

    /** Whether this is an 8-bit block-wise format (whatever the size threshold). */
    public boolean isBlockwise8() {
        return blockwise8;
    }

    /** Tensors of fewer elements keep fp32 states; 0 for {@link #FP32}. */
    public long minBlockwiseSize() {
        return minBlockwiseSize;
    }

    /** Whether a tensor of {@code n} elements keeps 8-bit states under this format. */
    public boolean quantizes(long n) {
        return blockwise8 && n >= minBlockwiseSize;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StateFormat f && f.blockwise8 == blockwise8 && f.minBlockwiseSize == minBlockwiseSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(blockwise8, minBlockwiseSize);
    }

    @Override
    public String toString() {
        return !blockwise8 ? "FP32" : minBlockwiseSize == DEFAULT_MIN_BLOCKWISE_SIZE ? "BLOCKWISE_8BIT"
                : "BLOCKWISE_8BIT(min " + minBlockwiseSize + ")";
    }
}
