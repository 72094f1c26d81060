/**
 * Adamant core: optimizer kernels (SGD, RMSProp, Adam, AdamW) over off-heap fp32 buffers.
 *
 * <p>The Vector API is optional: without {@code --add-modules jdk.incubator.vector} the scalar
 * kernels run, and one log line says so.
 */
module dev.adamant.core {
    requires static jdk.incubator.vector;
    requires static java.management;
    requires static jdk.management;

    exports dev.adamant.core;
    exports dev.adamant.core.schedule;
    // The shared check vocabulary (Segments) and allocation helpers of our modules: internal, see its package-info.
    exports dev.adamant.core.memory to dev.adamant.fp16, dev.adamant.zero, dev.adamant.examples;
    // Kernels trust their callers; only our own modules may call them directly (bench: Chunks, to
    // split its yardstick loops the way a step is split).
    exports dev.adamant.core.kernel to dev.adamant.fp16, dev.adamant.examples, dev.adamant.bench;
    // The one species and byte-order definition, for our modules' Panama kernels and the benchmarks' loops.
    exports dev.adamant.core.panama to dev.adamant.fp16, dev.adamant.examples, dev.adamant.bench;
    // The 8-bit block-wise codec's kernels, for its benchmark (Blockwise8CodecBenchmark).
    exports dev.adamant.core.quant to dev.adamant.bench;
}
