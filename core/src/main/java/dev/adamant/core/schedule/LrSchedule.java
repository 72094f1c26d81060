package dev.adamant.core.schedule;

/**
 * A learning-rate schedule: the learning rate to use for each optimizer step, as a plain function of
 * the step number.
 *
 * <p>Step 0 is the first optimizer step. {@code lr(k)} is what PyTorch's optimizer holds before its
 * {@code k}-th {@code optimizer.step()} (counting from 0), that is after {@code k} calls of
 * {@code scheduler.step()}. A schedule holds no position: it may be called for any step, in any order,
 * from any thread, and gives the same answer each time. Your own schedule is a lambda,
 * {@code step -> 0.01 / Math.sqrt(step + 1)}; the ones in {@link LrSchedules} cost a few floating-point
 * operations a call (those that follow one of PyTorch's recursions say what they cost in their javadoc).
 *
 * <p>Bad input: the schedules of {@link LrSchedules} throw {@link IllegalArgumentException} for a
 * negative step; a schedule of your own should do the same.
 */
@FunctionalInterface
public interface LrSchedule {

    /**
     * The learning rate for step {@code step} (0 is the first optimizer step).
     *
     * @throws IllegalArgumentException if {@code step} is negative, or outside the range a schedule
     *     is defined on (its javadoc says which)
     */
    double lr(long step);
}
