package dev.adamant.core.panama;

import dev.adamant.core.kernel.AdamKernel;
import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.kernel.RmsPropKernel;
import dev.adamant.core.kernel.SgdKernel;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels on the machine's preferred species. Loaded reflectively by
 * {@link dev.adamant.core.kernel.Kernels} only when {@code jdk.incubator.vector} is present.
 */
public final class PanamaKernelProvider implements KernelProvider {
    /** The widest float vector the machine runs well: 16 lanes with AVX-512, 8 with AVX2. */
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Buffers hold floats in the platform's order, as the scalar kernels' layouts do. */
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    public PanamaKernelProvider() {}

    @Override public String name() { return "panama"; }
    @Override public int lanes() { return SPECIES.length(); }
    @Override public AdamKernel adam() { return PanamaAdamKernel.INSTANCE; }
    @Override public SgdKernel sgd() { return PanamaSgdKernel.INSTANCE; }
    @Override public RmsPropKernel rmsProp() { return PanamaRmsPropKernel.INSTANCE; }
}
