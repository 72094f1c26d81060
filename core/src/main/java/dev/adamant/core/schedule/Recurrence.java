package dev.adamant.core.schedule;

/**
 * A schedule PyTorch computes recursively (each step from the one before), iterated as PyTorch does so
 * that the roundings agree, and memoized so that {@code lr(step)} stays a pure function of the step.
 *
 * <p>Cost: the value at every {@value #STRIDE}th step is kept (8 bytes each, grown on demand under a
 * lock, published through a volatile array); a call iterates at most {@value #STRIDE - 1} steps from
 * the checkpoint below it. The first call for step k iterates k steps once. Beyond {@code fixedAfter}
 * the recursion no longer changes the value, so nothing past it is stored.
 */
final class Recurrence implements LrSchedule {
    /** The value at step {@code k}, from the value at step {@code k - 1} ({@code k >= 1}). */
    @FunctionalInterface
    interface Next {
        double next(long k, double previous);
    }

    static final int STRIDE = 256;

    private final Next next;
    private final long fixedAfter;
    private final Object lock = new Object();
    private volatile double[] checkpoints;

    /**
     * @param first the value at step 0
     * @param fixedAfter the step after which every value equals the one at {@code fixedAfter}
     *     ({@link Long#MAX_VALUE} if none)
     */
    Recurrence(double first, Next next, long fixedAfter) {
        this.next = next;
        this.fixedAfter = fixedAfter;
        this.checkpoints = new double[] {first};
    }

    @Override
    public double lr(long step) {
        long k = Math.min(Args.step(step), fixedAfter);
        long index = k / STRIDE;
        if (index >= Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("step: expected a value < " + (Integer.MAX_VALUE - 8L) * STRIDE
                    + " for a recursive schedule, got " + step);
        }
        double[] cp = checkpoints;
        if (index >= cp.length) {
            cp = grow((int) index);
        }
        double v = cp[(int) index];
        for (long j = index * STRIDE + 1; j <= k; j++) {
            v = next.next(j, v);
        }
        return v;
    }

    private double[] grow(int index) {
        synchronized (lock) {
            double[] cp = checkpoints;
            if (index < cp.length) {
                return cp;
            }
            int length = (int) Math.min(Integer.MAX_VALUE - 8L, Math.max(index + 1L, 2L * cp.length));
            double[] grown = java.util.Arrays.copyOf(cp, length);
            double v = cp[cp.length - 1];
            for (int i = cp.length; i < length; i++) {
                long from = (long) (i - 1) * STRIDE;
                for (long j = from + 1; j <= from + STRIDE; j++) {
                    v = next.next(j, v);
                }
                grown[i] = v;
            }
            checkpoints = grown;
            return grown;
        }
    }
}
