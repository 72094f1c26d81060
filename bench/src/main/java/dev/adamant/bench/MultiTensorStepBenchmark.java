package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.MultiTensorOptimizer;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.ParamGroup;
import dev.adamant.core.Team;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
 * One AdamW step over GPT-2 small (148 tensors, 124,439,808 floats; {@link Gpt2Shapes}) on a
 * {@link Team} of 1, 2 or all ({@code threads = 0}) threads, three ways in the same run:
 * <ul>
 *   <li>{@code multiTensor}: one {@link MultiTensorOptimizer} step over the 148 tensors, each its own
 *       allocation, in two groups (matrices with weight decay 0.1, vectors without), as a framework
 *       steps a model;
 *   <li>{@code flat}: one {@link Optimizer} step over one buffer of the same size (what DeepSpeed's
 *       CPU Adam steps);
 *   <li>{@code streamYardstick}: Adam's access pattern (4 streams read, 3 written) with trivial
 *       arithmetic over the flat buffers, on the same team: the memory-bandwidth ceiling.
 * </ul>
 * Scores are milliseconds a step (28 bytes an element); every buffer is allocated and touched in the
 * set-up, the kernels compiled there on small buffers.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xmx1g"})
@State(Scope.Benchmark)
public class MultiTensorStepBenchmark {
    /** Team size; 0: the available processors. */
    @Param({"1", "2", "0"})
    public int threads;

    Team team;
    Arena arena;
    List<MemorySegment> params, grads;
    MemorySegment flatP, flatG, flatM, flatV;
    MultiTensorOptimizer multi;
    Optimizer flat;

    @Setup(Level.Trial)
    public void setUp() {
        team = Team.create(threads == 0 ? Runtime.getRuntime().availableProcessors() : threads);
        arena = Arena.ofShared();
        long[] sizes = Gpt2Shapes.sizes();
        AdamConfig decay = AdamConfig.adamW().withWeightDecay(0.1);
        List<MemorySegment> matrixP = new ArrayList<>(), matrixG = new ArrayList<>();
        List<MemorySegment> vectorP = new ArrayList<>(), vectorG = new ArrayList<>();
        for (long size : sizes) {
            boolean matrix = Gpt2Shapes.isMatrix(size);
            (matrix ? matrixP : vectorP).add(filled(size, 0.5f));
            (matrix ? matrixG : vectorG).add(filled(size, 1e-3f));
        }
        params = new ArrayList<>(matrixP);
        params.addAll(vectorP);
        grads = new ArrayList<>(matrixG);
        grads.addAll(vectorG);
        multi = Optimizers.multiTensor(List.of(
                ParamGroup.of(decay, Arrays.stream(sizes).filter(Gpt2Shapes::isMatrix).toArray()),
                ParamGroup.of(decay.withWeightDecay(0), Arrays.stream(sizes).filter(s -> !Gpt2Shapes.isMatrix(s)).toArray())));
        flatP = filled(Gpt2Shapes.TOTAL, 0.5f);
        flatG = filled(Gpt2Shapes.TOTAL, 1e-3f);
        flatM = filled(Gpt2Shapes.TOTAL, 0f);
        flatV = filled(Gpt2Shapes.TOTAL, 0f);
        flat = Optimizers.adam(decay, Gpt2Shapes.TOTAL);   // state zeroed, so touched, here
        // Compile the three loops on small buffers, as a long run would have.
        long small = AdamWStepBenchmark.Sized.JIT_WARMUP_N;
        try (Optimizer warm = Optimizers.adam(decay, small);
             MultiTensorOptimizer warmMulti = Optimizers.multiTensor(List.of(ParamGroup.of(decay, small / 2, small / 2)))) {
            MemorySegment p = flatP.asSlice(0, small * 4), g = flatG.asSlice(0, small * 4);
            List<MemorySegment> ps = List.of(p.asSlice(0, small * 2), p.asSlice(small * 2, small * 2));
            List<MemorySegment> gs = List.of(g.asSlice(0, small * 2), g.asSlice(small * 2, small * 2));
            for (int i = 0; i < AdamWStepBenchmark.Sized.JIT_WARMUP_CALLS; i++) {
                warm.step(p, g, team);
                warmMulti.step(ps, gs, team);
                AdamWStepBenchmark.stream(flatP, flatG, flatM, flatV, 0, small);
            }
        }
    }

    /** {@code size} floats of {@code value}, touched by the members that will step them. */
    private MemorySegment filled(long size, float value) {
        MemorySegment s = arena.allocate(size * Float.BYTES, 64);
        team.parallelFor(size, (from, to) -> {
            for (long i = from; i < to; i++) {
                s.setAtIndex(ValueLayout.JAVA_FLOAT, i, value);
            }
        });
        return s;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        multi.close();
        flat.close();
        arena.close();
        team.close();
    }

    @Benchmark
    public void multiTensor() {
        multi.step(params, grads, team);
    }

    @Benchmark
    public void flat() {
        flat.step(flatP, flatG, team);
    }

    @Benchmark
    public void streamYardstick() {
        MemorySegment p = flatP, g = flatG, m = flatM, v = flatV;
        team.parallelFor(Gpt2Shapes.TOTAL, (from, to) -> AdamWStepBenchmark.stream(p, g, m, v, from, to - from));
    }
}
