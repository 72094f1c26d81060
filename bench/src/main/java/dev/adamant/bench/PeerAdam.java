package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.MultiTensorOptimizer;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.ParamGroup;
import dev.adamant.core.StateFormat;
import dev.adamant.core.Team;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Adamant's AdamW step timed exactly as {@code ../shared/peers/deepspeed-cpu-adam}'s driver times
 * DeepSpeed's AVX-512 CPU Adam, so that the two run side by side in one script
 * ({@code bench/peer-compare.sh}) and print comparable lines:
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/adamant-bench.jar dev.adamant.bench.PeerAdam LOG2N|gpt2|gpt2-flat STEPS [THREADS [fp32|8bit]]
 * </pre>
 *
 * The same fills (p = 0.5, g a ramp in [-1e-3, 1e-3)), the same AdamW (lr 1e-3, betas 0.9 and
 * 0.999, eps 1e-8, weight decay 0.01), fp32, buffers touched before timing by the threads that will
 * step them (the optimizers' state is zeroed, so touched, when they are made), 3 untimed steps,
 * then the median and best of {@code STEPS}. {@code LOG2N}: one flat
 * optimizer of 2^LOG2N floats stepped on a {@link Team} of {@code THREADS} (default: the available
 * processors). {@code gpt2}: GPT-2 small's 148 tensors, each its own allocation, in one
 * {@link MultiTensorOptimizer} step (two groups: matrices with weight decay, vectors without, as a
 * framework groups them). {@code gpt2-flat}: the same 124,439,808 floats as one flat optimizer.
 * Before timing, C2 compiles the kernels on a small buffer (the C driver has nothing to compile).
 *
 * <p>{@code 8bit} (after {@code THREADS}; {@code LOG2N} and {@code gpt2-flat} only): the same AdamW
 * with {@link StateFormat#BLOCKWISE_8BIT} states, printed as {@code adamant-flat-8bit}, its GB/s
 * counted at the 16 bytes an element that step moves (p, g read; p written; two state bytes read and
 * written; the absmax floats, 16 bytes a block of 256, left out). The C yardstick beside it is
 * {@code bench/yardstick}; {@code bench/blockwise8-compare.sh} runs them all.
 */
public final class PeerAdam {
    private static final int UNTIMED = 3;

    private PeerAdam() {}

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: PeerAdam LOG2N|gpt2|gpt2-flat STEPS [THREADS [fp32|8bit]]");
            System.exit(2);
        }
        String what = args[0];
        int steps = Integer.parseInt(args[1]);
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
        String format = args.length > 3 ? args[3] : "fp32";
        if (!format.equals("fp32") && !format.equals("8bit")) {
            System.err.println("format: " + format + " (expected: fp32 or 8bit)");
            System.exit(2);
        }
        boolean blockwise8 = format.equals("8bit");
        if (blockwise8 && what.equals("gpt2")) {
            System.err.println("8bit: LOG2N or gpt2-flat only (the multi-tensor case times fp32 states)");
            System.exit(2);
        }
        AdamConfig config = AdamConfig.adamW().withLr(1e-3).withBetas(0.9, 0.999).withEps(1e-8).withWeightDecay(0.01);
        if (blockwise8) {
            config = config.withStateFormat(StateFormat.BLOCKWISE_8BIT);
        }
        try (Team team = Team.create(threads); Arena arena = Arena.ofShared()) {
            warmUp(config, team);
            long[] sizes = what.startsWith("gpt2") ? Gpt2Shapes.sizes() : new long[] {1L << Integer.parseInt(what)};
            long n = Arrays.stream(sizes).sum();
            List<MemorySegment> params = new ArrayList<>(), grads = new ArrayList<>();
            for (long size : sizes) {
                MemorySegment p = arena.allocate(size * Float.BYTES, 64), g = arena.allocate(size * Float.BYTES, 64);
                fill(team, p, g, size);
                params.add(p);
                grads.add(g);
            }
            double[] seconds = new double[steps];
            String name;
            if (what.equals("gpt2")) {
                name = "adamant-multi-tensor";
                long[] matrices = Arrays.stream(sizes).filter(Gpt2Shapes::isMatrix).toArray();
                long[] vectors = Arrays.stream(sizes).filter(s -> !Gpt2Shapes.isMatrix(s)).toArray();
                List<MemorySegment> p = new ArrayList<>(), g = new ArrayList<>();
                for (boolean matrix : new boolean[] {true, false}) {   // the tensors in group order
                    for (int t = 0; t < sizes.length; t++) {
                        if (Gpt2Shapes.isMatrix(sizes[t]) == matrix) {
                            p.add(params.get(t));
                            g.add(grads.get(t));
                        }
                    }
                }
                try (MultiTensorOptimizer opt = Optimizers.multiTensor(List.of(ParamGroup.of(config, matrices),
                        ParamGroup.of(config.withWeightDecay(0), vectors)))) {
                    for (int s = 0; s < UNTIMED + steps; s++) {
                        long t0 = System.nanoTime();
                        opt.step(p, g, team);
                        record(seconds, s, t0);
                    }
                }
            } else {
                name = blockwise8 ? "adamant-flat-8bit" : "adamant-flat";
                MemorySegment p = params.getFirst(), g = grads.getFirst();
                if (sizes.length > 1) {   // gpt2-flat: one buffer of the same size
                    p = arena.allocate(n * Float.BYTES, 64);
                    g = arena.allocate(n * Float.BYTES, 64);
                    fill(team, p, g, n);
                }
                try (Optimizer opt = Optimizers.adam(config, n)) {
                    for (int s = 0; s < UNTIMED + steps; s++) {
                        long t0 = System.nanoTime();
                        opt.step(p, g, team);
                        record(seconds, s, t0);
                    }
                }
            }
            Arrays.sort(seconds);
            double med = seconds[steps / 2], best = seconds[0];
            int bytes = blockwise8 ? 16 : 28;
            System.out.printf(Locale.ROOT, "%-20s T=%-2d n=%-10d median %9.4f ms  %6.3f ns/elem  %7.1f GB/s (%d B/elem)  best %7.1f GB/s%n",
                    name, threads, n, med * 1e3, med * 1e9 / n, (double) bytes * n / med / 1e9, bytes,
                    (double) bytes * n / best / 1e9);
        }
    }

    /** The C driver's fills (p = 0.5, g a ramp), each page first touched by the member that will step it. */
    private static void fill(Team team, MemorySegment p, MemorySegment g, long n) {
        team.parallelFor(n, (from, to) -> {
            for (long i = from; i < to; i++) {
                p.setAtIndex(ValueLayout.JAVA_FLOAT, i, 0.5f);
                g.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1e-3f * (float) (i % 1000 - 500) / 500f);
            }
        });
    }

    private static void record(double[] seconds, int s, long t0) {
        long t1 = System.nanoTime();
        if (s >= UNTIMED) {
            seconds[s - UNTIMED] = (t1 - t0) / 1e9;
        }
    }

    /**
     * Compiles the flat and multi-tensor paths on small buffers, many times, as a long training run would
     * have; under an 8-bit config the flat one has 8-bit states (2^14 elements: above bitsandbytes'
     * 4096), and the multi-tensor one fp32 states as the timed gpt2 case.
     */
    private static void warmUp(AdamConfig config, Team team) {
        long n = 1 << 14;
        try (Arena arena = Arena.ofShared();
             Optimizer flat = Optimizers.adam(config, n);
             MultiTensorOptimizer multi = Optimizers.multiTensor(List.of(ParamGroup.of(config.withStateFormat(StateFormat.FP32),
                     n / 2, n / 4, n / 4)))) {
            MemorySegment p = arena.allocate(n * Float.BYTES, 64), g = arena.allocate(n * Float.BYTES, 64);
            List<MemorySegment> ps = List.of(p.asSlice(0, n * 2), p.asSlice(n * 2, n), p.asSlice(n * 3, n));
            List<MemorySegment> gs = List.of(g.asSlice(0, n * 2), g.asSlice(n * 2, n), g.asSlice(n * 3, n));
            for (int i = 0; i < 3_000; i++) {
                flat.step(p, g, team);
                multi.step(ps, gs, team);
            }
        }
    }
}
