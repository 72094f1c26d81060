package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizers;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.mixed.MixedPrecisionOptimizer;
import dev.adamant.fp16.mixed.StepReport;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The demo's mixed-precision part: AdamW on 2^24 fp16 parameters with fp32 master weights, dynamic
 * loss scaling and clipping; one good step, one with an injected overflow (skipped, scale backed
 * off, nothing modified), and timed good steps.
 */
final class MixedPrecisionDemo {
    private MixedPrecisionDemo() {}

    static void run(long n, int timedSteps, PrintStream out) {
        out.printf(Locale.ROOT, "%nMixed precision: AdamW on %d fp16 parameters, fp32 master weights and moments"
                + " (16 bytes a parameter), loss scaling, clipping at norm 1.0%n", n);
        try (Arena arena = Arena.ofShared();
             MixedPrecisionOptimizer opt = MixedPrecisionOptimizer.builder(
                     Optimizers.adam(AdamConfig.adamW().withLr(1e-3), n), Precision.FP16)
                     .lossScaler(DynamicLossScaler.builder().initScale(65536).growthInterval(2000).build())
                     .maxGradNorm(1.0).build()) {
            MemorySegment master = arena.allocate(n * Float.BYTES, 64);
            MemorySegment grads32 = arena.allocate(n * Float.BYTES, 64);
            SplittableRandom r = new SplittableRandom(7);
            for (long i = 0; i < n; i++) {
                master.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble(-1, 1)));
                grads32.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextGaussian() * 1e-6));
            }
            MemorySegment params = arena.allocate(n * 2, 64), grads = arena.allocate(n * 2, 64);
            opt.loadMaster(master);
            opt.writeParams(params);
            MemorySegment scaled = arena.allocate(n * Float.BYTES, 64);
            scaleInto(grads32, scaled, opt.scaler().scale(), n);
            Half.encode(scaled, grads);
            show(out, "good step", opt.step(params, grads));

            long at = n / 2 + 12_345;
            short saved = grads.getAtIndex(ValueLayout.JAVA_SHORT, at);
            grads.setAtIndex(ValueLayout.JAVA_SHORT, at, Half.POSITIVE_INFINITY);
            long masterHash = hash(opt.masterWeights()), paramsHash = hash(params);
            StepReport skipped = opt.step(params, grads);
            show(out, "inf at [" + at + "]", skipped);
            out.printf(Locale.ROOT, "    skipped: master weights %s, fp16 parameters %s, step count %d%n",
                    hash(opt.masterWeights()) == masterHash ? "unchanged" : "CHANGED",
                    hash(params) == paramsHash ? "unchanged" : "CHANGED", opt.optimizer().stepCount());
            grads.setAtIndex(ValueLayout.JAVA_SHORT, at, saved);

            scaleInto(grads32, scaled, opt.scaler().scale(), n);   // the next backward runs under the new scale
            Half.encode(scaled, grads);
            StepReport last = null;
            long t0 = System.nanoTime();
            for (int i = 0; i < timedSteps; i++) {
                last = opt.step(params, grads);
            }
            double seconds = (System.nanoTime() - t0) / 1e9 / timedSteps;
            show(out, "good step", last);
            out.printf(Locale.ROOT, "    %d steps: %.2f ms/step, %.3e params/s, %.1f GB/s (28 bytes a parameter"
                    + " + 2 for the overflow check)%n", timedSteps, seconds * 1e3, n / seconds, n * 30 / seconds / 1e9);
        }
    }

    private static void show(PrintStream out, String what, StepReport r) {
        out.printf(Locale.ROOT, "  %-18s step %d: %s, scale %.0f -> %.0f, grad norm %s, clip x%.4f%n", what, r.step(),
                r.skipped() ? "SKIPPED (overflow)" : "applied", r.scale(), r.nextScale(),
                Float.isNaN(r.gradNorm()) ? "-" : String.format(Locale.ROOT, "%.4g", r.gradNorm()), r.clipCoefficient());
    }

    private static void scaleInto(MemorySegment from, MemorySegment to, float scale, long n) {
        for (long i = 0; i < n; i++) {
            to.setAtIndex(ValueLayout.JAVA_FLOAT, i, from.getAtIndex(ValueLayout.JAVA_FLOAT, i) * scale);
        }
    }

    /** A cheap fingerprint of a buffer, to show that a skipped step wrote nothing. */
    private static long hash(MemorySegment s) {
        long h = 0;
        for (long i = 0; i + 8 <= s.byteSize(); i += 8) {
            h = h * 31 + s.get(ValueLayout.JAVA_LONG_UNALIGNED, i);
        }
        return h;
    }
}
