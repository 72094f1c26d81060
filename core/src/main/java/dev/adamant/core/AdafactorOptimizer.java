package dev.adamant.core;

import dev.adamant.core.kernel.AdafactorKernel;
import dev.adamant.core.kernel.AdafactorStep;
import dev.adamant.core.kernel.CascadeSum;
import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.memory.Buffers;
import dev.adamant.core.memory.Segments;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;

/**
 * Adafactor over one tensor ({@code torch.optim.Adafactor}, single tensor): a matrix of
 * {@code rows x cols} floats, row-major, with factored second moments {@code row_var} (rows floats)
 * and {@code col_var} (cols floats); or a vector of {@code n} floats with a full {@code variance}.
 * Not a {@link FlatOptimizer}: a step needs whole-tensor norms (the parameters' and the update's
 * RMS) and row and column sums, so it cannot be cut into independent ranges.
 *
 * <p>A matrix step is four passes ({@link AdafactorKernel}): the parameters' sum of squares; row
 * and column sums of the squared gradient, which move {@code row_var} and {@code col_var}; the
 * update's sum of squares; the apply. State: {@code 4 * (rows + cols)} bytes, plus {@code 4 * cols}
 * of scratch for the column sums; a vector keeps 4 bytes a parameter. The per-step scalars
 * ({@code t^beta2Decay}, {@code rho_t}, the step size and its clipping) are computed once, in
 * double, from float sums, as PyTorch computes them from {@code .item()}.
 *
 * <p>The sums run on the calling thread in one fixed order (see {@link AdafactorKernel}), so the
 * result does not depend on the number of threads; on a {@link Team} only the last pass, which is
 * elementwise, is split. The {@code Executor} and {@code parallelism} overloads run the whole step
 * on the calling thread: the state moves in the first passes, so a refused hand-off afterwards
 * could not leave the step undone.
 *
 * <p>Refused, with nothing changed: {@link #beginStep()} ({@link UnsupportedOperationException}:
 * ranges of one step cannot be applied separately); {@link #setConfig} with another kind.
 */
final class AdafactorOptimizer implements Optimizer {
    static final String ROW_VAR = "row_var", COL_VAR = "col_var", VARIANCE = "variance";

    private final long rows, cols, size;
    /** Whether the tensor is a matrix (row_var, col_var) rather than a vector (variance). */
    private final boolean factored;
    private final AdafactorKernel kernel;
    private final Arena arena = Arena.ofShared();
    private final Map<String, MemorySegment> state = new LinkedHashMap<>();
    /** Column sums of the squared gradient (matrix only), scratch of each step. */
    private final MemorySegment colSums;
    private final CallGuard guard = new CallGuard();
    private AdafactorConfig config;
    private long steps;

    private AdafactorOptimizer(AdafactorConfig config, long rows, long cols, boolean factored,
                               KernelProvider kernels) {
        this.config = Objects.requireNonNull(config, "config");
        this.rows = rows;
        this.cols = cols;
        this.size = rows * cols;
        this.factored = factored;
        this.kernel = kernels.adafactor();
        try {
            if (factored) {
                state.put(ROW_VAR, Buffers.allocateFloats(arena, rows));
                state.put(COL_VAR, Buffers.allocateFloats(arena, cols));
                colSums = Buffers.allocateFloats(arena, cols);
            } else {
                state.put(VARIANCE, Buffers.allocateFloats(arena, cols));
                colSums = null;
            }
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Adafactor over a {@code rows x cols} matrix; the caller has checked nothing but {@code kernels}. */
    static AdafactorOptimizer matrix(AdafactorConfig config, long rows, long cols, KernelProvider kernels) {
        Objects.requireNonNull(config, "config");
        Segments.checkPositive("rows", rows);
        Segments.checkPositive("cols", cols);
        long n;
        try {
            n = Math.multiplyExact(rows, cols);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("rows: " + rows + " x cols " + cols + " floats overflow a long", e);
        }
        Buffers.checkFloatCount("rows", n);
        return new AdafactorOptimizer(config, rows, cols, true, kernels);
    }

    /** Adafactor over a vector of {@code n} floats. */
    static AdafactorOptimizer vector(AdafactorConfig config, long n, KernelProvider kernels) {
        Objects.requireNonNull(config, "config");
        Segments.checkPositive("n", n);
        Buffers.checkFloatCount("n", n);
        return new AdafactorOptimizer(config, 1, n, false, kernels);
    }

    /** The refusal of a shape-free question about Adafactor's state ({@code what} names the call). */
    static UnsupportedOperationException shapeFree(String what) {
        return new UnsupportedOperationException(what + ": Adafactor's state depends on the tensor's shape (row_var"
                + " and col_var for a matrix, variance for a vector): ask the optimizer"
                + " (Optimizers.adafactor(config, rows, cols) or Optimizers.adafactor(config, n)).stateNames()");
    }

    /** The refusal of an Adafactor config where an elementwise optimizer is made ({@code name}: the argument). */
    static IllegalArgumentException notFlat(String name) {
        return new IllegalArgumentException(name + ": expected an elementwise optimizer's config, got Adafactor, whose"
                + " step needs whole-tensor norms and whose state depends on each tensor's shape: make one optimizer"
                + " a tensor with Optimizers.adafactor(config, rows, cols) or Optimizers.adafactor(config, n)");
    }

    @Override public long size() { return size; }
    @Override public long stepCount() { return steps; }
    @Override public OptimizerConfig config() { return config; }

    @Override
    public void setConfig(OptimizerConfig next) {
        Objects.requireNonNull(next, "config");
        if (!(next instanceof AdafactorConfig a)) {
            throw new IllegalArgumentException("config: expected this optimizer's kind, AdafactorConfig, got "
                    + StepRules.kind(next));
        }
        replaceConfig("setConfig", a);
    }

    @Override
    public void setLr(double lr) {
        replaceConfig("setLr", config.withLr(lr));
    }

    /** Makes {@code next} the config from the next step on, holding the flag ({@code what}: the call). */
    private void replaceConfig(String what, AdafactorConfig next) {
        guard.acquire(() -> busy(what));
        try {
            config = next;
        } finally {
            guard.release();
        }
    }

    @Override
    public void step(MemorySegment params, MemorySegment grads) {
        run("step", params, grads, null, StepOptions.next(), null);
    }

    /** The whole step on the calling thread (see the class comment); {@code parallelism} is checked. */
    @Override
    public void step(MemorySegment params, MemorySegment grads, int parallelism) {
        Segments.checkPositive("parallelism", parallelism);
        run("step", params, grads, null, StepOptions.next(), null);
    }

    /** The whole step on the calling thread (see the class comment): {@code executor} is not used. */
    @Override
    public void step(MemorySegment params, MemorySegment grads, Executor executor, int parallelism) {
        Objects.requireNonNull(executor, "executor");
        Segments.checkPositive("parallelism", parallelism);
        run("step", params, grads, null, StepOptions.next(), null);
    }

    @Override
    public void step(MemorySegment params, MemorySegment grads, Team team) {
        run("step", params, grads, null, StepOptions.next(), Objects.requireNonNull(team, "team"));
    }

    @Override
    public void step(MemorySegment params, MemorySegment grads, StepOptions options) {
        run("step", params, grads, null, Objects.requireNonNull(options, "options"), null);
    }

    @Override
    public void step(MemorySegment params, MemorySegment grads, StepOptions options, Team team) {
        Objects.requireNonNull(options, "options");
        run("step", params, grads, null, options, Objects.requireNonNull(team, "team"));
    }

    /**
     * Update mode, as {@link Optimizer#update} says, but {@code params} is always required: Adafactor's
     * step size is the parameters' RMS.
     */
    @Override
    public void update(MemorySegment params, MemorySegment grads, MemorySegment update, StepOptions options) {
        Objects.requireNonNull(update, "update");
        run("update", params, grads, update, Objects.requireNonNull(options, "options"), null);
    }

    @Override
    public void update(MemorySegment params, MemorySegment grads, MemorySegment update, StepOptions options,
                       Team team) {
        Objects.requireNonNull(update, "update");
        Objects.requireNonNull(options, "options");
        run("update", params, grads, update, options, Objects.requireNonNull(team, "team"));
    }

    private void run(String what, MemorySegment params, MemorySegment grads, MemorySegment update, StepOptions o,
                     Team team) {
        guard.acquire(() -> busy(what));
        try {
            if (update == null) {
                Segments.checkFloats("params", params, size, true);
            } else {
                if (params == null) {
                    throw new NullPointerException("params: expected the parameters, which every Adafactor step reads"
                            + " (its step size is their RMS)");
                }
                Segments.checkFloats("params", params, size, false);
            }
            Segments.checkFloats("grads", grads, size, false);
            Segments.checkDisjoint("params", params, "grads", grads);
            if (update != null) {
                Segments.checkFloats("update", update, size, true);
                Segments.checkDisjoint("params", params, "update", update);
                Segments.checkSameOrDisjoint("update", update, "grads", grads);
            }
            int members = team == null ? 1 : team.requireOpen().members(size, Team.MIN_SHARE);
            Segments.checkAccessible("params", params, members);
            Segments.checkAccessible("grads", grads, members);
            if (update != null) {
                Segments.checkAccessible("update", update, members);
            }
            long t = o.resolve(steps);
            stepOnce(params, grads, update, t, o.gradFactor(config.maximize()), team);
            steps = t;
        } finally {
            guard.release();
        }
    }

    /** Step {@code t}: PyTorch's {@code _single_tensor_adafactor}, in its order; the arguments are checked. */
    private void stepOnce(MemorySegment params, MemorySegment grads, MemorySegment update, long t, float gradFactor,
                          Team team) {
        AdafactorConfig c = config;
        double step = (float) t;   // PyTorch counts in a float32 tensor and reads it with .item()
        float w = (float) Math.pow(step, c.beta2Decay());   // one_minus_beta2_t, rounded as lerp_ takes it
        boolean small = Math.abs(w) < 0.5f;
        double rho = pyMin(c.lr(), 1 / Math.sqrt(step));
        double eps1 = c.effectiveEps1();
        AdafactorStep s = new AdafactorStep(gradFactor, small ? w : w - 1f, small, (float) (eps1 * eps1),
                c.weightDecay() != 0 ? (float) (1 - c.lr() * c.weightDecay()) : 1f);
        double rootN = Math.sqrt((double) size);
        double alpha = pyMax(c.eps2(), norm(kernel.sumOfSquares(params, size)) / rootN) * rho;
        float negAlpha;
        Team.Range apply;
        if (factored) {
            MemorySegment rowVar = state.get(ROW_VAR), colVar = state.get(COL_VAR);
            kernel.factoredMoments(s, grads, rows, cols, rowVar, colVar, colSums);
            // row_var.mean(dim=-2).clamp_(min=eps1): ATen's sum, then a float division; NaN stays NaN
            float mean = Math.max(CascadeSum.sum(rowVar, rows) / (float) rows, (float) eps1);
            double rms = norm(kernel.factoredUpdateSquares(s, grads, rows, cols, rowVar, colVar, mean)) / (rootN * c.d());
            negAlpha = (float) (-alpha / pyMax(1.0, rms));
            float a = negAlpha;
            apply = (from, to) -> kernel.factoredApply(s, params, grads, update, cols, rowVar, colVar, mean, a, from,
                    to - from);
        } else {
            MemorySegment variance = state.get(VARIANCE);
            double rms = norm(kernel.vectorMoments(s, grads, variance, size)) / (rootN * c.d());
            negAlpha = (float) (-alpha / pyMax(1.0, rms));
            float a = negAlpha;
            apply = (from, to) -> kernel.vectorApply(s, params, grads, update, variance, a, from, to - from);
        }
        if (team == null) {
            apply.run(0, size);
        } else {
            team.parallelFor(size, Team.LINE, Team.MIN_SHARE, apply);
        }
    }

    /** {@code tensor.norm(2).item()}: the float square root of a float sum, widened. */
    private static double norm(float sumOfSquares) {
        return (float) Math.sqrt(sumOfSquares);
    }

    /** Python's {@code max(a, b)}: {@code a} unless {@code b > a} (so a NaN {@code b} gives {@code a}). */
    private static double pyMax(double a, double b) {
        return b > a ? b : a;
    }

    /** Python's {@code min(a, b)}: {@code a} unless {@code b < a}. */
    private static double pyMin(double a, double b) {
        return b < a ? b : a;
    }

    /**
     * Refused: a step's ranges cannot be applied separately (every element's update needs the whole
     * tensor's norms), so there is no begun step.
     *
     * @throws UnsupportedOperationException always, nothing changed
     */
    @Override
    public Step beginStep() {
        guard.checkOpen();
        throw new UnsupportedOperationException("beginStep: Adafactor's step needs whole-tensor norms and row and"
                + " column sums, so its ranges cannot be applied separately; use step(params, grads) or step(params,"
                + " grads, team), which splits the elementwise pass");
    }

    /**
     * As {@link Optimizer#restore}, but each buffer is its own size: {@code row_var} {@code rows}
     * floats and {@code col_var} {@code cols} floats for a matrix, {@code variance} {@code n} floats
     * for a vector.
     */
    @Override
    public void restore(long stepCount, BiConsumer<String, MemorySegment> fill) {
        guard.restore(fill, stepCount, () -> busy("restore"), () -> {
            for (Map.Entry<String, MemorySegment> e : state.entrySet()) {
                fill.accept(e.getKey(), e.getValue());
            }
            steps = stepCount;
        }, this::close);
    }

    private String busy(String what) {
        return what + ": another thread is stepping or restoring this optimizer right now; an optimizer takes one"
                + " step at a time";
    }

    /** {@code [row_var, col_var]} for a matrix, {@code [variance]} for a vector. */
    @Override
    public List<String> stateNames() {
        return List.copyOf(state.keySet());
    }

    /**
     * A read-only view of {@code row_var} ({@code rows} floats, PyTorch's {@code (rows, 1)}),
     * {@code col_var} ({@code cols} floats, {@code (1, cols)}) or {@code variance} ({@code n} floats).
     */
    @Override
    public MemorySegment state(String name) {
        guard.checkOpen();
        MemorySegment s = state.get(Objects.requireNonNull(name, "name"));
        if (s == null) {
            throw new IllegalArgumentException("name: expected one of " + state.keySet() + ", got \"" + name + "\"");
        }
        return s.asReadOnly();
    }

    @Override
    public void close() {
        if (guard.close()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "AdafactorOptimizer[" + (factored ? rows + "x" + cols : cols) + ", " + config + ", step " + steps + "]";
    }
}
