package dev.adamant.examples;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.adamant.core.memory.Segments;
import dev.adamant.examples.kernel.DenseKernel;
import dev.adamant.examples.kernel.DenseKernels;
import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import dev.adamant.zero.LayeredModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Objects;

/**
 * A multi-layer perceptron with 16-bit parameters and gradients, driven one layer at a time, as
 * ZeRO stage 3 drives it: the caller gathers a layer's parameters, runs that layer, and may free them.
 *
 * <h2>The model</h2>
 * Fully connected layers {@code widths[0] -> widths[1] -> ... -> widths[L]}. Layer {@code l} maps
 * {@code x} ({@code in = widths[l]}) to {@code z = x W^T + b} ({@code out = widths[l+1]}); ReLU follows
 * every layer but the last, whose {@code z} is the output {@code y}. The loss is the mean squared error
 * {@code mean over (microBatch x out) of (y - t)^2}. (ReLU rather than tanh: it is what the teacher
 * uses, it costs one max, and its derivative needs only the stored activation.)
 *
 * <h2>Parameter layout</h2>
 * Layer {@code l} owns one contiguous block of {@link #layerParameters(int) out*in + out} values:
 * {@code W} ({@code out x in}, row-major) then {@code b} ({@code out}). The model's flat layout is the
 * blocks back to back ({@link #tensorSizes()}, {@link #layerOffset(int)}).
 *
 * <h2>Precision</h2>
 * Parameters and gradients are 16-bit ({@link Precision#FP16} or {@link Precision#BF16}). Each call
 * widens the layer's parameters to fp32 (exact), computes in fp32 (every sum a chain of fused
 * multiply-adds in a fixed order), and narrows the gradient once, to nearest even. Gradients that
 * overflow the format become infinities, as a dynamic loss scaler expects; nothing is clamped. NaN
 * and infinite inputs or parameters propagate (ReLU keeps a NaN; a NaN activation passes no gradient).
 *
 * <h2>Calls, in order</h2>
 * <ol>
 *   <li>{@link #loadBatch}: copies in {@code microBatch} examples.
 *   <li>{@link #forward} for layers {@code 0, 1, ..., L-1}; then {@link #loss()} may be read.
 *   <li>{@link #backward} for layers {@code L-1, ..., 0}: each writes that layer's gradient.
 * </ol>
 * {@code forward(0)} may start a new pass at any time after a batch is loaded, and {@code backward(L-1)}
 * may restart the backward pass at any time after a complete forward pass; any other call out of
 * order is refused with an {@link IllegalStateException} naming the layer and what was expected.
 *
 * <h2>Costs</h2>
 * A layer's forward is one {@code microBatch x in x out} product ({@code 2*B*in*out} flops) plus
 * decoding and transposing its weights; its backward is two such products (one for {@code layer 0}),
 * a decode and an encode. The fp32 workspaces ({@link #workspaceBytes()}: activations of every layer,
 * targets, one layer's decoded and transposed weights, one layer's fp32 gradient, two gradient-of-
 * activation buffers) are allocated once, in the constructor, from this model's own shared arena,
 * and are freed by {@link #close()}. They are not model states in ZeRO's sense. The kernels are
 * {@link #implementation()}: Vector API or scalar, with the same bits.
 *
 * <h2>Bad input</h2>
 * Refused before anything changes, with a message naming the argument: null
 * ({@link NullPointerException}); wrong sizes, closed, misaligned or (for outputs) read-only
 * segments, layer indexes out of range, FP32 precision, non-finite or non-positive loss scales
 * ({@link IllegalArgumentException}); calls out of order or after {@link #close()}
 * ({@link IllegalStateException}); segments confined to another thread ({@link WrongThreadException}).
 *
 * <p>Not thread-safe: one thread at a time drives a model (ZeRO runs one model per device thread).
 * Results depend only on the inputs and parameters: the same call gives the same bits on any thread,
 * in either kernel mode.
 */
public final class Mlp implements AutoCloseable, LayeredModel {
    /** Cache-line alignment for the workspaces. */
    private static final long ALIGNMENT = 64;
    /** Salt of the initialization streams (see {@link Draws}). */
    private static final long INIT_SALT = 0x1A17_1A17_1A17_1A17L;

    private final int[] widths;
    private final int layers;
    private final Precision precision;
    private final int microBatch;
    private final long[] layerParameters;
    private final long[] layerOffsets;
    private final long parameters;
    private final DenseKernel kernel;

    private final Arena arena;
    /** {@code activations[l]}: {@code microBatch x widths[l]}; [0] is the input, [L] the output. */
    private final MemorySegment[] activations;
    private final MemorySegment targets;
    /** The current layer's parameters, widened: W then b. */
    private final MemorySegment params32;
    /** The current layer's W^T ({@code in x out}), for the forward product. */
    private final MemorySegment weightsT;
    /** The current layer's gradient in fp32: dW then db. */
    private final MemorySegment grad32;
    /** Gradient of the loss with respect to the current layer's pre-activation, and the one below. */
    private MemorySegment delta;
    private MemorySegment deltaBelow;
    private final long workspaceBytes;

    private boolean closed;
    private boolean batchLoaded;
    /** The layer the next forward must be; {@code layers} once a forward pass is complete. */
    private int nextForward;
    /** The layer the next backward must be; -1 when no backward may continue. */
    private int nextBackward = -1;
    /** The layer whose gradient {@link #grad32} holds; -1 for none. */
    private int gradientLayer = -1;

    /**
     * A model of the given widths whose parameters and gradients are {@code precision} values, for
     * batches of {@code microBatch} examples. Allocates {@link #workspaceBytes()} bytes.
     *
     * @throws NullPointerException if {@code widths} or {@code precision} is null
     * @throws IllegalArgumentException if there are fewer than 2 widths, a width or {@code microBatch}
     *     is below 1, or {@code precision} is {@link Precision#FP32}
     */
    public Mlp(int[] widths, Precision precision, int microBatch) {
        this(widths, precision, microBatch, DenseKernels.provider());
    }

    /** As the public constructor, on the given kernels: tests compare Panama and scalar with it. */
    Mlp(int[] widths, Precision precision, int microBatch, DenseKernel kernel) {
        this.widths = checkWidths(widths);
        Objects.requireNonNull(precision, "precision");
        if (precision == Precision.FP32) {
            throw new IllegalArgumentException("precision: expected FP16 or BF16 (the 16-bit format of parameters"
                    + " and gradients), got FP32");
        }
        if (microBatch < 1) {
            throw new IllegalArgumentException("microBatch: expected >= 1, got " + microBatch);
        }
        this.precision = precision;
        this.microBatch = microBatch;
        this.layers = this.widths.length - 1;
        this.layerParameters = new long[layers];
        this.layerOffsets = new long[layers];
        long total = 0, maxLayer = 0, maxWeights = 0;
        int maxDelta = 0;
        for (int l = 0; l < layers; l++) {
            layerParameters[l] = layerParameters(this.widths, l);
            layerOffsets[l] = total;
            total += layerParameters[l];
            maxLayer = Math.max(maxLayer, layerParameters[l]);
            maxWeights = Math.max(maxWeights, (long) this.widths[l] * this.widths[l + 1]);
            maxDelta = Math.max(maxDelta, this.widths[l + 1]);
        }
        this.parameters = total;
        this.kernel = Objects.requireNonNull(kernel, "kernel");

        Arena a = Arena.ofShared();
        try {
            long bytes = 0;
            activations = new MemorySegment[layers + 1];
            for (int l = 0; l <= layers; l++) {
                activations[l] = floats(a, (long) microBatch * this.widths[l]);
                bytes += activations[l].byteSize();
            }
            targets = floats(a, (long) microBatch * this.widths[layers]);
            params32 = floats(a, maxLayer);
            weightsT = floats(a, maxWeights);
            grad32 = floats(a, maxLayer);
            delta = floats(a, (long) microBatch * maxDelta);
            deltaBelow = floats(a, (long) microBatch * maxDelta);
            bytes += targets.byteSize() + params32.byteSize() + weightsT.byteSize() + grad32.byteSize()
                    + delta.byteSize() + deltaBelow.byteSize();
            this.workspaceBytes = bytes;
        } catch (RuntimeException | Error e) {
            a.close();
            throw e;
        }
        this.arena = a;
    }

    private static MemorySegment floats(Arena arena, long count) {
        return arena.allocate(Math.multiplyExact(count, (long) Float.BYTES), ALIGNMENT);
    }

    /** The number of layers, {@code L = widths.length - 1}. */
    public int layers() {
        return layers;
    }

    /** A copy of the widths. */
    public int[] widths() {
        return widths.clone();
    }

    /** The format of parameters and gradients: FP16 or BF16. */
    public Precision precision() {
        return precision;
    }

    /** Examples per batch. */
    public int microBatch() {
        return microBatch;
    }

    /**
     * Values in layer {@code layer}'s block: {@code out*in + out}.
     *
     * @throws IllegalArgumentException if {@code layer} is not in {@code [0, L)}
     */
    public long layerParameters(int layer) {
        checkLayer(layer);
        return layerParameters[layer];
    }

    /** Where layer {@code layer}'s block starts in the flat layout, in values. */
    public long layerOffset(int layer) {
        checkLayer(layer);
        return layerOffsets[layer];
    }

    /** {@code "layer0" .. "layer{L-1}"} to {@link #layerParameters(int)}, in order: the flat layout. */
    public LinkedHashMap<String, Long> tensorSizes() {
        LinkedHashMap<String, Long> sizes = new LinkedHashMap<>();
        for (int l = 0; l < layers; l++) {
            sizes.put("layer" + l, layerParameters[l]);
        }
        return sizes;
    }

    /** All parameters: the sum of {@link #layerParameters(int)}. */
    public long parameters() {
        return parameters;
    }

    /** Bytes of fp32 workspace this model holds (not counted as model states). */
    public long workspaceBytes() {
        return workspaceBytes;
    }

    /** The kernels in use, for example {@code "panama, 512-bit vectors (16 floats)"}. */
    public static String implementation() {
        return DenseKernels.describe(DenseKernels.provider());
    }

    /** Parameters of a model of these widths, without making one. */
    public static long parameters(int[] widths) {
        int[] w = checkWidths(widths);
        long total = 0;
        for (int l = 0; l + 1 < w.length; l++) {
            total = Math.addExact(total, layerParameters(w, l));
        }
        return total;
    }

    /**
     * Fills {@code fp32Params} (exactly {@link #parameters(int[]) parameters(widths)} floats, the flat
     * layout) with initial values that depend only on {@code widths} and {@code seed}: weights uniform in
     * {@code [-bound, bound)} with {@code bound = sqrt(6 / in)} (He/Kaiming uniform, gain sqrt 2, for
     * layers followed by ReLU) or {@code sqrt(3 / in)} (gain 1, for the last, linear layer, so outputs
     * start with about unit variance), and zero biases. Weight {@code j} of layer {@code l} is drawn
     * alone from a counter-based stream (SplitMix64), so every rank computes the same values.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code widths} is invalid or {@code fp32Params} has the wrong
     *     size, is closed, misaligned or read-only
     */
    public static void initialize(int[] widths, MemorySegment fp32Params, long seed) {
        int[] w = checkWidths(widths);
        Segments.checkFloats("fp32Params", fp32Params, parameters(w), true);
        Segments.checkAccessible("fp32Params", fp32Params);
        int layers = w.length - 1;
        long base = Draws.mix(seed) ^ INIT_SALT;
        long offset = 0;
        for (int l = 0; l < layers; l++) {
            int in = w[l], out = w[l + 1];
            double bound = Math.sqrt((l + 1 < layers ? 6.0 : 3.0) / in);
            long key = Draws.key(base, l, 0);
            long weights = (long) out * in;
            for (long j = 0; j < weights; j++) {
                fp32Params.setAtIndex(JAVA_FLOAT, offset + j, (float) (bound * (2 * Draws.uniform(key, j) - 1)));
            }
            fp32Params.asSlice((offset + weights) * Float.BYTES, (long) out * Float.BYTES).fill((byte) 0);
            offset += weights + out;
        }
    }

    /**
     * Copies in a batch: {@code inputs} holds {@code microBatch x widths[0]} floats, {@code targets}
     * {@code microBatch x widths[L]}, row-major. Starts a new pass: the next call is {@code forward(0)}.
     *
     * @throws IllegalArgumentException if a segment has the wrong size, is closed or misaligned
     */
    public void loadBatch(MemorySegment inputs, MemorySegment targets) {
        checkOpen();
        Segments.checkFloats("inputs", inputs, (long) microBatch * widths[0], false);
        Segments.checkFloats("targets", targets, (long) microBatch * widths[layers], false);
        Segments.checkAccessible("inputs", inputs);
        Segments.checkAccessible("targets", targets);
        MemorySegment.copy(inputs, 0, activations[0], 0, inputs.byteSize());
        MemorySegment.copy(targets, 0, this.targets, 0, targets.byteSize());
        batchLoaded = true;
        nextForward = 0;
        nextBackward = -1;
        gradientLayer = -1;
    }

    /**
     * Runs layer {@code layer} forward with its parameters {@code layerParams16} (exactly
     * {@link #layerParameters(int) layerParameters(layer)} 16-bit values, W then b), which are read
     * here and not kept. Layers run {@code 0..L-1} in order; {@code forward(0)} starts a new pass.
     *
     * @throws IllegalStateException if no batch is loaded, the layer is out of order, or the model is closed
     * @throws IllegalArgumentException if {@code layer} is out of range or {@code layerParams16} has the
     *     wrong size, is closed or misaligned
     */
    public void forward(int layer, MemorySegment layerParams16) {
        checkOpen();
        checkLayer(layer);
        if (!batchLoaded) {
            throw new IllegalStateException("forward(layer " + layer + "): no batch loaded; call loadBatch first");
        }
        if (layer != 0 && layer != nextForward) {
            throw new IllegalStateException("layer: forward(" + layer + ") is out of order: the next forward is layer "
                    + nextForward + (nextForward == layers ? " (the pass is complete; forward(0) starts a new one)"
                    : " (forwards run layers 0.." + (layers - 1) + " in order; forward(0) starts a new pass)"));
        }
        checkHalves("layerParams16", layerParams16, layer, false);
        final int in = widths[layer], out = widths[layer + 1];
        final long weights = (long) out * in;
        decode(layerParams16, params32, layerParameters[layer]);
        kernel.transpose(params32, out, in, weightsT);
        MemorySegment y = activations[layer + 1];
        kernel.multiply(activations[layer], in, 1, weightsT, params32.asSlice(weights * Float.BYTES), y,
                microBatch, out, in);
        if (layer + 1 < layers) {
            kernel.relu(y, (long) microBatch * out);
        }
        nextForward = layer + 1;
        nextBackward = layer + 1 == layers ? layers - 1 : -1;
        gradientLayer = -1;
    }

    /**
     * The loss of the last complete forward pass: {@code mean over (microBatch x out) of (y - t)^2},
     * each difference and square and the sum in double (exact for the differences, one rounding per
     * square and per addition, in row-major order), the mean rounded once to float.
     *
     * @throws IllegalStateException if no forward pass is complete or the model is closed
     */
    public float loss() {
        checkOpen();
        if (!batchLoaded || nextForward != layers) {
            throw new IllegalStateException("loss: needs a complete forward pass (layers 0.." + (layers - 1)
                    + "); the next forward is layer " + (batchLoaded ? nextForward : 0));
        }
        MemorySegment y = activations[layers];
        long n = (long) microBatch * widths[layers];
        double sum = 0;
        for (long i = 0; i < n; i++) {
            double d = (double) y.getAtIndex(JAVA_FLOAT, i) - targets.getAtIndex(JAVA_FLOAT, i);
            sum += d * d;
        }
        return (float) (sum / n);
    }

    /**
     * Runs layer {@code layer} backward and writes its gradient, {@code layerParameters(layer)} values
     * of {@link #precision()}, into {@code layerGrads16} (dW, row-major, then db):
     * <pre>
     *   grad = lossScale * d(globalLoss)/d(params), restricted to this model's micro-batch,
     *   globalLoss = 1 / (globalBatch * out) * sum over all devices' examples of (y - t)^2,
     * </pre>
     * so the gradients of the devices that share a global batch sum to the global gradient (times
     * {@code lossScale}). In fp32: the output's gradient is {@code c * (y - t)} with
     * {@code c = (float) (2.0 * lossScale / (globalBatch * out))}, then each dW and db element is a
     * chain of fused multiply-adds over the micro-batch in example order, rounded once to 16 bits,
     * nearest even; values beyond the format's range become infinities (fp16 overflows above 65504).
     *
     * <p>Layers run {@code L-1..0} in order after a complete forward pass; {@code backward(L-1)}
     * restarts. {@code layerParams16} is read in full before anything is written, so
     * {@code layerGrads16} may be the same buffer (for example a stage-3 gather buffer that is no
     * longer needed). For layer 0 the parameters are checked but not read.
     *
     * @throws IllegalStateException if the forward pass is incomplete, the layer is out of order, or
     *     the model is closed
     * @throws IllegalArgumentException if {@code layer} is out of range, a segment has the wrong size,
     *     is closed or misaligned, {@code layerGrads16} is read-only, {@code lossScale} is not finite
     *     and positive, or {@code globalBatch < microBatch}
     */
    public void backward(int layer, MemorySegment layerParams16, MemorySegment layerGrads16, float lossScale,
                         int globalBatch) {
        checkOpen();
        checkLayer(layer);
        if (!batchLoaded || nextForward != layers) {
            throw new IllegalStateException("layer: backward(" + layer + ") needs a complete forward pass (layers 0.."
                    + (layers - 1) + ") first; the next forward is layer " + (batchLoaded ? nextForward : 0));
        }
        if (layer != layers - 1 && layer != nextBackward) {
            throw new IllegalStateException("layer: backward(" + layer + ") is out of order: "
                    + (nextBackward < 0 ? "the backward pass is complete"
                            : "the next backward is layer " + nextBackward)
                    + " (backwards run layers " + (layers - 1) + "..0 in order; backward(" + (layers - 1)
                    + ") starts a new pass)");
        }
        checkHalves("layerParams16", layerParams16, layer, false);
        checkHalves("layerGrads16", layerGrads16, layer, true);
        if (!(lossScale > 0) || !Float.isFinite(lossScale)) {
            throw new IllegalArgumentException("lossScale: expected finite and > 0, got " + lossScale);
        }
        if (globalBatch < microBatch) {
            throw new IllegalArgumentException("globalBatch: expected >= microBatch (" + microBatch + "), got "
                    + globalBatch);
        }
        final int in = widths[layer], out = widths[layer + 1];
        final long weights = (long) out * in;
        if (layer == layers - 1) {
            float c = (float) (2.0 * lossScale / ((double) globalBatch * out));
            kernel.scaledDifference(activations[layers], targets, c, delta, (long) microBatch * out);
        }
        if (layer > 0) {
            decode(layerParams16, params32, weights);   // before layerGrads16 is written: they may share memory
        }
        // dW = delta^T x: delta (B x out) read as out x B (row stride 1, column stride out).
        kernel.multiply(delta, 1, out, activations[layer], null, grad32, out, in, microBatch);
        kernel.columnSums(delta, grad32.asSlice(weights * Float.BYTES), microBatch, out);
        encode(grad32, layerGrads16, layerParameters[layer]);
        if (layer > 0) {
            // dx = delta W, then ReLU's derivative: the pre-activation was positive where the activation is.
            kernel.multiply(delta, out, 1, params32, null, deltaBelow, microBatch, in, out);
            kernel.keepWherePositive(deltaBelow, activations[layer], (long) microBatch * in);
            MemorySegment t = delta;
            delta = deltaBelow;
            deltaBelow = t;
        }
        nextBackward = layer - 1;
        gradientLayer = layer;
    }

    /**
     * The fp32 gradient that the last {@link #backward} wrote (before narrowing), for tests.
     *
     * @throws IllegalStateException if the last backward was not of {@code layer}
     */
    float[] lastGradientFp32(int layer) {
        checkOpen();
        checkLayer(layer);
        if (gradientLayer != layer) {
            throw new IllegalStateException("layer: the last backward was of layer " + gradientLayer + ", not "
                    + layer);
        }
        return grad32.asSlice(0, layerParameters[layer] * Float.BYTES).toArray(JAVA_FLOAT);
    }

    /** The output {@code y} of the last forward pass, {@code microBatch x widths[L]}, for tests. */
    float[] lastOutput() {
        checkOpen();
        return activations[layers].toArray(JAVA_FLOAT);
    }

    /** Frees the workspaces. Idempotent; every other method then throws {@link IllegalStateException}. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    private void decode(MemorySegment halves, MemorySegment floats, long count) {
        if (precision == Precision.FP16) {
            Half.decode(halves, 0, floats, 0, count);
        } else {
            BFloat16.decode(halves, 0, floats, 0, count);
        }
    }

    private void encode(MemorySegment floats, MemorySegment halves, long count) {
        if (precision == Precision.FP16) {
            Half.encode(floats, 0, halves, 0, count);
        } else {
            BFloat16.encode(floats, 0, halves, 0, count);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this Mlp is closed");
        }
    }

    private void checkLayer(int layer) {
        if (layer < 0 || layer >= layers) {
            throw new IllegalArgumentException("layer: expected 0.." + (layers - 1) + ", got " + layer);
        }
    }

    private void checkHalves(String name, MemorySegment segment, int layer, boolean writable) {
        Segments.checkUsable(name, segment, writable, Short.BYTES);
        long count = layerParameters[layer];
        if (segment.byteSize() != count * 2) {
            int in = widths[layer], out = widths[layer + 1];
            throw new IllegalArgumentException(name + ": expected " + count * 2 + " bytes (" + count + " " + precision
                    + " values: layer " + layer + "'s " + out + " x " + in + " weights and " + out + " biases), got "
                    + segment.byteSize() + " bytes");
        }
        Segments.checkAccessible(name, segment);
    }

    static long layerParameters(int[] widths, int layer) {
        return Math.addExact(Math.multiplyExact((long) widths[layer + 1], widths[layer]), widths[layer + 1]);
    }

    /** Checks and copies {@code widths}: at least 2, each at least 1. */
    static int[] checkWidths(int[] widths) {
        Objects.requireNonNull(widths, "widths");
        if (widths.length < 2) {
            throw new IllegalArgumentException("widths: expected at least 2 (input and output), got " + widths.length);
        }
        int[] copy = widths.clone();
        for (int i = 0; i < copy.length; i++) {
            if (copy[i] < 1) {
                throw new IllegalArgumentException("widths[" + i + "]: expected >= 1, got " + copy[i]);
            }
        }
        return copy;
    }
}
