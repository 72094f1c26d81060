package dev.adamant.core.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The sum of contiguous floats in the order of PyTorch's CPU {@code sum} ({@code cascade_sum} in
 * {@code aten/src/ATen/native/cpu/SumKernel.cpp}) for 8-float vectors (its AVX2 build), in float:
 * {@code n >= 8}: the {@code n / 8} vectors summed lane-wise by {@code row_sum} (4 interleaved
 * accumulators, {@code multi_row_sum}'s 4-level cascade of {@code 2^max(4, ceil(log2(size)) / 4)}
 * steps a level), then {@code 0 + } the scalar tail, then the 8 lanes one by one; {@code n < 8}: the
 * same {@code row_sum} over single floats. Plain Java, one order for every kernel: it sums a few
 * floats a step (Adafactor's {@code row_var}, one per row), never a whole tensor.
 *
 * <p>Read from PyTorch's source; checked bit for bit where the fixtures reach it (48 rows: one
 * 4-vector block and two leftover vectors, no cascade level). Above {@code 2^15} floats PyTorch may
 * split the sum across threads, which this does not follow.
 */
public final class CascadeSum {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int VEC = 8, ILP = 4, LEVELS = 4;

    private CascadeSum() {}

    /** The sum of floats {@code [0, n)} of {@code x}. */
    public static float sum(MemorySegment x, long n) {
        if (n >= VEC) {
            long vectors = n / VEC;
            float[] lanes = rowSum(x, VEC, vectors);
            float acc = 0f;
            for (long k = vectors * VEC; k < n; k++) {
                acc += x.getAtIndex(F, k);
            }
            for (float lane : lanes) {
                acc += lane;
            }
            return acc;
        }
        return rowSum(x, 1, n)[0];
    }

    /** {@code row_sum}: {@code count} vectors of {@code width} floats, 4 interleaved accumulators. */
    private static float[] rowSum(MemorySegment x, int width, long count) {
        long sizeIlp = count / ILP;
        float[][] partial = multiRowSum(x, width, sizeIlp);
        for (long i = sizeIlp * ILP; i < count; i++) {
            add(partial[0], x, i * width, width);
        }
        for (int k = 1; k < ILP; k++) {
            for (int l = 0; l < width; l++) {
                partial[0][l] += partial[k][l];
            }
        }
        return partial[0];
    }

    /** {@code multi_row_sum} with 4 rows (accumulators) of vectors, {@code size} blocks of 4 vectors. */
    private static float[][] multiRowSum(MemorySegment x, int width, long size) {
        int levelPower = Math.max(4, ceilLog2(size) / LEVELS);
        long levelStep = 1L << levelPower, levelMask = levelStep - 1;
        float[][][] acc = new float[LEVELS][ILP][width];
        long i = 0;
        while (i + levelStep <= size) {
            for (long j = 0; j < levelStep; j++, i++) {
                for (int k = 0; k < ILP; k++) {
                    add(acc[0][k], x, (i * ILP + k) * width, width);
                }
            }
            for (int level = 1; level < LEVELS; level++) {
                for (int k = 0; k < ILP; k++) {
                    for (int l = 0; l < width; l++) {
                        acc[level][k][l] += acc[level - 1][k][l];
                        acc[level - 1][k][l] = 0f;
                    }
                }
                if ((i & (levelMask << (level * levelPower))) != 0) {
                    break;
                }
            }
        }
        for (; i < size; i++) {
            for (int k = 0; k < ILP; k++) {
                add(acc[0][k], x, (i * ILP + k) * width, width);
            }
        }
        for (int level = 1; level < LEVELS; level++) {
            for (int k = 0; k < ILP; k++) {
                for (int l = 0; l < width; l++) {
                    acc[0][k][l] += acc[level][k][l];
                }
            }
        }
        return acc[0];
    }

    private static void add(float[] acc, MemorySegment x, long from, int width) {
        for (int l = 0; l < width; l++) {
            acc[l] += x.getAtIndex(F, from + l);
        }
    }

    /** c10's {@code CeilLog2}: 1 up to 2, else the bits of {@code x - 1}. */
    private static int ceilLog2(long x) {
        return x <= 2 ? 1 : 64 - Long.numberOfLeadingZeros(x - 1);
    }
}
