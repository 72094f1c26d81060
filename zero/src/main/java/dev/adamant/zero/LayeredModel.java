package dev.adamant.zero;

import java.lang.foreign.MemorySegment;

/**
 * A model the ZeRO engine drives layer by layer: it hands each layer its 16-bit parameters just
 * before that layer's forward and again before its backward (stage 3 gathers them then), and takes
 * each layer's 16-bit gradient as backward produces it (stage 2 and 3 reduce it at once).
 *
 * <p>Layer {@code l}'s parameters are one tensor of {@link #layerParameters(int)} values; the engine
 * lays the layers out with {@link dev.adamant.zero.partition.FlatLayout}, in order.
 */
public interface LayeredModel {
    /** Layers, L. */
    int layers();

    /** Parameters of layer {@code layer}. */
    long layerParameters(int layer);

    /** Layer {@code layer}'s forward, called for 0..L-1 in order, with its parameters (exactly its size). */
    void forward(int layer, MemorySegment layerParams16);

    /** The loss of the micro-batch, after the last forward. */
    float loss();

    /**
     * Layer {@code layer}'s backward, called for L-1..0 in order after the forwards: writes
     * {@code lossScale} times this device's share of the gradient of the global mean loss over
     * {@code globalBatch} examples, rounded to 16 bits, into {@code layerGrads16} (exactly its size).
     */
    void backward(int layer, MemorySegment layerParams16, MemorySegment layerGrads16, float lossScale, int globalBatch);
}
