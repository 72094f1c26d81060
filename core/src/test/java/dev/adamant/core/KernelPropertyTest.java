package dev.adamant.core;

import static dev.adamant.core.TestData.assertSameBits;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.adamant.core.kernel.KernelProvider;
import dev.adamant.core.kernel.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * Each vector kernel against its scalar twin, bit for bit: random hyper-parameters, step numbers and
 * gradient factors, sizes 0 to 5000 (and the awkward ones), random element offsets into larger
 * segments, segment bases shifted off the cache line, and every mode: a step, an update into a
 * buffer of its own, the same without parameters (read as zeros), an update into the gradients.
 * Floats outside the slice must be left alone, and in update mode the parameters all of them.
 */
class KernelPropertyTest {
    private static final int EXAMPLES = 300;
    /** Sizes around the vector width and prime sizes that leave every tail length. */
    private static final List<Integer> AWKWARD = List.of(0, 1, 15, 16, 17, 31, 33, 1021, 4099);

    private static KernelProvider panama;
    private static final KernelProvider SCALAR = Kernels.scalar();

    @BeforeAll
    static void panama() {
        panama = Kernels.panamaOrNull();
    }

    /** n: 0 to 5000, often an awkward size. */
    private static Gen<Integer> sizes() {
        return Generate.range(0, 5000).mix(Generate.pick(AWKWARD), 40);
    }

    /** A slice of {@code n} floats at {@code from} inside buffers whose base is shifted by {@code shift} floats. */
    record Slice(int n, int from, int shift, long seed) {
        int length() {
            return from + n + 13;
        }
    }

    private static Gen<Slice> slices() {
        return sizes().zip(Generate.range(0, 40), Generate.range(0, 15), Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE),
                Slice::new);
    }

    /** A kernel call on both implementations' copies of the same buffers. */
    interface Call {
        void run(KernelProvider kernels, MemorySegment[] buffers, long from, long count);
    }

    /** The kernel's modes; see the class comment. */
    enum Mode {
        STEP, UPDATE, UPDATE_WITHOUT_PARAMS, UPDATE_INTO_GRADS;

        static Mode pick(SplittableRandom r) {
            return values()[r.nextInt(values().length)];
        }

        /** The param argument: buffer 0, or null without parameters. */
        MemorySegment param(MemorySegment[] b) {
            return this == UPDATE_WITHOUT_PARAMS ? null : b[0];
        }

        /** The update argument: none for a step, the gradients (buffer 1), or buffer {@code own}. */
        MemorySegment update(MemorySegment[] b, int own) {
            return switch (this) {
                case STEP -> null;
                case UPDATE_INTO_GRADS -> b[1];
                default -> b[own];
            };
        }
    }

    /** A gradient factor: 1, or a random scale, negated with maximize. */
    private static float gradFactor(SplittableRandom r, boolean maximize) {
        float scale = r.nextBoolean() ? 1f : (float) (1e-3 + 4 * r.nextDouble());
        return maximize ? -scale : scale;
    }

    /** {@code in} with one more buffer of {@code length} random floats at the end, for an update of its own. */
    private static float[][] withUpdateBuffer(SplittableRandom r, float[][] in) {
        float[][] out = java.util.Arrays.copyOf(in, in.length + 1);
        out[in.length] = TestData.randomFloats(r, in[0].length, 1f, false);
        return out;
    }

    /** Runs {@code call} on copies of {@code inputs} with each implementation and compares every buffer. */
    private static void compare(Slice slice, float[][] inputs, Call call) {
        compare(slice, inputs, Mode.STEP, call);
    }

    /**
     * {@link #compare(Slice, float[][], Call)}, and in an update {@code mode} the parameters (buffer 0)
     * must be left alone.
     */
    private static void compare(Slice slice, float[][] inputs, Mode mode, Call call) {
        float[][][] results = new float[2][][];
        KernelProvider[] providers = {panama, SCALAR};
        for (int k = 0; k < 2; k++) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment[] segs = new MemorySegment[inputs.length];
                for (int b = 0; b < inputs.length; b++) {
                    if (inputs[b] == null) {
                        continue;
                    }
                    long bytes = (long) (inputs[b].length + slice.shift()) * Float.BYTES;
                    MemorySegment whole = arena.allocate(bytes, 64);
                    segs[b] = whole.asSlice((long) slice.shift() * Float.BYTES, (long) inputs[b].length * Float.BYTES);
                    MemorySegment.copy(inputs[b], 0, segs[b], TestData.F, 0, inputs[b].length);
                }
                call.run(providers[k], segs, slice.from(), slice.n());
                results[k] = new float[inputs.length][];
                for (int b = 0; b < inputs.length; b++) {
                    results[k][b] = segs[b] == null ? null : TestData.toArray(segs[b]);
                }
                if (mode != Mode.STEP) {
                    assertSameBits("params in " + mode + " (" + slice + ")", inputs[0], results[k][0]);
                }
            }
        }
        for (int b = 0; b < inputs.length; b++) {
            if (inputs[b] == null) {
                continue;
            }
            assertSameBits("buffer " + b + " (" + slice + ")", results[1][b], results[0][b]);
            for (int i = 0; i < inputs[b].length; i++) {
                boolean inside = i >= slice.from() && i < slice.from() + slice.n();
                if (!inside && Float.floatToRawIntBits(results[0][b][i]) != Float.floatToRawIntBits(inputs[b][i])) {
                    throw new AssertionError("buffer " + b + ": float " + i + " outside the slice was written (" + slice + ")");
                }
            }
        }
    }

    private static float[][] buffers(SplittableRandom r, int length, int moments, int squares) {
        float[][] in = new float[2 + moments + squares][];
        in[0] = TestData.randomFloats(r, length, 2f, true);
        in[1] = TestData.randomFloats(r, length, 1f, true);
        for (int i = 0; i < moments; i++) {
            in[2 + i] = TestData.randomFloats(r, length, 0.5f, false);
        }
        for (int i = 0; i < squares; i++) {
            in[2 + moments + i] = TestData.randomSquares(r, length, 1f);
        }
        return in;
    }

    private static long step(SplittableRandom r) {
        return switch (r.nextInt(4)) {
            case 0 -> 1;
            case 1 -> 2;
            default -> 1 + r.nextInt(100_000);
        };
    }

    private static double unit(SplittableRandom r) {
        return r.nextInt(8) == 0 ? 0 : r.nextDouble();
    }

    @Test
    void adamVectorEqualsScalar() {
        assumeTrue(panama != null, "no Panama kernels in this JVM");
        qt().withExamples(EXAMPLES).forAll(slices()).checkAssert(slice -> {
            SplittableRandom r = new SplittableRandom(slice.seed());
            AdamConfig c = (r.nextBoolean() ? AdamConfig.adam() : AdamConfig.adamW())
                    .withLr(r.nextDouble() * 0.1).withBetas(unit(r), unit(r))
                    .withEps(Math.pow(10, -12 + 10 * r.nextDouble()))
                    .withWeightDecay(r.nextBoolean() ? 0 : r.nextDouble() * 0.2)
                    .withAmsgrad(r.nextBoolean()).withMaximize(r.nextBoolean())
                    .withBiasCorrection(r.nextInt(4) != 0);
            var s = AdamRules.coefficients(c, step(r), gradFactor(r, c.maximize()));
            Mode mode = Mode.pick(r);
            // param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, update
            float[][] in = withUpdateBuffer(r, buffers(r, slice.length(), 1, 2));
            if (!c.amsgrad()) {
                in[4] = null;
            }
            compare(slice, in, mode, (k, b, from, n) -> k.adam().step(s, mode.param(b), b[1], mode.update(b, 5), b[2],
                    b[3], b[4], from, n));
        });
    }

    @Test
    void sgdVectorEqualsScalar() {
        assumeTrue(panama != null, "no Panama kernels in this JVM");
        qt().withExamples(EXAMPLES).forAll(slices()).checkAssert(slice -> {
            SplittableRandom r = new SplittableRandom(slice.seed());
            double momentum = r.nextInt(4) == 0 ? 0 : r.nextDouble();
            double dampening = r.nextBoolean() ? 0 : r.nextDouble();
            boolean textbook = momentum > 0 && r.nextInt(3) == 0;
            boolean nesterov = momentum > 0 && r.nextBoolean();
            if (nesterov || textbook) {
                dampening = 0;
            }
            SgdConfig c = SgdConfig.sgd(r.nextDouble() * 0.5).withMomentum(momentum).withDampening(dampening)
                    .withNesterov(nesterov).withBiasCorrection(textbook)
                    .withWeightDecay(r.nextBoolean() ? 0 : r.nextDouble() * 0.2).withMaximize(r.nextBoolean());
            c.checkConsistent();
            var s = SgdRules.coefficients(c, step(r), gradFactor(r, c.maximize()));
            Mode mode = Mode.pick(r);
            float[][] in = withUpdateBuffer(r, buffers(r, slice.length(), 1, 0));   // param, grad, momentum_buffer, update
            if (momentum == 0) {
                in[2] = null;
            }
            compare(slice, in, mode, (k, b, from, n) -> k.sgd().step(s, mode.param(b), b[1], mode.update(b, 3), b[2],
                    from, n));
        });
    }

    @Test
    void rmsPropVectorEqualsScalar() {
        assumeTrue(panama != null, "no Panama kernels in this JVM");
        qt().withExamples(EXAMPLES).forAll(slices()).checkAssert(slice -> {
            SplittableRandom r = new SplittableRandom(slice.seed());
            RmsPropConfig c = RmsPropConfig.rmsProp().withLr(r.nextDouble() * 0.1).withAlpha(unit(r))
                    .withEps(Math.pow(10, -12 + 10 * r.nextDouble()))
                    .withWeightDecay(r.nextBoolean() ? 0 : r.nextDouble() * 0.2)
                    .withMomentum(r.nextBoolean() ? 0 : r.nextDouble()).withCentered(r.nextBoolean())
                    .withMaximize(r.nextBoolean()).withBiasCorrection(r.nextInt(3) == 0);
            var s = RmsPropRules.coefficients(c, step(r), gradFactor(r, c.maximize()));
            Mode mode = Mode.pick(r);
            // param, grad, momentum_buffer, square_avg, then grad_avg kept small so the variance stays positive
            float[][] in = buffers(r, slice.length(), 1, 1);
            float[][] all = {in[0], in[1], in[3], TestData.randomFloats(r, slice.length(), 0.1f, false), in[2],
                    TestData.randomFloats(r, slice.length(), 1f, false)};
            if (!c.centered()) {
                all[3] = null;
            }
            if (c.momentum() == 0) {
                all[4] = null;
            }
            compare(slice, all, mode, (k, b, from, n) -> k.rmsProp().step(s, mode.param(b), b[1], mode.update(b, 5), b[2],
                    b[3], b[4], from, n));
        });
    }

    @Test
    void adagradVectorEqualsScalar() {
        assumeTrue(panama != null, "no Panama kernels in this JVM");
        qt().withExamples(EXAMPLES).forAll(slices()).checkAssert(slice -> {
            SplittableRandom r = new SplittableRandom(slice.seed());
            AdagradConfig c = AdagradConfig.adagrad().withLr(r.nextDouble() * 0.1)
                    .withLrDecay(r.nextBoolean() ? 0 : r.nextDouble() * 0.01)
                    .withEps(Math.pow(10, -12 + 10 * r.nextDouble()))
                    .withWeightDecay(r.nextBoolean() ? 0 : r.nextDouble() * 0.2).withMaximize(r.nextBoolean());
            var s = AdagradRules.coefficients(c, step(r), gradFactor(r, c.maximize()));
            Mode mode = Mode.pick(r);
            float[][] in = withUpdateBuffer(r, buffers(r, slice.length(), 0, 1));   // param, grad, sum, update
            compare(slice, in, mode, (k, b, from, n) -> k.adagrad().step(s, mode.param(b), b[1], mode.update(b, 3), b[2],
                    from, n));
        });
    }

    @Test
    void lionVectorEqualsScalar() {
        assumeTrue(panama != null, "no Panama kernels in this JVM");
        qt().withExamples(EXAMPLES).forAll(slices()).checkAssert(slice -> {
            SplittableRandom r = new SplittableRandom(slice.seed());
            LionConfig c = LionConfig.lion().withLr(r.nextDouble() * 0.01).withBetas(unit(r), unit(r))
                    .withWeightDecay(r.nextBoolean() ? 0 : r.nextDouble() * 0.2);
            var s = LionRules.coefficients(c, step(r), gradFactor(r, r.nextBoolean()));
            Mode mode = Mode.pick(r);
            float[][] in = withUpdateBuffer(r, buffers(r, slice.length(), 1, 0));   // param, grad, exp_avg, update
            // Zeros in both gradient and momentum, so the sign's argument is often exactly 0 (sign 0).
            for (int i = 0; i < in[1].length; i++) {
                if (r.nextInt(8) == 0) {
                    in[1][i] = r.nextBoolean() ? 0f : -0f;
                    in[2][i] = r.nextBoolean() ? 0f : -0f;
                }
            }
            compare(slice, in, mode, (k, b, from, n) -> k.lion().step(s, mode.param(b), b[1], mode.update(b, 3), b[2],
                    from, n));
        });
    }
}
