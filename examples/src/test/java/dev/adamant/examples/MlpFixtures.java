package dev.adamant.examples;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.adamant.examples.kernel.DenseKernel;
import dev.adamant.examples.kernel.DenseKernels;
import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Shared test helpers. Buffers that reach the kernels are native (from an arena), never heap: heap
 * segments would make C2's segment-type profiles polymorphic for the rest of the JVM's tests.
 */
final class MlpFixtures {
    private MlpFixtures() {}

    /** Both kernel implementations where the Vector API is present, else scalar alone. */
    static List<DenseKernel> kernels() {
        List<DenseKernel> list = new ArrayList<>();
        list.add(DenseKernels.scalar());
        if (DenseKernels.panamaOrNull() != null) {
            list.add(DenseKernels.panamaOrNull());
        }
        return list;
    }

    static MemorySegment floats(Arena arena, float[] values) {
        MemorySegment s = arena.allocate((long) values.length * Float.BYTES, 64);
        MemorySegment.copy(values, 0, s, JAVA_FLOAT, 0, values.length);
        return s;
    }

    static float[] toFloats(MemorySegment s) {
        return s.toArray(JAVA_FLOAT);
    }

    static short[] toShorts(MemorySegment s) {
        return s.toArray(JAVA_SHORT);
    }

    static float widen(Precision p, short h) {
        return p == Precision.FP16 ? Half.toFloat(h) : BFloat16.toFloat(h);
    }

    static short narrow(Precision p, float f) {
        return p == Precision.FP16 ? Half.fromFloat(f) : BFloat16.fromFloat(f);
    }

    /** The spacing of 16-bit values of {@code p} around the (finite) value {@code v}. */
    static double ulp16(Precision p, float v) {
        return p == Precision.FP16 ? Math.max(Math.ulp(v) * 0x1p13, 0x1p-24) : Math.max(Math.ulp(v) * 0x1p16, 0x1p-133);
    }

    static float[] normals(SplittableRandom r, int n, double scale) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (scale * gaussian(r));
        }
        return f;
    }

    static double gaussian(SplittableRandom r) {
        double u = 1 - r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** A problem: 16-bit parameters (with non-zero biases), inputs and targets, all deterministic in {@code seed}. */
    static final class Problem {
        final int[] widths;
        final Precision precision;
        final int batch;
        final short[] params16;
        final double[] params;       // the 16-bit values, widened exactly
        final float[] inputs, targets;

        Problem(int[] widths, Precision precision, int batch, long seed) {
            this.widths = widths.clone();
            this.precision = precision;
            this.batch = batch;
            SplittableRandom r = new SplittableRandom(seed);
            int n = (int) Mlp.parameters(widths);
            params16 = new short[n];
            params = new double[n];
            int o = 0;
            for (int l = 0; l + 1 < widths.length; l++) {
                int in = widths[l], out = widths[l + 1];
                double bound = Math.sqrt(6.0 / in);
                for (int j = 0; j < out * in + out; j++, o++) {
                    double scale = j < out * in ? bound : 0.3;
                    params16[o] = narrow(precision, (float) (scale * (2 * r.nextDouble() - 1)));
                    params[o] = widen(precision, params16[o]);
                }
            }
            inputs = normals(r, batch * widths[0], 1);
            targets = normals(r, batch * widths[widths.length - 1], 1);
        }

        /** Rows {@code [from, from + rows)} of this problem as a new problem with the same parameters. */
        Problem rows(int from, int rows) {
            return new Problem(this, from, rows);
        }

        private Problem(Problem p, int from, int rows) {
            widths = p.widths;
            precision = p.precision;
            batch = rows;
            params16 = p.params16;
            params = p.params;
            int in = widths[0], out = widths[widths.length - 1];
            inputs = java.util.Arrays.copyOfRange(p.inputs, from * in, (from + rows) * in);
            targets = java.util.Arrays.copyOfRange(p.targets, from * out, (from + rows) * out);
        }

        double[][] x() {
            return rows2d(inputs, widths[0]);
        }

        double[][] t() {
            return rows2d(targets, widths[widths.length - 1]);
        }

        private double[][] rows2d(float[] flat, int width) {
            double[][] d = new double[batch][width];
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < width; i++) {
                    d[b][i] = flat[b * width + i];
                }
            }
            return d;
        }
    }

    /** What one pass of a model gives: the loss and, per layer, the 16-bit and fp32 gradients. */
    record Pass(float loss, short[][] grads16, float[][] grads32, float[] output) {}

    /**
     * Loads {@code problem} into {@code model}, runs every forward and every backward, and collects
     * the results. The parameter and gradient buffers are native, one per layer.
     */
    static Pass run(Mlp model, Problem problem, float lossScale, int globalBatch) {
        // A shared arena, as the models use: confined sessions reaching the same JDK accessors have
        // sent C2 into deoptimization loops (see Teacher).
        try (Arena arena = Arena.ofShared()) {
            int layers = model.layers();
            MemorySegment[] params = new MemorySegment[layers];
            MemorySegment[] grads = new MemorySegment[layers];
            for (int l = 0; l < layers; l++) {
                long n = model.layerParameters(l);
                params[l] = arena.allocate(n * 2, 64);
                MemorySegment.copy(problem.params16, (int) model.layerOffset(l), params[l], JAVA_SHORT, 0, (int) n);
                grads[l] = arena.allocate(n * 2, 64);
            }
            model.loadBatch(floats(arena, problem.inputs), floats(arena, problem.targets));
            for (int l = 0; l < layers; l++) {
                model.forward(l, params[l]);
            }
            float loss = model.loss();
            float[] output = model.lastOutput();
            short[][] g16 = new short[layers][];
            float[][] g32 = new float[layers][];
            for (int l = layers - 1; l >= 0; l--) {
                model.backward(l, params[l], grads[l], lossScale, globalBatch);
                g16[l] = toShorts(grads[l]);
                g32[l] = model.lastGradientFp32(l);
            }
            return new Pass(loss, g16, g32, output);
        }
    }
}
