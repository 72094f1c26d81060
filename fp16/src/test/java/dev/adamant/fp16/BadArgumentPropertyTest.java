package dev.adamant.fp16;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.SgdConfig;
import dev.adamant.fp16.mixed.MixedPrecisionOptimizer;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.fp16.scaling.GradientStats;
import dev.adamant.fp16.scaling.Gradients;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * Every public entry point of fp16 ({@link Half}, {@link BFloat16}, {@link Gradients},
 * {@link GradientStats}, {@link DynamicLossScaler} and its builder, {@link MixedPrecisionOptimizer}
 * and its builder), fed bad arguments that QuickTheories generates: each is refused with an
 * exception whose message starts with the argument's name, and nothing changes, byte for byte: not
 * the 16-bit parameters or gradients, the master weights, the optimizer's state and step count, nor
 * the loss scaler.
 *
 * <p>Values are judged as the floats the library will use: a scaler setting valid as a double but
 * not as a float, a loss scale whose reciprocal overflows, a clipping norm that is 0 as a float are
 * refused. Misaligned 16-bit buffers here are at odd addresses (2-byte aligned slices are accepted,
 * see {@code InjectedOverflowFuzzTest}).
 *
 * <p>Fixed seeds; a summary line gives the trials, refusals and failures per family.
 */
@Timeout(300)
class BadArgumentPropertyTest {
    private static final long SEED = 0xAD4A_16L;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final Map<String, Tally> TALLIES = new LinkedHashMap<>();
    private static ExecutorService pool, other;

    private static final class Tally {
        int trials, refused, accepted, skipped, failures;
    }

    @BeforeAll
    static void start() {
        pool = Executors.newFixedThreadPool(2);
        other = Executors.newSingleThreadExecutor();
    }

    @AfterAll
    static void summary() {
        pool.shutdownNow();
        other.shutdownNow();
        StringBuilder line = new StringBuilder("BadArgumentPropertyTest (fp16, ")
                .append(Optimizers.implementation().split(",")[0]).append("):");
        int trials = 0, refused = 0, accepted = 0, skipped = 0, failures = 0;
        for (Map.Entry<String, Tally> e : TALLIES.entrySet()) {
            Tally t = e.getValue();
            line.append(' ').append(e.getKey()).append(' ').append(t.trials).append(" trials/").append(t.refused)
                    .append(" refused/").append(t.accepted).append(" accepted/").append(t.skipped).append(" not asserted/")
                    .append(t.failures).append(" failed;");
            trials += t.trials;
            refused += t.refused;
            accepted += t.accepted;
            skipped += t.skipped;
            failures += t.failures;
        }
        line.append(" total ").append(trials).append(" trials, ").append(refused).append(" refused correctly, ")
                .append(accepted).append(" valid accepted, ").append(skipped).append(" not asserted, ")
                .append(failures).append(" failures");
        System.out.println(line);
    }

    private static void trial(String family, Runnable body) {
        Tally t = TALLIES.computeIfAbsent(family, k -> new Tally());
        t.trials++;
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            t.failures++;
            throw e;
        }
    }

    private static void refused(String family) {
        TALLIES.get(family).refused++;
    }

    private static void accepted(String family) {
        TALLIES.get(family).accepted++;
    }

    private static void skipped(String family) {
        TALLIES.get(family).skipped++;
    }

    /** Asserts {@code call} throws {@code type} whose message starts with {@code argument} and mentions {@code also}. */
    static Throwable assertRefused(Class<? extends Throwable> type, String argument, Executable call, String... also) {
        Throwable e = assertThrows(type, call, "expected " + type.getSimpleName() + " naming " + argument);
        checkMessage(e, argument, also);
        return e;
    }

    private static void checkMessage(Throwable e, String argument, String... also) {
        String m = e.getMessage();
        assertTrue(m != null && (m.equals(argument) || m.startsWith(argument + ":") || m.startsWith(argument + " ")),
                "message should start with the argument \"" + argument + "\": " + e);
        for (String a : also) {
            assertTrue(m.contains(a), "message should mention \"" + a + "\": " + m);
        }
    }

    /** As {@link #assertRefused}, with the call made on another thread. */
    private static void assertRefusedElsewhere(Class<? extends Throwable> type, String argument, Executable call) {
        Future<?> f = other.submit(() -> {
            try {
                call.execute();
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        });
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
        assertTrue(type.isInstance(e.getCause()), "expected " + type.getSimpleName() + ", got " + e.getCause());
        checkMessage(e.getCause(), argument);
    }

    /** All double bit patterns, mixed with the edges of the ranges in use. */
    static Gen<Double> anyDouble() {
        List<Double> edges = List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -0.0,
                Double.MIN_VALUE, -1.0, 0.5, 1.0, Math.nextDown(1.0), Math.nextUp(1.0), 2.0, 65536.0,
                (double) Float.MAX_VALUE, Math.nextUp((double) Float.MAX_VALUE), Double.MAX_VALUE, 1e-46, 1e-40,
                (double) Float.MIN_NORMAL);
        return Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE).map(Double::longBitsToDouble)
                .mix(Generate.pick(edges), 40)
                .mix(Generate.range(-3000, 3000).map(k -> k / 1000.0), 30);
    }

    /** A bad loss scale: NaN, an infinity, a zero, or any negative float. */
    static float badScale(long bits) {
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, -Float.MIN_VALUE,
            -Float.MAX_VALUE, -1f};
        int pick = Math.floorMod(bits, 12);
        return pick < specials.length ? specials[pick] : -Math.abs(Float.intBitsToFloat((int) (bits >>> 7)));
    }

    private static MemorySegment closedSegment(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            return a.allocate(bytes, 64);
        }
    }

    /** The live segments among these, for snapshots. */
    private static List<MemorySegment> live(MemorySegment... segments) {
        List<MemorySegment> out = new ArrayList<>();
        for (MemorySegment s : segments) {
            if (s != null && s.scope().isAlive() && s.isAccessibleBy(Thread.currentThread())) {
                out.add(s);
            }
        }
        return out;
    }

    private static List<byte[]> bytes(List<MemorySegment> segments) {
        return segments.stream().map(s -> s.toArray(ValueLayout.JAVA_BYTE)).toList();
    }

    private static void assertSameBytes(String what, List<byte[]> before, List<byte[]> after) {
        for (int i = 0; i < before.size(); i++) {
            assertArrayEquals(before.get(i), after.get(i), what + ": buffer " + i + " changed");
        }
    }

    // ---- Half and BFloat16 bulk codecs ----

    enum CodecBad {
        FLOATS_NULL, HALVES_NULL, ROUNDING_NULL, COUNT_NEGATIVE, FLOAT_RANGE, HALF_RANGE, FLOATS_CLOSED, HALVES_CLOSED,
        FLOATS_MISALIGNED, HALVES_MISALIGNED, DESTINATION_READ_ONLY, OVERLAP, CONFINED_FLOATS, CONFINED_HALVES, WHOLE_SIZES
    }

    /** One codec call: format, direction, overload. */
    private static void codec(boolean half, boolean encode, boolean whole, boolean withRounding, MemorySegment floats,
                              long fi, MemorySegment halves, long hi, long count, Rounding rounding) {
        if (encode) {
            if (whole) {
                if (half) {
                    if (withRounding) {
                        Half.encode(floats, halves, rounding, 7);
                    } else {
                        Half.encode(floats, halves);
                    }
                } else if (withRounding) {
                    BFloat16.encode(floats, halves, rounding, 7);
                } else {
                    BFloat16.encode(floats, halves);
                }
            } else if (half) {
                if (withRounding) {
                    Half.encode(floats, fi, halves, hi, count, rounding, 7);
                } else {
                    Half.encode(floats, fi, halves, hi, count);
                }
            } else if (withRounding) {
                BFloat16.encode(floats, fi, halves, hi, count, rounding, 7);
            } else {
                BFloat16.encode(floats, fi, halves, hi, count);
            }
        } else if (whole) {
            if (half) {
                Half.decode(halves, floats);
            } else {
                BFloat16.decode(halves, floats);
            }
        } else if (half) {
            Half.decode(halves, hi, floats, fi, count);
        } else {
            BFloat16.decode(halves, hi, floats, fi, count);
        }
    }

    @Test
    void codecs() {
        String family = "Half/BFloat16";
        qt().withFixedSeed(SEED).withExamples(900).forAll(Generate.enumValues(CodecBad.class),
                Generate.range(0, 200).mix(Generate.pick(List.of(0, 1, 15, 16, 17, 33)), 20),
                Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((bad, size, number, seed) -> trial(family, () -> {
                SplittableRandom r = new SplittableRandom(seed);
                boolean half = r.nextBoolean();
                boolean encode = bad == CodecBad.ROUNDING_NULL || r.nextBoolean();
                // Whole-buffer overloads, except for what only a range can get wrong.
                boolean rangedOnly = bad == CodecBad.COUNT_NEGATIVE || bad == CodecBad.FLOAT_RANGE
                        || bad == CodecBad.HALF_RANGE || bad == CodecBad.OVERLAP;
                boolean whole = bad == CodecBad.WHOLE_SIZES || !rangedOnly && r.nextInt(3) == 0;
                boolean withRounding = bad == CodecBad.ROUNDING_NULL || r.nextBoolean();
                Rounding rounding = r.nextBoolean() ? Rounding.nearestEven() : Rounding.stochastic(r.nextLong());
                long n = size;
                // Whole calls convert all of both buffers; ranged ones a range of larger buffers.
                long fSize = whole ? n : n + r.nextInt(5), hSize = whole ? n : n + r.nextInt(5);
                long fi = r.nextLong(fSize - n + 1), hi = r.nextLong(hSize - n + 1), count = n;
                try (Arena arena = Arena.ofShared(); Arena confined = Arena.ofConfined()) {
                    MemorySegment fBuf = arena.allocate(fSize * 4 + 8, 64), hBuf = arena.allocate(hSize * 2 + 8, 64);
                    for (long i = 0; i < fSize; i++) {
                        fBuf.setAtIndex(F, i, (float) r.nextGaussian());
                    }
                    for (long i = 0; i < hSize; i++) {
                        hBuf.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) r.nextInt());
                    }
                    MemorySegment floats = fBuf.asSlice(0, fSize * 4), halves = hBuf.asSlice(0, hSize * 2);
                    String argument;
                    Class<? extends Throwable> type = IllegalArgumentException.class;
                    String[] also = {};
                    boolean elsewhere = false;
                    switch (bad) {
                        case FLOATS_NULL -> {
                            floats = null;
                            argument = "floats";
                            type = NullPointerException.class;
                        }
                        case HALVES_NULL -> {
                            halves = null;
                            argument = "halves";
                            type = NullPointerException.class;
                        }
                        case ROUNDING_NULL -> {
                            rounding = null;
                            argument = "rounding";
                            type = NullPointerException.class;
                        }
                        case COUNT_NEGATIVE -> {
                            count = number < 0 ? number : -1 - number % Long.MAX_VALUE;
                            argument = "count";
                            also = new String[] {String.valueOf(count)};
                        }
                        case FLOAT_RANGE -> {
                            // Past the floats' end (or before their start), inside the halves.
                            fi = r.nextBoolean() ? -1 - r.nextLong(Long.MAX_VALUE) : fSize - count + 1 + r.nextLong(1000);
                            argument = "floats";
                            also = new String[] {"out of bounds"};
                        }
                        case HALF_RANGE -> {
                            hi = r.nextBoolean() ? -1 - r.nextLong(Long.MAX_VALUE) : hSize - count + 1 + r.nextLong(1000);
                            argument = "halves";
                            also = new String[] {"out of bounds"};
                        }
                        case FLOATS_CLOSED -> {
                            floats = closedSegment(fSize * 4);
                            argument = "floats";
                            also = new String[] {"closed"};
                        }
                        case HALVES_CLOSED -> {
                            halves = closedSegment(hSize * 2);
                            argument = "halves";
                            also = new String[] {"closed"};
                        }
                        case FLOATS_MISALIGNED -> {
                            floats = fBuf.asSlice(1 + r.nextInt(3), fSize * 4);
                            argument = "floats";
                            also = new String[] {"aligned"};
                        }
                        case HALVES_MISALIGNED -> {
                            halves = hBuf.asSlice(1 + 2 * r.nextInt(3), hSize * 2);   // odd addresses only
                            argument = "halves";
                            also = new String[] {"aligned"};
                        }
                        case DESTINATION_READ_ONLY -> {
                            if (encode) {
                                halves = halves.asReadOnly();
                                argument = "halves";
                            } else {
                                floats = floats.asReadOnly();
                                argument = "floats";
                            }
                            also = new String[] {"read-only"};
                        }
                        case OVERLAP -> {
                            // The halves a view of the floats' own memory, at an even byte offset.
                            long shift = 2 * r.nextLong(2 * fSize + 1);
                            halves = fBuf.asSlice(shift, Math.min(hSize * 2, fBuf.byteSize() - shift));
                            hSize = halves.byteSize() / 2;
                            count = Math.min(count, hSize);
                            fi = r.nextLong(fSize - count + 1);
                            hi = r.nextLong(hSize - count + 1);
                            long f0 = fi * 4, f1 = f0 + count * 4, h0 = shift + hi * 2, h1 = h0 + count * 2;
                            if (count == 0 || f1 <= h0 || h1 <= f0) {
                                MemorySegment fs = floats, hs = halves;
                                long ffi = fi, fhi = hi, fc = count;
                                codec(half, encode, false, withRounding, fs, ffi, hs, fhi, fc, rounding);   // disjoint: fine
                                accepted(family);
                                return;
                            }
                            argument = "floats";
                            also = new String[] {"halves", "overlap"};
                            whole = false;
                        }
                        case CONFINED_FLOATS, CONFINED_HALVES -> {
                            MemorySegment mine = confined.allocate(bad == CodecBad.CONFINED_FLOATS ? fSize * 4 : hSize * 2, 64);
                            if (bad == CodecBad.CONFINED_FLOATS) {
                                floats = mine;
                                argument = "floats";
                            } else {
                                halves = mine;
                                argument = "halves";
                            }
                            type = WrongThreadException.class;
                            elsewhere = true;
                        }
                        case WHOLE_SIZES -> {
                            // Any byte sizes but matching ones: an odd 16-bit buffer names halves, else floats.
                            long hBytes = r.nextLong(hBuf.byteSize() + 1), fBytes = r.nextLong(fBuf.byteSize() + 1);
                            if (hBytes % 2 == 0 && fBytes == 2 * hBytes) {
                                fBytes = fBytes >= 4 ? fBytes - 4 : fBytes + 4;
                            }
                            floats = fBuf.asSlice(0, fBytes);
                            halves = hBuf.asSlice(0, hBytes);
                            argument = hBytes % 2 != 0 ? "halves" : "floats";
                        }
                        default -> throw new AssertionError(bad);
                    }
                    List<MemorySegment> watched = live(fBuf, hBuf);
                    List<byte[]> before = bytes(watched);
                    MemorySegment ff = floats, fh = halves;
                    long ffi = fi, fhi = hi, fc = count;
                    boolean fw = whole;
                    Rounding fr = rounding;
                    Executable call = () -> codec(half, encode, fw, withRounding, ff, ffi, fh, fhi, fc, fr);
                    if (elsewhere) {
                        assertRefusedElsewhere(type, argument, call);
                    } else {
                        assertRefused(type, argument, call, also);
                    }
                    assertSameBytes(bad + (encode ? " encode" : " decode") + (whole ? " whole" : ""), before, bytes(watched));
                    refused(family);
                }
            }));
    }

    // ---- Gradients and GradientStats ----

    enum GradientsBad {
        CHECK_NULL_BUFFER, CHECK_NULL_PRECISION, CHECK_CLOSED, CHECK_MISALIGNED, CHECK_PARTIAL, UNSCALE_SCALE,
        UNSCALE_NULL, UNSCALE_CLOSED, UNSCALE_MISALIGNED, UNSCALE_READ_ONLY, UNSCALE_PARTIAL, MAX_GRAD_NORM, SCALE,
        CLIP_MAX_NORM
    }

    @Test
    void gradients() {
        String family = "Gradients/GradientStats";
        qt().withFixedSeed(SEED).withExamples(700).forAll(Generate.enumValues(GradientsBad.class), Generate.range(1, 300),
                anyDouble(), Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE))
            .checkAssert((bad, size, value, seed) -> trial(family, () -> {
                SplittableRandom r = new SplittableRandom(seed);
                Precision precision = Precision.values()[r.nextInt(3)];
                long n = size;
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment buf = arena.allocate(n * 4 + 8, 64);
                    for (long i = 0; i < n; i++) {
                        buf.setAtIndex(F, i, (float) r.nextGaussian());
                    }
                    MemorySegment buffer = buf.asSlice(0, n * precision.bytes()), grads = buf.asSlice(0, n * 4);
                    List<byte[]> before = bytes(List.of(buf));
                    switch (bad) {
                        case CHECK_NULL_BUFFER -> assertRefused(NullPointerException.class, "buffer",
                                () -> Gradients.hasNonFinite(null, precision));
                        case CHECK_NULL_PRECISION -> assertRefused(NullPointerException.class, "precision",
                                () -> Gradients.hasNonFinite(buffer, null));
                        case CHECK_CLOSED -> assertRefused(IllegalArgumentException.class, "buffer",
                                () -> Gradients.hasNonFinite(closedSegment(n * 2), precision), "closed");
                        case CHECK_MISALIGNED -> {
                            // fp32 off by 1 to 3 bytes; 16-bit buffers at odd addresses only.
                            long shift = precision == Precision.FP32 ? 1 + r.nextInt(3) : 1 + 2 * r.nextInt(3);
                            assertRefused(IllegalArgumentException.class, "buffer",
                                    () -> Gradients.hasNonFinite(buf.asSlice(shift, n * precision.bytes()), precision),
                                    "aligned");
                        }
                        case CHECK_PARTIAL -> {
                            long bytes = n * precision.bytes() - 1 - (precision == Precision.FP32 ? r.nextInt(3) : 0);
                            assertRefused(IllegalArgumentException.class, "buffer",
                                    () -> Gradients.hasNonFinite(buf.asSlice(0, bytes), precision), "whole number");
                        }
                        case UNSCALE_SCALE -> {
                            float scale = badScale(seed);
                            assertRefused(IllegalArgumentException.class, "scale", () -> Gradients.unscale(grads, scale),
                                    String.valueOf(scale));
                        }
                        case UNSCALE_NULL -> assertRefused(NullPointerException.class, "grads",
                                () -> Gradients.unscale(null, 1024f));
                        case UNSCALE_CLOSED -> assertRefused(IllegalArgumentException.class, "grads",
                                () -> Gradients.unscale(closedSegment(n * 4), 1024f), "closed");
                        case UNSCALE_MISALIGNED -> assertRefused(IllegalArgumentException.class, "grads",
                                () -> Gradients.unscale(buf.asSlice(1 + r.nextInt(3), n * 4), 1024f), "aligned");
                        case UNSCALE_READ_ONLY -> assertRefused(IllegalArgumentException.class, "grads",
                                () -> Gradients.unscale(grads.asReadOnly(), 1024f), "read-only");
                        case UNSCALE_PARTIAL -> assertRefused(IllegalArgumentException.class, "grads",
                                () -> Gradients.unscale(buf.asSlice(0, n * 4 - 1 - r.nextInt(3)), 1024f), "whole number");
                        case MAX_GRAD_NORM -> {
                            float norm = (float) (double) value;   // 0 (no clipping) or a normal float
                            if (value == 0 || (norm >= Float.MIN_NORMAL && norm <= Float.MAX_VALUE)) {
                                assertEquals(value, Gradients.checkMaxGradNorm(value));
                                accepted(family);
                                return;
                            }
                            assertRefused(IllegalArgumentException.class, "maxGradNorm",
                                    () -> Gradients.checkMaxGradNorm(value), String.valueOf(value));
                        }
                        case SCALE -> {
                            float scale = (float) (double) value;
                            if (scale > 0 && scale < Float.POSITIVE_INFINITY) {
                                if (Float.isFinite(1f / scale)) {
                                    Gradients.checkScale(scale);
                                    accepted(family);
                                    return;
                                }
                            }
                            assertRefused(IllegalArgumentException.class, "scale", () -> Gradients.checkScale(scale));
                        }
                        case CLIP_MAX_NORM -> {
                            GradientStats stats = new GradientStats(false, Math.abs(r.nextGaussian()) * size);
                            if (value > 0 && value < Double.POSITIVE_INFINITY) {
                                float coef = stats.clipCoefficient(value);
                                assertTrue(coef > 0 && coef <= 1 || coef == 0 && value < 1e-30, "coefficient " + coef);
                                accepted(family);
                                return;
                            }
                            assertRefused(IllegalArgumentException.class, "maxNorm", () -> stats.clipCoefficient(value),
                                    String.valueOf(value));
                        }
                        default -> throw new AssertionError(bad);
                    }
                    assertSameBytes(bad.toString(), before, bytes(List.of(buf)));
                    refused(family);
                }
            }));
    }

    // ---- DynamicLossScaler: its builder and restore ----

    enum ScalerBad { INIT_SCALE, GROWTH_FACTOR, BACKOFF_FACTOR, GROWTH_INTERVAL, HYSTERESIS, MIN_SCALE, AT_MINIMUM, BUILD, RESTORE }

    /** A builder with some valid settings drawn from {@code r}, the same each time for the same seed. */
    private static DynamicLossScaler.Builder someBuilder(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return DynamicLossScaler.builder().initScale(Math.scalb(1.0, r.nextInt(-10, 30)))
                .growthFactor(1.5 + r.nextInt(3)).backoffFactor(0.25 * (1 + r.nextInt(3)))
                .growthInterval(1 + r.nextInt(3000)).hysteresis(1 + r.nextInt(4)).consecutiveHysteresis(r.nextBoolean())
                .minScale(r.nextBoolean() ? 0 : Math.scalb(1.0, r.nextInt(-20, -10)))
                .atMinimum(r.nextBoolean() ? DynamicLossScaler.AtMinimum.CLAMP : DynamicLossScaler.AtMinimum.THROW);
    }

    @Test
    void lossScaler() {
        String family = "DynamicLossScaler";
        qt().withFixedSeed(SEED).withExamples(900).forAll(Generate.enumValues(ScalerBad.class), anyDouble(),
                Generate.range(Integer.MIN_VALUE, Integer.MAX_VALUE), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((bad, v, k, seed) -> trial(family, () -> {
                DynamicLossScaler.Builder b = someBuilder(seed);
                DynamicLossScaler reference = someBuilder(seed).build();
                float f = (float) (double) v;
                String argument;
                Executable call;
                // Refused or accepted as the float the scaler will use: a valid double that rounds to an
                // invalid float (1 - 1e-10 as a backoff) is refused.
                boolean refuse;
                switch (bad) {
                    case INIT_SCALE -> {
                        refuse = !(f >= Float.MIN_NORMAL && f <= Float.MAX_VALUE);
                        argument = "initScale";
                        call = () -> b.initScale(v);
                    }
                    case GROWTH_FACTOR -> {
                        refuse = !(f > 1 && f <= Float.MAX_VALUE);
                        argument = "growthFactor";
                        call = () -> b.growthFactor(v);
                    }
                    case BACKOFF_FACTOR -> {
                        refuse = !(f > 0 && f < 1);
                        argument = "backoffFactor";
                        call = () -> b.backoffFactor(v);
                    }
                    case GROWTH_INTERVAL -> {
                        refuse = k < 1;
                        argument = "growthInterval";
                        call = () -> b.growthInterval(k);
                    }
                    case HYSTERESIS -> {
                        refuse = k < 1;
                        argument = "hysteresis";
                        call = () -> b.hysteresis(k);
                    }
                    case MIN_SCALE -> {
                        // accepted down to 0: the scaler never backs off below 2^-126 whatever the minimum
                        refuse = !(v >= 0 && v <= Float.MAX_VALUE);
                        argument = "minScale";
                        call = () -> b.minScale(v);
                    }
                    case AT_MINIMUM -> {
                        refuse = true;
                        argument = "atMinimum";
                        call = () -> b.atMinimum(null);
                    }
                    case BUILD -> {
                        // A minimum above the first scale, or not.
                        double init = Math.scalb(1.0, Math.floorMod(k, 40) - 10);
                        double min = init * (Math.floorMod(k >> 8, 3) == 0 ? 1 : Math.floorMod(k >> 8, 3) == 1 ? 0.5 : 2);
                        b.initScale(init).minScale(min);
                        refuse = min > init;
                        argument = "minScale";
                        call = b::build;
                    }
                    case RESTORE -> {
                        DynamicLossScaler s = someBuilder(seed).build();
                        String settings = s.settings();
                        DynamicLossScaler.State good = s.state();
                        SplittableRandom r = new SplittableRandom(seed ^ k);
                        int interval = Integer.parseInt(settings.replaceAll(".*interval=(\\d+).*", "$1"));
                        int hysteresis = Integer.parseInt(settings.replaceAll(".*hysteresis=(\\d+).*", "$1"));
                        float min = Float.parseFloat(settings.replaceAll(".*min=([^,]+),.*", "$1"));
                        if (r.nextInt(8) == 0) {
                            assertRefused(NullPointerException.class, "state", () -> s.restore(null));
                            assertEquals(good, s.state());
                            refused(family);
                            return;
                        }
                        int which = r.nextInt(3);
                        DynamicLossScaler.State state = new DynamicLossScaler.State(which == 0 ? f : good.scale(),
                                which == 1 ? k : good.goodSteps(), which == 2 ? k : good.hysteresisLeft());
                        String wrong = !(state.scale() >= Math.max(min, Float.MIN_NORMAL) && state.scale() <= Float.MAX_VALUE)
                                ? "state.scale"
                                : state.goodSteps() < 0 || state.goodSteps() >= interval ? "state.goodSteps"
                                : state.hysteresisLeft() < 1 || state.hysteresisLeft() > hysteresis ? "state.hysteresisLeft"
                                : null;
                        if (wrong == null) {
                            s.restore(state);
                            assertEquals(state, s.state());
                            accepted(family);
                            return;
                        }
                        assertRefused(IllegalArgumentException.class, wrong, () -> s.restore(state));
                        assertEquals(good, s.state(), "restore refused, state changed");
                        assertEquals(settings, s.settings());
                        refused(family);
                        return;
                    }
                    default -> throw new AssertionError(bad);
                }
                if (refuse) {
                    assertRefused(bad == ScalerBad.AT_MINIMUM ? NullPointerException.class : IllegalArgumentException.class,
                            argument, call);
                    if (bad != ScalerBad.BUILD) {
                        // The refused setter changed nothing: the builder still builds the reference scaler.
                        DynamicLossScaler built = b.build();
                        assertEquals(reference.settings(), built.settings());
                        assertEquals(reference.state(), built.state());
                    }
                    refused(family);
                } else {
                    assertDoesNotThrow(call);
                    accepted(family);
                }
            }));
    }

    private static void assertDoesNotThrow(Executable call) {
        try {
            call.execute();
        } catch (Throwable t) {
            throw new AssertionError("a valid argument was refused: " + t, t);
        }
    }

    // ---- MixedPrecisionOptimizer.Builder ----

    enum BuilderBad { INNER_NULL, PRECISION_NULL, PRECISION_FP32, SCALER_NULL, MAX_GRAD_NORM, ROUNDING_NULL, PARTITION, MASTER_WEIGHTS }

    @Test
    void mixedBuilder() {
        String family = "MixedPrecisionOptimizer.Builder";
        qt().withFixedSeed(SEED).withExamples(400).forAll(Generate.enumValues(BuilderBad.class), anyDouble(),
                Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((bad, v, number, seed) -> trial(family, () -> {
                SplittableRandom r = new SplittableRandom(seed);
                long n = 1 + r.nextInt(100);
                Precision precision = r.nextBoolean() ? Precision.FP16 : Precision.BF16;
                Optimizer inner = Optimizers.adam(AdamConfig.adamW(), n);
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment p = arena.allocate(n * 4, 64), g = arena.allocate(n * 4, 64);
                    for (long i = 0; i < n; i++) {
                        p.setAtIndex(F, i, (float) r.nextGaussian());
                        g.setAtIndex(F, i, (float) r.nextGaussian());
                    }
                    inner.step(p, g);
                    List<byte[]> before = state(inner);
                    String argument;
                    Class<? extends Throwable> type = IllegalArgumentException.class;
                    Executable call;
                    switch (bad) {
                        case INNER_NULL -> {
                            argument = "inner";
                            type = NullPointerException.class;
                            call = () -> MixedPrecisionOptimizer.builder(null, precision);
                        }
                        case PRECISION_NULL -> {
                            argument = "precision";
                            type = NullPointerException.class;
                            call = () -> MixedPrecisionOptimizer.builder(inner, null);
                        }
                        case PRECISION_FP32 -> {
                            argument = "precision";
                            call = () -> MixedPrecisionOptimizer.builder(inner, Precision.FP32);
                        }
                        case SCALER_NULL -> {
                            argument = "scaler";
                            type = NullPointerException.class;
                            call = () -> MixedPrecisionOptimizer.builder(inner, precision).lossScaler(null);
                        }
                        case MAX_GRAD_NORM -> {
                            float norm = (float) (double) v;   // 0 (no clipping) or a normal float
                            if (v == 0 || (norm >= Float.MIN_NORMAL && norm <= Float.MAX_VALUE)) {
                                MixedPrecisionOptimizer.builder(inner, precision).maxGradNorm(v).build().close();
                                accepted(family);
                                return;
                            }
                            argument = "maxGradNorm";
                            call = () -> MixedPrecisionOptimizer.builder(inner, precision).maxGradNorm(v);
                        }
                        case ROUNDING_NULL -> {
                            argument = "rounding";
                            type = NullPointerException.class;
                            call = () -> MixedPrecisionOptimizer.builder(inner, precision).rounding(null);
                        }
                        case PARTITION -> {
                            long offset = r.nextBoolean() ? number : r.nextLong(1000);
                            long global = r.nextBoolean() ? r.nextLong(Long.MIN_VALUE, 1) : r.nextLong(1, 1000);
                            if (offset >= 0 && global >= 1) {
                                MixedPrecisionOptimizer.builder(inner, precision).partition(offset, global).build().close();
                                accepted(family);
                                return;
                            }
                            argument = "partition";
                            call = () -> MixedPrecisionOptimizer.builder(inner, precision).partition(offset, global);
                        }
                        case MASTER_WEIGHTS -> {
                            Rounding rounding = r.nextBoolean() ? Rounding.nearestEven() : Rounding.stochastic(r.nextLong());
                            MixedPrecisionOptimizer.Builder b = MixedPrecisionOptimizer.builder(inner, precision)
                                    .rounding(rounding).masterWeights(false);
                            if (precision == Precision.BF16 && rounding instanceof Rounding.Stochastic) {
                                b.build().close();
                                accepted(family);
                                return;
                            }
                            argument = "masterWeights";
                            call = b::build;
                        }
                        default -> throw new AssertionError(bad);
                    }
                    assertRefused(type, argument, call);
                    assertSameBytes(bad.toString(), before, state(inner));
                    assertEquals(1, inner.stepCount());
                    refused(family);
                } finally {
                    inner.close();   // owned by the builder's result only once built; closing twice is fine
                }
            }));
    }

    private static List<byte[]> state(Optimizer opt) {
        return opt.stateNames().stream().map(s -> opt.state(s).toArray(ValueLayout.JAVA_BYTE)).toList();
    }

    // ---- MixedPrecisionOptimizer: steps, passes, loads, restore ----

    enum MixedBad {
        PARAMS_NULL, GRADS_NULL, PARAMS_SIZE, GRADS_SIZE, PARAMS_FLOATS, GRADS_FLOATS, PARAMS_ODD, GRADS_ODD,
        PARAMS_READ_ONLY, PARAMS_CLOSED, GRADS_CLOSED, OVERLAP, EXECUTOR_NULL, PARALLELISM, PARAMS_CONFINED,
        GRADS_CONFINED, EXECUTOR_REFUSES, SCALE, BLOCK_SUMS, CLIP_COEFFICIENT, MASTER_FLOATS, STEPS, FILL, SCALER_STATE;

        boolean needsSplit() {
            return this == PARAMS_CONFINED || this == GRADS_CONFINED || this == EXECUTOR_REFUSES;
        }
    }

    /** The calls that take params and grads: step (two overloads), checkGradients, applyUpdate, and the loads. */
    enum MixedCall { STEP, STEP_PARALLEL, CHECK_GRADIENTS, APPLY_UPDATE, LOAD_MASTER_FROM_HALF, WRITE_PARAMS }

    /** Everything a mixed-precision call may change. */
    private record MixedSnapshot(List<byte[]> bytes, long steps, DynamicLossScaler.State scaler) {
        static MixedSnapshot of(MixedPrecisionOptimizer m, List<MemorySegment> watched, double[] blockSums) {
            List<byte[]> bytes = new ArrayList<>(BadArgumentPropertyTest.bytes(watched));
            if (m.hasMasterWeights()) {
                bytes.add(m.masterWeights().toArray(ValueLayout.JAVA_BYTE));
            }
            bytes.addAll(state(m.optimizer()));
            if (blockSums != null) {
                bytes.add(Arrays.toString(blockSums).getBytes());
            }
            return new MixedSnapshot(bytes, m.optimizer().stepCount(), m.scaler().state());
        }

        void assertSame(String what, MixedSnapshot now) {
            assertEquals(steps, now.steps, what + ": step count changed");
            assertEquals(scaler, now.scaler, what + ": loss scaler changed");
            assertSameBytes(what, bytes, now.bytes);
        }
    }

    @Test
    void mixedPrecisionOptimizer() {
        String family = "MixedPrecisionOptimizer";
        // The kinds that need a split step (65,536 parameters and more) drawn at a quarter of the others' rate.
        List<MixedBad> small = Arrays.stream(MixedBad.values()).filter(k -> !k.needsSplit()).toList();
        qt().withFixedSeed(SEED).withExamples(700).forAll(Generate.enumValues(MixedBad.class).mix(Generate.pick(small), 75),
                Generate.range(1, 300).mix(Generate.pick(List.of(1, 15, 17, 4097)), 20),
                Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((bad, size, number, seed) -> trial(family, () -> {
                SplittableRandom r = new SplittableRandom(seed);
                long n = bad.needsSplit() ? 65_536 + size : size;
                Precision precision = r.nextBoolean() ? Precision.FP16 : Precision.BF16;
                boolean master = precision == Precision.FP16 || r.nextInt(3) > 0;
                Rounding rounding = !master || r.nextBoolean() ? Rounding.stochastic(r.nextLong()) : Rounding.nearestEven();
                Optimizer inner = r.nextBoolean() ? Optimizers.adam(AdamConfig.adamW(), n)
                        : Optimizers.sgd(SgdConfig.sgd(0.05).withMomentum(0.9), n);
                try (Arena arena = Arena.ofShared(); Arena confined = Arena.ofConfined();
                     MixedPrecisionOptimizer m = MixedPrecisionOptimizer.builder(inner, precision).rounding(rounding)
                             .masterWeights(master).maxGradNorm(r.nextBoolean() ? 0 : 1)
                             .lossScaler(DynamicLossScaler.builder().initScale(256).growthInterval(5).build()).build()) {
                    MemorySegment f32 = arena.allocate(n * 4, 64);
                    MemorySegment params = arena.allocate(n * 2, 64), grads = arena.allocate(n * 2, 64);
                    for (long i = 0; i < n; i++) {
                        f32.setAtIndex(F, i, (float) r.nextDouble() - 0.5f);
                    }
                    encode(precision, f32, params);
                    for (long i = 0; i < n; i++) {
                        f32.setAtIndex(F, i, ((float) r.nextDouble() - 0.5f) * 2.56f);
                    }
                    encode(precision, f32, grads);
                    if (master) {
                        m.loadMasterFromHalf(params);
                    }
                    m.step(params, grads);   // a step in: state, master and scaler are not at their start
                    MemorySegment spare = arena.allocate(n * 4 + 8, 64);
                    MemorySegment p = params, g = grads;
                    Executor executor = pool;
                    int parallelism = 1 + r.nextInt(3);
                    float scale = m.scaler().scale(), clip = 1f;
                    double[] blockSums = r.nextBoolean() ? new double[m.normBlocks()] : null;
                    MixedCall callKind = MixedCall.values()[r.nextInt(MixedCall.values().length)];
                    String argument;
                    String[] also = {};
                    Class<? extends Throwable> type = IllegalArgumentException.class;
                    Executable special = null;
                    switch (bad) {
                        case PARAMS_NULL, PARAMS_SIZE, PARAMS_FLOATS, PARAMS_ODD, PARAMS_READ_ONLY, PARAMS_CLOSED -> {
                            argument = "params";
                            callKind = List.of(MixedCall.STEP, MixedCall.STEP_PARALLEL, MixedCall.APPLY_UPDATE,
                                    MixedCall.LOAD_MASTER_FROM_HALF, MixedCall.WRITE_PARAMS).get(r.nextInt(5));
                            if (bad == MixedBad.PARAMS_READ_ONLY && callKind == MixedCall.LOAD_MASTER_FROM_HALF) {
                                callKind = MixedCall.WRITE_PARAMS;   // loading from read-only params is fine
                            }
                            if (!master && (callKind == MixedCall.LOAD_MASTER_FROM_HALF || callKind == MixedCall.WRITE_PARAMS)) {
                                callKind = MixedCall.STEP;   // those need master weights
                            }
                            p = badSixteen(bad, params, spare, n, number);
                            type = bad == MixedBad.PARAMS_NULL ? NullPointerException.class : type;
                        }
                        case GRADS_NULL, GRADS_SIZE, GRADS_FLOATS, GRADS_ODD, GRADS_CLOSED -> {
                            argument = "grads";
                            callKind = List.of(MixedCall.STEP, MixedCall.STEP_PARALLEL, MixedCall.CHECK_GRADIENTS,
                                    MixedCall.APPLY_UPDATE).get(r.nextInt(4));
                            g = badSixteen(bad, grads, spare, n, number);
                            type = bad == MixedBad.GRADS_NULL ? NullPointerException.class : type;
                        }
                        case OVERLAP -> {
                            argument = "params";
                            also = new String[] {"grads", "overlap"};
                            callKind = List.of(MixedCall.STEP, MixedCall.STEP_PARALLEL, MixedCall.APPLY_UPDATE).get(r.nextInt(3));
                            // 4-byte aligned views of one buffer that share bytes.
                            MemorySegment both = arena.allocate(4 * n, 64);
                            MemorySegment.copy(params, 0, both, 0, 2 * n);
                            p = both.asSlice(0, 2 * n);
                            g = both.asSlice(4 * Math.floorMod(number, (n + 1) / 2), 2 * n);
                            if (r.nextBoolean()) {
                                MemorySegment t = p;
                                p = g;
                                g = t;
                            }
                        }
                        case EXECUTOR_NULL -> {
                            argument = "executor";
                            type = NullPointerException.class;
                            executor = null;
                            callKind = List.of(MixedCall.STEP_PARALLEL, MixedCall.CHECK_GRADIENTS, MixedCall.APPLY_UPDATE)
                                    .get(r.nextInt(3));
                        }
                        case PARALLELISM -> {
                            argument = "parallelism";
                            parallelism = number > 0 ? (int) -(number % Integer.MAX_VALUE) : (int) Math.max(number, Integer.MIN_VALUE);
                            callKind = List.of(MixedCall.STEP_PARALLEL, MixedCall.CHECK_GRADIENTS, MixedCall.APPLY_UPDATE)
                                    .get(r.nextInt(3));
                        }
                        case PARAMS_CONFINED, GRADS_CONFINED -> {
                            MemorySegment mine = confined.allocate(2 * n, 64);
                            MemorySegment.copy(bad == MixedBad.PARAMS_CONFINED ? params : grads, 0, mine, 0, 2 * n);
                            argument = bad == MixedBad.PARAMS_CONFINED ? "params" : "grads";
                            p = bad == MixedBad.PARAMS_CONFINED ? mine : params;
                            g = bad == MixedBad.GRADS_CONFINED ? mine : grads;
                            parallelism = 2 + r.nextInt(2);
                            type = WrongThreadException.class;
                            also = new String[] {"confined", "threads of the call"};
                            // checkGradients reads only the gradients, so only they are checked there.
                            callKind = bad == MixedBad.GRADS_CONFINED
                                    ? List.of(MixedCall.STEP_PARALLEL, MixedCall.APPLY_UPDATE, MixedCall.CHECK_GRADIENTS)
                                            .get(r.nextInt(3))
                                    : List.of(MixedCall.STEP_PARALLEL, MixedCall.APPLY_UPDATE).get(r.nextInt(2));
                        }
                        case EXECUTOR_REFUSES -> {
                            argument = "executor";
                            type = RejectedExecutionException.class;
                            parallelism = 2 + r.nextInt(2);
                            executor = task -> {
                                throw new RejectedExecutionException("saturated");
                            };
                            // The update pass alone would advance the step count (see RejectedExecutorTest).
                            callKind = List.of(MixedCall.STEP_PARALLEL, MixedCall.CHECK_GRADIENTS).get(r.nextInt(2));
                        }
                        case SCALE -> {
                            argument = "scale";
                            scale = badScale(number);
                            callKind = List.of(MixedCall.CHECK_GRADIENTS, MixedCall.APPLY_UPDATE).get(r.nextInt(2));
                        }
                        case BLOCK_SUMS -> {
                            argument = "blockSums";
                            int length = Math.floorMod(number, m.normBlocks() + 5);
                            blockSums = new double[length == m.normBlocks() ? length + 1 : length];
                            callKind = MixedCall.CHECK_GRADIENTS;
                        }
                        case CLIP_COEFFICIENT -> {
                            argument = "clipCoefficient";
                            float[] specials = {Float.NaN, 0f, -0f, Math.nextUp(1f), 2f, Float.POSITIVE_INFINITY,
                                Float.NEGATIVE_INFINITY, -1f};
                            int pick = Math.floorMod(number, 10);
                            clip = pick < specials.length ? specials[pick]
                                    : pick == 8 ? -Math.abs(Float.intBitsToFloat(number.intValue()))
                                    : 1f + Math.abs(Float.intBitsToFloat(number.intValue())) + 1e-6f;
                            if (clip > 0 && clip <= 1) {
                                clip = -clip;
                            }
                            callKind = MixedCall.APPLY_UPDATE;
                        }
                        case MASTER_FLOATS -> {
                            if (!master) {
                                assertRefused(IllegalStateException.class, "this optimizer keeps no fp32 master weights",
                                        () -> m.loadMaster(f32));
                                refused(family);   // a state error, named as such
                                return;
                            }
                            argument = "floats";
                            MemorySegment floats = switch (Math.floorMod(number, 5)) {
                                case 0 -> null;
                                case 1 -> closedSegment(n * 4);
                                case 2 -> spare.asSlice(1 + r.nextInt(3), n * 4);
                                case 3 -> params;   // n 16-bit values: half the bytes
                                default -> spare.asSlice(0, 4 * n + 4 * (1 + r.nextInt(2)));
                            };
                            type = floats == null ? NullPointerException.class : type;
                            special = () -> m.loadMaster(floats);
                        }
                        case STEPS -> {
                            argument = "steps";
                            long steps = number < 0 ? number : -1 - number % Long.MAX_VALUE;
                            also = new String[] {String.valueOf(steps)};
                            special = () -> m.restore(steps, null, (name, s) -> s.fill((byte) 3));
                        }
                        case FILL -> {
                            argument = "fill";
                            type = NullPointerException.class;
                            special = () -> m.restore(r.nextLong(10), m.scaler().state(), null);
                        }
                        case SCALER_STATE -> {
                            DynamicLossScaler.State good = m.scaler().state();
                            int which = r.nextInt(3);
                            DynamicLossScaler.State bad3 = switch (which) {
                                case 0 -> new DynamicLossScaler.State(badScale(number), good.goodSteps(), good.hysteresisLeft());
                                case 1 -> new DynamicLossScaler.State(good.scale(),
                                        number < 0 ? (int) Math.max(number, Integer.MIN_VALUE) : 5 + (int) (number % 1000),
                                        good.hysteresisLeft());
                                default -> new DynamicLossScaler.State(good.scale(), good.goodSteps(),
                                        number < 0 ? (int) Math.max(number, Integer.MIN_VALUE) : 2 + (int) (number % 1000));
                            };
                            argument = List.of("state.scale", "state.goodSteps", "state.hysteresisLeft").get(which);
                            special = () -> m.restore(r.nextLong(10), bad3, (name, s) -> s.fill((byte) 3));
                        }
                        default -> throw new AssertionError(bad);
                    }
                    List<MemorySegment> watched = live(params, grads, spare, p, g, f32);
                    double[] sums = callKind == MixedCall.CHECK_GRADIENTS ? blockSums : null;
                    MixedSnapshot before = MixedSnapshot.of(m, watched, sums);
                    MemorySegment fp = p, fg = g;
                    Executor fe = executor;
                    int fpar = parallelism;
                    float fscale = scale, fclip = clip;
                    double[] fsums = blockSums;
                    MixedCall fcall = callKind;
                    Executable call = special != null ? special : () -> {
                        switch (fcall) {
                            case STEP -> m.step(fp, fg);
                            case STEP_PARALLEL -> m.step(fp, fg, fe, fpar);
                            case CHECK_GRADIENTS -> m.checkGradients(fg, fscale, fsums, fe, fpar);
                            case APPLY_UPDATE -> m.applyUpdate(fp, fg, fscale, fclip, fe, fpar);
                            case LOAD_MASTER_FROM_HALF -> m.loadMasterFromHalf(fp);
                            case WRITE_PARAMS -> m.writeParams(fp);
                        }
                    };
                    String what = bad + (special == null ? " in " + callKind : "");
                    assertRefused(type, argument, call, also);
                    before.assertSame(what, MixedSnapshot.of(m, watched, sums));
                    refused(family);
                } finally {
                    inner.close();
                }
            }));
    }

    /** A bad 16-bit buffer of the kind {@code bad} asks for, in place of {@code good} ({@code n} values). */
    private static MemorySegment badSixteen(MixedBad bad, MemorySegment good, MemorySegment spare, long n, long number) {
        return switch (bad) {
            case PARAMS_NULL, GRADS_NULL -> null;
            case PARAMS_SIZE, GRADS_SIZE -> {
                long bytes = Math.floorMod(number, 2 * n + 3);
                yield spare.asSlice(0, bytes == 2 * n ? bytes + 2 : bytes);
            }
            case PARAMS_FLOATS, GRADS_FLOATS -> spare.asSlice(0, 4 * n);   // n floats where n 16-bit values belong
            case PARAMS_ODD, GRADS_ODD -> spare.asSlice(1 + 2 * Math.floorMod(number, 3), 2 * n);
            case PARAMS_READ_ONLY -> good.asReadOnly();
            case PARAMS_CLOSED, GRADS_CLOSED -> closedSegment(2 * n);
            default -> throw new AssertionError(bad);
        };
    }

    private static void encode(Precision precision, MemorySegment floats, MemorySegment halves) {
        if (precision == Precision.FP16) {
            Half.encode(floats, halves);
        } else {
            BFloat16.encode(floats, halves);
        }
    }
}
