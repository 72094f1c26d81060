package dev.adamant.core.internal;

/**
 * Hyper-parameter checks of core's packages (the configs, {@code StepOptions}, the schedules): each
 * names the parameter and the range it expected. Not exported.
 */
public final class Check {
    private Check() {}

    /** {@code lo <= value < hi}, finite. */
    public static double halfOpen(String name, double value, double lo, double hi) {
        if (!(value >= lo && value < hi)) {
            throw new IllegalArgumentException(name + ": expected a value in [" + lo + ", " + hi + "), got " + value);
        }
        return value;
    }

    /** {@code lo <= value <= hi}, finite. */
    public static double closed(String name, double value, double lo, double hi) {
        if (!(value >= lo && value <= hi)) {
            throw new IllegalArgumentException(name + ": expected a value in [" + lo + ", " + hi + "], got " + value);
        }
        return value;
    }

    /** Finite and {@code >= 0}. */
    public static double nonNegative(String name, double value) {
        if (!(value >= 0 && value < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException(name + ": expected a finite value >= 0, got " + value);
        }
        return value;
    }

    /** Finite and {@code > 0}. */
    public static double positive(String name, double value) {
        if (!(value > 0 && value < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException(name + ": expected a finite value > 0, got " + value);
        }
        return value;
    }
}
