package dev.adamant.core.kernel;

import dev.adamant.core.scalar.ScalarKernelProvider;
import java.lang.System.Logger.Level;
import java.util.Locale;

/**
 * Picks the kernel implementation once, at first use, and logs one line saying which.
 *
 * <p>The system property {@value #PROPERTY} chooses: {@code auto} (the default: Panama when the
 * {@code jdk.incubator.vector} module is present and its preferred species has at least 128 bits,
 * else scalar), {@code panama} or {@code scalar}. Classes that touch the incubator module are loaded
 * only on the Panama path, so the library works without the module.
 */
public final class Kernels {
    /** The system property that forces an implementation. */
    public static final String PROPERTY = "adamant.kernels";
    private static final System.Logger LOG = System.getLogger("dev.adamant.core");
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
     * The Panama implementation, or null where the incubator module is absent. Tests use it to
     * compare both implementations whatever the property says.
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
        static final KernelProvider PROVIDER = select();
    }

    private static final class PanamaHolder {
        static final KernelProvider PANAMA = loadPanama();
    }

    private static KernelProvider select() {
        String wanted = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        KernelProvider chosen;
        switch (wanted) {
            case "scalar" -> {
                chosen = scalar();
                LOG.log(Level.INFO, "Adamant kernels: " + describe(chosen) + " (forced by -D" + PROPERTY + "=scalar)");
            }
            case "auto", "panama" -> {
                chosen = panamaOrNull();
                if (chosen != null) {
                    LOG.log(Level.INFO, "Adamant kernels: " + describe(chosen));
                } else {
                    chosen = scalar();
                    LOG.log("panama".equals(wanted) ? Level.ERROR : Level.WARNING,
                            "Adamant kernels: " + describe(chosen) + ": the Vector API is not available; run with"
                                    + " --add-modules jdk.incubator.vector for vector kernels");
                }
            }
            default -> throw new IllegalStateException("-D" + PROPERTY + "=" + wanted
                    + ": expected one of auto, panama, scalar");
        }
        return chosen;
    }

    private static KernelProvider loadPanama() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return null;
        }
        try {
            KernelProvider p = (KernelProvider) Class.forName(PANAMA_PROVIDER)
                    .getConstructor().newInstance();
            // A 64-bit "preferred" species means no usable SIMD: the scalar loop is as fast.
            return p.lanes() * Float.SIZE >= 128 ? p : null;
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.log(Level.WARNING, "Adamant kernels: could not load the Panama kernels: " + e);
            return null;
        }
    }
}
