package dev.adamant.core.panama;

import dev.adamant.core.kernel.AdafactorKernel;
import dev.adamant.core.kernel.AdagradKernel;
import dev.adamant.core.kernel.AdamKernel;
import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.kernel.LionKernel;
import dev.adamant.core.kernel.RmsPropKernel;
import dev.adamant.core.kernel.SgdKernel;

/**
 * Vector API kernels on {@link Species#FLOATS}. Loaded reflectively by
 * {@link dev.adamant.core.kernel.Kernels} only when {@code jdk.incubator.vector} is present; refuses
 * ({@link UnsupportedOperationException}: use the scalar twin) vectors under 128 bits.
 */
public final class PanamaKernelProvider implements KernelProvider {
    public PanamaKernelProvider() {
        Species.requireUsable();
    }

    @Override public String name() { return "panama"; }
    @Override public int lanes() { return Species.FLOATS.length(); }
    @Override public AdamKernel adam() { return PanamaAdamKernel.INSTANCE; }
    @Override public SgdKernel sgd() { return PanamaSgdKernel.INSTANCE; }
    @Override public RmsPropKernel rmsProp() { return PanamaRmsPropKernel.INSTANCE; }
    @Override public AdagradKernel adagrad() { return PanamaAdagradKernel.INSTANCE; }
    @Override public LionKernel lion() { return PanamaLionKernel.INSTANCE; }
    @Override public AdafactorKernel adafactor() { return PanamaAdafactorKernel.INSTANCE; }
}
