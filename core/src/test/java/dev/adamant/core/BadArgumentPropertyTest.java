package dev.adamant.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;

import dev.adamant.core.kernel.Chunks;
import dev.adamant.core.memory.Buffers;
import dev.adamant.core.memory.Segments;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * Every public entry point of core, fed bad arguments that QuickTheories generates (wrong sizes,
 * negative counts and offsets, NaN, infinite and out-of-range hyper-parameters, closed, read-only,
 * misaligned, confined and overlapping segments, nulls, executors that refuse): each is refused with
 * an exception whose message starts with the argument's name, and nothing changes, byte for byte:
 * not the parameters, gradients, state buffers or step count, not the configuration. Hyper-parameters
 * are drawn from all doubles, so the test also holds valid ones to being accepted, against ranges
 * written here from the javadoc.
 *
 * <p>Fixed seeds; a summary line gives the trials, refusals and failures per family.
 */
@Timeout(300)
class BadArgumentPropertyTest {
    private static final long SEED = 0xAD4A_11L;
    private static final Map<String, Tally> TALLIES = new LinkedHashMap<>();
    private static ExecutorService pool;

    /** Trials of one family: bad calls refused correctly, valid ones accepted, failures. */
    private static final class Tally {
        int trials, refused, accepted, failures;
    }

    @BeforeAll
    static void start() {
        pool = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void summary() {
        pool.shutdownNow();
        StringBuilder line = new StringBuilder("BadArgumentPropertyTest (core, ")
                .append(Optimizers.implementation().split(",")[0]).append("):");
        int trials = 0, refused = 0, accepted = 0, failures = 0;
        for (Map.Entry<String, Tally> e : TALLIES.entrySet()) {
            Tally t = e.getValue();
            line.append(' ').append(e.getKey()).append(" ").append(t.trials).append(" trials/").append(t.refused)
                    .append(" refused/").append(t.accepted).append(" accepted/").append(t.failures).append(" failed;");
            trials += t.trials;
            refused += t.refused;
            accepted += t.accepted;
            failures += t.failures;
        }
        line.append(" total ").append(trials).append(" trials, ").append(refused).append(" refused correctly, ")
                .append(accepted).append(" valid accepted, ").append(failures).append(" failures");
        System.out.println(line);
    }

    /** Runs one trial of {@code family}, counting it and, if it throws, its failure. */
    private static void trial(String family, Runnable body) {
        Tally t = TALLIES.computeIfAbsent(family, k -> new Tally());
        t.trials++;
        try {
            body.run();
        } catch (RuntimeException | Error e) {
            t.failures++;
            throw e;
        }
    }

    private static void countRefused(String family) {
        TALLIES.get(family).refused++;
    }

    private static void countAccepted(String family) {
        TALLIES.get(family).accepted++;
    }

    /**
     * Asserts {@code call} throws {@code type} with a message that starts with {@code argument}
     * (followed by the end, a colon or a space) and mentions each of {@code also}.
     */
    static Throwable assertRefused(Class<? extends Throwable> type, String argument, Executable call, String... also) {
        Throwable e = assertThrows(type, call, "expected " + type.getSimpleName() + " naming " + argument);
        String m = e.getMessage();
        assertTrue(m != null && (m.equals(argument) || m.startsWith(argument + ":") || m.startsWith(argument + " ")),
                "message should start with the argument \"" + argument + "\": " + m);
        for (String a : also) {
            assertTrue(m.contains(a), "message should mention \"" + a + "\": " + m);
        }
        return e;
    }

    /** Any double: all bit patterns (NaN payloads, subnormals, both zeros) mixed with the edges of every range. */
    static Gen<Double> anyDouble() {
        List<Double> edges = List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -0.0,
                Double.MIN_VALUE, -Double.MIN_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE, 1.0, Math.nextDown(1.0),
                Math.nextUp(1.0), -1.0, 0.5, -1e-300, 1e-300, 2.0, 1e-8);
        return Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE).map(Double::longBitsToDouble)
                .mix(Generate.pick(edges), 40)
                .mix(Generate.range(-1000, 2000).map(k -> k / 1000.0), 30);
    }

    // ---- hyper-parameters: refused exactly outside the documented range, the config unchanged ----

    /** A documented range, written from the javadoc, not from Check. */
    enum Range {
        FINITE_NON_NEGATIVE(v -> v >= 0 && v < Double.POSITIVE_INFINITY),
        FINITE_POSITIVE(v -> v > 0 && v < Double.POSITIVE_INFINITY),
        ZERO_TO_ONE_EXCLUSIVE(v -> v >= 0 && v < 1),
        ZERO_TO_ONE_INCLUSIVE(v -> v >= 0 && v <= 1);

        final java.util.function.DoublePredicate valid;

        Range(java.util.function.DoublePredicate valid) {
            this.valid = valid;
        }
    }

    /** One hyper-parameter setter: its name, range, and how to set and read it. */
    record Setter(String family, String name, Range range, Function<Double, Object> set, DoubleUnaryOperator readBack) {}

    private static final AdamConfig ADAM = AdamConfig.adamW();
    private static final SgdConfig SGD = SgdConfig.sgd(0.1).withMomentum(0.9);
    private static final RmsPropConfig RMS = RmsPropConfig.rmsProp();

    private static List<Setter> setters() {
        return List.of(
                new Setter("AdamConfig", "lr", Range.FINITE_NON_NEGATIVE, ADAM::withLr, v -> ADAM.withLr(v).lr()),
                new Setter("AdamConfig", "beta1", Range.ZERO_TO_ONE_EXCLUSIVE, v -> ADAM.withBetas(v, 0.999),
                        v -> ADAM.withBetas(v, 0.999).beta1()),
                new Setter("AdamConfig", "beta2", Range.ZERO_TO_ONE_EXCLUSIVE, v -> ADAM.withBetas(0.9, v),
                        v -> ADAM.withBetas(0.9, v).beta2()),
                new Setter("AdamConfig", "eps", Range.FINITE_POSITIVE, ADAM::withEps, v -> ADAM.withEps(v).eps()),
                new Setter("AdamConfig", "weightDecay", Range.FINITE_NON_NEGATIVE, ADAM::withWeightDecay,
                        v -> ADAM.withWeightDecay(v).weightDecay()),
                new Setter("SgdConfig.sgd", "lr", Range.FINITE_NON_NEGATIVE, SgdConfig::sgd, v -> SgdConfig.sgd(v).lr()),
                new Setter("SgdConfig", "lr", Range.FINITE_NON_NEGATIVE, SGD::withLr, v -> SGD.withLr(v).lr()),
                new Setter("SgdConfig", "momentum", Range.FINITE_NON_NEGATIVE, SGD::withMomentum,
                        v -> SGD.withMomentum(v).momentum()),
                new Setter("SgdConfig", "dampening", Range.ZERO_TO_ONE_INCLUSIVE, SGD::withDampening,
                        v -> SGD.withDampening(v).dampening()),
                new Setter("SgdConfig", "weightDecay", Range.FINITE_NON_NEGATIVE, SGD::withWeightDecay,
                        v -> SGD.withWeightDecay(v).weightDecay()),
                new Setter("RmsPropConfig", "lr", Range.FINITE_NON_NEGATIVE, RMS::withLr, v -> RMS.withLr(v).lr()),
                new Setter("RmsPropConfig", "alpha", Range.ZERO_TO_ONE_EXCLUSIVE, RMS::withAlpha,
                        v -> RMS.withAlpha(v).alpha()),
                new Setter("RmsPropConfig", "eps", Range.FINITE_POSITIVE, RMS::withEps, v -> RMS.withEps(v).eps()),
                new Setter("RmsPropConfig", "weightDecay", Range.FINITE_NON_NEGATIVE, RMS::withWeightDecay,
                        v -> RMS.withWeightDecay(v).weightDecay()),
                new Setter("RmsPropConfig", "momentum", Range.FINITE_NON_NEGATIVE, RMS::withMomentum,
                        v -> RMS.withMomentum(v).momentum()));
    }

    @Test
    void hyperParameters() {
        String family = "hyper-parameters";
        List<Setter> setters = setters();
        qt().withFixedSeed(SEED).withExamples(1500).forAll(Generate.range(0, setters.size() - 1), anyDouble())
            .checkAssert((which, v) -> trial(family, () -> {
                Setter s = setters.get(which);
                String adam = ADAM.toString(), sgd = SGD.toString(), rms = RMS.toString();
                if (s.range().valid.test(v)) {
                    assertEquals(Double.doubleToRawLongBits(v), Double.doubleToRawLongBits(s.readBack().applyAsDouble(v)),
                            s.family() + "." + s.name() + "(" + v + ") accepted and kept");
                    countAccepted(family);
                } else {
                    assertRefused(IllegalArgumentException.class, s.name(), () -> s.set().apply(v), String.valueOf(v));
                    countRefused(family);
                }
                assertEquals(adam, ADAM.toString());
                assertEquals(sgd, SGD.toString());
                assertEquals(rms, RMS.toString());
            }));
    }

    // ---- factories: null configurations and implementations, n out of range, inconsistent SGD ----

    enum FactoryBad { NULL_CONFIG, N_NOT_POSITIVE, N_TOO_LARGE, NULL_IMPLEMENTATION, SGD_RULES }

    @Test
    void factories() {
        String family = "factories";
        qt().withFixedSeed(SEED).withExamples(600).forAll(Generate.enumValues(FactoryBad.class), Generate.range(0, 5),
                Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((bad, which, number, seed) -> trial(family, () -> {
                int optimizer = which % 3;
                boolean named = which >= 3;
                Implementation impl = Implementation.SCALAR;
                switch (bad) {
                    case NULL_CONFIG -> {
                        assertRefused(NullPointerException.class, "config", () -> make(optimizer, named, null, 10, impl));
                        countRefused(family);
                    }
                    case N_NOT_POSITIVE -> {
                        long n = number > 0 ? -number : number;   // 0, negative, Long.MIN_VALUE
                        assertRefused(IllegalArgumentException.class, "n", () -> make(optimizer, named, config(optimizer), n, impl),
                                String.valueOf(n));
                        countRefused(family);
                    }
                    case N_TOO_LARGE -> {
                        long n = Buffers.MAX_FLOATS + 1 + Math.floorMod(number, Long.MAX_VALUE - Buffers.MAX_FLOATS);
                        // SGD without momentum keeps no state: refused all the same (its buffers could not exist).
                        Object cfg = optimizer == 1 && (seed & 1) == 0 ? SgdConfig.sgd(0.1) : config(optimizer);
                        assertRefused(IllegalArgumentException.class, "n", () -> make(optimizer, named, cfg, n, impl),
                                String.valueOf(n), String.valueOf(Buffers.MAX_FLOATS));
                        countRefused(family);
                    }
                    case NULL_IMPLEMENTATION -> {
                        assertRefused(NullPointerException.class, "implementation",
                                () -> make(optimizer, true, config(optimizer), 10, null));
                        countRefused(family);
                    }
                    case SGD_RULES -> {
                        SplittableRandom r = new SplittableRandom(seed);
                        double[] somes = {0, 0.5, 0.9, 1, 1.5};
                        double momentum = somes[r.nextInt(somes.length)];
                        double dampening = r.nextBoolean() ? momentum == 1.5 ? 0 : momentum : somes[r.nextInt(4)];
                        boolean nesterov = r.nextBoolean(), bias = r.nextBoolean();
                        SgdConfig c = SgdConfig.sgd(0.1).withMomentum(momentum).withDampening(dampening)
                                .withNesterov(nesterov).withBiasCorrection(bias);
                        // PyTorch's nesterov rule, then the textbook variant's, as SgdConfig's javadoc states them.
                        String broken = nesterov && (momentum <= 0 || dampening != 0) ? "nesterov"
                                : bias && !(momentum > 0 && momentum < 1) ? "biasCorrection"
                                : bias && dampening != 0 && dampening != momentum ? "biasCorrection" : null;
                        if (broken == null) {
                            make(1, named, c, 10, impl).close();
                            countAccepted(family);
                        } else {
                            assertRefused(IllegalArgumentException.class, broken, () -> make(1, named, c, 10, impl));
                            countRefused(family);
                        }
                    }
                }
            }));
    }

    private static Object config(int optimizer) {
        return switch (optimizer) {
            case 0 -> AdamConfig.adam().withAmsgrad(true);
            case 1 -> SgdConfig.sgd(0.1).withMomentum(0.9);
            default -> RmsPropConfig.rmsProp().withCentered(true);
        };
    }

    private static Optimizer make(int optimizer, boolean named, Object config, long n, Implementation impl) {
        return switch (optimizer) {
            case 0 -> named ? Optimizers.adam((AdamConfig) config, n, impl) : Optimizers.adam((AdamConfig) config, n);
            case 1 -> named ? Optimizers.sgd((SgdConfig) config, n, impl) : Optimizers.sgd((SgdConfig) config, n);
            default -> named ? Optimizers.rmsProp((RmsPropConfig) config, n, impl)
                    : Optimizers.rmsProp((RmsPropConfig) config, n);
        };
    }

    // ---- steps: every overload, one bad argument at a time, nothing changed ----

    private static Optimizer optimizer(int which, long n) {
        return switch (which % 3) {
            case 0 -> Optimizers.adam(AdamConfig.adamW().withAmsgrad(true), n);
            case 1 -> Optimizers.sgd(SgdConfig.sgd(0.1).withMomentum(0.9).withNesterov(true), n);
            default -> Optimizers.rmsProp(RmsPropConfig.rmsProp().withCentered(true).withMomentum(0.5), n);
        };
    }

    /** {@code n} random floats in a fresh segment of {@code arena}, 64-byte aligned. */
    private static MemorySegment floats(Arena arena, SplittableRandom r, long n) {
        MemorySegment s = arena.allocate(n * 4, 64);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextDouble() - 0.5f);
        }
        return s;
    }

    private static MemorySegment closedSegment(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            return a.allocate(bytes, 64);
        }
    }

    /** Accepts {@code accept} hand-offs, passing them to the pool, then refuses every one. */
    private static Executor refusingAfter(int accept) {
        AtomicInteger handedOff = new AtomicInteger();
        return task -> {
            if (handedOff.getAndIncrement() >= accept) {
                throw new RejectedExecutionException("saturated");
            }
            pool.execute(task);
        };
    }

    enum StepBad {
        PARAMS_NULL, GRADS_NULL, PARAMS_SIZE, GRADS_SIZE, PARAMS_MISALIGNED, GRADS_MISALIGNED, PARAMS_READ_ONLY,
        PARAMS_CLOSED, GRADS_CLOSED, OVERLAP, EXECUTOR_NULL, PARALLELISM, PARAMS_CONFINED, GRADS_CONFINED,
        EXECUTOR_REFUSES;

        /** Whether the step must be split for this to be wrong (then n is above one chunk). */
        boolean needsSplit() {
            return this == PARAMS_CONFINED || this == GRADS_CONFINED || this == EXECUTOR_REFUSES;
        }
    }

    @Test
    void steps() {
        String family = "Optimizer.step";
        qt().withFixedSeed(SEED).withExamples(450).forAll(Generate.enumValues(StepBad.class),
                Generate.range(1, 300).mix(Generate.pick(List.of(1, 15, 16, 17, 33)), 20),
                Generate.range(-2_000_000, 2_000_000), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((bad, size, number, seed) -> trial(family, () -> {
                SplittableRandom r = new SplittableRandom(seed);
                long n = bad.needsSplit() ? 2 * 65_536 + size : size;
                int parallelism = bad.needsSplit() ? 2 + r.nextInt(3) : 1 + r.nextInt(4);
                int overload = r.nextInt(3);   // step(p, g), step(p, g, parallelism), step(p, g, executor, parallelism)
                try (Arena shared = Arena.ofShared(); Arena confined = Arena.ofConfined();
                     Optimizer opt = optimizer(r.nextInt(3), n)) {
                    MemorySegment p = floats(shared, r, n), g = floats(shared, r, n);
                    opt.step(p, g);   // one step in: the state is not all zeros
                    MemorySegment params = p, grads = g;
                    Executor executor = pool;
                    String argument;
                    Class<? extends Throwable> type = IllegalArgumentException.class;
                    String[] also = {};
                    MemorySegment spare = floats(shared, r, n + 1);   // for slices that are wrong
                    switch (bad) {
                        case PARAMS_NULL, GRADS_NULL -> {
                            argument = bad == StepBad.PARAMS_NULL ? "params" : "grads";
                            params = bad == StepBad.PARAMS_NULL ? null : p;
                            grads = bad == StepBad.GRADS_NULL ? null : g;
                            type = NullPointerException.class;
                        }
                        case PARAMS_SIZE, GRADS_SIZE -> {
                            long bytes = Math.floorMod(number, (n + 1) * 4 + 1);   // 0 to n + 1 floats, any byte count
                            if (bytes == n * 4) {
                                bytes = n * 4 + 4;
                            }
                            MemorySegment wrong = spare.asSlice(0, bytes);
                            argument = bad == StepBad.PARAMS_SIZE ? "params" : "grads";
                            params = bad == StepBad.PARAMS_SIZE ? wrong : p;
                            grads = bad == StepBad.GRADS_SIZE ? wrong : g;
                            also = new String[] {n * 4 + " bytes", bytes + " bytes"};
                        }
                        case PARAMS_MISALIGNED, GRADS_MISALIGNED -> {
                            long shift = 1 + Math.floorMod(number, 3);
                            MemorySegment wrong = spare.asSlice(shift, n * 4);
                            argument = bad == StepBad.PARAMS_MISALIGNED ? "params" : "grads";
                            params = bad == StepBad.PARAMS_MISALIGNED ? wrong : p;
                            grads = bad == StepBad.GRADS_MISALIGNED ? wrong : g;
                            also = new String[] {"aligned"};
                        }
                        case PARAMS_READ_ONLY -> {
                            argument = "params";
                            params = p.asReadOnly();
                            also = new String[] {"read-only"};
                        }
                        case PARAMS_CLOSED, GRADS_CLOSED -> {
                            argument = bad == StepBad.PARAMS_CLOSED ? "params" : "grads";
                            params = bad == StepBad.PARAMS_CLOSED ? closedSegment(n * 4) : p;
                            grads = bad == StepBad.GRADS_CLOSED ? closedSegment(n * 4) : g;
                            also = new String[] {"closed"};
                        }
                        case OVERLAP -> {
                            long shift = Math.floorMod(number, n);   // grads start inside params, or at it
                            MemorySegment both = floats(shared, r, 2 * n);
                            params = both.asSlice(0, n * 4);
                            grads = both.asSlice(shift * 4, n * 4);
                            if (r.nextBoolean()) {
                                MemorySegment t = params;
                                params = grads;
                                grads = t;
                            }
                            argument = "params";
                            also = new String[] {"grads", "overlap"};
                        }
                        case EXECUTOR_NULL -> {
                            argument = "executor";
                            executor = null;
                            overload = 2;
                            type = NullPointerException.class;
                        }
                        case PARALLELISM -> {
                            parallelism = number > 0 ? -number : number;
                            argument = "parallelism";
                            overload = 1 + r.nextInt(2);
                            also = new String[] {String.valueOf(parallelism)};
                        }
                        case PARAMS_CONFINED, GRADS_CONFINED -> {
                            MemorySegment mine = floats(confined, r, n);
                            argument = bad == StepBad.PARAMS_CONFINED ? "params" : "grads";
                            params = bad == StepBad.PARAMS_CONFINED ? mine : p;
                            grads = bad == StepBad.GRADS_CONFINED ? mine : g;
                            overload = 1 + r.nextInt(2);
                            type = WrongThreadException.class;
                            also = new String[] {"confined", Chunks.count(n, parallelism) + " threads"};
                        }
                        case EXECUTOR_REFUSES -> {
                            argument = "executor";
                            executor = refusingAfter(Math.floorMod(number, Chunks.count(n, parallelism) - 1));
                            overload = 2;
                            type = RejectedExecutionException.class;
                            also = new String[] {"nothing was changed"};
                        }
                        default -> throw new AssertionError(bad);
                    }
                    MemorySegment[] watched = live(p, g, spare, params, grads);
                    Snapshot before = Snapshot.of(opt, watched);
                    MemorySegment fp = params, fg = grads;
                    Executor fe = executor;
                    int fpar = parallelism, fover = overload;
                    assertRefused(type, argument, () -> {
                        switch (fover) {
                            case 0 -> opt.step(fp, fg);
                            case 1 -> opt.step(fp, fg, fpar);
                            default -> opt.step(fp, fg, fe, fpar);
                        }
                    }, also);
                    if (bad == StepBad.EXECUTOR_REFUSES) {
                        pause();   // helpers the pool accepted run now, and must do nothing
                    }
                    before.assertUnchanged(bad + ", overload " + overload, opt, watched);
                    countRefused(family);
                }
            }));
    }

    /** The live, readable segments among {@code segments}, for snapshots. */
    private static MemorySegment[] live(MemorySegment... segments) {
        List<MemorySegment> out = new ArrayList<>();
        for (MemorySegment s : segments) {
            if (s != null && s.scope().isAlive() && s.isAccessibleBy(Thread.currentThread())) {
                out.add(s);
            }
        }
        return out.toArray(MemorySegment[]::new);
    }

    // ---- beginStep().apply: bad ranges and segments, nothing changed ----

    enum ApplyBad {
        PARAMS_NULL, GRADS_NULL, PARAMS_CLOSED, GRADS_CLOSED, PARAMS_MISALIGNED, GRADS_MISALIGNED, PARAMS_READ_ONLY,
        PARAMS_NOT_WHOLE_FLOATS, GRADS_SIZE, OFFSET_NEGATIVE, OFFSET_TOO_LARGE, OVERLAP
    }

    @Test
    void stepsInPieces() {
        String family = "Step.apply";
        qt().withFixedSeed(SEED).withExamples(400).forAll(Generate.enumValues(ApplyBad.class), Generate.range(1, 300),
                Generate.longRange(1, Long.MAX_VALUE), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((bad, size, number, seed) -> trial(family, () -> {
                SplittableRandom r = new SplittableRandom(seed);
                long n = size;
                long count = 1 + r.nextLong(n);
                long offset = r.nextLong(n - count + 1);
                try (Arena arena = Arena.ofShared(); Optimizer opt = optimizer(r.nextInt(3), n)) {
                    MemorySegment p = floats(arena, r, n), g = floats(arena, r, n);
                    opt.step(p, g);
                    MemorySegment spare = floats(arena, r, count + 1);
                    MemorySegment params = p.asSlice(offset * 4, count * 4), grads = g.asSlice(offset * 4, count * 4);
                    long stateOffset = offset;
                    String argument;
                    Class<? extends Throwable> type = IllegalArgumentException.class;
                    switch (bad) {
                        case PARAMS_NULL -> {
                            params = null;
                            argument = "params";
                            type = NullPointerException.class;
                        }
                        case GRADS_NULL -> {
                            grads = null;
                            argument = "grads";
                            type = NullPointerException.class;
                        }
                        case PARAMS_CLOSED -> {
                            params = closedSegment(count * 4);
                            argument = "params";
                        }
                        case GRADS_CLOSED -> {
                            grads = closedSegment(count * 4);
                            argument = "grads";
                        }
                        case PARAMS_MISALIGNED -> {
                            params = spare.asSlice(1 + number % 3, count * 4);
                            argument = "params";
                        }
                        case GRADS_MISALIGNED -> {
                            grads = spare.asSlice(1 + number % 3, count * 4);
                            argument = "grads";
                        }
                        case PARAMS_READ_ONLY -> {
                            params = params.asReadOnly();
                            argument = "params";
                        }
                        case PARAMS_NOT_WHOLE_FLOATS -> {
                            long bytes = count * 4 - 1 - number % 3;
                            params = p.asSlice(offset * 4, bytes);
                            grads = g.asSlice(offset * 4, bytes);
                            argument = "params";
                        }
                        case GRADS_SIZE -> {
                            long bytes = number % ((count + 1) * 4);
                            grads = spare.asSlice(0, bytes == count * 4 ? bytes + 4 : bytes);
                            argument = "grads";
                        }
                        case OFFSET_NEGATIVE -> {
                            stateOffset = -number;
                            argument = "stateOffset";
                        }
                        case OFFSET_TOO_LARGE -> {
                            stateOffset = n - count + 1 + number % (Long.MAX_VALUE - n);
                            argument = "stateOffset";
                        }
                        case OVERLAP -> {
                            grads = p.asSlice(r.nextLong(n - count + 1) * 4, count * 4);
                            if (grads.asOverlappingSlice(params).isEmpty()) {
                                grads = params;
                            }
                            argument = "params";
                        }
                        default -> throw new AssertionError(bad);
                    }
                    MemorySegment[] watched = live(p, g, spare);
                    Snapshot before = Snapshot.of(opt, watched);
                    Optimizer.Step step = opt.beginStep();
                    MemorySegment fp = params, fg = grads;
                    long fo = stateOffset;
                    assertRefused(type, argument, () -> step.apply(fp, fg, fo));
                    before.assertUnchanged(bad.toString(), opt, watched);
                    step.cancel();
                    before.assertUnchanged(bad + ", step cancelled", opt, watched);
                    countRefused(family);
                }
            }));
    }

    // ---- state names and restore ----

    @Test
    void stateAndRestore() {
        String family = "state/restore";
        qt().withFixedSeed(SEED).withExamples(300).forAll(Generate.range(0, 3), Generate.range(0, 2),
                Generate.longRange(Long.MIN_VALUE, -1), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((bad, which, negative, seed) -> trial(family, () -> {
                SplittableRandom r = new SplittableRandom(seed);
                long n = 1 + r.nextInt(100);
                try (Arena arena = Arena.ofShared(); Optimizer opt = optimizer(which, n)) {
                    MemorySegment p = floats(arena, r, n), g = floats(arena, r, n);
                    opt.step(p, g);
                    Snapshot before = Snapshot.of(opt, p, g);
                    switch (bad) {
                        case 0 -> assertRefused(NullPointerException.class, "name", () -> opt.state(null));
                        case 1 -> {
                            String name = randomName(r);
                            if (opt.stateNames().contains(name)) {
                                assertTrue(opt.state(name).isReadOnly());
                                countAccepted(family);
                                return;
                            }
                            assertRefused(IllegalArgumentException.class, "name", () -> opt.state(name), name);
                        }
                        case 2 -> assertRefused(IllegalArgumentException.class, "stepCount",
                                () -> opt.restore(negative, (k, s) -> s.fill((byte) 7)), String.valueOf(negative));
                        default -> assertRefused(NullPointerException.class, "fill", () -> opt.restore(r.nextLong(100), null));
                    }
                    before.assertUnchanged("state/restore " + bad, opt, p, g);
                    countRefused(family);
                }
            }));
    }

    private static String randomName(SplittableRandom r) {
        List<String> near = List.of("", "exp_avg ", "EXP_AVG", "exp_avg_sq2", "max_exp_avg_sq", "momentum_buffer",
                "square_avg", "grad_avg", "master", "\u0000");
        if (r.nextBoolean()) {
            return near.get(r.nextInt(near.size()));
        }
        StringBuilder b = new StringBuilder();
        for (int i = r.nextInt(12); i > 0; i--) {
            b.append((char) (32 + r.nextInt(95)));
        }
        return b.toString();
    }

    // ---- memory helpers: Buffers and Segments, exported for the other modules' facades ----

    enum MemoryBad {
        ALLOCATE_NULL_ARENA, ALLOCATE_NEGATIVE, ALLOCATE_TOO_MANY, FLOATS_NULL, FLOATS_CLOSED, FLOATS_MISALIGNED,
        FLOATS_READ_ONLY, FLOATS_SIZE, RANGE_OUT_OF_BOUNDS, DISJOINT_OVERLAP, SHARED_CONFINED, POSITIVE
    }

    @Test
    void memoryHelpers() {
        String family = "Buffers/Segments";
        List<String> names = List.of("params", "grads", "floats", "buffer", "x");
        qt().withFixedSeed(SEED).withExamples(400).forAll(Generate.enumValues(MemoryBad.class), Generate.range(0, 4),
                Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE), Generate.longRange(0, Long.MAX_VALUE))
            .checkAssert((bad, nameIndex, number, seed) -> trial(family, () -> {
                SplittableRandom r = new SplittableRandom(seed);
                String name = names.get(nameIndex);
                long n = 1 + r.nextInt(64);
                try (Arena arena = Arena.ofShared(); Arena confined = Arena.ofConfined()) {
                    MemorySegment seg = floats(arena, r, n + 1);
                    byte[] before = seg.toArray(ValueLayout.JAVA_BYTE);
                    switch (bad) {
                        case ALLOCATE_NULL_ARENA -> assertRefused(NullPointerException.class, "arena",
                                () -> Buffers.allocateFloats(null, n));
                        case ALLOCATE_NEGATIVE -> {
                            long k = number >= 0 ? -1 - (number & Long.MAX_VALUE) % Long.MAX_VALUE : number;
                            assertRefused(IllegalArgumentException.class, "floats", () -> Buffers.allocateFloats(arena, k),
                                    String.valueOf(k));
                        }
                        case ALLOCATE_TOO_MANY -> {
                            long k = Buffers.MAX_FLOATS + 1 + Math.floorMod(number, Long.MAX_VALUE - Buffers.MAX_FLOATS);
                            assertRefused(IllegalArgumentException.class, "floats", () -> Buffers.allocateFloats(arena, k),
                                    String.valueOf(k));
                        }
                        case FLOATS_NULL -> assertRefused(NullPointerException.class, name,
                                () -> Segments.checkFloats(name, null, n, false));
                        case FLOATS_CLOSED -> assertRefused(IllegalArgumentException.class, name,
                                () -> Segments.checkUsable(name, closedSegment(8), false), "closed");
                        case FLOATS_MISALIGNED -> assertRefused(IllegalArgumentException.class, name,
                                () -> Segments.checkFloats(name, seg.asSlice(1 + Math.floorMod(number, 3), n * 4), n, false),
                                "aligned");
                        case FLOATS_READ_ONLY -> assertRefused(IllegalArgumentException.class, name,
                                () -> Segments.checkFloats(name, seg.asSlice(0, n * 4).asReadOnly(), n, true), "read-only");
                        case FLOATS_SIZE -> {
                            long floats = n + 1 + Math.floorMod(number, 1000);
                            assertRefused(IllegalArgumentException.class, name,
                                    () -> Segments.checkFloats(name, seg.asSlice(0, n * 4), floats, false));
                        }
                        case RANGE_OUT_OF_BOUNDS -> {
                            long offset = r.nextBoolean() ? number : r.nextLong(n + 2);
                            long count = r.nextBoolean() ? r.nextLong(Long.MIN_VALUE, Long.MAX_VALUE) : r.nextLong(n + 3);
                            if (offset >= 0 && count >= 0 && offset <= n + 1 - count) {
                                Segments.checkFloatRange(name, seg, offset, count, false);   // in bounds: fine
                                countAccepted(family);
                                return;
                            }
                            assertRefused(IllegalArgumentException.class, name,
                                    () -> Segments.checkFloatRange(name, seg, offset, count, false), "out of bounds");
                        }
                        case DISJOINT_OVERLAP -> {
                            long from = r.nextLong(n);
                            assertRefused(IllegalArgumentException.class, name,
                                    () -> Segments.checkDisjoint(name, seg.asSlice(from * 4, 4), "other", seg), "other");
                        }
                        case SHARED_CONFINED -> {
                            int threads = 2 + r.nextInt(8);
                            assertRefused(WrongThreadException.class, name,
                                    () -> Segments.checkAccessible(name, confined.allocate(4), threads), "confined",
                                    threads + " threads");
                        }
                        case POSITIVE -> {
                            long k = number > 0 ? -number : number;
                            assertRefused(IllegalArgumentException.class, name, () -> Segments.checkPositive(name, k),
                                    String.valueOf(k));
                        }
                        default -> throw new AssertionError(bad);
                    }
                    if (!java.util.Arrays.equals(before, seg.toArray(ValueLayout.JAVA_BYTE))) {
                        fail("a check wrote its segment");
                    }
                    countRefused(family);
                }
            }));
    }

    private static void pause() {
        try {
            Thread.sleep(5);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
