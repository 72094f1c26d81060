package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every optimizer against trajectories recorded from PyTorch 1.13 ({@code torch.optim}, single-tensor,
 * CPU, float32), in {@code src/test/resources/torch-optim/} (a copy of {@code shared/fixtures}, listed
 * in {@code cases.txt}). Each case runs on the JVM-wide kernels and on each implementation by name.
 *
 * <p>After every step the parameters must match within {@code 1e-6 * median|params0|}, and at the end
 * every state buffer PyTorch kept must match within {@code 1e-6} of its own magnitude. The largest
 * error in ulps is printed per case. Because the kernels round exactly as PyTorch's CPU kernels do
 * (its {@code add_(x, alpha)} and {@code addcmul_} are compiled to fused multiply-adds), every case is
 * also required to match bit for bit ({@link #EXACT}): a change of operation order fails here even
 * where it would stay inside the tolerance.
 */
class TorchFixtureTest {
    private static final String DIR = "torch-optim/";
    private static final double RELATIVE_TOLERANCE = 1e-6;
    /** The kernels follow PyTorch 1.13's roundings exactly: 0 ulp on every fixture. */
    private static final boolean EXACT = true;
    /** Every state name PyTorch's Adam, SGD and RMSprop keep (other than {@code step}). */
    private static final List<String> TORCH_STATE = List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq",
            "momentum_buffer", "square_avg", "grad_avg");

    /** One recorded run: its hyper-parameters, the gradients fed, the parameters after each step, the final state. */
    record TorchCase(String name, Properties properties, int n, int steps, float[] params0, float[] grads,
                     float[] params, Map<String, float[]> state) {

        static TorchCase load(String name) {
            Properties p = new Properties();
            try {
                p.load(new StringReader(new String(Fixtures.resource(DIR + name + "/case.properties"),
                        StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            int n = Integer.parseInt(p.getProperty("n"));
            int steps = Integer.parseInt(p.getProperty("steps"));
            Map<String, float[]> state = new LinkedHashMap<>();
            for (String s : TORCH_STATE) {
                String file = DIR + name + "/" + s + ".f32";
                if (Fixtures.hasResource(file)) {
                    state.put(s, Fixtures.floats(file, n));
                }
            }
            return new TorchCase(name, p, n, steps, Fixtures.floats(DIR + name + "/params0.f32", n),
                    Fixtures.floats(DIR + name + "/grads.f32", (long) steps * n),
                    Fixtures.floats(DIR + name + "/params.f32", (long) steps * n), state);
        }
    }

    static List<String> caseNames() {
        return Fixtures.lines(DIR + "cases.txt");
    }

    static Stream<Arguments> cases() {
        return caseNames().stream().flatMap(c -> Stream.of(Fixtures.Kernels.values()).map(k -> Arguments.of(c, k)));
    }

    /** Max errors seen, for the printed summary. */
    private static final class Errors {
        double ulps, scaled;
        String where = "-";

        void see(float actual, float expected, double scale, String at) {
            double u = Fixtures.ulps(actual, expected);
            if (u > ulps) {
                ulps = u;
                where = at;
            }
            scaled = Math.max(scaled, Math.abs((double) actual - expected) / scale);
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void matchesPyTorch(String name, Fixtures.Kernels kernels) {
        kernels.assumeAvailable();
        TorchCase c = TorchCase.load(name);
        LongFunction<Optimizer> factory = factory(c, kernels);
        // The tolerance is absolute, at the parameters' typical magnitude: a relative one per element
        // would blow up for the few parameters that pass near zero.
        double paramScale = Fixtures.medianAbs(c.params0());
        double paramTol = RELATIVE_TOLERANCE * paramScale;
        Errors paramErr = new Errors(), stateErr = new Errors();
        try (Arena arena = Arena.ofConfined(); Optimizer opt = factory.apply(c.n())) {
            assertEquals(c.state().keySet(), Set.copyOf(opt.stateNames()), name + ": state buffers kept");
            MemorySegment params = Fixtures.copyOf(arena, c.params0());
            MemorySegment grads = Fixtures.copyOf(arena, new float[c.n()]);
            for (int t = 0; t < c.steps(); t++) {
                Fixtures.fill(grads, c.grads(), t * c.n(), c.n());
                opt.step(params, grads);
                float[] got = Fixtures.toArray(params);
                for (int i = 0; i < c.n(); i++) {
                    float expected = c.params()[t * c.n() + i];
                    check(name, kernels, "params after step " + (t + 1), i, got[i], expected, paramTol);
                    paramErr.see(got[i], expected, paramScale, "step " + (t + 1) + " [" + i + "]");
                }
            }
            for (var e : c.state().entrySet()) {
                float[] expected = e.getValue();
                // Each element within 1e-6 of max(|its expected value|, the buffer's median magnitude):
                // relative for the large entries, because squared buffers are heavy-tailed (exp_avg_sq
                // ~ g^2 has entries ten times its median, and 1e-6 of the median is under 1 ulp of
                // those); absolute at the buffer's own typical magnitude (not the parameters': its units
                // are g or g^2) for entries near zero, where a relative tolerance would blow up. A median
                // of 0 means a mostly-zero buffer: its largest entry sets the floor, and an all-zero
                // buffer must come back exactly zero.
                double median = Fixtures.medianAbs(expected);
                double floor = median > 0 ? median : maxAbs(expected);
                float[] got = Fixtures.toArray(opt.state(e.getKey()));
                for (int i = 0; i < c.n(); i++) {
                    double scale = Math.max(Math.abs(expected[i]), floor);
                    check(name, kernels, e.getKey(), i, got[i], expected[i], RELATIVE_TOLERANCE * scale);
                    stateErr.see(got[i], expected[i], scale == 0 ? 1 : scale, e.getKey() + " [" + i + "]");
                }
            }
        }
        System.out.printf(Locale.ROOT, "torch-optim %-22s %-14s params: max %5.2f ulp (%s), %.2e x scale;"
                        + " state: max %5.2f ulp (%s), %.2e x scale%n", name, kernels, paramErr.ulps, paramErr.where,
                paramErr.scaled, stateErr.ulps, stateErr.where, stateErr.scaled);
        if (EXACT && (paramErr.ulps > 0 || stateErr.ulps > 0)) {
            fail(String.format(Locale.ROOT, "%s on %s: expected a bit-exact match with PyTorch, got %.0f ulp on"
                    + " params (%s), %.0f ulp on state (%s)", name, kernels, paramErr.ulps, paramErr.where,
                    stateErr.ulps, stateErr.where));
        }
    }

    private static void check(String name, Fixtures.Kernels kernels, String what, int i, float actual,
                              float expected, double tolerance) {
        double err = Math.abs((double) actual - expected);
        if (!(err <= tolerance)) {
            fail(String.format(Locale.ROOT, "%s on %s: %s, index %d: expected %s (PyTorch), got %s; error %.3e"
                            + " > tolerance %.3e (%.1f ulp)", name, kernels, what, i, expected, actual, err, tolerance,
                    Fixtures.ulps(actual, expected)));
        }
    }

    private static float maxAbs(float[] values) {
        float m = 0;
        for (float v : values) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /**
     * The optimizer a case describes, from its PyTorch hyper-parameters. Every key must be used:
     * one this test does not know fails it, so nothing in a fixture is silently ignored.
     */
    static LongFunction<Optimizer> factory(TorchCase c, Fixtures.Kernels kernels) {
        Keys k = new Keys(c.name(), c.properties());
        k.integer("n");
        k.integer("steps");
        k.string("files"); // a description of the data files
        String optimizer = k.string("optimizer");
        LongFunction<Optimizer> f = switch (optimizer) {
            case "adam", "adamw" -> {
                AdamConfig cfg = (optimizer.equals("adam") ? AdamConfig.adam() : AdamConfig.adamW())
                        .withLr(k.number("lr")).withBetas(k.number("beta1"), k.number("beta2"))
                        .withEps(k.number("eps")).withWeightDecay(k.number("weight_decay"))
                        .withAmsgrad(k.bool("amsgrad")).withMaximize(k.bool("maximize"));
                yield n -> kernels.create(cfg, n);
            }
            case "sgd" -> {
                SgdConfig cfg = SgdConfig.sgd(k.number("lr")).withMomentum(k.number("momentum"))
                        .withDampening(k.number("dampening")).withNesterov(k.bool("nesterov"))
                        .withWeightDecay(k.number("weight_decay")).withMaximize(k.bool("maximize"));
                yield n -> kernels.create(cfg, n);
            }
            case "rmsprop" -> {
                RmsPropConfig cfg = RmsPropConfig.rmsProp().withLr(k.number("lr")).withAlpha(k.number("alpha"))
                        .withEps(k.number("eps")).withWeightDecay(k.number("weight_decay"))
                        .withMomentum(k.number("momentum")).withCentered(k.bool("centered"))
                        .withMaximize(k.bool("maximize"));
                yield n -> kernels.create(cfg, n);
            }
            default -> throw new AssertionError(c.name() + ": optimizer: expected adam, adamw, sgd or rmsprop, got \""
                    + optimizer + "\"");
        };
        k.checkAllUsed();
        return f;
    }

    /** A case's properties, read strictly, remembering which keys were used. */
    private static final class Keys {
        private final String caseName;
        private final Properties properties;
        private final Set<String> used = new HashSet<>();

        Keys(String caseName, Properties properties) {
            this.caseName = caseName;
            this.properties = properties;
        }

        String string(String key) {
            String v = properties.getProperty(key);
            if (v == null) {
                throw new AssertionError(caseName + ": case.properties has no \"" + key + "\"");
            }
            used.add(key);
            return v.trim();
        }

        double number(String key) {
            return Double.parseDouble(string(key));
        }

        int integer(String key) {
            return Integer.parseInt(string(key));
        }

        boolean bool(String key) {
            String v = string(key);
            return switch (v) {
                case "true", "True" -> true;
                case "false", "False" -> false;
                default -> throw new AssertionError(caseName + ": " + key + ": expected true or false, got \"" + v + "\"");
            };
        }

        void checkAllUsed() {
            Set<String> unknown = new TreeSet<>(properties.stringPropertyNames());
            unknown.removeAll(used);
            if (!unknown.isEmpty()) {
                throw new AssertionError(caseName + ": case.properties has keys this test does not map: " + unknown);
            }
        }
    }

    /** The fixture list and the folder agree, and every case names an optimizer this test knows. */
    @Test
    void everyCaseIsListedAndReadable() {
        List<String> names = caseNames();
        assertEquals(11, names.size(), "cases in torch-optim/cases.txt: " + names);
        assertEquals(names.size(), new HashSet<>(names).size(), "duplicate case names: " + names);
        for (String name : names) {
            factory(TorchCase.load(name), Fixtures.Kernels.SCALAR); // throws on an unknown key
        }
    }

    /** An unknown key fails loudly instead of being ignored. */
    @Test
    void unknownKeyFails() {
        TorchCase c = TorchCase.load("sgd-plain");
        Properties p = new Properties();
        p.putAll(c.properties());
        p.setProperty("foreach", "false");
        TorchCase altered = new TorchCase(c.name(), p, c.n(), c.steps(), c.params0(), c.grads(), c.params(),
                c.state());
        AssertionError e = assertThrows(AssertionError.class, () -> factory(altered, Fixtures.Kernels.SCALAR));
        assertEquals("sgd-plain: case.properties has keys this test does not map: [foreach]", e.getMessage());
    }
}
