package dev.adamant.core;

import dev.adamant.core.memory.Buffers;
import java.util.Arrays;
import java.util.Objects;

/**
 * One parameter group, as in PyTorch's {@code param_groups}: a config and the sizes (in floats) of
 * the tensors it steps, in the order a {@link MultiTensorOptimizer} takes them. Immutable: the sizes
 * are copied in and {@link #sizes()} hands out a copy.
 *
 * <p>A group may hold no tensors (a {@link MultiTensorOptimizer} needs a tensor in some group).
 * Bad input is refused by {@link #of} naming the argument: a null config or sizes
 * ({@link NullPointerException}), a size {@code <= 0} or above {@link Buffers#MAX_FLOATS}
 * ({@link IllegalArgumentException}, {@code "sizes[3]: expected > 0, got 0"}).
 */
public final class ParamGroup {
    private final OptimizerConfig config;
    private final long[] sizes;

    private ParamGroup(OptimizerConfig config, long[] sizes) {
        this.config = config;
        this.sizes = sizes;
    }

    /** A group of tensors of {@code sizes} floats each, stepped under {@code config}. */
    public static ParamGroup of(OptimizerConfig config, long... sizes) {
        Objects.requireNonNull(config, "config");
        long[] copy = Objects.requireNonNull(sizes, "sizes").clone();
        for (int i = 0; i < copy.length; i++) {
            if (copy[i] <= 0) {
                throw new IllegalArgumentException("sizes[" + i + "]: expected > 0, got " + copy[i]);
            }
            Buffers.checkFloatCount("sizes[" + i + "]", copy[i]);
        }
        return new ParamGroup(config, copy);
    }

    /** The group's config. */
    public OptimizerConfig config() {
        return config;
    }

    /** A copy of the tensors' sizes, in floats. */
    public long[] sizes() {
        return sizes.clone();
    }

    /** How many tensors the group holds. */
    public int tensors() {
        return sizes.length;
    }

    /** Tensor {@code i}'s size in floats, without a copy. */
    long size(int i) {
        return sizes[i];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParamGroup g && g.config.equals(config) && Arrays.equals(g.sizes, sizes);
    }

    @Override
    public int hashCode() {
        return 31 * config.hashCode() + Arrays.hashCode(sizes);
    }

    @Override
    public String toString() {
        return "ParamGroup[" + config + ", " + sizes.length + " tensors " + Arrays.toString(sizes) + "]";
    }
}
