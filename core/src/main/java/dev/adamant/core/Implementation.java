package dev.adamant.core;

import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.kernel.Kernels;

/**
 * Which kernels an optimizer runs. Most users never name one: {@link Optimizers} uses the JVM-wide
 * choice ({@link #current()}). Benchmarks and tests name one to compare both through the same entry
 * point.
 */
public enum Implementation {
    /**
     * Vector API kernels at the machine's preferred width (or {@code -Dadamant.vectorBits}); needs
     * {@code --add-modules jdk.incubator.vector}.
     */
    PANAMA,
    /** Plain Java, one float at a time: the fallback and the test oracle. */
    SCALAR;

    /** The JVM-wide choice, made once and logged (system property {@code adamant.kernels}). */
    public static Implementation current() {
        return Kernels.provider().name().equals("panama") ? PANAMA : SCALAR;
    }

    /** Whether this implementation can run in this JVM. */
    public boolean isAvailable() {
        return this == SCALAR || Kernels.panamaOrNull() != null;
    }

    /** For example {@code "panama, 512-bit vectors (16 floats), FMA on"}. */
    public String describe() {
        return Kernels.describe(provider());
    }

    KernelProvider provider() {
        if (this == SCALAR) {
            return Kernels.scalar();
        }
        KernelProvider panama = Kernels.panamaOrNull();
        if (panama == null) {
            throw new UnsupportedOperationException("implementation: PANAMA is not available in this JVM;"
                    + " run with --add-modules jdk.incubator.vector");
        }
        return panama;
    }
}
