package dev.adamant.core.scalar;

import dev.adamant.core.kernel.AdafactorKernel;
import dev.adamant.core.kernel.AdagradKernel;
import dev.adamant.core.kernel.AdamKernel;
import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.kernel.LionKernel;
import dev.adamant.core.kernel.RmsPropKernel;
import dev.adamant.core.kernel.SgdKernel;

/** Scalar kernels: plain Java, no incubator module needed. */
public final class ScalarKernelProvider implements KernelProvider {
    public static final ScalarKernelProvider INSTANCE = new ScalarKernelProvider();

    private ScalarKernelProvider() {}

    @Override public String name() { return "scalar"; }
    @Override public int lanes() { return 1; }
    @Override public AdamKernel adam() { return ScalarAdamKernel.INSTANCE; }
    @Override public SgdKernel sgd() { return ScalarSgdKernel.INSTANCE; }
    @Override public RmsPropKernel rmsProp() { return ScalarRmsPropKernel.INSTANCE; }
    @Override public AdagradKernel adagrad() { return ScalarAdagradKernel.INSTANCE; }
    @Override public LionKernel lion() { return ScalarLionKernel.INSTANCE; }
    @Override public AdafactorKernel adafactor() { return ScalarAdafactorKernel.INSTANCE; }
}
