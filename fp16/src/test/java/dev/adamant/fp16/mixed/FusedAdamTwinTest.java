package dev.adamant.fp16.mixed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Implementation;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.kernel.AdamState;
import dev.adamant.core.kernel.FusibleStep;
import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.kernel.Fp16Kernels;
import dev.adamant.fp16.kernel.FusedAdamKernel;
import dev.adamant.fp16.kernel.Widening;
import dev.adamant.fp16.panama.HalfVectors;
import dev.adamant.fp16.panama.PanamaFusedAdam;
import dev.adamant.fp16.scalar.ScalarScalingKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * The fused Adam loop ({@link PanamaFusedAdam}, which repeats core's {@code PanamaAdamKernel} body on
 * purpose) against its declared twin, bit for bit: the 16-bit gradients widened, unscaled and
 * clipped into an fp32 tile by the scalar {@code widenScaled} ({@code (g * invScale) * coef}, two
 * roundings; checked here against the JDK's own decoding), then core's Adam through the public
 * {@link Optimizer} API. Master weights, {@code exp_avg}, {@code exp_avg_sq} and
 * {@code max_exp_avg_sq} must have the same bits after every step.
 *
 * <p>Random Adam and AdamW configurations (amsgrad, maximize, bias correction off, weight decay,
 * betas, eps, lr), random loss scales (below 1, around fp16's 2^-16 where the widening's folded
 * multiplication gives way to two, and large), clip coefficients (1 and in (0, 1)), fp16 and bf16,
 * sizes with every vector tail, consecutive steps from restored state, some across the step at which
 * {@code (float) sqrt(1 - beta2^t)} rounds to 1 (the loop then skips a division). Finite gradients
 * only: that is the fused loop's contract (the check pass has run).
 *
 * <p>Three sides per trial: the reference; the fused kernel called directly, on a range cut in two
 * at a random point, the rest of each piece stepped the long way (as the mixed-precision optimizer
 * does); and {@link MixedPrecisionOptimizer#applyUpdate}. The kernel is reached directly wherever the
 * Vector API is present, so the forced-scalar run of the suite holds it to core's scalar Adam (its
 * twin's twin) and the Panama run to core's Panama Adam; the optimizer side runs the fused loop in
 * the Panama mode and the tiled path in the scalar one.
 */
class FusedAdamTwinTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** About 6 s a mode on a shared 2-core machine. */
    private static final int EXAMPLES = 300;
    private static final int STEPS = 3;
    /** Every tail length around the vector width, the fused tile's edges, primes, a mixed-precision tile and a bit. */
    private static final List<Integer> AWKWARD = List.of(1, 2, 15, 16, 17, 31, 33, 63, 65, 511, 512, 513, 1021,
            4099, MixedPrecisionOptimizer.TILE + 37);
    /**
     * The largest unscaled gradient drawn: m and v stay finite (v about 2^120 at most), so no NaN is made and
     * bits can be compared raw. Larger finite gradients are within the contract but would only test
     * that both sides make the same NaN.
     */
    private static final double MAX_UNSCALED = 0x1p60;

    private static FusedAdamKernel fused;
    /** How often the cases this test exists for came up: asserted non-zero once every trial has passed. */
    private static int twiceSteps, foldedFp16Steps, unitBc2Steps, clippedSteps, heapTrials, fusedTrials;

    @BeforeAll
    static void kernel() {
        FusedAdamKernel inUse = Fp16Kernels.fusedAdam();
        if (inUse != null) {
            assertInstanceOf(PanamaFusedAdam.class, inUse, "the fused loop in use");
        }
        fused = Implementation.PANAMA.isAvailable() ? new PanamaFusedAdam() : null;
    }

    /**
     * One trial; everything not named here (state, gradients, scales, cut points) is drawn from
     * {@code seed}. {@code unitBc2At} is the first step whose {@code (float) sqrt(1 - beta2^t)} is 1.
     */
    record Trial(Precision precision, AdamConfig config, int n, long startStep, long unitBc2At, boolean heapGrads,
                 long seed) {}

    private static Gen<Trial> trials() {
        return Generate.range(1, 5000).mix(Generate.pick(AWKWARD), 30)
                .zip(Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE), FusedAdamTwinTest::draw);
    }

    private static Trial draw(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Precision precision = r.nextBoolean() ? Precision.FP16 : Precision.BF16;
        double beta1 = switch (r.nextInt(3)) { case 0 -> 0.9; case 1 -> 0; default -> r.nextDouble(0, 0.99); };
        double beta2 = switch (r.nextInt(5)) {
            case 0 -> 0.999;
            case 1 -> 0.95;
            case 2 -> 0.9999;
            case 3 -> 0;
            default -> r.nextDouble(0.5, 0.99999);
        };
        AdamConfig config = (r.nextBoolean() ? AdamConfig.adam() : AdamConfig.adamW())
                .withLr(Math.pow(10, r.nextDouble(-5, -1)))
                .withBetas(beta1, beta2)
                .withEps(r.nextBoolean() ? 1e-8 : Math.pow(10, r.nextDouble(-12, -3)))
                .withWeightDecay(r.nextInt(3) == 0 ? 0 : Math.pow(10, r.nextDouble(-4, -1)))
                .withAmsgrad(r.nextBoolean())
                .withMaximize(r.nextInt(4) == 0)
                .withBiasCorrection(r.nextInt(4) != 0);
        long unit = firstUnitBc2Step(beta2);
        long start = switch (r.nextInt(4)) {
            case 0 -> 0;                                     // fresh: zero state
            case 1 -> r.nextLong(1, 50);
            case 2 -> Math.max(0, unit - 1 - r.nextInt(STEPS));   // the steps cross the unit-bc2 step
            default -> r.nextLong(10_000, 1_000_000_000);
        };
        return new Trial(precision, config, n, start, unit, r.nextInt(10) == 0, r.nextLong());
    }

    /** The first t at which {@code (float) sqrt(1 - beta2^t)} is 1, by bisection on the defining formula. */
    private static long firstUnitBc2Step(double beta2) {
        long lo = 1, hi = 1L << 40;
        while (lo < hi) {
            long mid = (lo + hi) >>> 1;
            if ((float) Math.sqrt(1 - Math.pow(beta2, mid)) == 1f) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /** A loss scale: powers of two and not, from 2^-60 to 2^40, often 1, 65536 or at fp16's folding edge. */
    private static float scale(SplittableRandom r) {
        return switch (r.nextInt(6)) {
            case 0 -> 65536f;
            case 1 -> 1f;
            // 2^112 * (1/scale) overflows at and below 2^-16 (two multiplications), not just above (folded)
            case 2 -> List.of(0x1p-16f, Math.nextUp(0x1p-16f), Math.nextDown(0x1p-16f)).get(r.nextInt(3));
            case 3 -> (float) Math.scalb(r.nextDouble(1, 2), r.nextInt(-60, 41));
            default -> Math.scalb(1f, r.nextInt(-60, 41));
        };
    }

    /** A clip coefficient: 1 half the time, else in (0, 1), sometimes tiny. */
    private static float coefficient(SplittableRandom r) {
        return switch (r.nextInt(4)) {
            case 0, 1 -> 1f;
            case 2 -> (float) (1 - r.nextDouble());
            default -> Math.scalb((float) (1 - r.nextDouble()), -r.nextInt(1, 40));
        };
    }

    /** The exact value of a 16-bit gradient, from the JDK's binary16 decoding or bf16's definition. */
    private static float decode(Precision p, short h) {
        return p == Precision.FP16 ? Float.float16ToFloat(h) : Float.intBitsToFloat(h << 16);
    }

    /**
     * A finite 16-bit gradient whose unscaled, clipped value is at most {@link #MAX_UNSCALED}:
     * realistic ones (a loss-scaled Gaussian, zeros and subnormals where the scale is small), signed
     * zeros, and arbitrary bit patterns.
     */
    private static short gradient(SplittableRandom r, Precision p, float scale, float inv, float coef) {
        short h = switch (r.nextInt(8)) {
            case 0 -> (short) r.nextInt();
            case 1 -> (short) (r.nextBoolean() ? 0 : 0x8000);
            default -> {
                float g = (float) (r.nextGaussian() * Math.scalb(1.0, r.nextInt(-30, 11)) * scale);
                yield p == Precision.FP16 ? Float.floatToFloat16(g) : (short) (Float.floatToRawIntBits(g) >>> 16);
            }
        };
        // halving the magnitude bits about halves the exponent: ends at a small value, or zero
        while (!(Math.abs((double) (decode(p, h) * inv * coef)) <= MAX_UNSCALED)) {
            h = (short) ((h & 0x8000) | ((h & 0x7FFF) >>> 1));
        }
        return h;
    }

    @Test
    void theFusedLoopGivesTheBitsOfWideningThenCoreAdam() {
        long start = System.nanoTime();
        qt().withExamples(EXAMPLES).forAll(trials()).checkAssert(FusedAdamTwinTest::run);
        String summary = String.format(Locale.ROOT, "FusedAdamTwinTest (%s kernels): %d trials of %d steps in %.1f s;"
                + " steps with two multiplications %d, folded fp16 %d, unit bc2 %d, clipped %d; fused kernel direct in"
                + " %d trials (%d with heap gradients, refused)", Implementation.current().name().toLowerCase(Locale.ROOT),
                EXAMPLES, STEPS, (System.nanoTime() - start) / 1e9, twiceSteps, foldedFp16Steps, unitBc2Steps,
                clippedSteps, fusedTrials, heapTrials);
        System.out.println(summary);
        assertTrue(twiceSteps > 0 && foldedFp16Steps > 0 && unitBc2Steps > 0 && clippedSteps > 0, summary);
        assertTrue(fused == null || fusedTrials > 0 && heapTrials > 0, summary);
    }

    private static void run(Trial t) {
        int n = t.n();
        SplittableRandom r = new SplittableRandom(t.seed());
        AdamConfig cfg = t.config();
        Widening widening = Widening.of(t.precision());
        Map<String, float[]> initial = new HashMap<>();
        float[] master0 = new float[n];
        for (int i = 0; i < n; i++) {
            master0[i] = (float) (r.nextGaussian() * Math.scalb(1.0, r.nextInt(-4, 5)));
        }
        initial.put(MixedPrecisionOptimizer.MASTER, master0);
        for (String name : List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq")) {
            float[] s = new float[n];
            for (int i = 0; t.startStep() > 0 && i < n; i++) {   // restored state; zero for a fresh start
                double x = r.nextGaussian() * Math.scalb(1.0, r.nextInt(-20, 1));
                s[i] = (float) (name.equals("exp_avg") ? x : x * x);
            }
            initial.put(name, s);
        }
        BiConsumer<String, MemorySegment> fill = (name, seg) -> MemorySegment.copy(initial.get(name), 0, seg, F, 0, n);
        boolean direct = fused != null;
        try (Arena arena = Arena.ofShared();
             Optimizer ref = Optimizers.adam(cfg, n);
             Optimizer viaKernel = Optimizers.adam(cfg, n);
             MixedPrecisionOptimizer mixed = MixedPrecisionOptimizer.builder(Optimizers.adam(cfg, n), t.precision())
                     .build()) {
            MemorySegment refMaster = arena.allocate(n * 4L, 64), kernelMaster = arena.allocate(n * 4L, 64);
            MemorySegment tile = arena.allocate(n * 4L, 64), refTile = arena.allocate(n * 4L, 64);
            MemorySegment grads = arena.allocate(n * 2L, 64), params = arena.allocate(n * 2L, 64);
            MemorySegment expectedParams = arena.allocate(n * 2L, 64);
            short[] heapGrads = new short[n];
            fill.accept(MixedPrecisionOptimizer.MASTER, refMaster);
            fill.accept(MixedPrecisionOptimizer.MASTER, kernelMaster);
            ref.restore(t.startStep(), fill);
            viaKernel.restore(t.startStep(), fill);
            mixed.restore(t.startStep(), null, fill);
            if (direct) {
                fusedTrials++;
                heapTrials += t.heapGrads() ? 1 : 0;
            }
            for (int k = 1; k <= STEPS; k++) {
                float scale = scale(r), inv = 1f / scale, coef = coefficient(r);
                for (int i = 0; i < n; i++) {
                    heapGrads[i] = gradient(r, t.precision(), scale, inv, coef);
                }
                MemorySegment.copy(heapGrads, 0, grads, ValueLayout.JAVA_SHORT, 0, n);
                long stepNo = t.startStep() + k;
                boolean twice = widening.folded(inv) == 0f;
                twiceSteps += twice ? 1 : 0;
                foldedFp16Steps += !twice && t.precision() == Precision.FP16 ? 1 : 0;
                unitBc2Steps += cfg.biasCorrection() && cfg.beta2() > 0 && stepNo >= t.unitBc2At() ? 1 : 0;
                clippedSteps += coef != 1f ? 1 : 0;
                String at = t + ", step " + stepNo + " (" + k + " of this trial), scale " + scale + " (1/scale " + inv
                        + (twice ? ", two multiplications" : ", folded") + "), coef " + coef;

                // the reference: widen, unscale, clip into an fp32 tile; core's Adam on it
                ScalarScalingKernel.INSTANCE.widenScaled(grads, t.precision(), 0, refTile, 0, inv, coef, n);
                for (int i = 0; i < n; i++) {
                    float expected = decode(t.precision(), heapGrads[i]) * inv * coef;
                    if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(refTile.getAtIndex(F, i))) {
                        throw new AssertionError("widenScaled, index " + i + ": expected " + expected + ", got "
                                + refTile.getAtIndex(F, i) + "; " + at);
                    }
                }
                ref.step(refMaster, refTile);

                if (direct) {
                    stepThroughKernel(viaKernel, widening, t, t.heapGrads() ? MemorySegment.ofArray(heapGrads) : grads,
                            kernelMaster, tile, inv, coef, r.nextInt(n + 1), at);
                    assertSameBits("master (fused kernel), " + at, refMaster, kernelMaster);
                    assertSameStates("fused kernel", ref, viaKernel, at);
                }

                mixed.applyUpdate(params, grads, scale, coef, Runnable::run, 1);
                assertSameBits("master (mixed-precision optimizer), " + at, refMaster, mixed.masterWeights());
                assertSameStates("mixed-precision optimizer", ref, mixed.optimizer(), at);
                if (t.precision() == Precision.FP16) {
                    Half.encode(refMaster, expectedParams);
                } else {
                    BFloat16.encode(refMaster, expectedParams);
                }
                assertEquals(-1, expectedParams.mismatch(params), "16-bit params, " + at);
            }
        }
    }

    /**
     * One step of {@code opt} as the mixed-precision optimizer takes it: the fused loop on each of
     * {@code [0, cut)} and {@code [cut, n)}, and each piece's remainder widened by the scalar kernel
     * and stepped the long way.
     */
    private static void stepThroughKernel(Optimizer opt, Widening widening, Trial t, MemorySegment grads,
                                          MemorySegment master, MemorySegment tile, float inv, float coef, int cut,
                                          String at) {
        int lanes = HalfVectors.FLOATS.length();
        try (Optimizer.Step step = opt.beginStep()) {
            AdamState adam = ((FusibleStep) step).adam();
            assertEquals(opt.stepCount() + 1, step.number());
            if (t.config().biasCorrection()) {   // the test's formula and core's agree on where bc2 becomes 1
                assertEquals(step.number() >= t.unitBc2At(), adam.coefficients().biasCorrection2Sqrt() == 1f,
                        "bc2 = " + adam.coefficients().biasCorrection2Sqrt() + ", " + at);
            }
            for (long[] piece : new long[][] {{0, cut}, {cut, t.n() - cut}}) {
                long from = piece[0], count = piece[1];
                long done = fused.step(adam, widening, grads, master, inv, coef, from, count);
                String where = "[" + from + ", " + (from + count) + "), " + at;
                assertTrue(done >= 0 && done <= count && done % lanes == 0, "whole vectors only: " + done + ", " + where);
                // heap gradients are refused; native ones are stepped to the last whole vector (the
                // mixed-precision optimizer steps all that a call leaves the long way)
                assertEquals(t.heapGrads() ? 0 : count - count % lanes, done, "stepped, " + where);
                long rest = count - done, first = from + done;
                if (rest > 0) {
                    ScalarScalingKernel.INSTANCE.widenScaled(grads, t.precision(), first, tile, 0, inv, coef, rest);
                    step.apply(master.asSlice(first * Float.BYTES, rest * Float.BYTES),
                            tile.asSlice(0, rest * Float.BYTES), first);
                }
            }
        }
    }

    private static void assertSameStates(String side, Optimizer expected, Optimizer actual, String at) {
        assertEquals(expected.stateNames(), actual.stateNames());
        assertEquals(expected.stepCount(), actual.stepCount(), "step count (" + side + "), " + at);
        for (String name : expected.stateNames()) {
            assertSameBits(name + " (" + side + "), " + at, expected.state(name), actual.state(name));
        }
    }

    /** Raw bits, float by float; the message names the first difference. */
    private static void assertSameBits(String what, MemorySegment expected, MemorySegment actual) {
        long diff = expected.mismatch(actual);
        if (diff >= 0) {
            long i = diff / Float.BYTES;
            float e = expected.getAtIndex(F, i), a = actual.getAtIndex(F, i);
            throw new AssertionError(what + ": index " + i + " of " + expected.byteSize() / Float.BYTES + ": expected "
                    + e + " (0x" + Integer.toHexString(Float.floatToRawIntBits(e)) + "), got " + a + " (0x"
                    + Integer.toHexString(Float.floatToRawIntBits(a)) + ")");
        }
    }
}
