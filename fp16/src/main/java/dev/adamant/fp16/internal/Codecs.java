package dev.adamant.fp16.internal;

import dev.adamant.core.Implementation;
import dev.adamant.fp16.scalar.ScalarCodecProvider;
import java.lang.System.Logger.Level;

/**
 * Picks the codec implementation once, at first use, and logs one line saying which.
 *
 * <p>The choice follows the optimizer kernels' ({@link Implementation#current()}, system property
 * {@code adamant.kernels} = {@code auto | panama | scalar}), so one switch moves the whole library.
 * Classes that touch {@code jdk.incubator.vector} are loaded only on the Panama path, reflectively,
 * so the codecs work without the module.
 */
public final class Codecs {
    private static final System.Logger LOG = System.getLogger("dev.adamant.fp16");
    private static final String PANAMA_PROVIDER = "dev.adamant.fp16.panama.PanamaCodecProvider";

    private Codecs() {}

    /** The implementation the public codecs use: chosen once, at first call. */
    public static CodecProvider provider() {
        return Holder.PROVIDER;
    }

    /** The scalar implementation, always available: the fallback and the test oracle. */
    public static CodecProvider scalar() {
        return ScalarCodecProvider.INSTANCE;
    }

    /** The Panama implementation, or null where the incubator module is absent or unusable. */
    public static CodecProvider panamaOrNull() {
        return PanamaHolder.PANAMA;
    }

    /** One line for logs: {@code "panama, 16 values per vector (512-bit floats, 256-bit halves)"}. */
    public static String describe(CodecProvider provider) {
        if (provider.lanes() == 1) {
            return provider.name();
        }
        return provider.name() + ", " + provider.lanes() + " values per vector (" + provider.lanes() * Float.SIZE
                + "-bit floats, " + provider.lanes() * Short.SIZE + "-bit halves)";
    }

    private static final class Holder {
        static final CodecProvider PROVIDER = select();
    }

    private static final class PanamaHolder {
        static final CodecProvider PANAMA = loadPanama();
    }

    private static CodecProvider select() {
        CodecProvider chosen;
        if (Implementation.current() == Implementation.PANAMA) {
            chosen = panamaOrNull();
            if (chosen != null) {
                LOG.log(Level.INFO, "Adamant fp16 codecs: " + describe(chosen));
                return chosen;
            }
            LOG.log(Level.WARNING, "Adamant fp16 codecs: scalar: the optimizer kernels run on Panama but the"
                    + " vector codecs could not be loaded (see the earlier warning)");
            return scalar();
        }
        chosen = scalar();
        LOG.log(Level.INFO, "Adamant fp16 codecs: " + describe(chosen) + " (as the optimizer kernels: "
                + Implementation.current().describe() + ")");
        return chosen;
    }

    private static CodecProvider loadPanama() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return null;
        }
        try {
            CodecProvider p = (CodecProvider) Class.forName(PANAMA_PROVIDER).getConstructor().newInstance();
            // Fewer than 128 bits of floats: no usable SIMD (and no 64-bit halves), the scalar loop is as fast.
            return p.lanes() * Float.SIZE >= 128 ? p : null;
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.log(Level.WARNING, "Adamant fp16 codecs: could not load the Panama codecs: " + e);
            return null;
        }
    }
}
