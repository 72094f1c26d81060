package dev.adamant.zero;

import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A stand-in model for engine tests: its gradient depends on the parameters, the step, the rank and
 * the element ({@code g = 0.1 p + noise}), so that every stage, partition and reduction shows in the
 * result, and it can inject an overflow or a failure where a test asks. As a {@link ZeroRun.Workload}
 * it is its own model, and prepares a step by taking its number.
 */
public final class SyntheticModel implements LayeredModel, ZeroRun.Workload {
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
    private final long[] sizes;
    private final Precision precision;
    private final int rank;
    private long step;
    private double loss;
    /** Step and rank at which backward writes {@link #overflowValue} (or -1), already scaled. */
    long overflowStep = -1;
    int overflowRank = -1;
    /** What the injected overflow writes: an infinity, or a finite value that overflows once unscaled. */
    float overflowValue = Float.POSITIVE_INFINITY;
    /** Step and rank at which backward throws (or -1). */
    long failStep = -1;
    int failRank = -1;

    public SyntheticModel(long[] sizes, Precision precision, int rank) {
        this.sizes = sizes.clone();
        this.precision = precision;
        this.rank = rank;
    }

    void setStep(long step) {
        this.step = step;
        this.loss = 0;
    }

    @Override public LayeredModel model() { return this; }
    @Override public void prepare(long step) { setStep(step); }

    /** The tensor sizes of the demo's MLP of these widths, input first: layer l is a weight and a bias. */
    public static long[] mlpSizes(int... widths) {
        long[] sizes = new long[widths.length - 1];
        for (int l = 0; l < sizes.length; l++) {
            sizes[l] = (long) widths[l] * widths[l + 1] + widths[l + 1];
        }
        return sizes;
    }

    /** {@code sizes} named as the MLP names its layers ({@code layer0}, ...), in order. */
    public static Map<String, Long> named(long[] sizes) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int t = 0; t < sizes.length; t++) {
            m.put("layer" + t, sizes[t]);
        }
        return m;
    }

    /** Initial fp32 weights for {@code layout} drawn from N(0, 1) with {@code seed}, zeros in the padding. */
    public static MemorySegment initial(Arena arena, FlatLayout layout, long seed) {
        MemorySegment init = arena.allocate(layout.paddedSize() * Float.BYTES, 64);
        SplittableRandom r = new SplittableRandom(seed);
        for (FlatLayout.Tensor t : layout.tensors()) {
            for (long i = 0; i < t.count(); i++) {
                init.setAtIndex(ValueLayout.JAVA_FLOAT, t.offset() + i, (float) r.nextGaussian());
            }
        }
        return init;
    }

    @Override public int layers() { return sizes.length; }
    @Override public long layerParameters(int layer) { return sizes[layer]; }

    private float decode(short h) {
        return precision == Precision.FP16 ? Half.toFloat(h) : BFloat16.toFloat(h);
    }

    private short encode(float f) {
        return precision == Precision.FP16 ? Half.fromFloat(f) : BFloat16.fromFloat(f);
    }

    @Override
    public void forward(int layer, MemorySegment params) {
        if (params.byteSize() != sizes[layer] * 2) {
            throw new AssertionError("layer " + layer + ": " + params.byteSize() + " bytes");
        }
        for (long i = 0; i < sizes[layer]; i++) {
            float p = decode(params.getAtIndex(S, i));
            loss += (double) p * p * 1e-3;
        }
    }

    @Override
    public float loss() {
        return (float) loss;
    }

    static float noise(long step, int rank, int layer, long i) {
        long z = step * 0x9E3779B97F4A7C15L + rank * 0xBF58476D1CE4E5B9L + layer * 0x94D049BB133111EBL + i;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (float) ((z >>> 40) / (double) (1L << 24) * 2 - 1);
    }

    @Override
    public void backward(int layer, MemorySegment params, MemorySegment grads, float scale, int globalBatch) {
        if (step == failStep && rank == failRank) {
            throw new IllegalStateException("injected failure on rank " + rank + " at step " + step);
        }
        for (long i = 0; i < sizes[layer]; i++) {
            float g = decode(params.getAtIndex(S, i)) * 0.1f + noise(step, rank, layer, i);
            grads.setAtIndex(S, i, encode(g * scale / globalBatch));
        }
        if (step == overflowStep && rank == overflowRank && layer == 0) {
            grads.setAtIndex(S, sizes[0] - 1, encode(overflowValue));
        }
    }
}
