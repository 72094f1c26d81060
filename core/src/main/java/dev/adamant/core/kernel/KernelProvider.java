package dev.adamant.core.kernel;

/**
 * One implementation of every kernel: Panama (Vector API) or scalar. {@link Kernels} picks one at
 * start-up; tests reach both directly to compare them.
 */
public interface KernelProvider {
    /** {@code "panama"} or {@code "scalar"}. */
    String name();

    /** Floats per vector: 1 for scalar. */
    int lanes();

    AdamKernel adam();

    SgdKernel sgd();

    RmsPropKernel rmsProp();

    AdagradKernel adagrad();

    LionKernel lion();

    AdafactorKernel adafactor();
}
