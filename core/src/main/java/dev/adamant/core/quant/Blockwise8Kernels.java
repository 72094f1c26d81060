package dev.adamant.core.quant;

import dev.adamant.core.Implementation;
import dev.adamant.core.kernel.Vectorization;
import java.lang.invoke.MethodHandles;

/**
 * The {@link Blockwise8} kernels, chosen once through core's {@link Vectorization} (the same switch
 * as every kernel set). The Panama class is loaded reflectively, only on that path.
 */
public final class Blockwise8Kernels {
    private Blockwise8Kernels() {}

    /** The kernels in use, chosen once (logged). */
    public static Blockwise8 current() {
        return Holder.CURRENT;
    }

    /**
     * The kernels of {@code implementation}, whatever the JVM-wide choice (tests, benchmarks); PANAMA
     * where it is not available is refused.
     */
    public static Blockwise8 of(Implementation implementation) {
        if (implementation == Implementation.SCALAR) {
            return ScalarBlockwise8.INSTANCE;
        }
        if (PanamaHolder.PANAMA == null) {
            throw new UnsupportedOperationException("implementation: PANAMA is not available in this JVM;"
                    + " run with --add-modules jdk.incubator.vector");
        }
        return PanamaHolder.PANAMA;
    }

    private static final class Holder {
        static final Blockwise8 CURRENT = Vectorization.select("8-bit block-wise quantization",
                () -> PanamaHolder.PANAMA, ScalarBlockwise8.INSTANCE, Blockwise8::describe);
    }

    private static final class PanamaHolder {
        static final Blockwise8 PANAMA = Vectorization.loadPanama(MethodHandles.lookup(),
                "8-bit block-wise quantization", "dev.adamant.core.quant.panama.PanamaBlockwise8", Blockwise8.class);
    }
}
