package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Implementation;
import dev.adamant.core.LionConfig;
import dev.adamant.core.OptimizerConfig;
import dev.adamant.core.StateFormat;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One AdamW step with 8-bit block-wise states ({@link StateFormat#BLOCKWISE_8BIT}) against one with
 * fp32 states, over {@code n} fp32 parameters, through the same public entry point
 * ({@code step(params, grads, executor, threads)}), in the same run. The 8-bit step moves 16 bytes an
 * element (p, g read; p written; two state bytes read and written) plus 8 bytes of absmax per 256,
 * against 28: at DRAM sizes at most 1.75x faster. {@code adamW8bit} runs the Panama kernels,
 * {@code adamW8bitScalar} the scalar twin, {@code lion8bit} Lion with one 8-bit state (14 bytes).
 *
 * <p>Sizes and threads as {@link AdamWStepBenchmark} (its {@code Sized}: L2 to DRAM, 1 or 2 threads,
 * buffers touched and loops compiled in the set-up). Scores are microseconds a step;
 * {@link BenchReport} turns them into elements/s and GB/s.
 *
 * <p>Measured (idle 2-vCPU AMD EPYC, 512-bit vectors, JDK 25, {@code -f 1 -wi 2 -i 4}), fp32 AdamW
 * time / 8-bit AdamW time: 0.083x at 2^16, 0.23x and 0.21x at 2^24 on 1 and 2 threads, 0.15x and
 * 0.18x at 2^26: the 8-bit step is compute-bound (quantize and dequantize), far from the 1.5x the bytes
 * would allow; the C yardstick in {@code bench/yardstick} shows the best exact 8-bit step reaching
 * 0.64-0.86x on this machine (README, "8-bit states and Lion").
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xms1g", "-Xmx1g"})
public class Blockwise8StepBenchmark {
    static final AdamConfig ADAMW_8BIT = AdamWStepBenchmark.CONFIG.withStateFormat(StateFormat.BLOCKWISE_8BIT);
    static final LionConfig LION_8BIT = LionStepBenchmark.LION.withStateFormat(StateFormat.BLOCKWISE_8BIT);

    @State(Scope.Benchmark)
    public static class AdamW8Inputs extends LionStepBenchmark.Inputs {
        @Override OptimizerConfig config() { return ADAMW_8BIT; }
    }

    @State(Scope.Benchmark)
    public static class AdamW8ScalarInputs extends AdamW8Inputs {
        @Override Implementation implementation() { return Implementation.SCALAR; }
    }

    @State(Scope.Benchmark)
    public static class Lion8Inputs extends LionStepBenchmark.Inputs {
        @Override OptimizerConfig config() { return LION_8BIT; }
    }

    @Benchmark
    public void adamW8bit(AdamW8Inputs s) {
        s.optimizer.step(s.params, s.grads, s.executor, s.threads);
    }

    @Benchmark
    public void adamW8bitScalar(AdamW8ScalarInputs s) {
        s.optimizer.step(s.params, s.grads, s.executor, s.threads);
    }

    @Benchmark
    public void lion8bit(Lion8Inputs s) {
        s.optimizer.step(s.params, s.grads, s.executor, s.threads);
    }

    @Benchmark
    public void adamW(LionStepBenchmark.AdamWInputs s) {
        s.optimizer.step(s.params, s.grads, s.executor, s.threads);
    }
}
