package dev.adamant.bench;

import dev.adamant.core.Implementation;
import dev.adamant.core.quant.Blockwise8;
import dev.adamant.core.quant.Blockwise8Kernels;
import dev.adamant.core.quant.DynamicMap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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
 * The 8-bit block-wise codec alone ({@link Blockwise8}: quantize, dequantize), Panama against the
 * scalar twin through the same interface ({@link Blockwise8Kernels#of}), over {@code n} floats with
 * the signed map: 2^16 (L2) and 2^24 (DRAM). Values are {@code N(0,1) * exp(2 N(0,1))}, so blocks mix
 * magnitudes over many binades. Scores are microseconds a call; divide by {@code n} for ns an element.
 * Quantize moves 5 bytes an element (a float read, a byte written), dequantize 5 as well, so
 * {@link BenchReport} takes {@code --bytes 5}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xms1g", "-Xmx1g"})
public class Blockwise8CodecBenchmark {
    static final DynamicMap MAP = DynamicMap.SIGNED;
    /** Elements a JIT warm-up call (16 blocks). */
    static final int WARMUP_N = 4096;

    /** Values, their codes and absmax, and the kernels of {@link #implementation()}. */
    @State(Scope.Benchmark)
    public static class Inputs {
        @Param({"65536", "16777216"})
        public int n;

        Arena arena;
        MemorySegment values, codes, absmax, out;
        Blockwise8 kernels;

        Implementation implementation() {
            return Implementation.PANAMA;
        }

        @Setup(Level.Trial)
        public void setUp() {
            kernels = Blockwise8Kernels.of(implementation());
            arena = Arena.ofShared();
            values = arena.allocate(4L * n, 64);
            out = arena.allocate(4L * n, 64);
            codes = arena.allocate(n, 64);
            absmax = arena.allocate(4 * Blockwise8.blocks(n), 64);
            SplittableRandom random = new SplittableRandom(42);
            for (long i = 0; i < n; i++) {
                values.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (gaussian(random) * Math.exp(2 * gaussian(random))));
            }
            // Compile the loops first, on a small slice, as AdamWStepBenchmark.Sized does: Vector API
            // code runs boxed and ~1000x slower until C2 has it, and a few calls of 2^16-2^24 elements
            // a second are too few to get there within the warm-up.
            int small = Math.min(n, WARMUP_N);
            for (int i = 0; i < AdamWStepBenchmark.Sized.JIT_WARMUP_CALLS; i++) {
                kernels.quantize(MAP, values, codes, absmax, small);
                kernels.dequantize(MAP, codes, absmax, out, small);
            }
            kernels.quantize(MAP, values, codes, absmax, n);
            kernels.dequantize(MAP, codes, absmax, out, n);
        }

        private static double gaussian(SplittableRandom random) {
            return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    @State(Scope.Benchmark)
    public static class ScalarInputs extends Inputs {
        @Override Implementation implementation() { return Implementation.SCALAR; }
    }

    @Benchmark
    public MemorySegment quantize(Inputs in) {
        in.kernels.quantize(MAP, in.values, in.codes, in.absmax, in.n);
        return in.codes;
    }

    @Benchmark
    public MemorySegment quantizeScalar(ScalarInputs in) {
        in.kernels.quantize(MAP, in.values, in.codes, in.absmax, in.n);
        return in.codes;
    }

    @Benchmark
    public MemorySegment dequantize(Inputs in) {
        in.kernels.dequantize(MAP, in.codes, in.absmax, in.out, in.n);
        return in.out;
    }

    @Benchmark
    public MemorySegment dequantizeScalar(ScalarInputs in) {
        in.kernels.dequantize(MAP, in.codes, in.absmax, in.out, in.n);
        return in.out;
    }
}
