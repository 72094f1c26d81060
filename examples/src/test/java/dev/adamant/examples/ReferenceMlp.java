package dev.adamant.examples;

/**
 * An independent double-precision MLP: plain nested loops over {@code double[]}, written from the
 * formulas, sharing no code with {@link Mlp}. Parameters use Mlp's flat layout (per layer W row-major
 * {@code out x in}, then b). Besides the gradient it computes a magnitude bound: the same backward pass
 * run on absolute values, which bounds the sums that fp32 rounding errors scale with.
 */
final class ReferenceMlp {
    final int[] widths;
    final int layers;

    ReferenceMlp(int[] widths) {
        this.widths = widths.clone();
        this.layers = widths.length - 1;
    }

    long offset(int layer) {
        long o = 0;
        for (int l = 0; l < layer; l++) {
            o += (long) widths[l + 1] * widths[l] + widths[l + 1];
        }
        return o;
    }

    int parameters() {
        return (int) offset(layers);
    }

    /** Pre-activations z[l] (l = 1..L) and activations a[l] (a[0] = x, a[L] = z[L]), each [batch][width]. */
    double[][][] forward(double[] params, double[][] x, boolean absolute) {
        int batch = x.length;
        double[][][] a = new double[layers + 1][][];
        a[0] = new double[batch][];
        for (int b = 0; b < batch; b++) {
            a[0][b] = x[b].clone();
            if (absolute) {
                for (int i = 0; i < a[0][b].length; i++) {
                    a[0][b][i] = Math.abs(a[0][b][i]);
                }
            }
        }
        for (int l = 0; l < layers; l++) {
            int in = widths[l], out = widths[l + 1];
            int w = (int) offset(l), bias = w + out * in;
            a[l + 1] = new double[batch][out];
            for (int b = 0; b < batch; b++) {
                for (int o = 0; o < out; o++) {
                    double z = absolute ? Math.abs(params[bias + o]) : params[bias + o];
                    for (int i = 0; i < in; i++) {
                        double p = params[w + o * in + i];
                        z += (absolute ? Math.abs(p) : p) * a[l][b][i];
                    }
                    a[l + 1][b][o] = (l + 1 < layers && !absolute) ? Math.max(z, 0) : z;
                }
            }
        }
        return a;
    }

    /** {@code scale / (globalBatch * out) * sum (y - t)^2} over this batch. */
    double loss(double[] params, double[][] x, double[][] t, double scale, int globalBatch) {
        double[][] y = forward(params, x, false)[layers];
        double sum = 0;
        for (int b = 0; b < y.length; b++) {
            for (int o = 0; o < y[b].length; o++) {
                double d = y[b][o] - t[b][o];
                sum += d * d;
            }
        }
        return scale * sum / ((double) globalBatch * widths[layers]);
    }

    /**
     * The gradient of {@link #loss} with respect to every parameter, or (absolute) its magnitude
     * bound: every factor replaced by its absolute value, {@code |y - t|} by {@code |y| + |t|} computed
     * on absolute values, and ReLU's derivative by 1 wherever the exact activation is positive.
     */
    double[] gradient(double[] params, double[][] x, double[][] t, double scale, int globalBatch, boolean absolute) {
        int batch = x.length, outL = widths[layers];
        double[][][] a = forward(params, x, false);
        double[][][] abs = absolute ? forward(params, x, true) : null;
        double[] grad = new double[parameters()];
        double c = 2 * scale / ((double) globalBatch * outL);
        double[][] delta = new double[batch][outL];
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < outL; o++) {
                delta[b][o] = absolute ? c * (abs[layers][b][o] + Math.abs(t[b][o])) : c * (a[layers][b][o] - t[b][o]);
            }
        }
        for (int l = layers - 1; l >= 0; l--) {
            int in = widths[l], out = widths[l + 1];
            int w = (int) offset(l), bias = w + out * in;
            double[][] input = absolute ? abs[l] : a[l];
            for (int o = 0; o < out; o++) {
                double db = 0;
                for (int b = 0; b < batch; b++) {
                    db += delta[b][o];
                }
                grad[bias + o] = db;
                for (int i = 0; i < in; i++) {
                    double dw = 0;
                    for (int b = 0; b < batch; b++) {
                        dw += delta[b][o] * input[b][i];
                    }
                    grad[w + o * in + i] = dw;
                }
            }
            if (l > 0) {
                double[][] below = new double[batch][in];
                for (int b = 0; b < batch; b++) {
                    for (int i = 0; i < in; i++) {
                        if (!(a[l][b][i] > 0)) {
                            continue;                      // ReLU: no gradient where the activation is 0
                        }
                        double s = 0;
                        for (int o = 0; o < out; o++) {
                            double p = params[w + o * in + i];
                            s += delta[b][o] * (absolute ? Math.abs(p) : p);
                        }
                        below[b][i] = s;
                    }
                }
                delta = below;
            }
        }
        return grad;
    }
}
