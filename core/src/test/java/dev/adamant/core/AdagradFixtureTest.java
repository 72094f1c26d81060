package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Adagrad against trajectories recorded from PyTorch 2.11 ({@code torch.optim.Adagrad},
 * single-tensor, CPU, float32), in {@code src/test/resources/torch2-optim/adagrad-*} (a copy of
 * {@code shared/fixtures/torch2-optim}). Each case runs on the JVM-wide kernels and on each
 * implementation by name, as one tensor and as a multi-tensor optimizer of two tensors (whose owned
 * {@code sum} must start at the initial accumulator value too).
 *
 * <p>The kernels follow PyTorch's order of operations ({@link dev.adamant.core.kernel.AdagradStep}).
 * Every parameter after every step must lie within {@code 1e-6 * median|params0|} of PyTorch's (the
 * tolerance of {@link TorchFixtureTest}), and the final {@code sum} must match bit for bit.
 * {@code adagrad-default} must match bit for bit everywhere. {@code adagrad-decay-init} (weight
 * decay, lr decay, initial accumulator 0.1, eps 1e-8) does too but for 9 of its 25,775 parameter
 * values, each 1 ulp off, while its {@code sum} is exact: with the sums equal the difference is in
 * the last operation, {@code p + (-clr * g) / std}. A float32 replay of PyTorch's documented
 * operations (numpy, fed PyTorch's own parameters step by step) leaves the same 9, and no variant
 * tried removes them without adding hundreds ({@code -clr} one ulp either way, the division before
 * the multiplication, an FMA in the addition, the whole update in double, the weight decay without
 * FMA). Run on its own trajectory, those differences carry on to 81 values, at most 2 ulp off (and
 * the final {@code sum} still exact). So that case is held to the tolerance and to at most
 * {@link #DECAY_INIT_MAX_ULPS} ulp, and the number of inexact values is printed.
 */
class AdagradFixtureTest {
    private static final String DIR = "torch2-optim/";
    private static final List<String> CASES = List.of("adagrad-default", "adagrad-decay-init");
    /** adagrad-decay-init's largest distance from PyTorch (measured: 2 ulp, on 81 values). */
    private static final double DECAY_INIT_MAX_ULPS = 2;

    static Stream<Arguments> cases() {
        return CASES.stream().flatMap(c -> Stream.of(Fixtures.Kernels.values()).flatMap(
                k -> Stream.of(Arguments.of(c, k, false), Arguments.of(c, k, true))));
    }

    /** The case's config; every key of its properties must be used. */
    static AdagradConfig config(String name, Properties p) {
        Set<String> unknown = new TreeSet<>(p.stringPropertyNames());
        unknown.removeAll(Set.of("optimizer", "n", "shape", "steps", "differentiable", "eps", "foreach", "fused",
                "initial_accumulator_value", "lr", "lr_decay", "maximize", "weight_decay", "files"));
        assertEquals(Set.of(), unknown, name + ": keys this test does not map");
        assertEquals("adagrad", p.getProperty("optimizer"), name);
        assertEquals("false", p.getProperty("differentiable"), name);
        assertEquals("false", p.getProperty("foreach"), name);
        assertEquals("None", p.getProperty("fused"), name);
        return AdagradConfig.adagrad().withLr(num(p, "lr")).withLrDecay(num(p, "lr_decay"))
                .withWeightDecay(num(p, "weight_decay")).withEps(num(p, "eps"))
                .withInitialAccumulatorValue(num(p, "initial_accumulator_value"))
                .withMaximize(Boolean.parseBoolean(p.getProperty("maximize").toLowerCase(Locale.ROOT)));
    }

    private static double num(Properties p, String key) {
        return Double.parseDouble(p.getProperty(key).trim());
    }

    @ParameterizedTest(name = "{0} on {1}, multi-tensor {2}")
    @MethodSource("cases")
    void matchesPyTorchBitForBit(String name, Fixtures.Kernels kernels, boolean multiTensor) {
        kernels.assumeAvailable();
        Properties p = new Properties();
        try {
            p.load(new StringReader(new String(Fixtures.resource(DIR + name + "/case.properties"),
                    StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int n = Integer.parseInt(p.getProperty("n")), steps = Integer.parseInt(p.getProperty("steps"));
        AdagradConfig config = config(name, p);
        float[] params0 = Fixtures.floats(DIR + name + "/params0.f32", n);
        float[] grads = Fixtures.floats(DIR + name + "/grads.f32", (long) steps * n);
        float[] expected = Fixtures.floats(DIR + name + "/params.f32", (long) steps * n);
        float[] expectedSum = Fixtures.floats(DIR + name + "/sum.f32", n);
        double tolerance = 1e-6 * Fixtures.medianAbs(params0);
        int split = n / 3;   // two tensors: [0, split) and [split, n)
        boolean exact = name.equals("adagrad-default");
        int[] inexact = new int[1];
        double[] maxUlps = new double[1];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = Fixtures.copyOf(arena, params0);
            MemorySegment g = Fixtures.copyOf(arena, new float[n]);
            float[] sum;
            if (multiTensor) {
                try (MultiTensorOptimizer opt = Optimizers.multiTensor(
                        List.of(ParamGroup.of(config, split, n - split)), kernels.implementation())) {
                    List<MemorySegment> ps = List.of(params.asSlice(0, split * 4L), params.asSlice(split * 4L));
                    List<MemorySegment> gs = List.of(g.asSlice(0, split * 4L), g.asSlice(split * 4L));
                    for (int t = 0; t < steps; t++) {
                        Fixtures.fill(g, grads, t * n, n);
                        opt.step(ps, gs);
                        check(name, kernels, t, Fixtures.toArray(params), expected, n, tolerance, exact, inexact, maxUlps);
                    }
                    List<Float> all = new ArrayList<>();
                    for (int k = 0; k < 2; k++) {
                        for (float v : Fixtures.toArray(opt.state(k, "sum"))) {
                            all.add(v);
                        }
                    }
                    sum = new float[n];
                    for (int i = 0; i < n; i++) {
                        sum[i] = all.get(i);
                    }
                }
            } else {
                try (Optimizer opt = kernels.create(config, n)) {
                    assertEquals(List.of("sum"), opt.stateNames());
                    for (int t = 0; t < steps; t++) {
                        Fixtures.fill(g, grads, t * n, n);
                        opt.step(params, g);
                        check(name, kernels, t, Fixtures.toArray(params), expected, n, tolerance, exact, inexact, maxUlps);
                    }
                    sum = Fixtures.toArray(opt.state("sum"));
                }
            }
            System.out.printf(Locale.ROOT, "torch2-optim %-20s %-14s multi-tensor %-5s params: %d of %d inexact,"
                    + " max %.0f ulp; sum exact%n", name, kernels, multiTensor, inexact[0], steps * n, maxUlps[0]);
            for (int i = 0; i < n; i++) {
                if (Float.floatToRawIntBits(sum[i]) != Float.floatToRawIntBits(expectedSum[i])) {
                    fail(name + " on " + kernels + ": sum[" + i + "]: expected " + expectedSum[i] + " (PyTorch), got "
                            + sum[i] + " (" + Fixtures.ulps(sum[i], expectedSum[i]) + " ulp)");
                }
            }
        }
    }

    private static void check(String name, Fixtures.Kernels kernels, int t, float[] got, float[] expected, int n,
                              double tolerance, boolean exact, int[] inexact, double[] maxUlps) {
        for (int i = 0; i < n; i++) {
            float e = expected[t * n + i];
            double err = Math.abs((double) got[i] - e), ulps = Fixtures.ulps(got[i], e);
            if (ulps > 0) {
                inexact[0]++;
                maxUlps[0] = Math.max(maxUlps[0], ulps);
            }
            if (!(err <= tolerance) || (exact && ulps > 0) || ulps > DECAY_INIT_MAX_ULPS) {
                fail(String.format(Locale.ROOT, "%s on %s: params after step %d, index %d: expected %s (PyTorch),"
                        + " got %s; error %.3e (tolerance %.3e), %.1f ulp%s", name, kernels, t + 1, i, e, got[i], err,
                        tolerance, ulps, exact ? ": expected bit for bit" : ""));
            }
        }
    }
}
