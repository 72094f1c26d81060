package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.comm.CollectiveTimeoutException;
import dev.adamant.zero.comm.Communicator;
import dev.adamant.zero.comm.GroupFailedException;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault fuzzing of the in-process group, with deterministic seeds: in each trial one device throws,
 * stalls past the timeout (an interruptible sleep), hangs (ignoring interrupts until the test lets
 * it go), has its interrupt flag set while it computes, or is interrupted by another thread, at a
 * point drawn from the trial's seed: in a ZeRO run (stages 0-3 over {@link ZeroDevice}, 2-4
 * devices, fp16 or bf16, with and without clipping: before the device is built, at any step's
 * start, any layer's forward or backward, the loss, or after the run) or in a program of raw
 * collectives (before any of them, or after the last).
 *
 * <p>Every trial must end as expected: the group's call returns within the timeout plus
 * {@link InProcessGroup#ABANDON_AFTER} plus a scheduling margin after the fault, with the injected
 * exception itself, a {@link CollectiveTimeoutException} naming the stalled rank as missing or
 * still running and the collective, or a {@link GroupFailedException} saying that rank was
 * interrupted with an {@link InterruptedException} as its cause; a hung rank is still stuck when
 * the call returns, abandoned and reported, and its next collective fails at once; and every
 * thread the group started has ended within a bound afterwards (a hung one once it is let go).
 * Anything else is a wrong outcome, listed, and fails the test. Each family prints one summary line.
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)   // a hung call fails the test, not the build
class FaultFuzzTest {
    private static final Duration TIMEOUT = Duration.ofMillis(400);
    /** Scheduling slack on a loaded 2-core machine; the stalls last 60 s, so a call that waits for one fails. */
    private static final long MARGIN_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long BOUND_NANOS = TIMEOUT.toNanos() + InProcessGroup.ABANDON_AFTER.toNanos() + MARGIN_NANOS;
    private static final long[] SIZES = {3000, 50, 5000, 1};
    /** {@code -Dadamant.faultFuzz.repeat=k} runs k times the trials (new seeds after the first round), for a longer hunt. */
    private static final int REPEAT = Integer.getInteger("adamant.faultFuzz.repeat", 1);
    private static final int ZERO_TRIALS = 40 * REPEAT;
    private static final int RAW_TRIALS = 50 * REPEAT;
    private static final Pattern COLLECTIVE = Pattern.compile("[a-zA-Z]+\\([^)]*\\) #\\d+");

    enum Fault { THROW, STALL, HANG, INTERRUPT_SELF, INTERRUPT_EXTERNAL }

    /**
     * One trial: {@code rank} injects {@code fault} at its {@code point}-th fault point (counted in
     * the order its task passes them).
     */
    record Plan(long seed, int devices, Fault fault, int rank, int point, String setup) {
        static Plan draw(long seed, SplittableRandom r, int points, String setup, int devices) {
            Fault fault = Fault.values()[r.nextInt(Fault.values().length)];
            // An interrupt flag set after the last collective is never seen (the task has nothing left to
            // wait for), so the self-interrupt is drawn before the last point.
            int point = r.nextInt(fault == Fault.INTERRUPT_SELF ? points - 1 : points);
            return new Plan(seed, devices, fault, r.nextInt(devices), point, setup);
        }

        @Override
        public String toString() {
            return "seed " + seed + ": " + setup + ", " + fault + " on rank " + rank + " at point " + point;
        }
    }

    /** What the faulty rank does, and what the test learns from it. Other ranks pass its points untouched. */
    static final class Injector {
        final Plan plan;
        final IllegalStateException injected;
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch fired = new CountDownLatch(1);
        final AtomicBoolean delivered = new AtomicBoolean();
        final AtomicReferenceArray<Thread> threads;
        volatile long faultNanos;
        volatile String where = "(never reached)";
        volatile Thread faulty;
        volatile Throwable later;
        volatile long laterNanos = -1;
        private int passed;   // the faulty rank's points so far; only its thread touches this

        Injector(Plan plan) {
            this.plan = plan;
            this.injected = new IllegalStateException("injected fault on rank " + plan.rank() + " (" + plan + ")");
            this.threads = new AtomicReferenceArray<>(plan.devices());
        }

        /** Called by every rank at every fault point; fires on the plan's rank at its point. */
        void point(Communicator c, String at) {
            if (c.rank() != plan.rank() || passed++ != plan.point()) {
                return;
            }
            where = at;
            faulty = Thread.currentThread();
            faultNanos = System.nanoTime();
            switch (plan.fault()) {
                case THROW -> throw injected;
                case STALL -> {
                    try {
                        Thread.sleep(60_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("rank " + c.rank() + ": stall at " + at + " interrupted", e);
                    }
                    throw new AssertionError("a 60 s stall ended by itself");
                }
                case HANG -> {
                    boolean interrupted = false;
                    while (true) {
                        try {
                            release.await();
                            break;
                        } catch (InterruptedException e) {
                            interrupted = true;   // ignored: stuck in code that does not answer interrupts
                        }
                    }
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                    long before = System.nanoTime();
                    try {
                        c.barrier();
                    } catch (Throwable t) {
                        laterNanos = System.nanoTime() - before;
                        later = t;
                        throw t;
                    }
                    throw new AssertionError("rank " + c.rank() + ": a collective after being abandoned succeeded");
                }
                case INTERRUPT_SELF -> Thread.currentThread().interrupt();
                case INTERRUPT_EXTERNAL -> fired.countDown();   // the interrupter takes it from here
            }
        }

        /** For {@link Fault#INTERRUPT_EXTERNAL}: a thread that interrupts the faulty rank once it fires, wherever it is then. */
        Thread interrupter() {
            return Thread.ofPlatform().name("fuzz-interrupter").start(() -> {
                try {
                    fired.await();
                } catch (InterruptedException e) {
                    return;
                }
                Thread t = faulty;
                if (t != null) {
                    faultNanos = System.nanoTime();
                    t.interrupt();
                    delivered.set(true);
                }
            });
        }

        /**
         * For {@link Fault#INTERRUPT_EXTERNAL}: collectives until some rank has seen the interrupt
         * delivered, which keeps the faulty rank inside its task until then. It must fail at one of
         * them or, if the interrupt raced with the completion of the last one (which then completes),
         * when its task returns; if neither, the run returns normally, which is a wrong outcome.
         */
        void untilDelivered(Communicator c) {
            if (plan.fault() == Fault.INTERRUPT_EXTERNAL) {
                while (!c.anyTrue(delivered.get())) {
                    Thread.onSpinWait();
                }
            }
        }
    }

    /** A {@link SyntheticModel} whose every callback is a fault point. */
    static final class FaultyModel implements LayeredModel {
        private final SyntheticModel inner;
        private final Injector injector;
        private final Communicator comm;
        int step;

        FaultyModel(SyntheticModel inner, Injector injector, Communicator comm) {
            this.inner = inner;
            this.injector = injector;
            this.comm = comm;
        }

        @Override public int layers() { return inner.layers(); }
        @Override public long layerParameters(int layer) { return inner.layerParameters(layer); }

        @Override
        public void forward(int layer, MemorySegment params) {
            injector.point(comm, "step " + step + ", forward of layer " + layer);
            inner.forward(layer, params);
        }

        @Override
        public float loss() {
            injector.point(comm, "step " + step + ", loss");
            return inner.loss();
        }

        @Override
        public void backward(int layer, MemorySegment params, MemorySegment grads, float scale, int globalBatch) {
            injector.point(comm, "step " + step + ", backward of layer " + layer);
            inner.backward(layer, params, grads, scale, globalBatch);
        }
    }

    /** Counts per family, printed as one line. */
    static final class Tally {
        final String family;
        final Map<Fault, Integer> trials = new EnumMap<>(Fault.class);
        /** How the failures showed: "timeout in a collective", "interrupted while waiting", ... */
        final Map<String, Integer> shapes = new TreeMap<>();
        final List<String> wrong = new ArrayList<>();
        int asExpected;
        int abandoned;
        long slowestNanos;

        Tally(String family) {
            this.family = family;
        }

        String summary() {
            int total = trials.values().stream().mapToInt(Integer::intValue).sum();
            return String.format("fault fuzz, %s: %d trials %s, failed as expected %d, wrong outcome %d; seen as %s;"
                            + " abandoned %d; slowest return after the fault %.2f s (bound %.2f s)", family, total, trials,
                    asExpected, wrong.size(), shapes, abandoned, slowestNanos / 1e9, BOUND_NANOS / 1e9);
        }
    }

    private static Set<Thread> groupThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("adamant-comm-"))
                .collect(Collectors.toSet());
    }

    @Test
    void zeroStagesFailAsExpected() throws Exception {
        Tally tally = new Tally("ZeRO stages 0-3");
        Set<Thread> before = groupThreads();
        for (int trial = 0; trial < ZERO_TRIALS; trial++) {
            long seed = 0x5EED_0000L + trial;
            SplittableRandom r = new SplittableRandom(seed);
            int n = 2 + r.nextInt(3);
            ZeroStage stage = ZeroStage.of(r.nextInt(4));
            Precision precision = r.nextBoolean() ? Precision.FP16 : Precision.BF16;
            double maxNorm = r.nextBoolean() ? 0 : 5;
            int steps = 1 + r.nextInt(3);
            int points = 2 + steps * (2 + 2 * SIZES.length);   // start; per step: begin, L forwards, loss, L backwards; end
            Plan plan = Plan.draw(seed, r, points, "stage " + stage.ordinal() + ", " + n + " devices, " + precision
                    + ", maxNorm " + maxNorm + ", " + steps + " steps", n);
            ZeroConfig config = ZeroConfig.builder().stage(stage).precision(precision)
                    .optimizer(AdamConfig.adamW().withLr(1e-2)).maxGradNorm(maxNorm).rounding(Rounding.nearestEven())
                    .globalBatch(8).lossScaler(() -> DynamicLossScaler.builder().initScale(256).build()).build();
            FlatLayout layout = layout(n);
            try (Arena arena = Arena.ofShared()) {
                MemorySegment init = initial(arena, layout, seed);
                trial(tally, plan, injector -> comm -> {
                    injector.point(comm, "start, before the device is built");
                    SyntheticModel synthetic = new SyntheticModel(SIZES, precision, comm.rank());
                    FaultyModel model = new FaultyModel(synthetic, injector, comm);
                    try (ZeroDevice device = new ZeroDevice(config, layout, comm, init)) {
                        for (int s = 0; s < steps; s++) {
                            model.step = s;
                            synthetic.setStep(s);
                            injector.point(comm, "step " + s + ", start");
                            device.step(model);
                        }
                    }
                    injector.point(comm, "end, after the device is closed");
                    injector.untilDelivered(comm);
                });
            }
        }
        finish(tally, before, ZERO_TRIALS);
    }

    /** The collectives a raw program draws from. */
    enum Op { ALL_REDUCE, REDUCE_SCATTER, ALL_GATHER, ALL_GATHER_IN_PLACE, BROADCAST, REDUCE, BARRIER, ANY_TRUE,
        ALL_REDUCE_MAX, ALL_GATHER_DOUBLES }

    record Step(Op op, Precision precision, int elements, int root) {}

    @Test
    void rawCollectivesFailAsExpected() throws Exception {
        Tally tally = new Tally("raw collectives");
        Set<Thread> before = groupThreads();
        Precision[] precisions = Precision.values();
        for (int trial = 0; trial < RAW_TRIALS; trial++) {
            long seed = 0xC011_0000L + trial;
            SplittableRandom r = new SplittableRandom(seed);
            int n = 2 + r.nextInt(3);
            List<Step> program = new ArrayList<>();
            int length = 3 + r.nextInt(6);
            for (int k = 0; k < length; k++) {
                program.add(new Step(Op.values()[r.nextInt(Op.values().length)], precisions[r.nextInt(precisions.length)],
                        r.nextInt(301), r.nextInt(n)));
            }
            Plan plan = Plan.draw(seed, r, length + 1, n + " ranks, " + program.stream().map(s -> s.op().name())
                    .collect(Collectors.joining(" ")), n);
            try (Arena arena = Arena.ofShared()) {
                long bytes = 4L * n * 300 * 4;
                MemorySegment[] a = new MemorySegment[n], b = new MemorySegment[n];
                for (int k = 0; k < n; k++) {
                    a[k] = arena.allocate(bytes, 4);
                    b[k] = arena.allocate(bytes, 4);
                }
                trial(tally, plan, injector -> comm -> {
                    int me = comm.rank();
                    for (int k = 0; k < program.size(); k++) {
                        Step s = program.get(k);
                        injector.point(comm, "before " + s.op() + " (#" + k + ")");
                        long p = s.elements();
                        int h = s.precision().bytes();
                        switch (s.op()) {
                            case ALL_REDUCE -> comm.allReduce(a[me].asSlice(0, n * p * h), s.precision(), ReduceOp.SUM);
                            case REDUCE_SCATTER -> comm.reduceScatter(a[me].asSlice(0, n * p * h), b[me].asSlice(0, p * h),
                                    s.precision());
                            case ALL_GATHER -> comm.allGather(b[me].asSlice(0, p * h), a[me].asSlice(0, n * p * h), s.precision());
                            case ALL_GATHER_IN_PLACE -> comm.allGatherInPlace(a[me].asSlice(0, n * p * h), s.precision());
                            case BROADCAST -> comm.broadcast(a[me].asSlice(0, p * h), s.precision(), s.root());
                            case REDUCE -> comm.reduce(a[me].asSlice(0, p * h), me == s.root() ? b[me].asSlice(0, p * h) : null,
                                    s.precision(), s.root());
                            case BARRIER -> comm.barrier();
                            case ANY_TRUE -> comm.anyTrue(false);
                            case ALL_REDUCE_MAX -> comm.allReduceMax(me);
                            case ALL_GATHER_DOUBLES -> comm.allGatherDoubles(new double[s.elements() % 7]);
                        }
                    }
                    injector.point(comm, "end, after the last collective");
                    injector.untilDelivered(comm);
                });
            }
        }
        finish(tally, before, RAW_TRIALS);
    }

    /** Runs one trial and records its outcome; the rank task is built around the trial's injector. */
    private static void trial(Tally tally, Plan plan, Function<Injector, InProcessGroup.RankTask> body) throws Exception {
        Injector injector = new Injector(plan);
        InProcessGroup.RankTask task = body.apply(injector);
        InProcessGroup group = InProcessGroup.create(plan.devices(), TIMEOUT);
        Thread interrupter = plan.fault() == Fault.INTERRUPT_EXTERNAL ? injector.interrupter() : null;
        Throwable thrown = null;
        try {
            group.run(c -> {
                injector.threads.set(c.rank(), Thread.currentThread());
                task.run(c);
            });
        } catch (Throwable t) {
            thrown = t;
        }
        long returned = System.nanoTime();
        List<String> problems = new ArrayList<>();
        Thread faulty = injector.faulty;
        boolean stuckAtReturn = faulty != null && faulty.isAlive();
        List<Thread> abandonedAtReturn = group.abandoned();
        // Let everything go, then every thread of the trial must end.
        injector.release.countDown();
        injector.fired.countDown();
        if (interrupter != null) {
            interrupter.join(5000);
            if (interrupter.isAlive()) {
                problems.add("the interrupter thread did not end");
            }
        }
        for (int r = 0; r < plan.devices(); r++) {
            Thread t = injector.threads.get(r);
            if (t != null) {
                t.join(5000);
                if (t.isAlive()) {
                    problems.add("thread leak: rank " + r + "'s thread " + t.getName() + " still alive 5 s after the call");
                }
            }
        }
        if (!group.abandoned().isEmpty()) {
            problems.add("abandoned threads still alive: " + group.abandoned());
        }
        tally.abandoned += abandonedAtReturn.size();
        if (faulty == null) {
            problems.add("the fault never fired");
        } else {
            long after = returned - injector.faultNanos;
            tally.slowestNanos = Math.max(tally.slowestNanos, after);
            if (after > BOUND_NANOS) {
                problems.add(String.format("the call returned %.2f s after the fault, bound %.2f s", after / 1e9,
                        BOUND_NANOS / 1e9));
            }
        }
        if (thrown == null) {
            problems.add("the call returned normally");
        } else {
            problems.addAll(check(plan, injector, group, thrown, stuckAtReturn, abandonedAtReturn));
        }
        tally.trials.merge(plan.fault(), 1, Integer::sum);
        tally.shapes.merge(shape(thrown), 1, Integer::sum);
        if (problems.isEmpty()) {
            tally.asExpected++;
        } else {
            tally.wrong.add(plan + ", fault at " + injector.where + ": " + problems + (thrown == null ? "" : "; got " + thrown));
        }
    }

    /** What is wrong with the outcome {@code thrown} of a trial, if anything. */
    private static List<String> check(Plan plan, Injector injector, InProcessGroup group, Throwable thrown,
                                      boolean stuckAtReturn, List<Thread> abandonedAtReturn) {
        List<String> problems = new ArrayList<>();
        int f = plan.rank();
        String m = String.valueOf(thrown.getMessage());
        if (!group.isFailed()) {
            problems.add("the group is not marked failed");
        }
        switch (plan.fault()) {
            case THROW -> {
                if (thrown != injector.injected) {
                    problems.add("expected the injected exception itself");
                }
            }
            case STALL, HANG -> {
                if (!(thrown instanceof CollectiveTimeoutException)) {
                    problems.add("expected a CollectiveTimeoutException");
                }
                String where = " (rank " + f + " in its own code, outside any collective";
                boolean inCollective = m.contains(", missing [" + f + "]" + where) && COLLECTIVE.matcher(m).find();
                boolean atEnd = m.contains("waiting for every rank to return from its task")
                        && m.contains(", still running [" + f + "]" + where);
                if (!inCollective && !atEnd) {
                    problems.add("expected the message to name rank " + f + " as the only one missing from a named"
                            + " collective or still running");
                }
                if (plan.fault() == Fault.HANG) {
                    if (!stuckAtReturn || !abandonedAtReturn.contains(injector.faulty)) {
                        problems.add("expected the call to return while the hung rank was stuck, and to list it abandoned");
                    }
                    boolean reported = false;
                    for (Throwable s : thrown.getSuppressed()) {
                        reported |= String.valueOf(s.getMessage()).startsWith("rank " + f + " abandoned");
                    }
                    if (!reported) {
                        problems.add("expected a suppressed report that rank " + f + " was abandoned");
                    }
                    Throwable later = injector.later;
                    if (!(later instanceof GroupFailedException)
                            || !String.valueOf(later.getMessage()).contains("abandoned this rank")) {
                        problems.add("expected the hung rank's next collective to be refused as abandoned, got " + later);
                    } else if (injector.laterNanos > MARGIN_NANOS) {
                        problems.add("the hung rank's next collective failed after " + injector.laterNanos / 1e9 + " s, not at once");
                    }
                }
            }
            case INTERRUPT_SELF, INTERRUPT_EXTERNAL -> {
                if (thrown.getClass() != GroupFailedException.class) {
                    problems.add("expected a GroupFailedException");
                }
                // In or before a collective, or (an interrupt that raced with the completion of the last
                // one) when its task returned.
                if (!m.startsWith("rank " + f + " was interrupted")
                        || !(COLLECTIVE.matcher(m).find() || m.contains("interrupt flag was set when its task returned"))) {
                    problems.add("expected the message to say rank " + f + " was interrupted, and in or before which"
                            + " collective or at its task's return");
                }
                if (!(thrown.getCause() instanceof InterruptedException)) {
                    problems.add("expected an InterruptedException as the cause");
                }
            }
        }
        return problems;
    }

    /** How a failure showed, for the summary. */
    private static String shape(Throwable thrown) {
        String m = thrown == null ? "" : String.valueOf(thrown.getMessage());
        if (thrown == null) {
            return "returned normally";
        } else if (m.startsWith("injected fault")) {
            return "the injected exception";
        } else if (m.contains("waiting for every rank to return")) {
            return "timeout at the end of the run";
        } else if (thrown instanceof CollectiveTimeoutException) {
            return "timeout in a collective";
        } else if (m.contains("was interrupted while waiting")) {
            return "interrupted while waiting";
        } else if (m.contains("was interrupted: its thread's interrupt flag was set on entering")) {
            return "interrupted before a collective";
        } else if (m.contains("was interrupted: its thread's interrupt flag was set when its task returned")) {
            return "interrupted at its task's return";
        }
        return thrown.getClass().getSimpleName();
    }

    private static void finish(Tally tally, Set<Thread> before, int trials) throws InterruptedException {
        System.out.println(tally.summary());
        for (String w : tally.wrong) {
            System.out.println("  wrong outcome: " + w);
        }
        Set<Thread> leaked = groupThreads();
        leaked.removeAll(before);
        assertTrue(leaked.isEmpty(), "group threads left alive: " + leaked);
        assertEquals(trials, tally.asExpected + tally.wrong.size());
        assertEquals(List.of(), tally.wrong, tally.summary());
    }

    static FlatLayout layout(int n) {
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (int l = 0; l < SIZES.length; l++) {
            sizes.put("layer" + l, SIZES[l]);
        }
        return FlatLayout.of(sizes, n);
    }

    static MemorySegment initial(Arena arena, FlatLayout layout, long seed) {
        MemorySegment init = arena.allocate(layout.paddedSize() * 4);
        SplittableRandom r = new SplittableRandom(seed);
        for (FlatLayout.Tensor t : layout.tensors()) {
            for (long i = 0; i < t.count(); i++) {
                init.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, t.offset() + i, (float) r.nextGaussian());
            }
        }
        return init;
    }
}
