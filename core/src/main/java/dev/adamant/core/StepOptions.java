package dev.adamant.core;

import dev.adamant.core.internal.Check;

/**
 * What a framework's training loop decides for one step and an optimizer cannot know: the step's
 * number, and a factor the gradients are multiplied by as they are read. Immutable; for
 * {@link Optimizer#step(java.lang.foreign.MemorySegment, java.lang.foreign.MemorySegment, StepOptions)},
 * {@link Optimizer#update} and their {@link MultiTensorOptimizer} twins. Learning rate and weight
 * decay change between steps through {@code setLr} and {@code setConfig} (PyTorch's
 * {@code param_group[k] = v}), which keep the state.
 *
 * <pre>{@code
 * opt.setLr(schedule.lr(iteration));
 * opt.update(null, grads, grads, StepOptions.number(iteration + 1).withGradScale(1.0 / batch));
 * }</pre>
 *
 * <p><b>Step number.</b> {@link #next()} (the default) is step {@code stepCount() + 1}, as the plain
 * step. {@link #number(long) number(t)} is step {@code t} whatever the count: its bias corrections
 * ({@code 1 - beta^t}) are computed from {@code t}, SGD's momentum buffer starts from the gradient
 * exactly when {@code t == 1} (PyTorch: when the buffer does not exist yet), and afterwards
 * {@code stepCount()} is {@code t}. The caller owns the numbering: a framework that restores a model
 * passes its own iteration counter and gets the same bias corrections as the run it resumes.
 *
 * <p><b>Gradient scale.</b> Each gradient is multiplied by {@code (float) gradScale} (with
 * {@code maximize}: by its negation, exactly) as the step reads it, before weight decay, in the same
 * pass: no pass over memory of its own. A scale of 1 (the default) is exact, so the step's bits are
 * the plain step's. To divide by a minibatch of {@code b}, pass {@code 1.0 / b}: {@code g * (float) (1.0 / b)}
 * differs from a division {@code g / b} by at most one ulp, and not at all where {@code b} is a power of 2.
 */
public final class StepOptions {
    private static final StepOptions NEXT = new StepOptions(0, 1);

    /** 0 for the next step, else the step's number. */
    private final long number;
    private final double gradScale;

    private StepOptions(long number, double gradScale) {
        this.number = number;
        this.gradScale = gradScale;
    }

    /** Step {@code stepCount() + 1}, gradients as they are: what the plain step does. */
    public static StepOptions next() {
        return NEXT;
    }

    /**
     * Step number {@code t}, the caller's count (1 for the first step).
     *
     * @throws IllegalArgumentException naming {@code t} if it is below 1
     */
    public static StepOptions number(long t) {
        if (t < 1) {
            throw new IllegalArgumentException("t: expected a step number >= 1 (1 is the first step), got " + t);
        }
        return new StepOptions(t, 1);
    }

    /**
     * These options with the gradients multiplied by {@code (float) gradScale} as they are read.
     *
     * @throws IllegalArgumentException naming {@code gradScale} unless it is finite and {@code > 0}
     *     (and not so small that it rounds to float 0)
     */
    public StepOptions withGradScale(double gradScale) {
        Check.positive("gradScale", gradScale);
        if ((float) gradScale == 0f || Float.isInfinite((float) gradScale)) {
            throw new IllegalArgumentException("gradScale: expected a value whose float is finite and > 0, got "
                    + gradScale);
        }
        return new StepOptions(number, gradScale);
    }

    /** Whether the step number is the caller's ({@link #number(long)}) rather than the next. */
    public boolean hasNumber() {
        return number != 0;
    }

    /** The step number given to {@link #number(long)}, or 0 for {@link #next()}. */
    public long number() {
        return number;
    }

    /** The gradient scale factor (1 unless set). */
    public double gradScale() {
        return gradScale;
    }

    /** The step's number for an optimizer that has taken {@code stepCount} steps. */
    long resolve(long stepCount) {
        return number != 0 ? number : stepCount + 1;
    }

    /** The factor the kernels multiply each gradient by: {@code ±(float) gradScale}, the sign of maximize. */
    float gradFactor(boolean maximize) {
        float f = (float) gradScale;
        return maximize ? -f : f;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StepOptions s && s.number == number && Double.compare(s.gradScale, gradScale) == 0;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(number) * 31 + Double.hashCode(gradScale);
    }

    @Override
    public String toString() {
        return "StepOptions[" + (number == 0 ? "next" : "t=" + number) + ", gradScale=" + gradScale + "]";
    }
}
