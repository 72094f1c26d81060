package dev.adamant.core.kernel;

import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The one Panama-or-scalar decision, for every module's kernel set (core's optimizers, fp16's codecs,
 * scaling and fused Adam, the model's dense kernels), so one switch moves the whole library.
 *
 * <p>Inputs: {@value #PROPERTY} ({@code auto}, the default, {@code panama} or {@code scalar}), whether
 * {@code jdk.incubator.vector} is in the boot layer, and {@value #BITS_PROPERTY} (a vector width in
 * bits, capped at the machine's preferred one, for testing every width; read by the Panama species
 * definitions). A kernel set's Panama class is loaded reflectively, only on the Panama path, so the
 * library works without the module; its constructor throwing {@link UnsupportedOperationException}
 * means "use the scalar twin" (Lucene's rule): logged once, with the reason, which says what to do.
 * Vectors under {@value #MIN_BITS} bits are refused that way: the scalar loop is as fast.
 */
public final class Vectorization {
    /** The system property that forces an implementation: auto, panama or scalar. */
    public static final String PROPERTY = "adamant.kernels";
    /** The system property that narrows the Panama kernels' vectors: 128, 256, 512 (bits). */
    public static final String BITS_PROPERTY = "adamant.vectorBits";
    /** The narrowest vectors worth running: 4 floats. */
    public static final int MIN_BITS = 128;
    private static final String MODULE = "jdk.incubator.vector";
    private static final String WHAT_TO_DO = "run with --add-modules " + MODULE + " for vector kernels";
    private static final System.Logger LOG = System.getLogger("dev.adamant.core");

    /** What {@value #PROPERTY} asks for. */
    public enum Mode { AUTO, PANAMA, SCALAR }

    private Vectorization() {}

    /** The mode {@value #PROPERTY} asks for; a value other than auto, panama, scalar is refused. */
    public static Mode mode() {
        String wanted = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        return switch (wanted) {
            case "auto" -> Mode.AUTO;
            case "panama" -> Mode.PANAMA;
            case "scalar" -> Mode.SCALAR;
            default -> throw new IllegalStateException("-D" + PROPERTY + "=" + wanted
                    + ": expected one of auto, panama, scalar");
        };
    }

    /**
     * The width {@value #BITS_PROPERTY} asks for, or 0 where it is not set; a value that is not a
     * vector shape's size (64 to 2048, a power of two) is refused.
     */
    public static int requestedBits() {
        String value = System.getProperty(BITS_PROPERTY);
        if (value == null || value.isBlank()) {
            return 0;
        }
        int bits;
        try {
            bits = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            bits = -1;
        }
        if (bits < 64 || bits > 2048 || Integer.bitCount(bits) != 1) {
            throw new IllegalStateException("-D" + BITS_PROPERTY + "=" + value.trim()
                    + ": expected a vector width in bits: 128, 256 or 512");
        }
        return bits;
    }

    /** Whether {@code jdk.incubator.vector} is in the boot layer. */
    public static boolean modulePresent() {
        return ModuleLayer.boot().findModule(MODULE).isPresent();
    }

    /**
     * Whether the kernel sets try Panama: the property does not force scalar and the module is
     * present. Decided once; where the module is missing, one warning says what to do.
     */
    public static boolean panamaWanted() {
        return Decision.PANAMA_WANTED;
    }

    private static final class Decision {
        static final boolean PANAMA_WANTED = decide();

        private static boolean decide() {
            Mode mode = mode();
            if (mode == Mode.SCALAR) {
                return false;
            }
            if (!modulePresent()) {
                LOG.log(mode == Mode.PANAMA ? Level.ERROR : Level.WARNING,
                        "Adamant kernels: scalar: the Vector API is not available; " + WHAT_TO_DO);
                return false;
            }
            return true;
        }
    }

    /**
     * The Panama implementation {@code className} of {@code type}, or null: the module is absent,
     * the constructor refused this machine ({@link UnsupportedOperationException}: logged, with its
     * reason) or the class could not be loaded (logged). Does not look at {@value #PROPERTY}: tests
     * reach both implementations whatever it says. Call it once per class (from a holder).
     *
     * @param lookup the caller's {@code MethodHandles.lookup()}: the class is found and constructed
     *     with the caller's access, so its package need not be exported to core (on the module path,
     *     core's own reflection could not reach another module's non-exported Panama package, and
     *     every module but core silently ran scalar)
     */
    public static <T> T loadPanama(MethodHandles.Lookup lookup, String what, String className, Class<T> type) {
        if (!modulePresent()) {
            return null;
        }
        try {
            Class<?> panama = lookup.findClass(className);
            return type.cast(lookup.findConstructor(panama, MethodType.methodType(void.class)).invoke());
        } catch (UnsupportedOperationException refused) {
            LOG.log(Level.WARNING, "Adamant " + what + ": the scalar twin runs: " + refused.getMessage());
            return null;
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) {   // not found, not accessible, failed to link, or its constructor threw
            LOG.log(Level.WARNING, "Adamant " + what + ": could not load the Panama implementation: " + e);
            return null;
        }
    }

    /**
     * The kernel set {@code what} runs: {@code panama}'s (typically a holder of {@link #loadPanama}'s
     * result; null means it did not load) where {@link #panamaWanted()}, else {@code scalar}; logs one line saying which, with
     * {@code describe}. Call it once per kernel set (from a holder).
     */
    public static <T> T select(String what, Supplier<? extends T> panamaOrNull, T scalar,
                               Function<? super T, String> describe) {
        if (!panamaWanted()) {
            String why = mode() == Mode.SCALAR ? " (forced by -D" + PROPERTY + "=scalar)" : " (" + WHAT_TO_DO + ")";
            LOG.log(Level.INFO, "Adamant " + what + ": " + describe.apply(scalar) + why);
            return scalar;
        }
        T panama = panamaOrNull.get();
        if (panama == null) {
            LOG.log(mode() == Mode.PANAMA ? Level.ERROR : Level.WARNING, "Adamant " + what + ": "
                    + describe.apply(scalar) + ": the Panama implementation did not load (see the line above)");
            return scalar;
        }
        LOG.log(Level.INFO, "Adamant " + what + ": " + describe.apply(panama));
        return panama;
    }
}
