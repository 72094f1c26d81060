package dev.adamant.core.kernel;

import dev.adamant.core.scalar.ScalarKernelProvider;
import java.lang.invoke.MethodHandles;

/**
 * Core's optimizer kernels, chosen once, at first use, through {@link Vectorization} (the one
 * decision for every module: {@code -Dadamant.kernels}, the module, the width), with one log line
 * saying which.
 */
public final class Kernels {
    /** The system property that forces an implementation. */
    public static final String PROPERTY = Vectorization.PROPERTY;
    private static final String PANAMA_PROVIDER = "dev.adamant.core.panama.PanamaKernelProvider";

    private Kernels() {}

    /** The implementation every optimizer uses: chosen once, at first call. */
    public static KernelProvider provider() {
        return Holder.PROVIDER;
    }

    /** The scalar implementation, always available: the fallback and the test oracle. */
    public static KernelProvider scalar() {
        return ScalarKernelProvider.INSTANCE;
    }

    /**
     * The Panama implementation, or null where the incubator module is absent or the vectors are
     * under 128 bits. Tests use it to compare both implementations whatever the property says.
     */
    public static KernelProvider panamaOrNull() {
        return PanamaHolder.PANAMA;
    }

    /** Whether the JVM has hardware FMA ({@code -XX:+UseFMA}), or null where that cannot be read. */
    public static Boolean hardwareFma() {
        try {
            var bean = java.lang.management.ManagementFactory.getPlatformMXBean(
                    com.sun.management.HotSpotDiagnosticMXBean.class);
            return Boolean.valueOf(bean.getVMOption("UseFMA").getValue());
        } catch (LinkageError | RuntimeException e) {
            return null;
        }
    }

    /** One line for logs and reports: {@code "panama, 512-bit vectors (16 floats), FMA on"}. */
    public static String describe(KernelProvider provider) {
        Boolean fma = hardwareFma();
        String fmaText = fma == null ? "FMA unknown" : fma ? "FMA on" : "FMA off (fused multiply-add is emulated: slow)";
        if (provider.lanes() == 1) {
            return provider.name() + ", " + fmaText;
        }
        return provider.name() + ", " + provider.lanes() * Float.SIZE + "-bit vectors (" + provider.lanes()
                + " floats), " + fmaText;
    }

    private static final class Holder {
        static final KernelProvider PROVIDER =
                Vectorization.select("kernels", Kernels::panamaOrNull, scalar(), Kernels::describe);
    }

    private static final class PanamaHolder {
        static final KernelProvider PANAMA = Vectorization.loadPanama(MethodHandles.lookup(), "kernels", PANAMA_PROVIDER, KernelProvider.class);
    }
}
