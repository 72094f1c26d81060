/**
 * Adamant bench: the JMH benchmarks (one file per subject) and the demo's entry point.
 *
 * <p>Shipped as a shaded jar run on the class path (the shade filter leaves this descriptor out),
 * so it is not enforced there; it is here so that the benchmarks compile against exactly what the
 * library's modules export to them, and run as a module if put on the module path.
 */
module dev.adamant.bench {
    requires dev.adamant.core;
    requires dev.adamant.fp16;
    requires dev.adamant.zero;
    requires dev.adamant.examples;   // the demo's MLP and its training driver
    // jmh-core 1.37 has no module descriptor nor Automatic-Module-Name: its name derives from the jar's.
    requires jmh.core;
    // The vector benchmarks need it, and their forks add it; without it the scalar kernels run, as in the library.
    requires static jdk.incubator.vector;
    requires java.desktop;   // ZeroDemo draws its loss curve (java.awt, javax.imageio)
    requires java.logging;   // ZeroDemo quiets the library's start-up line

    // JMH instantiates the @State and benchmark classes, and its generated subclasses, reflectively.
    opens dev.adamant.bench to jmh.core;
    opens dev.adamant.bench.jmh_generated to jmh.core;
}
