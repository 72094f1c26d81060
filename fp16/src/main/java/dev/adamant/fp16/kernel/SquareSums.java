package dev.adamant.fp16.kernel;

/**
 * How a sum of squares is accumulated, the same way by every implementation and every split, so that
 * a gradient norm is bit for bit the same on 1 thread or N, on N devices or one, vector or scalar.
 *
 * <p>The buffer is cut into blocks of {@value #BLOCK} floats at global indices that are multiples
 * of {@value #BLOCK}. Within a block, {@value #ACCUMULATORS} float accumulators each take every
 * {@value #ACCUMULATORS}-th element ({@code acc[j % 16] = fma(u, u, acc[j % 16])} for element
 * {@code j} of the block, in order); the block's sum is the accumulators added in double, in order.
 * The total is the block sums added in double, in block order. Float accumulators over 256 terms
 * keep the relative error near 1e-5 in the worst case, as PyTorch's float32 norms do.
 */
public final class SquareSums {
    /** Floats per block; ranges handed to kernels start on a block boundary. */
    public static final int BLOCK = 4096;
    /** Interleaved float accumulators per block: one 512-bit vector. */
    public static final int ACCUMULATORS = 16;

    private SquareSums() {}

    /** Blocks covering {@code count} floats. */
    public static int blocks(long count) {
        return Math.toIntExact((count + BLOCK - 1) / BLOCK);
    }

    /** Adds block sums in block order. */
    public static double total(double[] blockSums) {
        double s = 0;
        for (double b : blockSums) {
            s += b;
        }
        return s;
    }
}
