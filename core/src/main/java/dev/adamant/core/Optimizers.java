package dev.adamant.core;

import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.kernel.Kernels;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

/**
 * Makes optimizers. Each allocates its state off-heap ({@code n} floats per state buffer, cache-line
 * aligned, zeroed but for Adagrad's {@code sum}, which starts at its initial accumulator value) and
 * owns it until closed. The kernels are the ones {@link #implementation()}
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

    /**
     * Adagrad over {@code n} parameters: 4 bytes of state a parameter ({@code sum}, started at the
     * config's initial accumulator value).
     */
    public static Optimizer adagrad(AdagradConfig config, long n) {
        return create(config, n, Kernels.provider(), null, false);
    }

    /** Lion over {@code n} parameters: 4 bytes of state a parameter ({@code exp_avg}, zeroed). */
    public static Optimizer lion(LionConfig config, long n) {
        return create(config, n, Kernels.provider(), null, false);
    }

    /**
     * Adafactor over one {@code rows x cols} matrix (row-major floats), with PyTorch's factored
     * second moments {@code row_var} (rows floats) and {@code col_var} (cols floats): {@code 4 *
     * (rows + cols)} bytes of state and {@code 4 * cols} of scratch. A {@code 1 x n} or {@code n x 1}
     * tensor is a matrix too, as in PyTorch. Refused with an exception naming the argument: null
     * {@code config}, {@code rows} or {@code cols} below 1, or a product above {@code Buffers.MAX_FLOATS}.
     *
     * <p>The step's sums (norms, row and column means) run on the calling thread in PyTorch's order
     * ({@link AdafactorConfig}, {@code AdafactorKernel}); {@code step(params, grads, team)} splits
     * only the last, elementwise pass, bit-identical to the serial step; the {@code Executor} and
     * {@code parallelism} overloads run on the calling thread. Update mode always needs the
     * parameters (the step size is their RMS); {@link Optimizer#beginStep()} is refused
     * ({@link UnsupportedOperationException}): a step cannot be applied in separate ranges. A
     * non-finite gradient makes the state non-finite, and the step's sums carry it into other
     * elements' updates, as in PyTorch.
     */
    public static Optimizer adafactor(AdafactorConfig config, long rows, long cols) {
        return AdafactorOptimizer.matrix(config, rows, cols, Kernels.provider());
    }

    /** {@link #adafactor(AdafactorConfig, long, long)} on the named kernels: for benchmarks and tests. */
    public static Optimizer adafactor(AdafactorConfig config, long rows, long cols, Implementation implementation) {
        return AdafactorOptimizer.matrix(config, rows, cols,
                Objects.requireNonNull(implementation, "implementation").provider());
    }

    /**
     * Adafactor over one vector of {@code n} floats (a 1-D tensor): a full second moment,
     * {@code variance}, 4 bytes a parameter. {@link #create(OptimizerConfig, long)} makes the same.
     */
    public static Optimizer adafactor(AdafactorConfig config, long n) {
        return AdafactorOptimizer.vector(config, n, Kernels.provider());
    }

    /** {@link #adafactor(AdafactorConfig, long)} on the named kernels: for benchmarks and tests. */
    public static Optimizer adafactor(AdafactorConfig config, long n, Implementation implementation) {
        return AdafactorOptimizer.vector(config, n, Objects.requireNonNull(implementation, "implementation").provider());
    }

    /**
     * The optimizer {@code config} names (Adam/AdamW, SGD, RMSProp, Adagrad or Lion) over {@code n}
     * parameters, with its own state (zeroed; Adagrad's {@code sum} at its initial accumulator value),
     * as {@link #adam}, {@link #sgd}, {@link #rmsProp}, {@link #adagrad} or {@link #lion} makes it;
     * Adafactor as a vector of {@code n} ({@link #adafactor(AdafactorConfig, long)}).
     */
    public static Optimizer create(OptimizerConfig config, long n) {
        return create(config, n, Kernels.provider(), null, false);
    }

    /**
     * The optimizer {@code config} names over {@code n} parameters and over {@code state}, state the
     * caller allocated and owns: {@code config.stateFloats(n)} floats (4-byte aligned, writable,
     * native or heap), buffer {@code k} of {@link OptimizerConfig#stateNames()} at floats
     * {@code [k * n, (k + 1) * n)} (8-bit states: the layout {@link OptimizerConfig#stateNames(long)}
     * gives). Its floats are used as they are: zero them for a fresh start
     * (Adagrad's {@code sum}: fill it with {@code initialAccumulatorValue}), or
     * leave a saved state there to resume it (with the step number given to each step, or
     * {@link Optimizer#restore} for the count). The optimizer reads and writes them in its steps and
     * nowhere else; {@link Optimizer#state} views them; {@link Optimizer#close()} leaves them alone.
     * A state of no floats (SGD without momentum) may be null. {@code state} must stay accessible to
     * every thread a step runs on (checked at each step: {@link WrongThreadException}), and share no
     * byte with a step's parameters, gradients or update (checked at each step:
     * {@link IllegalArgumentException} naming both).
     *
     * <p>Made per call where that suits the caller: it allocates nothing off-heap, so a framework
     * whose buffers may move wraps them again and makes a new one.
     *
     * @throws IllegalArgumentException naming {@code state} if it is not exactly that many floats, is
     *     read-only, misaligned or closed
     */
    public static Optimizer create(OptimizerConfig config, long n, MemorySegment state) {
        return create(config, n, Kernels.provider(), state, true);
    }

    /** {@link #create(OptimizerConfig, long, MemorySegment)} on the named kernels: for benchmarks and tests. */
    public static Optimizer create(OptimizerConfig config, long n, MemorySegment state, Implementation implementation) {
        return create(config, n, Objects.requireNonNull(implementation, "implementation").provider(), state, true);
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

    /** Adagrad on the named kernels. */
    public static Optimizer adagrad(AdagradConfig config, long n, Implementation implementation) {
        return create(config, n, Objects.requireNonNull(implementation, "implementation").provider(), null, false);
    }

    /** Lion on the named kernels. */
    public static Optimizer lion(LionConfig config, long n, Implementation implementation) {
        return create(config, n, Objects.requireNonNull(implementation, "implementation").provider(), null, false);
    }

    /**
     * {@link #create(OptimizerConfig, long)} on the named kernels, whatever the JVM-wide choice: for
     * benchmarks and tests that compare both through one entry point, whatever the kind.
     *
     * @throws UnsupportedOperationException for {@link Implementation#PANAMA} where it is not available
     */
    public static Optimizer createOn(OptimizerConfig config, long n, Implementation implementation) {
        return create(config, n, Objects.requireNonNull(implementation, "implementation").provider(), null, false);
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
        return FlatMultiTensorOptimizer.create(groups, Kernels.provider(), null, false);
    }

    /**
     * {@link #multiTensor(List)} over {@code state}, state the caller allocated and owns:
     * {@link #multiTensorStateFloats(List)} floats (4-byte aligned, writable), laid out as
     * {@link MultiTensorOptimizer}'s class comment draws (the buffers of {@code stateNames()} one after
     * another, each {@code stateSize()} floats), used as they are, as
     * {@link #create(OptimizerConfig, long, MemorySegment)} says (Adagrad's {@code sum}: the caller
     * fills it with the initial accumulator value). A state of no floats (SGD without
     * momentum in every group) may be {@code (MemorySegment) null}.
     */
    public static MultiTensorOptimizer multiTensor(List<ParamGroup> groups, MemorySegment state) {
        return FlatMultiTensorOptimizer.create(groups, Kernels.provider(), state, true);
    }

    /** {@link #multiTensor(List, MemorySegment)} on the named kernels: for benchmarks and tests. */
    public static MultiTensorOptimizer multiTensor(List<ParamGroup> groups, MemorySegment state,
                                                   Implementation implementation) {
        return FlatMultiTensorOptimizer.create(groups, Objects.requireNonNull(implementation, "implementation")
                .provider(), state, true);
    }

    /**
     * Floats of caller-owned state for a {@link #multiTensor(List, MemorySegment)} of {@code groups}:
     * {@code stateNames().size() * stateSize()}, each tensor's slice padded to 16 floats. Checked as
     * {@link #multiTensor(List)} checks.
     */
    public static long multiTensorStateFloats(List<ParamGroup> groups) {
        return FlatMultiTensorOptimizer.stateFloats(groups);
    }

    /** {@link #multiTensor(List)} on the named kernels, whatever the JVM-wide choice: for benchmarks and tests. */
    public static MultiTensorOptimizer multiTensor(List<ParamGroup> groups, Implementation implementation) {
        return FlatMultiTensorOptimizer.create(groups,
                Objects.requireNonNull(implementation, "implementation").provider(), null, false);
    }

    /** The kernels in use, for example {@code "panama, 512-bit vectors (16 floats), FMA on"}. */
    public static String implementation() {
        return Implementation.current().describe();
    }

    static Optimizer adam(AdamConfig config, long n, KernelProvider kernels) {
        return create(config, n, kernels, null, false);
    }

    static Optimizer sgd(SgdConfig config, long n, KernelProvider kernels) {
        return create(config, n, kernels, null, false);
    }

    static Optimizer rmsProp(RmsPropConfig config, long n, KernelProvider kernels) {
        return create(config, n, kernels, null, false);
    }

    /** Checks {@code config} and makes its optimizer over its own state, or over {@code state} if {@code callerOwned}. */
    private static Optimizer create(OptimizerConfig config, long n, KernelProvider kernels, MemorySegment state,
                                    boolean callerOwned) {
        Objects.requireNonNull(config, "config");
        if (config instanceof SgdConfig s) {
            s.checkConsistent();
        }
        Blockwise8Rules.checkSupported("config", config);
        if (config instanceof AdafactorConfig a) {
            if (callerOwned) {
                throw new IllegalArgumentException("state: Adafactor keeps no caller-owned state (its row_var and"
                        + " col_var depend on the tensor's shape): make it with Optimizers.adafactor(config, rows, cols)"
                        + " or Optimizers.adafactor(config, n), which own theirs");
            }
            return AdafactorOptimizer.vector(a, n, kernels);
        }
        return new FlatOptimizer(config, n, kernels, state, callerOwned);
    }
}
