package dev.adamant.core.schedule;

import dev.adamant.core.internal.Check;

/** Argument checks of the schedules (core's {@link Check} and the schedules' own): each names the argument. */
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
        return Check.nonNegative(name, value);
    }

    /** Finite and {@code > 0}. */
    static double positive(String name, double value) {
        return Check.positive(name, value);
    }

    /** {@code lo <= value <= hi}. */
    static double closed(String name, double value, double lo, double hi) {
        return Check.closed(name, value, lo, hi);
    }

    /** {@code >= min}. */
    static long atLeast(String name, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(name + ": expected a value >= " + min + ", got " + value);
        }
        return value;
    }

    /** Not null: the JDK's {@link NullPointerException}, naming the argument. */
    static <T> T notNull(String name, T value) {
        if (value == null) {
            throw new NullPointerException(name + ": expected a value, got null");
        }
        return value;
    }
}
