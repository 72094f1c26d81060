package dev.adamant.core;

import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.kernel.Kernels;
import java.util.List;
import java.util.Objects;

/**
 * Makes optimizers. Each allocates its state off-heap ({@code n} zeroed floats per state buffer,
 * cache-line aligned) and owns it until closed. The kernels are the ones {@link #implementation()}
 * names, chosen once per JVM (system property {@code adamant.kernels}: auto, panama, scalar).
 *
 * <p>{@code n <= 0}, {@code n} above {@link dev.adamant.core.memory.Buffers#MAX_FLOATS} (2^61 - 1: the
 * byte size of its buffers would not fit in a long) and inconsistent configurations are refused with
 * an {@link IllegalArgumentException} naming the argument. Memory that is not there is an
 * {@link OutOfMemoryError} whose message names {@code n} and the bytes asked for.
 */
public final class Optimizers {
    private Optimizers() {}

    /** Adam or AdamW over {@code n} parameters: 8 bytes of state a parameter, 12 with amsgrad. */
    public static Optimizer adam(AdamConfig config, long n) {
        return adam(config, n, Kernels.provider());
    }

    /** SGD over {@code n} parameters: 4 bytes of state a parameter with momentum, none without. */
    public static Optimizer sgd(SgdConfig config, long n) {
        return sgd(config, n, Kernels.provider());
    }

    /** RMSProp over {@code n} parameters: 4 bytes of state a parameter, +4 with momentum, +4 centered. */
    public static Optimizer rmsProp(RmsPropConfig config, long n) {
        return rmsProp(config, n, Kernels.provider());
    }

    /** Adam or AdamW on the named kernels, whatever the JVM-wide choice: for benchmarks and tests. */
    public static Optimizer adam(AdamConfig config, long n, Implementation implementation) {
        return adam(config, n, Objects.requireNonNull(implementation, "implementation").provider());
    }

    /** SGD on the named kernels. */
    public static Optimizer sgd(SgdConfig config, long n, Implementation implementation) {
        return sgd(config, n, Objects.requireNonNull(implementation, "implementation").provider());
    }

    /** RMSProp on the named kernels. */
    public static Optimizer rmsProp(RmsPropConfig config, long n, Implementation implementation) {
        return rmsProp(config, n, Objects.requireNonNull(implementation, "implementation").provider());
    }

    /**
     * One optimizer over the tensors of {@code groups}, each group under its own config (PyTorch's
     * {@code param_groups}); see {@link MultiTensorOptimizer} for the step, the state layout and its
     * cost: each state buffer spans every tensor, each tensor's slice padded to a cache line.
     *
     * <p>Refused with an exception naming the argument: a null list or group
     * ({@link NullPointerException}); no groups, no tensor in any group, groups of different optimizer
     * kinds, a config whose parameters break a rule between them (SGD's nesterov), or sizes that add up
     * past {@code Buffers.MAX_FLOATS} ({@link IllegalArgumentException}).
     */
    public static MultiTensorOptimizer multiTensor(List<ParamGroup> groups) {
        return FlatMultiTensorOptimizer.create(groups, Kernels.provider());
    }

    /** {@link #multiTensor(List)} on the named kernels, whatever the JVM-wide choice: for benchmarks and tests. */
    public static MultiTensorOptimizer multiTensor(List<ParamGroup> groups, Implementation implementation) {
        return FlatMultiTensorOptimizer.create(groups,
                Objects.requireNonNull(implementation, "implementation").provider());
    }

    /** The kernels in use, for example {@code "panama, 512-bit vectors (16 floats), FMA on"}. */
    public static String implementation() {
        return Implementation.current().describe();
    }

    static Optimizer adam(AdamConfig config, long n, KernelProvider kernels) {
        Objects.requireNonNull(config, "config");
        return new AdamOptimizer(config, n, kernels.adam());
    }

    static Optimizer sgd(SgdConfig config, long n, KernelProvider kernels) {
        Objects.requireNonNull(config, "config");
        config.checkConsistent();
        return new SgdOptimizer(config, n, kernels.sgd());
    }

    static Optimizer rmsProp(RmsPropConfig config, long n, KernelProvider kernels) {
        Objects.requireNonNull(config, "config");
        return new RmsPropOptimizer(config, n, kernels.rmsProp());
    }
}
