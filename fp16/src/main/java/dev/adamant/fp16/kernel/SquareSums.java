package dev.adamant.fp16.kernel;

/**
 * How a sum of squares is accumulated, the same way by every implementation and every split, so that
 * a gradient norm is bit for bit the same on 1 thread or N, on N devices or one, vector or scalar.
 *
 * <p>The buffer is cut into blocks of {@value #BLOCK} floats at global indices that are multiples
 * of {@value #BLOCK}. Within a block, {@value #ACCUMULATORS} float accumulators each take every
 * {@value #ACCUMULATORS}-th element ({@code acc[j % 16] = fma(u, u, acc[j % 16])} for element
 * {@code j} of the block, in order); the block's sum is the accumulators added in float by halving
 * ({@link #sum}). The total is the block sums added in double, in block order. Float accumulators
 * over 16 terms and a float tree four deep keep a block's relative error under 1e-6, well within
 * PyTorch's float32 norms'. The block is small (256, bitsandbytes' 8-bit block) so that a ZeRO
 * device's shares, which start on block boundaries of each tensor, can be fine-grained: a device's
 * blocks are the unsharded run's, so the sharded norm is the unsharded one.
 */
public final class SquareSums {
    /** Floats per block; ranges handed to kernels start on a block boundary. */
    public static final int BLOCK = 256;
    /** Interleaved float accumulators per block: one 512-bit vector. */
    public static final int ACCUMULATORS = 16;

    private SquareSums() {}

    /** Blocks covering {@code count} floats. */
    public static int blocks(long count) {
        return Math.toIntExact((count + BLOCK - 1) / BLOCK);
    }

    /** One block's work: elements {@code [start, start + len)} into the zeroed accumulators {@code acc}. */
    @FunctionalInterface
    public interface Block {
        /** Returns the largest fp32 exponent field seen (all ones: an inf or NaN). */
        int run(long start, long len, float[] acc);
    }

    /**
     * Runs {@code block} over the blocks of {@code [from, from + count)} ({@code from} on a block
     * boundary), writing each block's sum into {@code blockSums[firstBlock + k]}; returns the largest
     * exponent field any block saw. The one place that walks blocks, for every implementation.
     */
    public static int forEachBlock(long from, long count, double[] blockSums, int firstBlock, Block block) {
        float[] acc = new float[ACCUMULATORS];
        int max = 0;
        long end = from + count;
        int k = firstBlock;
        for (long start = from; start < end; start += BLOCK, k++) {
            java.util.Arrays.fill(acc, 0f);
            max = Math.max(max, block.run(start, Math.min(BLOCK, end - start), acc));
            blockSums[k] = sum(acc);
        }
        return max;
    }

    /**
     * The block's sum: the accumulators added in float by halving, {@code d[i] = acc[i] + acc[i + 8]},
     * then {@code d[i] + d[i + 4]}, {@code + d[i + 2]}, {@code + d[i + 1]}, as a double. A tree four
     * adds deep that a vector kernel folds in its registers (lane shifts and adds), where a chain of
     * sixteen double adds per block of 256 cost a third of the pass.
     */
    public static double sum(float[] acc) {
        float d0 = acc[0] + acc[8], d1 = acc[1] + acc[9], d2 = acc[2] + acc[10], d3 = acc[3] + acc[11];
        float d4 = acc[4] + acc[12], d5 = acc[5] + acc[13], d6 = acc[6] + acc[14], d7 = acc[7] + acc[15];
        float e0 = d0 + d4, e1 = d1 + d5, e2 = d2 + d6, e3 = d3 + d7;
        float f0 = e0 + e2, f1 = e1 + e3;
        return f0 + f1;
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
