package dev.adamant.examples.kernel;

import dev.adamant.core.kernel.Vectorization;
import dev.adamant.examples.scalar.ScalarDenseKernel;
import java.lang.invoke.MethodHandles;

/**
 * Picks the dense kernels once, at first use, through core's {@link Vectorization} (system property
 * {@value Vectorization#PROPERTY}: auto, panama, scalar; the module; the width), so one switch moves
 * the optimizers, the codecs and the model together, and logs one line saying which. The Panama
 * class is loaded reflectively, only on that path, so the library works without
 * {@code jdk.incubator.vector}.
 */
public final class DenseKernels {
    private static final String PANAMA_CLASS = "dev.adamant.examples.panama.PanamaDenseKernel";

    private DenseKernels() {}

    /** The kernels the model uses: chosen once, at first call. */
    public static DenseKernel provider() {
        return Holder.CHOSEN;
    }

    /** The scalar kernels, always available: the fallback and the test oracle. */
    public static DenseKernel scalar() {
        return ScalarDenseKernel.INSTANCE;
    }

    /** The Panama kernels, or null where the incubator module is absent: for tests. */
    public static DenseKernel panamaOrNull() {
        return PanamaHolder.PANAMA;
    }

    /** One line for logs: {@code "panama, 512-bit vectors (16 floats)"} or {@code "scalar"}. */
    public static String describe(DenseKernel kernel) {
        return kernel.lanes() == 1 ? kernel.name()
                : kernel.name() + ", " + kernel.lanes() * Float.SIZE + "-bit vectors (" + kernel.lanes() + " floats)";
    }

    private static final class Holder {
        static final DenseKernel CHOSEN =
                Vectorization.select("dense (MLP) kernels", DenseKernels::panamaOrNull, scalar(),
                        DenseKernels::describe);
    }

    private static final class PanamaHolder {
        static final DenseKernel PANAMA = Vectorization.loadPanama(MethodHandles.lookup(), "dense (MLP) kernels", PANAMA_CLASS,
                DenseKernel.class);
    }
}
