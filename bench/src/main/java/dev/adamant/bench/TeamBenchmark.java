package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.Team;
import dev.adamant.core.kernel.Chunks;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * What a parallel region costs on a {@link Team}, and from what size a second member pays for itself:
 * the measurement behind {@link Team#MIN_SHARE}.
 * <ul>
 *   <li>{@code emptyRegion}: a region whose shares do nothing, so the score is the hand-off and join
 *       alone, on teams of {@code threads} (0 in the parameter list means
 *       {@code Runtime.availableProcessors()}); {@code emptyChunks} the same through core's
 *       {@code Chunks.run} over an executor of {@code threads - 1} pool threads, the older path.
 *       Back to back, so members are still spinning: the cost a training step sees, not a cold start.
 *   <li>{@code adamWShares}: one AdamW step over {@code n} floats as {@code Optimizer.step(p, g, team)}
 *       runs it (a region of cache-line shares, {@code beginStep()} and {@code Step.apply} on each)
 *       but with {@code minShare} 0, so a team of 2 always splits: comparing 1 and 2 threads at each
 *       {@code n} gives the crossover, and so the smallest share worth handing out.
 * </ul>
 * Scores are microseconds a call. Buffers are allocated and touched, and the kernels compiled, in
 * the trial's set-up.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class TeamBenchmark {
    /** A team (or pool) of {@code threads}; 0: one member per available processor. */
    @State(Scope.Benchmark)
    public static class Hand {
        @Param({"1", "2", "0"})
        public int threads;

        Team team;
        ExecutorService pool;
        int members;

        @Setup(Level.Trial)
        public void setUp() {
            members = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
            team = Team.create(members);
            pool = members > 1 ? Executors.newFixedThreadPool(members - 1, r -> {
                Thread t = new Thread(r, "bench-chunks");
                t.setDaemon(true);
                return t;
            }) : null;
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            team.close();
            if (pool != null) {
                pool.shutdownNow();
            }
        }
    }

    /** AdamW over {@code n} floats on a team of {@code threads}. */
    @State(Scope.Benchmark)
    public static class StepInputs {
        @Param({"4096", "8192", "16384", "32768", "65536", "131072", "262144", "524288", "1048576"})
        public int n;

        @Param({"1", "2"})
        public int threads;

        Team team;
        Arena arena;
        MemorySegment params, grads;
        Optimizer optimizer;

        @Setup(Level.Trial)
        public void setUp() {
            team = Team.create(threads);
            arena = Arena.ofShared();
            params = AdamWStepBenchmark.Sized.nativeCopy(arena, AdamWStepBenchmark.Sized.params(n));
            grads = AdamWStepBenchmark.Sized.nativeCopy(arena, AdamWStepBenchmark.Sized.grads(n));
            optimizer = Optimizers.adam(AdamConfig.adamW(), n);   // state zeroed, so touched, here
            for (int i = 0; i < AdamWStepBenchmark.Sized.JIT_WARMUP_CALLS; i++) {
                adamW(this);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            optimizer.close();
            arena.close();
            team.close();
        }
    }

    @Benchmark
    public void emptyRegion(Hand h) {
        h.team.parallelFor(h.members * Team.LINE, Team.LINE, 0, (from, to) -> { });
    }

    @Benchmark
    public void emptyChunks(Hand h) {
        // Chunks splits nothing below MIN_CHUNK a chunk: give it enough elements for one chunk a member.
        Chunks.run(h.members * Chunks.MIN_CHUNK, h.members, h.pool == null ? Runnable::run : h.pool,
                (from, count) -> { });
    }

    @Benchmark
    public void adamWShares(StepInputs s) {
        adamW(s);
    }

    /** What {@code Optimizer.step(p, g, team)} does, with {@code minShare} 0. */
    private static void adamW(StepInputs s) {
        MemorySegment p = s.params, g = s.grads;
        try (Optimizer.Step step = s.optimizer.beginStep()) {
            s.team.parallelFor(s.n, Team.LINE, 0, (from, to) -> step.apply(
                    p.asSlice(from * Float.BYTES, (to - from) * Float.BYTES),
                    g.asSlice(from * Float.BYTES, (to - from) * Float.BYTES), from));
        }
    }
}
