package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Implementation;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.StepOptions;
import dev.adamant.core.Team;
import dev.adamant.core.kernel.Chunks;
import dev.adamant.core.panama.Species;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One AdamW step over {@code n} fp32 parameters (28 bytes an element: p, g, m, v read; p, m, v
 * written), four ways:
 * <ul>
 *   <li>{@code vector}: {@link Implementation#PANAMA} through {@link Optimizers#adam}, native segments;
 *   <li>{@code vectorTeam}: the same on a {@link Team} of {@code threads} ({@code step(p, g, team)});
 *   <li>{@code scalar}: {@link Implementation#SCALAR}, the same entry point and segments;
 *   <li>{@code plainArrayLoop}: the textbook AdamW loop over {@code float[]} that a JVM user would write;
 *   <li>{@code streamYardstick}: Adam's access pattern (4 streams read, 3 written) with trivial
 *       arithmetic, in the Vector API: the memory-bandwidth ceiling the kernel is judged against.
 * </ul>
 * Sizes cover L2 (2^16: 1.75 MiB touched a step), L3 (2^20: 28 MiB) and DRAM (2^24, 2^26: 448 MiB,
 * 1.75 GiB). {@code threads = 2} splits every variant into the same cache-line-aligned chunks
 * (core's {@code Chunks}, as the optimizers do), chunk 0 on the calling thread and chunk 1 on a dedicated
 * one-thread pool.
 *
 * <p>Scores are microseconds a step; {@link BenchReport} turns a JSON result into elements/s, GB/s
 * and the ratio to the yardstick. Every buffer is allocated and touched in the trial's set-up: first
 * touches are slow on shared machines and must not land in a measured step. The set-up also runs
 * each loop on a small slice until C2 has compiled it ({@link Sized#JIT_WARMUP_CALLS}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
// 2^26 floats x 4 buffers is 1 GiB, on the heap (plainArrayLoop) or native (the rest).
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xms3g", "-Xmx3g"})
public class AdamWStepBenchmark {
    /** PyTorch's AdamW defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 1e-2). */
    static final AdamConfig CONFIG = AdamConfig.adamW();
    /** Bytes an Adam step moves per element: 4 floats read, 3 written. */
    static final int BYTES_PER_ELEMENT = 28;

    /**
     * Sizes and threads, the executor, and the fills. Parameters start in [-1, 1) and gradients in
     * [-1e-3, 1e-3): the same gradient every step keeps every variant finite for millions of steps
     * (AdamW's parameters settle near -sign(g) / weight decay; the yardstick's grow by at most 1e-3 a
     * step). Abstract states carry {@code @State} only because JMH wants it on any class with a
     * {@code @Param}; the benchmarks take the concrete subclasses.
     */
    @State(Scope.Benchmark)
    public abstract static class Sized {
        @Param({"65536", "1048576", "16777216", "67108864"})
        public int n;

        @Param({"1", "2"})
        public int threads;

        /**
         * Calls on a small slice in each trial's set-up, so that C2 compiles each loop as a method: in
         * JMH's few seconds a step over 2^24-2^26 floats runs only a few hundred times, too few for
         * a normal compile, and each call would then start in C1 code (slow for the Vector API) until
         * on-stack replacement. A long training run has no such start-up cost.
         */
        static final int JIT_WARMUP_CALLS = 2_000;
        static final int JIT_WARMUP_N = 16_384;

        ExecutorService pool;
        /** Chunks 1.. of a parallel step; unused when {@code threads == 1}. */
        Executor executor;

        void startPool() {
            if (threads > 1) {
                pool = Executors.newFixedThreadPool(threads - 1, r -> {
                    Thread t = new Thread(r, "bench-worker");
                    t.setDaemon(true);
                    return t;
                });
                executor = pool;
            } else {
                executor = Runnable::run;
            }
        }

        void stopPool() {
            if (pool != null) {
                pool.shutdownNow();
            }
        }

        static float[] params(int n) {
            return uniform(n, 1, 1f);
        }

        static float[] grads(int n) {
            return uniform(n, 2, 1e-3f);
        }

        private static float[] uniform(int n, long seed, float scale) {
            SplittableRandom random = new SplittableRandom(seed);
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) (random.nextDouble(-1, 1) * scale);
            }
            return a;
        }

        /** A cache-line-aligned native copy of {@code values}: every page touched here, not in a step. */
        static MemorySegment nativeCopy(Arena arena, float[] values) {
            MemorySegment s = arena.allocate((long) values.length * Float.BYTES, 64);
            MemorySegment.copy(values, 0, s, ValueLayout.JAVA_FLOAT, 0, values.length);
            return s;
        }
    }

    /** Native parameters and gradients and an optimizer on the kernels {@link #implementation()} names. */
    @State(Scope.Benchmark)
    public abstract static class OptimizerInputs extends Sized {
        Arena arena;
        MemorySegment params, grads;
        Optimizer optimizer;

        abstract Implementation implementation();

        @Setup(Level.Trial)
        public void setUp() {
            startPool();
            arena = Arena.ofShared();
            params = nativeCopy(arena, params(n));
            grads = nativeCopy(arena, grads(n));
            optimizer = Optimizers.adam(CONFIG, n, implementation()); // state zeroed, so touched, here
            int small = Math.min(n, JIT_WARMUP_N);
            try (Optimizer warm = Optimizers.adam(CONFIG, small, implementation())) {
                MemorySegment p = params.asSlice(0, small * 4L), g = grads.asSlice(0, small * 4L);
                for (int i = 0; i < JIT_WARMUP_CALLS; i++) {
                    warm.step(p, g);
                }
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            optimizer.close();
            arena.close();
            stopPool();
        }
    }

    @State(Scope.Benchmark)
    public static class VectorInputs extends OptimizerInputs {
        @Override Implementation implementation() { return Implementation.PANAMA; }
    }

    /** As {@link VectorInputs}, with a {@link Team} of {@code threads} for {@code vectorTeam}. */
    @State(Scope.Benchmark)
    public static class TeamInputs extends VectorInputs {
        Team team;

        // Own names, not overrides: JMH runs every @Setup and @TearDown of the hierarchy.
        @Setup(Level.Trial)
        public void startTeam() {
            team = Team.create(threads);
        }

        @TearDown(Level.Trial)
        public void stopTeam() {
            team.close();
        }
    }

    @State(Scope.Benchmark)
    public static class ScalarInputs extends OptimizerInputs {
        @Override Implementation implementation() { return Implementation.SCALAR; }
    }

    /** Native p, g, m, v for the yardstick. */
    @State(Scope.Benchmark)
    public static class StreamInputs extends Sized {
        Arena arena;
        MemorySegment p, g, m, v;

        @Setup(Level.Trial)
        public void setUp() {
            startPool();
            arena = Arena.ofShared();
            p = nativeCopy(arena, params(n));
            g = nativeCopy(arena, grads(n));
            m = nativeCopy(arena, new float[n]);
            v = nativeCopy(arena, new float[n]);
            for (int i = 0; i < JIT_WARMUP_CALLS; i++) {
                stream(p, g, m, v, 0, Math.min(n, JIT_WARMUP_N));
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
            stopPool();
        }
    }

    /** Heap arrays and the step count for the plain loop. */
    @State(Scope.Benchmark)
    public static class ArrayInputs extends Sized {
        float[] p, g, m, v;
        long t;

        @Setup(Level.Trial)
        public void setUp() {
            startPool();
            p = params(n);
            g = grads(n);
            m = new float[n];
            v = new float[n];
            t = 0;
            for (int i = 0; i < JIT_WARMUP_CALLS; i++) {
                plainAdamW(p, g, m, v, 0, Math.min(n, JIT_WARMUP_N), 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, 0.5f, 0.5f);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            stopPool();
        }
    }

    @Benchmark
    public void vector(VectorInputs s) {
        s.optimizer.step(s.params, s.grads, s.executor, s.threads);
    }

    /** {@code vector} on a {@link Team} of {@code threads} instead of an executor: the step with microsecond hand-offs. */
    @Benchmark
    public void vectorTeam(TeamInputs s) {
        s.optimizer.step(s.params, s.grads, s.team);
    }

    /**
     * {@code vectorTeam} in update mode, the update written into the gradients (a framework's
     * {@code params -= update} is not timed): the same 28 bytes an element, the parameters only read.
     * Each call's update is the next call's gradient, of the size of a step (about lr), which keeps
     * the moments normal.
     */
    @Benchmark
    public void vectorUpdateTeam(TeamInputs s) {
        s.optimizer.update(s.params, s.grads, s.grads, StepOptions.next(), s.team);
    }

    @Benchmark
    public void scalar(ScalarInputs s) {
        s.optimizer.step(s.params, s.grads, s.executor, s.threads);
    }

    @Benchmark
    public void plainArrayLoop(ArrayInputs s) {
        long t = ++s.t;
        float lr = (float) CONFIG.lr(), b1 = (float) CONFIG.beta1(), b2 = (float) CONFIG.beta2();
        float eps = (float) CONFIG.eps(), wd = (float) CONFIG.weightDecay();
        float bc1 = (float) (1 - Math.pow(CONFIG.beta1(), t));
        float bc2 = (float) (1 - Math.pow(CONFIG.beta2(), t));
        float[] p = s.p, g = s.g, m = s.m, v = s.v;
        Chunks.run(s.n, s.threads, s.executor, (from, count) ->
                plainAdamW(p, g, m, v, (int) from, (int) (from + count), lr, b1, b2, eps, wd, bc1, bc2));
    }

    @Benchmark
    public void streamYardstick(StreamInputs s) {
        MemorySegment p = s.p, g = s.g, m = s.m, v = s.v;
        Chunks.run(s.n, s.threads, s.executor, (from, count) -> stream(p, g, m, v, from, count));
    }

    /** AdamW as in the paper and PyTorch's docs, written the obvious way. */
    static void plainAdamW(float[] p, float[] g, float[] m, float[] v, int from, int to, float lr, float b1,
                           float b2, float eps, float wd, float bc1, float bc2) {
        for (int i = from; i < to; i++) {
            float gi = g[i];
            float mi = b1 * m[i] + (1 - b1) * gi;
            float vi = b2 * v[i] + (1 - b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            float mHat = mi / bc1;
            float vHat = vi / bc2;
            p[i] = p[i] * (1 - lr * wd) - lr * mHat / ((float) Math.sqrt(vHat) + eps);
        }
    }

    /** The kernels' own species, so {@code -jvmArgsAppend -Dadamant.vectorBits=256} narrows the yardstick too. */
    private static final VectorSpecies<Float> SPECIES = Species.FLOATS;
    private static final ByteOrder ORDER = Species.ORDER;

    /**
     * Adam's memory traffic with one add per stream: {@code p += g, m += g, v += g}. Same loop shape
     * as the Panama kernels (byte offsets, {@code loopBound}, scalar tail) and the same order: four
     * loads, then three stores. Interleaving them instead (load p, store p, load m, ...) is up to 1.4x
     * slower from L3 on Zen 4 (measured while writing this), which would make a lenient
     * yardstick.
     */
    static void stream(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long from, long count) {
        final long bound = SPECIES.loopBound(count);
        final long stride = SPECIES.vectorByteSize();
        final long end = (from + bound) * Float.BYTES;
        for (long o = from * Float.BYTES; o < end; o += stride) {
            FloatVector pv = FloatVector.fromMemorySegment(SPECIES, p, o, ORDER);
            FloatVector gv = FloatVector.fromMemorySegment(SPECIES, g, o, ORDER);
            FloatVector mv = FloatVector.fromMemorySegment(SPECIES, m, o, ORDER);
            FloatVector vv = FloatVector.fromMemorySegment(SPECIES, v, o, ORDER);
            pv.add(gv).intoMemorySegment(p, o, ORDER);
            mv.add(gv).intoMemorySegment(m, o, ORDER);
            vv.add(gv).intoMemorySegment(v, o, ORDER);
        }
        ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT;
        for (long i = from + bound; i < from + count; i++) {
            float gi = g.getAtIndex(f, i);
            p.setAtIndex(f, i, p.getAtIndex(f, i) + gi);
            m.setAtIndex(f, i, m.getAtIndex(f, i) + gi);
            v.setAtIndex(f, i, v.getAtIndex(f, i) + gi);
        }
    }
}
