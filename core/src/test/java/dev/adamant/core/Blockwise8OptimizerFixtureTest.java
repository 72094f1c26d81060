package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adamant.core.quant.QuantFixtures;
import java.io.ByteArrayInputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The 8-bit optimizers end to end, through the public API ({@code withStateFormat(BLOCKWISE_8BIT)}):
 * every bitsandbytes fixture ({@code bnb-8bit/*}: adam, adamw, lion, rmsprop, adagrad, momentum),
 * on both kernels, one step at a time and in one Team-split run. The final codes and absmax of every
 * state bit for bit; the parameters after every step bit for bit (Lion, momentum) or within the
 * per-case bounds of {@code quant.Bnb8FixtureTest}, whose javadoc derives them: the reference's
 * vectorized float sqrt is not correctly rounded near ties, ours is; the states do not depend on it.
 * The dequantized copy is checked against {@code qmap[code] * absmax} computed here from the fixture's
 * own tables.
 */
class Blockwise8OptimizerFixtureTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    static Stream<Arguments> cases() {
        Object[][] cases = {
            {"adam8-default", 3e-10},
            {"adamw8-partial-block", 2e-9},
            {"adamw8-steady-grads", 4e-9},
            {"lion8", 0.0},
            {"rmsprop8", 3.1e-8},
            {"adagrad8", 9e-9},
            {"momentum8", 0.0},
        };
        return Stream.of(cases).flatMap(c -> Stream.of(Implementation.values()).map(i -> Arguments.of(c[0], c[1], i)));
    }

    /** The case's optimizer as an 8-bit config, from its properties (bitsandbytes' names). */
    static OptimizerConfig config(Properties props) {
        double lr = Double.parseDouble(props.getProperty("lr"));
        double beta1 = Double.parseDouble(props.getProperty("beta1"));
        double beta2 = Double.parseDouble(props.getProperty("beta2"));
        double eps = Double.parseDouble(props.getProperty("eps"));
        double wd = Double.parseDouble(props.getProperty("weight_decay"));
        OptimizerConfig c = switch (props.getProperty("optimizer")) {
            case "adam" -> AdamConfig.adamW().withLr(lr).withBetas(beta1, beta2).withEps(eps).withWeightDecay(wd);
            case "lion" -> LionConfig.lion().withLr(lr).withBetas(beta1, beta2).withWeightDecay(wd);
            case "rmsprop" -> RmsPropConfig.rmsProp().withLr(lr).withAlpha(beta1).withEps(eps).withWeightDecay(wd);
            case "adagrad" -> AdagradConfig.adagrad().withLr(lr).withEps(eps).withWeightDecay(wd);
            case "momentum" -> SgdConfig.sgd(lr).withMomentum(beta1).withWeightDecay(wd);
            default -> throw new AssertionError("unexpected optimizer " + props.getProperty("optimizer"));
        };
        return c.withStateFormat(StateFormat.BLOCKWISE_8BIT);
    }

    @ParameterizedTest(name = "{0} on {2}")
    @MethodSource("cases")
    void reproducesBitsandbytes(String name, double relativeBound, Implementation implementation) throws Exception {
        run(name, relativeBound, implementation, false);
    }

    @ParameterizedTest(name = "{0} on {2}, each step in pieces of 3 blocks, last first")
    @MethodSource("cases")
    void reproducesBitsandbytesInPieces(String name, double relativeBound, Implementation implementation)
            throws Exception {
        run(name, relativeBound, implementation, true);
    }

    private static void run(String name, double relativeBound, Implementation implementation, boolean inPieces)
            throws Exception {
        if (implementation == Implementation.PANAMA) {
            assumeTrue(Implementation.PANAMA.isAvailable(), "PANAMA is not available in this JVM");
        }
        String dir = "bnb-8bit/" + name + "/";
        Properties props = new Properties();
        props.load(new ByteArrayInputStream(QuantFixtures.resource(dir + "case.properties")));
        final int n = Integer.parseInt(props.getProperty("n")), steps = Integer.parseInt(props.getProperty("steps"));
        final int blocks = (n + 255) / 256;
        final boolean twoStates = props.getProperty("optimizer").equals("adam");
        float[] p0 = QuantFixtures.floats(dir + "params0.f32", n);
        float[] grads = QuantFixtures.floats(dir + "grads.f32", (long) steps * n);
        float[] expectedParams = QuantFixtures.floats(dir + "params.f32", (long) steps * n);
        double scale = 0;
        for (float x : p0) {
            scale = Math.max(scale, Math.abs(x));
        }
        final double bound = relativeBound * scale;
        OptimizerConfig config = config(props);
        try (Arena arena = Arena.ofShared();
             Optimizer opt = create(config, n, implementation)) {
            List<String> expectedNames = twoStates ? List.of("state1", "absmax1", "state2", "absmax2")
                    : List.of("state1", "absmax1");
            assertEquals(expectedNames, opt.stateNames());
            assertEquals(expectedNames, config.stateNames(n));
            MemorySegment p = arena.allocate((long) n * Float.BYTES, 64);
            MemorySegment g = arena.allocate((long) n * Float.BYTES, 64);
            MemorySegment.copy(p0, 0, p, F, 0, n);
            for (int t = 1; t <= steps; t++) {
                int row = (t - 1) * n;
                MemorySegment.copy(grads, row, g, F, 0, n);
                if (inPieces) {
                    try (Optimizer.Step step = opt.beginStep()) {
                        long piece = 3 * 256;
                        for (long from = (n - 1) / piece * piece; from >= 0; from -= piece) {
                            long len = Math.min(piece, n - from);
                            step.apply(p.asSlice(from * 4, len * 4), g.asSlice(from * 4, len * 4), from);
                        }
                    }
                } else {
                    opt.step(p, g);
                }
                for (int i = 0; i < n; i++) {
                    float e = expectedParams[row + i], got = p.getAtIndex(F, i);
                    int tt = t, ii = i;
                    if (bound == 0) {
                        assertEquals(Float.floatToRawIntBits(e), Float.floatToRawIntBits(got),
                                () -> "step " + tt + ", param " + ii + ": expected " + e + ", got " + got);
                    } else {
                        assertTrue(Math.abs((double) e - got) <= bound,
                                () -> "step " + tt + ", param " + ii + ": expected " + e + ", got " + got + ", bound "
                                        + bound);
                    }
                }
            }
            assertEquals(steps, opt.stepCount());
            assertState(dir, "1", opt, n, blocks, arena);
            if (twoStates) {
                assertState(dir, "2", opt, n, blocks, arena);
            }
        }
    }

    static Optimizer create(OptimizerConfig config, long n, Implementation implementation) {
        return Optimizers.createOn(config, n, implementation);
    }

    private static void assertState(String dir, String k, Optimizer opt, int n, int blocks, Arena arena) {
        byte[] expectedCodes = QuantFixtures.resource(dir + "state" + k + ".u8");
        float[] expectedAbsmax = QuantFixtures.floats(dir + "absmax" + k + ".f32", blocks);
        float[] table = QuantFixtures.floats("bnb-8bit/qmap-" + (k.equals("1") ? "signed" : "unsigned") + ".f32", 256);
        MemorySegment codes = opt.state("state" + k), absmax = opt.state("absmax" + k);
        assertEquals(n, codes.byteSize(), "state" + k + " bytes");
        assertEquals(blocks * 4L, absmax.byteSize(), "absmax" + k + " bytes");
        for (int b = 0; b < blocks; b++) {
            assertEquals(Float.floatToRawIntBits(expectedAbsmax[b]), Float.floatToRawIntBits(absmax.getAtIndex(F, b)),
                    "absmax" + k + "[" + b + "]");
        }
        MemorySegment dequantized = opt.dequantizedState("state" + k, arena);
        assertEquals(n * 4L, dequantized.byteSize());
        for (int i = 0; i < n; i++) {
            int code = expectedCodes[i] & 0xFF;
            assertEquals(code, codes.get(ValueLayout.JAVA_BYTE, i) & 0xFF, "state" + k + "[" + i + "]");
            float value = table[code] * expectedAbsmax[i / 256];
            assertEquals(Float.floatToRawIntBits(value), Float.floatToRawIntBits(dequantized.getAtIndex(F, i)),
                    "dequantized state" + k + "[" + i + "]");
        }
    }
}
