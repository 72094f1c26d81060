package dev.adamant.core.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.longs;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Schedules are pure functions of the step: the same value in any order, from any thread, never negative. */
class LrSchedulePropertyTest {

    /** Random parameters for each schedule, from one seed. */
    private static List<LrSchedule> schedules(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double lr = 1e-4 + r.nextDouble() * 0.1;
        long warmup = r.nextLong(0, 50);
        long total = warmup + 1 + r.nextLong(0, 500);
        return List.of(
                LrSchedules.stepLR(lr, r.nextLong(1, 50), 0.05 + r.nextDouble()),
                LrSchedules.multiStepLR(lr, new long[] {r.nextLong(0, 300), r.nextLong(0, 300)}, 0.05 + r.nextDouble()),
                LrSchedules.exponentialLR(lr, 0.5 + r.nextDouble() * 0.5),
                LrSchedules.cosineAnnealingLR(lr, r.nextLong(1, 300), lr * r.nextDouble()),
                LrSchedules.linearLR(lr, 0.01 + 0.99 * r.nextDouble(), r.nextDouble(), r.nextLong(1, 300)),
                LrSchedules.polynomialLR(lr, r.nextLong(1, 300), 0.1 + 3 * r.nextDouble()),
                LrSchedules.cosineAnnealingWarmRestarts(lr, r.nextLong(1, 50), r.nextLong(1, 4), lr * r.nextDouble()),
                LrSchedules.linearWithWarmup(lr, warmup, total),
                LrSchedules.cosineWithWarmup(lr, warmup, total, r.nextDouble() * 2),
                LrSchedules.constantWithWarmup(lr, warmup),
                LrSchedules.polynomialDecayWithWarmup(lr, warmup, total, lr * r.nextDouble(), 0.1 + 3 * r.nextDouble()),
                LrSchedules.inverseSqrt(lr, warmup),
                LrSchedules.wsd(lr, warmup, r.nextLong(0, 100), total + 100,
                        LrSchedules.WsdShape.values()[r.nextInt(3)], LrSchedules.WsdShape.values()[r.nextInt(3)],
                        r.nextDouble(), r.nextDouble() * 0.5));
    }

    @Test
    void theSameValueInAnyOrderAndNeverNegative() {
        qt().withExamples(200).forAll(longs().all()).checkAssert(seed -> {
            List<LrSchedule> fresh = schedules(seed);
            List<LrSchedule> used = schedules(seed);
            SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
            for (int i = 0; i < fresh.size(); i++) {
                // Visit far steps first on one copy, so the memoized recursions fill in out of order.
                for (int j = 0; j < 20; j++) {
                    used.get(i).lr(r.nextLong(0, 3000));
                }
                for (int j = 0; j < 50; j++) {
                    long step = r.nextLong(0, 3000);
                    double a = fresh.get(i).lr(step);
                    assertEquals(Double.doubleToLongBits(a), Double.doubleToLongBits(used.get(i).lr(step)),
                            "schedule " + i + " at step " + step);
                    assertTrue(a >= 0 && Double.isFinite(a), "schedule " + i + " at step " + step + ": " + a);
                }
            }
        });
    }

    @Test
    void theSameValueFromManyThreads() throws Exception {
        LrSchedule reference = LrSchedules.cosineAnnealingLR(0.01, 37, 1e-5);
        double[] expected = new double[20_000];
        for (int k = 0; k < expected.length; k++) {
            expected[k] = reference.lr(k);
        }
        LrSchedule shared = LrSchedules.cosineAnnealingLR(0.01, 37, 1e-5);
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> runs = new java.util.ArrayList<>();
            for (int t = 0; t < 8; t++) {
                long seed = t;
                runs.add(pool.submit(() -> {
                    SplittableRandom r = new SplittableRandom(seed);
                    for (int j = 0; j < 2_000; j++) {
                        int k = r.nextInt(expected.length);
                        assertEquals(expected[k], shared.lr(k), "step " + k);
                    }
                }));
            }
            for (Future<?> f : runs) {
                f.get();
            }
        }
    }
}
