package dev.adamant.fp16.kernel;

import dev.adamant.core.Implementation;
import dev.adamant.core.kernel.Vectorization;
import dev.adamant.fp16.scalar.ScalarScalingKernel;
import java.lang.invoke.MethodHandles;

/**
 * The fp16 module's kernels, chosen through core's {@link Vectorization}: one decision for the whole
 * library. Panama classes are loaded reflectively, only on that path; one that refuses the machine
 * ({@link UnsupportedOperationException}) leaves its scalar twin in place.
 */
public final class Fp16Kernels {
    private Fp16Kernels() {}

    /** The scaling kernels in use. */
    public static ScalingKernel scaling() {
        return Holder.SCALING;
    }

    /**
     * The scaling kernels of {@code implementation}, whatever the JVM-wide choice (tests, benchmarks);
     * for PANAMA, the scalar twin where the Panama kernels refused this machine.
     */
    public static ScalingKernel scaling(Implementation implementation) {
        if (implementation == Implementation.SCALAR) {
            return ScalarScalingKernel.INSTANCE;
        }
        if (!implementation.isAvailable()) {
            throw new UnsupportedOperationException("implementation: PANAMA is not available in this JVM;"
                    + " run with --add-modules jdk.incubator.vector");
        }
        return PanamaHolder.SCALING != null ? PanamaHolder.SCALING : ScalarScalingKernel.INSTANCE;
    }

    /**
     * The fused mixed-precision Adam update of the implementation in use, or null where that is
     * scalar: the scalar path is the tiled one (widen, core's Adam kernel, the codec).
     */
    public static FusedAdamKernel fusedAdam() {
        return Holder.FUSED_ADAM;
    }

    private static String describe(Object kernel) {
        return kernel == null ? "scalar (tiled)" : kernel.getClass().getSimpleName().startsWith("Panama")
                ? "panama" : "scalar";
    }

    private static final class Holder {
        static final ScalingKernel SCALING = Vectorization.select("fp16 scaling kernels",
                () -> PanamaHolder.SCALING, ScalarScalingKernel.INSTANCE, Fp16Kernels::describe);
        static final FusedAdamKernel FUSED_ADAM = Vectorization.select("fp16 fused Adam",
                () -> PanamaHolder.FUSED_ADAM, null, Fp16Kernels::describe);
    }

    private static final class PanamaHolder {
        static final ScalingKernel SCALING = Vectorization.loadPanama(MethodHandles.lookup(), "fp16 scaling kernels",
                "dev.adamant.fp16.panama.PanamaScalingKernel", ScalingKernel.class);
        static final FusedAdamKernel FUSED_ADAM = Vectorization.loadPanama(MethodHandles.lookup(), "fp16 fused Adam",
                "dev.adamant.fp16.panama.PanamaFusedAdam", FusedAdamKernel.class);
    }
}
