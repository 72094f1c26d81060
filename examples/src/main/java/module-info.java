/**
 * Adamant examples: the demo's model and training driver, kept out of the libraries. {@code zero}
 * drives any {@link dev.adamant.zero.LayeredModel}; this module supplies one (an MLP that learns a
 * fixed random teacher) with its own dense kernels, chosen by core's vectorization switch.
 */
module dev.adamant.examples {
    requires transitive dev.adamant.zero;
    // Optional: the MLP's Panama kernels are loaded only when the module is present.
    requires static jdk.incubator.vector;

    exports dev.adamant.examples;
    // Not exported: dev.adamant.examples.kernel (the kernel choice), .panama and .scalar (the kernels).
}
