package dev.adamant.examples;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import dev.adamant.core.memory.Segments;
import dev.adamant.examples.kernel.DenseKernel;
import dev.adamant.examples.kernel.DenseKernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The training task: match a fixed random teacher network, so a demo needs no data set.
 *
 * <p>The teacher is an fp32 {@link Mlp}-shaped network (ReLU between layers, none after the last)
 * whose parameters are {@link Mlp#initialize(int[], MemorySegment, long) Mlp.initialize(widths, ..., seed)}:
 * He-uniform hidden layers and a unit-gain output layer, so with standard normal inputs each target
 * has a variance of about 1. Give it the student's input and output widths; hidden layers as wide as
 * the student's or narrower (a narrower teacher is an easier, exactly representable task), and a seed
 * other than the student's initialization seed: with equal widths and seeds the student would start
 * at the answer.
 *
 * <p>{@link #sample} draws inputs from N(0, 1) with a counter-based generator keyed by
 * {@code (seed, step, rank)}, element by element, and runs the teacher forward on the dense kernels
 * (whose results are the same bits in either kernel mode). So the same {@code (seed, step, rank)}
 * always gives the same bits, on any thread, whatever else was sampled before; and {@code rows}
 * rows are a prefix of any larger sample. Thread-safe: the teacher's parameters are immutable, and
 * each calling thread gets its own scratch, two buffers of {@code rows x max(widths)} floats, kept
 * for that thread's later calls. Everything the kernels touch is native memory from automatic arenas,
 * freed when the teacher (or the thread's scratch) is unreachable. (Heap segments would work, but
 * make the kernels' segment-type profile polymorphic, which slows every model in the JVM several-fold.)
 *
 * <p>Costs: half a Box-Muller pair per input float ({@link StrictMath} log and sqrt per pair, then cos
 * or sin), and the teacher's forward pass ({@code 2 * rows * sum(in * out)} flops).
 */
public final class Teacher {
    /** Salt of the input streams, distinct from the initialization's. */
    private static final long INPUT_SALT = 0x7EAC_4E57_7EAC_4E57L;

    private final int[] widths;
    private final long seed;
    private final int maxWidth;
    /** Per layer: W^T ({@code in x out}) and b, native, immutable after construction. */
    private final MemorySegment[] weightsT;
    private final MemorySegment[] biases;
    private final DenseKernel kernel;
    /**
     * Each thread's two scratch buffers, from automatic arenas (freed with the thread's entry). Not a
     * confined arena per call: segments of confined sessions reaching the same JDK accessors as the
     * shared sessions of models and optimizers were seen to send C2 into deoptimization loops.
     */
    private final ThreadLocal<MemorySegment[]> scratch = new ThreadLocal<>();

    /**
     * The teacher of these widths with parameters drawn from {@code seed}.
     *
     * @throws NullPointerException if {@code widths} is null
     * @throws IllegalArgumentException if there are fewer than 2 widths or a width is below 1
     */
    public Teacher(int[] widths, long seed) {
        this(widths, seed, DenseKernels.provider());
    }

    /** As the public constructor, on the given kernels: for tests. */
    Teacher(int[] widths, long seed, DenseKernel kernel) {
        this.widths = Mlp.checkWidths(widths);
        this.kernel = Objects.requireNonNull(kernel, "kernel");
        this.seed = seed;
        int layers = this.widths.length - 1;
        long total = Mlp.parameters(this.widths);
        Arena arena = Arena.ofAuto();
        MemorySegment flat = arena.allocate(total * Float.BYTES, Float.BYTES);
        Mlp.initialize(this.widths, flat, seed);
        weightsT = new MemorySegment[layers];
        biases = new MemorySegment[layers];
        long offset = 0;
        for (int l = 0; l < layers; l++) {
            int in = this.widths[l], out = this.widths[l + 1];
            long weights = (long) in * out;
            weightsT[l] = arena.allocate(weights * Float.BYTES, 64);
            DenseKernels.scalar().transpose(flat.asSlice(offset * Float.BYTES, weights * Float.BYTES), out, in,
                    weightsT[l]);
            biases[l] = flat.asSlice((offset + weights) * Float.BYTES, (long) out * Float.BYTES);
            offset += weights + out;
        }
        int max = 0;
        for (int w : this.widths) {
            max = Math.max(max, w);
        }
        this.maxWidth = max;
    }

    /** A copy of the teacher's widths. */
    public int[] widths() {
        return widths.clone();
    }

    /** The seed of its parameters. */
    public long seed() {
        return seed;
    }

    /**
     * Fills {@code inputs} ({@code rows x widths[0]} floats, row-major, each from N(0, 1)) and
     * {@code targets} ({@code rows x widths[L]}, the teacher's outputs) for {@code (step, rank)}.
     * Input float {@code i} is normal draw {@code i} of the stream keyed by {@code (seed, step, rank)}.
     *
     * @throws NullPointerException if a segment is null
     * @throws IllegalArgumentException if {@code rows < 1}, {@code rank < 0}, a segment does not hold
     *     exactly its floats, is closed, misaligned or read-only, or the two overlap
     */
    public void sample(long step, int rank, MemorySegment inputs, MemorySegment targets, int rows) {
        if (rows < 1) {
            throw new IllegalArgumentException("rows: expected >= 1, got " + rows);
        }
        if (rank < 0) {
            throw new IllegalArgumentException("rank: expected >= 0, got " + rank);
        }
        int in = widths[0], out = widths[widths.length - 1];
        Segments.checkFloats("inputs", inputs, (long) rows * in, true);
        Segments.checkFloats("targets", targets, (long) rows * out, true);
        Segments.checkDisjoint("inputs", inputs, "targets", targets);
        Segments.checkAccessible("inputs", inputs);
        Segments.checkAccessible("targets", targets);
        long bytes = Math.multiplyExact((long) rows * maxWidth, (long) Float.BYTES);
        MemorySegment[] pair = scratch.get();
        if (pair == null || pair[0].byteSize() < bytes) {
            Arena arena = Arena.ofAuto();
            pair = new MemorySegment[] {arena.allocate(bytes, 64), arena.allocate(bytes, 64)};
            scratch.set(pair);
        }
        sample(step, rank, inputs, targets, rows, pair[0], pair[1]);
    }

    private void sample(long step, int rank, MemorySegment inputs, MemorySegment targets, int rows, MemorySegment x,
                        MemorySegment y) {
        int in = widths[0], out = widths[widths.length - 1];
        long key = Draws.key(Draws.mix(seed) ^ INPUT_SALT, step, rank);
        long count = (long) rows * in;
        Draws.fillGaussians(key, x, count);
        MemorySegment.copy(x, 0, inputs, 0, count * Float.BYTES);
        int layers = widths.length - 1;
        for (int l = 0; l < layers; l++) {
            int w = widths[l], v = widths[l + 1];
            kernel.multiply(x, w, 1, weightsT[l], biases[l], y, rows, v, w);
            if (l + 1 < layers) {
                kernel.relu(y, (long) rows * v);
            }
            MemorySegment t = x;
            x = y;
            y = t;
        }
        MemorySegment.copy(x, 0, targets, 0, (long) rows * out * Float.BYTES);
    }
}
