package dev.adamant.core.panama;

import dev.adamant.core.kernel.Vectorization;
import java.lang.System.Logger.Level;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The species and byte order every Panama kernel uses, in every module: one width for the whole
 * library. It is the machine's preferred width (512 bits with AVX-512, 256 with AVX2, 128 with NEON),
 * or the narrower one {@code -Dadamant.vectorBits} asks for, so that tests can run every width on one
 * machine; a wider request is capped, with a log line. Loaded only on the Panama path.
 */
public final class Species {
    /** The width in bits. */
    public static final int BITS = chooseBits();
    /** Floats: 16 lanes at 512 bits, 8 at 256, 4 at 128. */
    public static final VectorSpecies<Float> FLOATS = VectorSpecies.of(float.class, VectorShape.forBitSize(BITS));
    /** Ints of the same shape as {@link #FLOATS}, for bit work on floats. */
    public static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, VectorShape.forBitSize(BITS));
    /**
     * Shorts with as many lanes as {@link #FLOATS}, so half the bits (256 for 512-bit floats, 64 for
     * 128): a 16-bit buffer's vector widens lane for lane into one float vector. (64 bits at least,
     * the narrowest shape, so that 64-bit floats get as far as {@link #requireUsable}'s refusal.)
     */
    public static final VectorSpecies<Short> HALVES =
            VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(BITS / 2, 64)));
    /** Buffers hold values in the platform's order, as the scalar kernels read them. */
    public static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private Species() {}

    /**
     * For Panama implementations' constructors: refuses (and so sends the caller to the scalar twin,
     * {@link Vectorization}) vectors too narrow to pay.
     */
    public static void requireUsable() {
        if (BITS < Vectorization.MIN_BITS) {
            throw new UnsupportedOperationException(BITS + "-bit vectors are narrower than "
                    + Vectorization.MIN_BITS + " bits: no usable SIMD here, the scalar loop is as fast");
        }
    }

    private static int chooseBits() {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        int requested = Vectorization.requestedBits();
        if (requested == 0) {
            return preferred;
        }
        if (requested > preferred) {
            System.getLogger("dev.adamant.core").log(Level.INFO, "Adamant kernels: -D" + Vectorization.BITS_PROPERTY
                    + "=" + requested + " is wider than this machine's " + preferred + "-bit vectors: using "
                    + preferred + " bits");
            return preferred;
        }
        return requested;
    }
}
