/** Adamant fp16: half-precision codecs, loss scaling and mixed-precision training state. */
module dev.adamant.fp16 {
    requires transitive dev.adamant.core;
    requires static jdk.incubator.vector;

    exports dev.adamant.fp16;
    exports dev.adamant.fp16.scaling;
    exports dev.adamant.fp16.mixed;
    // Not exported: dev.adamant.fp16.internal and dev.adamant.fp16.kernel (provider choice, kernel
    // interfaces), dev.adamant.fp16.panama and dev.adamant.fp16.scalar (bulk codecs, scaling kernels
    // and the lane-wise building blocks that fused kernels inline).
}
