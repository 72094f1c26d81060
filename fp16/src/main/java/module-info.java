/** Adamant fp16: half-precision codecs, loss scaling and mixed-precision training state. */
module dev.adamant.fp16 {
    requires transitive dev.adamant.core;
    requires static jdk.incubator.vector;

    exports dev.adamant.fp16;
    exports dev.adamant.fp16.scaling;
}
