package dev.adamant.fp16.internal;

import dev.adamant.core.kernel.Vectorization;
import dev.adamant.fp16.scalar.ScalarCodecProvider;
import java.lang.invoke.MethodHandles;

/**
 * Picks the codec implementation once, at first use, through core's {@link Vectorization} (the one
 * decision for the whole library: {@code -Dadamant.kernels}, the module, the width), and logs one
 * line saying which. The Panama classes are loaded only on that path.
 */
public final class Codecs {
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

    /** The Panama implementation, or null where the incubator module is absent or it refused the machine. */
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
        static final CodecProvider PROVIDER =
                Vectorization.select("fp16 codecs", Codecs::panamaOrNull, scalar(), Codecs::describe);
    }

    private static final class PanamaHolder {
        static final CodecProvider PANAMA =
                Vectorization.loadPanama(MethodHandles.lookup(), "fp16 codecs", PANAMA_PROVIDER, CodecProvider.class);
    }
}
