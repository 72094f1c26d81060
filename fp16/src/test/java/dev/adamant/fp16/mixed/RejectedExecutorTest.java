package dev.adamant.fp16.mixed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Optimizer;
import dev.adamant.core.Optimizers;
import dev.adamant.core.SgdConfig;
import dev.adamant.core.kernel.Chunks;
import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A mixed-precision step whose executor refuses a helper changes nothing: not the 16-bit
 * parameters, the master weights, the optimizer's state or step count, nor the loss scaler. Then the
 * same step on a working executor gives, bit for bit, what a twin stepped serially gives.
 */
@Timeout(120)
class RejectedExecutorTest {
    /** Two chunks of whole tiles and a tail: two hand-offs in each of the step's two passes. */
    private static final int N = 2 * 65_536 + 5;
    private static final int PARALLELISM = 3;
    private static ExecutorService pool;

    @BeforeAll
    static void start() {
        pool = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
    }

    /** Accepts {@code accept} hand-offs, passing them to the pool, then refuses every one. */
    private static Executor refusingAfter(int accept) {
        AtomicInteger handedOff = new AtomicInteger();
        return r -> {
            if (handedOff.getAndIncrement() >= accept) {
                throw new RejectedExecutionException("saturated");
            }
            pool.execute(r);
        };
    }

    /** Every byte a mixed step may write, and the counters. */
    private record Snapshot(List<byte[]> bytes, long steps, DynamicLossScaler.State scaler) {
        static Snapshot of(MixedPrecisionOptimizer m, MemorySegment params, MemorySegment grads) {
            List<byte[]> bytes = new ArrayList<>();
            bytes.add(params.toArray(ValueLayout.JAVA_BYTE));
            bytes.add(grads.toArray(ValueLayout.JAVA_BYTE));
            if (m.hasMasterWeights()) {
                bytes.add(m.masterWeights().toArray(ValueLayout.JAVA_BYTE));
            }
            for (String name : m.optimizer().stateNames()) {
                bytes.add(m.optimizer().state(name).toArray(ValueLayout.JAVA_BYTE));
            }
            return new Snapshot(bytes, m.optimizer().stepCount(), m.scaler().state());
        }

        void assertSame(String what, Snapshot now) {
            assertEquals(steps, now.steps, what + ": step count");
            assertEquals(scaler, now.scaler, what + ": loss scaler");
            for (int i = 0; i < bytes.size(); i++) {
                assertArrayEquals(bytes.get(i), now.bytes.get(i), what + ": buffer " + i
                        + " (params, grads, master, then the optimizer's state)");
            }
        }
    }

    private static MixedPrecisionOptimizer make(LongFunction<Optimizer> inner, Precision precision, double maxNorm) {
        return MixedPrecisionOptimizer.builder(inner.apply(N), precision).maxGradNorm(maxNorm)
                .rounding(Rounding.stochastic(9)).lossScaler(DynamicLossScaler.builder().initScale(1024).build()).build();
    }

    /**
     * Refusals at the hand-offs of the check pass ({@code accepted} 0 and 1), and of the update pass
     * (2 and 3), for fp16 and bf16, the fused Adam loop and the tiled path (SGD), clipping on and off.
     */
    private static void refusedAt(List<Integer> positions) {
        assertEquals(3, Chunks.count(N, PARALLELISM, MixedPrecisionOptimizer.TILE));
        List<LongFunction<Optimizer>> inners = List.of(n -> Optimizers.adam(AdamConfig.adamW(), n),
                n -> Optimizers.sgd(SgdConfig.sgd(0.05).withMomentum(0.9), n));
        SplittableRandom r = new SplittableRandom(21);
        for (Precision precision : List.of(Precision.FP16, Precision.BF16)) {
            for (LongFunction<Optimizer> inner : inners) {
                double maxNorm = r.nextBoolean() ? 0 : 1.0;
                try (Arena arena = Arena.ofShared();
                     MixedPrecisionOptimizer m = make(inner, precision, maxNorm);
                     MixedPrecisionOptimizer twin = make(inner, precision, maxNorm)) {
                    MemorySegment init = arena.allocate(4L * N, 64), g = arena.allocate(4L * N, 64);
                    for (int i = 0; i < N; i++) {
                        init.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
                        g.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextGaussian() * 10));
                    }
                    MemorySegment params = arena.allocate(2L * N, 64), paramsTwin = arena.allocate(2L * N, 64);
                    MemorySegment grads = arena.allocate(2L * N, 64);
                    if (precision == Precision.FP16) {
                        Half.encode(g, grads);
                    } else {
                        BFloat16.encode(g, grads);
                    }
                    m.loadMaster(init);
                    twin.loadMaster(init);
                    m.writeParams(params);
                    twin.writeParams(paramsTwin);
                    m.step(params, grads);   // a step in, so the state is not all zeros
                    twin.step(paramsTwin, grads);
                    for (int accepted : positions) {
                        String what = precision + ", " + m.optimizer().stateNames() + ", clip " + maxNorm
                                + ", hand-off " + (accepted + 1) + " of 4 refused";
                        Snapshot before = Snapshot.of(m, params, grads);
                        Executor ex = refusingAfter(accepted);
                        RejectedExecutionException e = assertThrows(RejectedExecutionException.class,
                                () -> m.step(params, grads, ex, PARALLELISM), what);
                        assertTrue(e.getMessage().startsWith("executor: "), e.getMessage());
                        pause();   // helpers the pool accepted have run by now, and must have done nothing
                        before.assertSame(what, Snapshot.of(m, params, grads));
                        // Retried on a working executor: the serial step's bits.
                        StepReport report = m.step(params, grads, pool, PARALLELISM);
                        StepReport expected = twin.step(paramsTwin, grads);
                        assertEquals(expected, report, what + ", then retried");
                        Snapshot.of(twin, paramsTwin, grads).assertSame(what + ", then retried",
                                Snapshot.of(m, params, grads));
                    }
                }
            }
        }
    }

    @Test
    void aRefusalInTheCheckPassChangesNothing() {
        refusedAt(List.of(0, 1));
    }

    /**
     * Fails today on one count: applyUpdate's try-with-resources closes the begun step when the
     * update pass is refused, so the step count advances although no byte changed. The fix (in
     * MixedPrecisionOptimizer, not this branch's to make): catch RejectedExecutionException around
     * Chunks.run, call {@code step.cancel()} and rethrow; close the step only after Chunks.run
     * returned. Verified: with that change this test passes in both modes.
     */
    @Test
    void aRefusalInTheUpdatePassChangesNothing() {
        refusedAt(List.of(2, 3));
    }

    private static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
