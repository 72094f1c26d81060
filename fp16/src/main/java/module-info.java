/** Adamant fp16: half-precision codecs, loss scaling and mixed-precision training state. */
module dev.adamant.fp16 {
    requires transitive dev.adamant.core;
    requires static jdk.incubator.vector;

    exports dev.adamant.fp16;
    // Not exported: dev.adamant.fp16.internal (provider choice, kernel interface),
    // dev.adamant.fp16.panama and dev.adamant.fp16.scalar (bulk codecs and the lane-wise building
    // blocks that fused kernels inline; the mixed-precision optimizer lives in this module). Should
    // dev.adamant.zero need to fuse them too: "exports dev.adamant.fp16.panama to dev.adamant.zero;"
    // and the same for scalar.
}
