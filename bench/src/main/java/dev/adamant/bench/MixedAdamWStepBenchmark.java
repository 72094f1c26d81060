package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizers;
import dev.adamant.core.kernel.Chunks;
import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.mixed.MixedPrecisionOptimizer;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
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
 * The mixed-precision AdamW step: 16-bit gradients in, fp32 master weights and moments, 16-bit
 * parameters out ({@code mixedStep}: the overflow check pass and the tiled update, 2 + 12 bytes read
 * and 12 + 2 written a parameter, plus the check's 2), against core's streaming yardstick
 * ({@code streamYardstick}: 4 fp32 streams read, 3 written, 28 bytes) in the same run. Also the
 * first pass alone with clipping ({@code checkWithNorm}: decode, inf/NaN test and norm blocks over
 * the 16-bit gradients, 2 bytes a parameter) against {@code plainRead} of the same bytes.
 * Report with {@code BenchReport} (28 bytes; 2 for the check and the read).
 *
 * <p>At 2^24 the gradients are 32 MiB, the size of the development machine's L3: from one call to
 * the next part of them stays cached, and how much varies from run to run, more for the faster
 * loop. {@code checkWithNormCold} and {@code plainReadCold} are the same two loops after a read of
 * 128 MiB of other memory before every call (in set-up, not timed), which leaves them in DRAM.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xms2g", "-Xmx2g"})
public class MixedAdamWStepBenchmark {

    @State(Scope.Benchmark)
    public static class Inputs {
        @Param({"1048576", "16777216"})
        public int n;

        @Param({"1", "2"})
        public int threads;

        @Param({"FP16", "BF16"})
        public Precision format;

        Arena arena;
        MemorySegment params16, grads16, p, g, m, v;
        MixedPrecisionOptimizer optimizer;
        double[] blocks;
        ExecutorService pool;
        Executor executor;

        @Setup(Level.Trial)
        public void setUp() {
            pool = threads > 1 ? Executors.newFixedThreadPool(threads - 1) : null;
            executor = pool != null ? pool : Runnable::run;
            arena = Arena.ofShared();
            SplittableRandom r = new SplittableRandom(3);
            p = arena.allocate(4L * n, 64);
            g = arena.allocate(4L * n, 64);
            m = arena.allocate(4L * n, 64);
            v = arena.allocate(4L * n, 64);
            for (long i = 0; i < n; i++) {
                p.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
                g.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextGaussian() * 1e-3 * 1024));
            }
            params16 = arena.allocate(2L * n, 64);
            grads16 = arena.allocate(2L * n, 64);
            encode(format, g, grads16);
            // Scale 1024 for ever: the gradients above were made under it and never overflow.
            optimizer = MixedPrecisionOptimizer.builder(Optimizers.adam(AdamConfig.adamW(), n), format)
                    .lossScaler(DynamicLossScaler.builder().initScale(1024).growthInterval(Integer.MAX_VALUE).build())
                    .build();
            optimizer.loadMaster(p);
            optimizer.writeParams(params16);
            blocks = new double[optimizer.normBlocks()];
            for (int i = 0; i < 5; i++) {
                optimizer.step(params16, grads16, executor, threads);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            optimizer.close();
            arena.close();
            if (pool != null) {
                pool.shutdownNow();
            }
        }
    }

    static void encode(Precision format, MemorySegment floats, MemorySegment halves) {
        if (format == Precision.FP16) {
            Half.encode(floats, halves);
        } else {
            BFloat16.encode(floats, halves);
        }
    }

    @Benchmark
    public Object mixedStep(Inputs s) {
        return s.optimizer.step(s.params16, s.grads16, s.executor, s.threads);
    }

    @Benchmark
    public boolean checkWithNorm(Inputs s) {
        return s.optimizer.checkGradients(s.grads16, 1024f, s.blocks, s.executor, s.threads);
    }

    @Benchmark
    public void streamYardstick(Inputs s) {
        MemorySegment p = s.p, g = s.g, m = s.m, v = s.v;
        Chunks.run(s.n, s.threads, s.executor, (from, count) -> AdamWStepBenchmark.stream(p, g, m, v, from, count));
    }

    /** 128 MiB of other memory, read before every call of the cold benchmarks. */
    @State(Scope.Benchmark)
    public static class Evictor {
        private static final VectorSpecies<Long> LONGS = LongVector.SPECIES_PREFERRED;
        Arena arena;
        MemorySegment other;
        long sink;

        @Setup(Level.Trial)
        public void setUp() {
            arena = Arena.ofShared();
            other = arena.allocate(128L << 20, 64);
            other.fill((byte) 5);
        }

        @Setup(Level.Invocation)
        public void evict() {
            LongVector acc = LongVector.zero(LONGS);
            for (long o = 0; o < other.byteSize(); o += LONGS.vectorByteSize()) {
                acc = acc.add(LongVector.fromMemorySegment(LONGS, other, o, java.nio.ByteOrder.nativeOrder()));
            }
            sink += acc.reduceLanes(VectorOperators.ADD);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    @Benchmark
    public boolean checkWithNormCold(Inputs s, Evictor cold) {
        return checkWithNorm(s);
    }

    @Benchmark
    public long plainReadCold(Inputs s, Evictor cold) {
        return plainRead(s);
    }

    /**
     * The fastest plain read of the gradients found: 8 bytes a load, OR-ed together (which C2
     * vectorizes). A {@code ShortVector} loop of the preferred 512-bit species took 1.72 ms at 2^24
     * from DRAM, of 256 bits 1.49 ms, this loop 1.41 ms (2-core EPYC, best of 20).
     */
    @Benchmark
    public long plainRead(Inputs s) {
        long[] result = new long[1];
        MemorySegment h = s.grads16;
        Chunks.run(s.n, s.threads, s.executor, (from, count) -> {
            long acc = 0;
            long end = (from + count) * Short.BYTES / Long.BYTES;
            for (long i = from * Short.BYTES / Long.BYTES; i < end; i++) {
                acc |= h.getAtIndex(ValueLayout.JAVA_LONG, i);
            }
            synchronized (result) {
                result[0] |= acc;
            }
        });
        return result[0];
    }
}
