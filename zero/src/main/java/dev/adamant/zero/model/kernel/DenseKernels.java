package dev.adamant.zero.model.kernel;

import dev.adamant.core.kernel.Kernels;
import dev.adamant.zero.model.scalar.ScalarDenseKernel;
import java.lang.System.Logger.Level;

/**
 * Picks the dense kernels once, at first use, and logs one line saying which.
 *
 * <p>The choice follows core's ({@link Kernels#provider()}, system property {@value Kernels#PROPERTY}:
 * auto, panama, scalar), so one switch moves the optimizers, the codecs and the model together.
 * The Panama class is loaded reflectively, only when core chose Panama, so the library works
 * without {@code jdk.incubator.vector}.
 */
public final class DenseKernels {
    private static final System.Logger LOG = System.getLogger("dev.adamant.zero");
    private static final String PANAMA = "dev.adamant.zero.model.panama.PanamaDenseKernel";

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
        static final DenseKernel CHOSEN = select();
    }

    private static final class PanamaHolder {
        static final DenseKernel PANAMA = loadPanama();
    }

    private static DenseKernel select() {
        DenseKernel chosen = "panama".equals(Kernels.provider().name()) ? panamaOrNull() : null;
        if (chosen == null) {
            chosen = scalar();
        }
        LOG.log(Level.INFO, "Adamant dense (MLP) kernels: " + describe(chosen) + ", as core's kernels");
        return chosen;
    }

    private static DenseKernel loadPanama() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return null;
        }
        try {
            return (DenseKernel) Class.forName(PANAMA).getConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.log(Level.WARNING, "Adamant dense kernels: could not load the Panama kernels: " + e);
            return null;
        }
    }
}
