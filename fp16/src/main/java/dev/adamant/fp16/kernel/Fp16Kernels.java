package dev.adamant.fp16.kernel;

import dev.adamant.core.Implementation;
import dev.adamant.fp16.scalar.ScalarScalingKernel;

/**
 * The fp16 module's kernels, on the implementation core chose for the JVM ({@link Implementation#current()}):
 * one choice, one log line, for the whole library. Panama classes are loaded reflectively, only on
 * that path.
 */
public final class Fp16Kernels {
    private Fp16Kernels() {}

    /** The scaling kernels in use. */
    public static ScalingKernel scaling() {
        return Holder.SCALING;
    }

    /** The scaling kernels of {@code implementation}, whatever the JVM-wide choice (tests, benchmarks). */
    public static ScalingKernel scaling(Implementation implementation) {
        if (implementation == Implementation.SCALAR) {
            return ScalarScalingKernel.INSTANCE;
        }
        if (!implementation.isAvailable()) {
            throw new UnsupportedOperationException("implementation: PANAMA is not available in this JVM;"
                    + " run with --add-modules jdk.incubator.vector");
        }
        return PanamaHolder.SCALING;
    }

    private static final class Holder {
        static final ScalingKernel SCALING = scaling(Implementation.current());
    }

    private static final class PanamaHolder {
        static final ScalingKernel SCALING = load("dev.adamant.fp16.panama.PanamaScalingKernel");
    }

    @SuppressWarnings("unchecked")
    private static <T> T load(String className) {
        try {
            return (T) Class.forName(className).getConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot load " + className, e);
        }
    }
}
