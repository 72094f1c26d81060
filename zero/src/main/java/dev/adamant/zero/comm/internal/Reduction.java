package dev.adamant.zero.comm.internal;

import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.ReduceOp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The elementwise reduction every reducing collective runs: {@code out[i] = in0[i] op in1[i] op ...},
 * folded left to right in rank order, in fp32. Half-precision inputs are widened exactly, the sum
 * is kept in float across all ranks, and only the final value is narrowed, with round-to-nearest-even
 * ({@link Float#floatToFloat16}, {@link BFloat16#fromFloat}: a NaN becomes a quiet NaN, sign kept).
 *
 * <p>One instance per rank: it owns three small scratch arrays. The loop works on blocks of
 * {@value #BLOCK} elements. fp32 blocks are folded straight from the input segments into
 * {@code out}; 16-bit blocks are widened into a float array first, then folded into the accumulator
 * with a plain array loop. C2 compiles both to SIMD code; SIMD or not, every element sees the same
 * float operations in the same order, so the results are bit-identical. {@code out} may be one of
 * the inputs (in-place reduce-scatter and all-reduce): each element is read from every input
 * before it is written, and an aliased input that a block's first pass would overwrite is saved first.
 *
 * <p>Cost per element: one read of each input, one write of the output, {@code N-1} adds; the
 * caller has checked the sizes, the precision and that the segments are open.
 */
public final class Reduction {
    /** Elements per block: 2 float arrays and a short array stay well inside a 32 KiB L1. */
    public static final int BLOCK = 2048;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final float[] acc = new float[BLOCK];
    private final float[] next = new float[BLOCK];
    private final short[] halves = new short[BLOCK];

    /**
     * {@code out} = the fold of {@code inputs} in array order; each holds {@code count} elements of
     * {@code precision}. {@code out} may be exactly one of the inputs but must not overlap any other.
     * A single input is copied unchanged.
     */
    public void reduce(MemorySegment[] inputs, MemorySegment out, long count, Precision precision, ReduceOp op) {
        if (inputs.length == 1) {
            // One rank: the result is its input, bit for bit (NaN payloads included).
            MemorySegment.copy(inputs[0], 0, out, 0, count * precision.bytes());
            return;
        }
        if (precision == Precision.FP32) {
            reduceFloats(inputs, out, count, op == ReduceOp.SUM);
            return;
        }
        for (long start = 0; start < count; start += BLOCK) {
            int len = (int) Math.min(BLOCK, count - start);
            load(inputs[0], start, len, precision, acc);
            for (int k = 1; k < inputs.length; k++) {
                load(inputs[k], start, len, precision, next);
                if (op == ReduceOp.SUM) {
                    addInto(acc, next, len);
                } else {
                    maxInto(acc, next, len);
                }
            }
            store(acc, len, precision, out, start);
        }
    }

    /**
     * fp32 without staging copies: per block, {@code out = in0 op in1}, then {@code out op= in_k} for
     * each further input, reading the segments directly (C2 vectorizes these loops; on buffers
     * beyond the caches this moves half the bytes of staging every input in an array). If {@code out}
     * is input {@code k >= 2}, that input's block is saved before the first pass overwrites it.
     */
    private void reduceFloats(MemorySegment[] inputs, MemorySegment out, long count, boolean sum) {
        int alias = -1;
        for (int k = 2; k < inputs.length; k++) {
            if (inputs[k].asOverlappingSlice(out).isPresent()) {
                alias = k;
            }
        }
        for (long start = 0; start < count; start += BLOCK) {
            int len = (int) Math.min(BLOCK, count - start);
            long offset = start * Float.BYTES, bytes = (long) len * Float.BYTES;
            MemorySegment o = out.asSlice(offset, bytes);
            if (alias >= 0) {
                MemorySegment.copy(inputs[alias], FLOAT, offset, acc, 0, len);
            }
            fold(inputs[0].asSlice(offset, bytes), inputs[1].asSlice(offset, bytes), o, len, sum);
            for (int k = 2; k < inputs.length; k++) {
                if (k == alias) {
                    foldArray(o, acc, len, sum);
                } else {
                    fold(o, inputs[k].asSlice(offset, bytes), o, len, sum);
                }
            }
        }
    }

    private static void fold(MemorySegment a, MemorySegment b, MemorySegment out, int len, boolean sum) {
        if (sum) {
            for (int i = 0; i < len; i++) {
                out.setAtIndex(FLOAT, i, a.getAtIndex(FLOAT, i) + b.getAtIndex(FLOAT, i));
            }
        } else {
            for (int i = 0; i < len; i++) {
                out.setAtIndex(FLOAT, i, Math.max(a.getAtIndex(FLOAT, i), b.getAtIndex(FLOAT, i)));
            }
        }
    }

    private static void foldArray(MemorySegment out, float[] x, int len, boolean sum) {
        if (sum) {
            for (int i = 0; i < len; i++) {
                out.setAtIndex(FLOAT, i, out.getAtIndex(FLOAT, i) + x[i]);
            }
        } else {
            for (int i = 0; i < len; i++) {
                out.setAtIndex(FLOAT, i, Math.max(out.getAtIndex(FLOAT, i), x[i]));
            }
        }
    }

    private static void addInto(float[] acc, float[] x, int len) {
        for (int i = 0; i < len; i++) {
            acc[i] += x[i];
        }
    }

    private static void maxInto(float[] acc, float[] x, int len) {
        for (int i = 0; i < len; i++) {
            acc[i] = Math.max(acc[i], x[i]);
        }
    }

    private void load(MemorySegment in, long start, int len, Precision precision, float[] dst) {
        switch (precision) {
            case FP32 -> MemorySegment.copy(in, FLOAT, start * Float.BYTES, dst, 0, len);
            case FP16 -> {
                MemorySegment.copy(in, SHORT, start * Short.BYTES, halves, 0, len);
                for (int i = 0; i < len; i++) {
                    dst[i] = Float.float16ToFloat(halves[i]);
                }
            }
            case BF16 -> {
                MemorySegment.copy(in, SHORT, start * Short.BYTES, halves, 0, len);
                for (int i = 0; i < len; i++) {
                    dst[i] = BFloat16.toFloat(halves[i]);
                }
            }
        }
    }

    private void store(float[] src, int len, Precision precision, MemorySegment out, long start) {
        switch (precision) {
            case FP32 -> MemorySegment.copy(src, 0, out, FLOAT, start * Float.BYTES, len);
            case FP16 -> {
                for (int i = 0; i < len; i++) {
                    halves[i] = Float.floatToFloat16(src[i]);
                }
                MemorySegment.copy(halves, 0, out, SHORT, start * Short.BYTES, len);
            }
            case BF16 -> {
                for (int i = 0; i < len; i++) {
                    halves[i] = BFloat16.fromFloat(src[i]);
                }
                MemorySegment.copy(halves, 0, out, SHORT, start * Short.BYTES, len);
            }
        }
    }
}
