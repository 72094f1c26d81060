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

    /**
     * The fused mixed-precision Adam update of the implementation in use, or null where that is
     * scalar: the scalar path is the tiled one (widen, core's Adam kernel, the codec).
     */
    public static FusedAdamKernel fusedAdam() {
        return Holder.FUSED_ADAM;
    }

    private static final class Holder {
        static final ScalingKernel SCALING = scaling(Implementation.current());
        static final FusedAdamKernel FUSED_ADAM =
                Implementation.current() == Implementation.PANAMA ? PanamaHolder.FUSED_ADAM : null;
    }

    private static final class PanamaHolder {
        static final ScalingKernel SCALING = load("dev.adamant.fp16.panama.PanamaScalingKernel");
        static final FusedAdamKernel FUSED_ADAM = load("dev.adamant.fp16.panama.PanamaFusedAdam");
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
