package dev.adamant.fp16.mixed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.RmsPropConfig;
import dev.adamant.core.SgdConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Injected faults in the 16-bit gradients of a mixed-precision step, at random positions (the vector
 * body, a block's or the buffer's scalar tail, a chunk boundary): infinities, NaNs with any payload,
 * finite values that overflow when unscaled by a loss scale below 1, and (with clipping) finite
 * gradients whose norm overflows. fp16 and bf16; Adam (the fused loop where the Panama kernels run),
 * SGD and RMSProp (the tiled path), bf16 without master weights; clipping on and off; 1 and 2
 * threads. Every such step must be skipped with nothing changed (16-bit parameters, master weights,
 * every state buffer, step count) and the loss scale backed off; and the same gradients without the
 * fault, at an ordinary scale, must then step. Deterministic seeds; the counts are printed.
 */
class InjectedOverflowFuzzTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int TRIALS = 240;
    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        pool = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
    }

    enum Fault { INFINITY, NAN, OVERFLOW_ON_UNSCALE, NORM_OVERFLOW }

    enum Path { ADAM_FUSED, ADAMW_AMSGRAD, SGD_TILED, RMSPROP_TILED, BF16_NO_MASTER }

    /** The 16-bit bits of {@code v} in {@code format}, rounded to nearest even by the JDK (fp16) or by hand (bf16). */
    private static short bits(float v, Precision format) {
        if (format == Precision.FP16) {
            return Float.floatToFloat16(v);
        }
        int b = Float.floatToRawIntBits(v);
        return (short) ((b + 0x7FFF + ((b >>> 16) & 1)) >>> 16);
    }

    private static float value(short h, Precision format) {
        return format == Precision.FP16 ? Float.float16ToFloat(h) : Float.intBitsToFloat(h << 16);
    }

    private static Optimizer inner(Path path, long n) {
        return switch (path) {
            case ADAM_FUSED, BF16_NO_MASTER -> Optimizers.adam(AdamConfig.adamW().withLr(1e-2), n);
            case ADAMW_AMSGRAD -> Optimizers.adam(AdamConfig.adam().withWeightDecay(0.01).withAmsgrad(true), n);
            case SGD_TILED -> Optimizers.sgd(SgdConfig.sgd(0.05).withMomentum(0.9), n);
            case RMSPROP_TILED -> Optimizers.rmsProp(RmsPropConfig.rmsProp().withCentered(true), n);
        };
    }

    /** Everything a step could change, as bytes. */
    private static List<byte[]> snapshot(MixedPrecisionOptimizer m, MemorySegment params) {
        List<byte[]> all = new ArrayList<>();
        all.add(params.toArray(ValueLayout.JAVA_BYTE));
        if (m.hasMasterWeights()) {
            all.add(m.masterWeights().toArray(ValueLayout.JAVA_BYTE));
        }
        for (String name : m.optimizer().stateNames()) {
            all.add(m.optimizer().state(name).toArray(ValueLayout.JAVA_BYTE));
        }
        return all;
    }

    @Test
    void everyInjectedFaultSkipsTheStepAndChangesNothing() {
        SplittableRandom r = new SplittableRandom(20261204);
        Map<Fault, int[]> counts = new EnumMap<>(Fault.class);   // trials, skipped as expected
        int[] sizes = {1, 15, 17, 100, 1021, 4099, MixedPrecisionOptimizer.TILE + 333, 2 * 65_536 + 37};
        for (int trial = 0; trial < TRIALS; trial++) {
            Fault fault = Fault.values()[trial % Fault.values().length];
            Path path = Path.values()[r.nextInt(Path.values().length)];
            Precision format = path == Path.BF16_NO_MASTER || r.nextBoolean() ? Precision.BF16 : Precision.FP16;
            boolean clip = fault == Fault.NORM_OVERFLOW || r.nextBoolean();
            int n = sizes[r.nextInt(sizes.length)];
            int threads = n > 65_536 ? 2 : 1;
            String what = fault + " " + path + " " + format + " n=" + n + " clip=" + clip + " threads=" + threads
                    + " (trial " + trial + ")";
            counts.computeIfAbsent(fault, f -> new int[2])[0]++;
            runTrial(r, fault, path, format, clip, n, threads, what);
            counts.get(fault)[1]++;
        }
        StringBuilder line = new StringBuilder("InjectedOverflowFuzzTest:");
        counts.forEach((f, c) -> line.append(' ').append(f).append(" trials=").append(c[0]).append(" skipped=")
                .append(c[1]).append(" failed=").append(c[0] - c[1]).append(';'));
        System.out.println(line);
    }

    private static void runTrial(SplittableRandom r, Fault fault, Path path, Precision format, boolean clip, int n,
                                 int threads, String what) {
        MixedPrecisionOptimizer.Builder b = MixedPrecisionOptimizer.builder(inner(path, n), format)
                .lossScaler(DynamicLossScaler.builder().initScale(1024).build());
        if (clip) {
            b.maxGradNorm(0.5 + r.nextDouble());
        }
        if (path == Path.BF16_NO_MASTER) {
            b.masterWeights(false).rounding(Rounding.stochastic(r.nextLong()));
        }
        try (Arena arena = Arena.ofShared(); MixedPrecisionOptimizer m = b.build()) {
            MemorySegment params = arena.allocate(n * 2L, 64), grads = arena.allocate(n * 2L, 64);
            for (int i = 0; i < n; i++) {
                params.setAtIndex(S, i, bits((float) r.nextGaussian(), format));
            }
            if (m.hasMasterWeights()) {
                m.loadMasterFromHalf(params);
            }
            // Two ordinary steps first, so that the state is not all zeros.
            for (int s = 0; s < 2; s++) {
                fillGradients(r, grads, n, format, 1024f);
                assertFalse(m.step(params, grads, pool, threads).skipped(), what + ": ordinary step " + s);
            }
            float scale = fault == Fault.INFINITY || fault == Fault.NAN ? 1024f : 0f;
            short bad;
            int at = position(r, n);
            switch (fault) {
                case INFINITY -> bad = format == Precision.FP16 ? (short) 0x7C00 : (short) 0x7F80;
                case NAN -> bad = (short) ((format == Precision.FP16 ? 0x7C00 : 0x7F80)
                        | (1 + r.nextInt(format == Precision.FP16 ? 0x3FF : 0x7F)));
                case OVERFLOW_ON_UNSCALE -> {
                    // a finite value v at least 8; the scale makes v / scale about 1.3x the largest float
                    float v = format == Precision.FP16 ? (float) (8 + r.nextDouble() * 65_000)
                            : (float) Math.scalb(1.0 + r.nextDouble(), r.nextInt(3, 126));
                    bad = bits(v, format);
                    scale = value(bad, format) / Float.MAX_VALUE * 0.75f;
                }
                default -> {
                    // finite unscaled values, but one of them squared overflows the float accumulators
                    float v = format == Precision.FP16 ? (float) (1 + r.nextDouble() * 60_000)
                            : (float) Math.scalb(1.0 + r.nextDouble(), r.nextInt(0, 100));
                    bad = bits(v, format);
                    scale = value(bad, format) / 1e25f;
                }
            }
            if (r.nextBoolean()) {
                bad |= (short) 0x8000;
            }
            float inv = 1f / scale;
            if (fault == Fault.OVERFLOW_ON_UNSCALE || fault == Fault.NORM_OVERFLOW) {
                // the reference, in double: finite, and (un)scaled as the fault says
                assertTrue(Float.isFinite(value(bad, format)), what);
                float unscaled = (float) ((double) value(bad, format) * inv);
                assertEquals(fault == Fault.OVERFLOW_ON_UNSCALE, Float.isInfinite(unscaled), what + ": " + unscaled);
                assertTrue(fault != Fault.NORM_OVERFLOW || Float.isInfinite(unscaled * unscaled), what);
            }
            m.scaler().restore(new DynamicLossScaler.State(scale, 0, 1));
            fillGradients(r, grads, n, format, 1f);   // small: unscaled, they stay finite and square finitely
            short clean = grads.getAtIndex(S, at);
            grads.setAtIndex(S, at, bad);
            List<byte[]> before = snapshot(m, params);
            long steps = m.optimizer().stepCount();
            byte[] gradsBefore = grads.toArray(ValueLayout.JAVA_BYTE);

            StepReport report = m.step(params, grads, pool, threads);

            assertTrue(report.skipped(), what + ": not skipped");
            List<byte[]> after = snapshot(m, params);
            for (int k = 0; k < before.size(); k++) {
                assertArrayEquals(before.get(k), after.get(k), what + ": buffer " + k + " changed");
            }
            assertArrayEquals(gradsBefore, grads.toArray(ValueLayout.JAVA_BYTE), what + ": gradients written");
            assertEquals(steps, m.optimizer().stepCount(), what);
            float expectedScale = Math.max(scale * 0.5f, Float.MIN_NORMAL);   // PyTorch's backoff, the scaler's floor
            assertEquals(expectedScale, m.scaler().scale(), what + ": scale");
            assertEquals(expectedScale, report.nextScale(), what);

            // The control: without the fault, at an ordinary scale, the same step is taken.
            grads.setAtIndex(S, at, clean);
            m.scaler().restore(new DynamicLossScaler.State(1024f, 0, 1));
            StepReport ok = m.step(params, grads, pool, threads);
            assertFalse(ok.skipped(), what + ": control step skipped");
            assertEquals(steps + 1, m.optimizer().stepCount(), what);
        }
    }

    /** Small gradients times {@code scale}: unscaled they are below 1 in magnitude. */
    private static void fillGradients(SplittableRandom r, MemorySegment grads, int n, Precision format, float scale) {
        for (int i = 0; i < n; i++) {
            grads.setAtIndex(S, i, bits((float) (r.nextDouble() * 2 - 1) * scale, format));
        }
    }

    /** The first or last value, one in the last 16 (a vector tail), one at a 4096 block edge, or any. */
    private static int position(SplittableRandom r, int n) {
        return switch (r.nextInt(5)) {
            case 0 -> 0;
            case 1 -> n - 1;
            case 2 -> Math.max(0, n - 1 - r.nextInt(16));
            case 3 -> Math.min(n - 1, 4096 * (1 + r.nextInt(Math.max(1, n / 4096))) - r.nextInt(2));
            default -> r.nextInt(n);
        };
    }

    @Test
    void theIssuesReproductionsAreSkipped() {
        // bf16 at scale 0.25 with a gradient of 3.0e38; fp16 at 1e-35 with 60000; with clipping on and off.
        for (boolean clip : new boolean[] {false, true}) {
            for (Precision format : List.of(Precision.BF16, Precision.FP16)) {
                float scale = format == Precision.BF16 ? 0.25f : 1e-35f;
                float g = format == Precision.BF16 ? 3.0e38f : 60000f;
                int n = 64;
                MixedPrecisionOptimizer.Builder b = MixedPrecisionOptimizer.builder(
                        Optimizers.adam(AdamConfig.adamW(), n), format)
                        .lossScaler(DynamicLossScaler.builder().initScale(scale).build());
                if (clip) {
                    b.maxGradNorm(1.0);
                }
                try (Arena arena = Arena.ofShared(); MixedPrecisionOptimizer m = b.build()) {
                    MemorySegment params = arena.allocate(n * 2L), grads = arena.allocate(n * 2L);
                    grads.setAtIndex(S, 7, bits(g, format));
                    m.loadMasterFromHalf(params);
                    StepReport rep = m.step(params, grads);
                    assertTrue(rep.skipped(), format + " clip " + clip);
                    assertEquals(0, m.optimizer().stepCount());
                    for (float w : m.masterWeights().toArray(F)) {
                        assertEquals(0f, w);
                    }
                    assertEquals(scale * 0.5f, m.scaler().scale());
                }
            }
        }
    }

    @Test
    void aClipCoefficientThatUnderflowsSkipsTheStepAndTinyNormsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adamW(), 4), Precision.BF16)
                        .maxGradNorm(1e-300));   // 0 as a float: it would clip every gradient to 0
        assertTrue(e.getMessage().startsWith("maxGradNorm:"), e.getMessage());
        int n = 64;
        try (Arena arena = Arena.ofShared();
             MixedPrecisionOptimizer m = MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adamW(), n),
                     Precision.BF16).maxGradNorm(2 * Float.MIN_NORMAL)
                     .lossScaler(DynamicLossScaler.builder().initScale(1).build()).build()) {
            MemorySegment params = arena.allocate(n * 2L), grads = arena.allocate(n * 2L);
            grads.setAtIndex(S, 3, bits(1e13f, Precision.BF16));   // coefficient 2.4e-38 / 1e13: 0 as a float
            assertEquals(0f, (1f / (1e13f + 1e-6f)) * (2 * Float.MIN_NORMAL));
            m.loadMasterFromHalf(params);
            StepReport rep = m.step(params, grads);
            assertTrue(rep.skipped(), String.valueOf(rep));
            assertEquals(0, m.optimizer().stepCount());
            assertEquals(0.5f, m.scaler().scale());
        }
    }

    @Test
    void sixteenBitSlicesNeedOnly2ByteAlignment() {
        int n = 1000;
        try (Arena arena = Arena.ofShared();
             MixedPrecisionOptimizer m = MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adamW(), n),
                     Precision.FP16).build()) {
            MemorySegment raw = arena.allocate(2 * n * 2L + 8, 64);
            MemorySegment params = raw.asSlice(2, n * 2L), grads = raw.asSlice(n * 2L + 6, n * 2L);
            assertEquals(2, params.address() % 4);
            m.loadMasterFromHalf(params);
            assertFalse(m.step(params, grads).skipped());
            assertEquals(1, m.optimizer().stepCount());
            assertFalse(dev.adamant.fp16.scaling.Gradients.hasNonFinite(params, Precision.FP16));
            MemorySegment odd = raw.asSlice(1, n * 2L);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.step(odd, grads));
            assertTrue(e.getMessage().startsWith("params: expected a 2-byte aligned segment"), e.getMessage());
            assertEquals(1, m.optimizer().stepCount());
        }
    }

    @Test
    void aSecondThreadSteppingAtTheSameTimeIsRefused() throws Exception {
        int n = 2 * 65_536 + 37;
        CountDownLatch inStep = new CountDownLatch(1), release = new CountDownLatch(1);
        // An executor whose hand-off holds the first step open (on its own thread) until the test lets it go.
        java.util.concurrent.Executor holding = task -> {
            inStep.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            pool.execute(task);
        };
        try (Arena arena = Arena.ofShared();
             MixedPrecisionOptimizer m = MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adamW(), n),
                     Precision.BF16).build()) {
            MemorySegment params = arena.allocate(n * 2L, 64), grads = arena.allocate(n * 2L, 64);
            var first = Executors.newSingleThreadExecutor();
            try {
                var done = first.submit(() -> m.step(params, grads, holding, 2));
                assertTrue(inStep.await(10, TimeUnit.SECONDS));
                var scaleBefore = m.scaler().state();
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.step(params, grads));
                assertTrue(e.getMessage().contains("another thread is stepping"), e.getMessage());
                assertThrows(IllegalStateException.class,
                        () -> m.checkGradients(grads, 1f, null, Runnable::run, 1));
                assertEquals(scaleBefore, m.scaler().state());
                release.countDown();
                assertFalse(done.get(30, TimeUnit.SECONDS).skipped());
                assertEquals(1, m.optimizer().stepCount());
                assertFalse(m.step(params, grads).skipped());   // free again once the first returned
            } finally {
                release.countDown();
                first.shutdownNow();
            }
        }
    }
}
