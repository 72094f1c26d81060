package dev.adamant.core.schedule;

/** Argument checks of the schedules: each names the argument and says what it expected. */
final class Args {
    private Args() {}

    /** A step number, {@code >= 0}. */
    static long step(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step: expected a value >= 0, got " + step);
        }
        return step;
    }

    /** Finite and {@code >= 0}. */
    static double nonNegative(String name, double value) {
        if (!(value >= 0 && value < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException(name + ": expected a finite value >= 0, got " + value);
        }
        return value;
    }

    /** Finite and {@code > 0}. */
    static double positive(String name, double value) {
        if (!(value > 0 && value < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException(name + ": expected a finite value > 0, got " + value);
        }
        return value;
    }

    /** {@code lo <= value <= hi}. */
    static double closed(String name, double value, double lo, double hi) {
        if (!(value >= lo && value <= hi)) {
            throw new IllegalArgumentException(name + ": expected a value in [" + lo + ", " + hi + "], got " + value);
        }
        return value;
    }

    /** {@code >= min}. */
    static long atLeast(String name, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(name + ": expected a value >= " + min + ", got " + value);
        }
        return value;
    }

    static <T> T notNull(String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(name + ": expected a value, got null");
        }
        return value;
    }
}
