package dev.adamant.core.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every schedule against the values PyTorch 2.11 and transformers 5.17 produced by stepping their own
 * schedulers ({@code src/test/resources/lr-schedules/schedules.csv}, a copy of
 * {@code shared/fixtures/lr-schedules}): every step within 1e-12 relative. A fixture name this test has
 * no schedule for fails it, so nothing in the fixture is silently skipped.
 */
class LrScheduleFixtureTest {
    private static final String FIXTURE = "lr-schedules/schedules.csv";
    private static final double BASE_LR = 0.01;
    private static final double TOLERANCE = 1e-12;

    /** The fixture's names, with the parameters written out. */
    private static final Map<String, LrSchedule> SCHEDULES = Map.ofEntries(
            Map.entry("StepLR(step_size=7,gamma=0.5)", LrSchedules.stepLR(BASE_LR, 7, 0.5)),
            Map.entry("MultiStepLR(milestones=[10,25,40],gamma=0.3)",
                    LrSchedules.multiStepLR(BASE_LR, new long[] {10, 25, 40}, 0.3)),
            Map.entry("ExponentialLR(gamma=0.93)", LrSchedules.exponentialLR(BASE_LR, 0.93)),
            Map.entry("CosineAnnealingLR(T_max=40,eta_min=1e-4)", LrSchedules.cosineAnnealingLR(BASE_LR, 40, 1e-4)),
            Map.entry("LinearLR(start_factor=0.1,end_factor=1.0,total_iters=10)",
                    LrSchedules.linearLR(BASE_LR, 0.1, 1.0, 10)),
            Map.entry("PolynomialLR(total_iters=50,power=2.0)", LrSchedules.polynomialLR(BASE_LR, 50, 2.0)),
            Map.entry("OneCycleLR(max_lr=0.05,total_steps=60)", LrSchedules.oneCycleLR(0.05, 60)),
            Map.entry("CosineAnnealingWarmRestarts(T_0=10,T_mult=2,eta_min=1e-5)",
                    LrSchedules.cosineAnnealingWarmRestarts(BASE_LR, 10, 2, 1e-5)),
            Map.entry("SequentialLR(LinearLR(0.01,1.0,8),CosineAnnealingLR(52,0.0),milestones=[8])",
                    LrSchedules.sequentialLR(List.of(LrSchedules.linearLR(BASE_LR, 0.01, 1.0, 8),
                            LrSchedules.cosineAnnealingLR(BASE_LR, 52, 0.0)), new long[] {8})),
            Map.entry("transformers.get_linear_schedule_with_warmup(warmup=6,total=60)",
                    LrSchedules.linearWithWarmup(BASE_LR, 6, 60)),
            Map.entry("transformers.get_cosine_schedule_with_warmup(warmup=6,total=60)",
                    LrSchedules.cosineWithWarmup(BASE_LR, 6, 60)),
            Map.entry("transformers.get_constant_schedule_with_warmup(warmup=6)",
                    LrSchedules.constantWithWarmup(BASE_LR, 6)),
            Map.entry("transformers.get_polynomial_decay_schedule_with_warmup(warmup=6,total=60,lr_end=1e-4,power=2.0)",
                    LrSchedules.polynomialDecayWithWarmup(BASE_LR, 6, 60, 1e-4, 2.0)),
            Map.entry("transformers.get_inverse_sqrt_schedule(warmup=6)", LrSchedules.inverseSqrt(BASE_LR, 6)),
            Map.entry("transformers.get_wsd_schedule(warmup=6,decay=12,total=60)",
                    LrSchedules.wsd(BASE_LR, 6, 12, 60)));

    private record Row(long step, double lr) {}

    /** The fixture's rows, by schedule name, in file order. */
    private static Map<String, List<Row>> fixture() throws IOException {
        String text;
        try (InputStream in = LrScheduleFixtureTest.class.getClassLoader().getResourceAsStream(FIXTURE)) {
            assertNotNull(in, "test resource missing: " + FIXTURE);
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Map<String, List<Row>> rows = new LinkedHashMap<>();
        for (String line : text.lines().map(String::trim).toList()) {
            if (line.isEmpty() || line.startsWith("#") || line.equals("schedule,step,lr")) {
                continue;
            }
            // The name may hold commas (then it is quoted); step and lr are the last two fields.
            int lrComma = line.lastIndexOf(',');
            int stepComma = line.lastIndexOf(',', lrComma - 1);
            String name = line.substring(0, stepComma);
            if (name.startsWith("\"") && name.endsWith("\"")) {
                name = name.substring(1, name.length() - 1);
            }
            rows.computeIfAbsent(name, n -> new ArrayList<>()).add(new Row(
                    Long.parseLong(line.substring(stepComma + 1, lrComma)),
                    Double.parseDouble(line.substring(lrComma + 1))));
        }
        return rows;
    }

    static double relativeError(double actual, double expected) {
        if (actual == expected) {
            return 0;
        }
        return Math.abs(actual - expected) / Math.max(Math.abs(expected), Double.MIN_NORMAL);
    }

    @Test
    void everyScheduleMatchesTheFixtureAtEveryStep() throws IOException {
        Map<String, List<Row>> fixture = fixture();
        // The fixture holds 15 schedules of 60 steps (902 lines), though its brief spoke of 17.
        assertEquals(15, fixture.size(), () -> "schedules in the fixture: " + fixture.keySet());
        List<String> failures = new ArrayList<>();
        for (Map.Entry<String, List<Row>> e : fixture.entrySet()) {
            LrSchedule schedule = SCHEDULES.get(e.getKey());
            if (schedule == null) {
                fail("fixture schedule without a mapping in this test: " + e.getKey());
            }
            assertEquals(60, e.getValue().size(), e.getKey() + ": rows");
            double worst = 0;
            long worstStep = -1;
            // Backwards first, then forwards: the memoized recursions must not depend on call order.
            for (int pass = 0; pass < 2; pass++) {
                for (int i = 0; i < e.getValue().size(); i++) {
                    Row row = e.getValue().get(pass == 0 ? e.getValue().size() - 1 - i : i);
                    double err = relativeError(schedule.lr(row.step()), row.lr());
                    if (err > worst) {
                        worst = err;
                        worstStep = row.step();
                    }
                }
            }
            System.out.printf("[adamant] %-100s max relative error %.3g (step %d)%n", e.getKey(), worst, worstStep);
            if (worst > TOLERANCE) {
                failures.add(e.getKey() + ": " + worst + " at step " + worstStep);
            }
        }
        assertTrue(failures.isEmpty(), () -> "beyond " + TOLERANCE + " relative: " + failures);
        assertEquals(SCHEDULES.keySet(), fixture.keySet(), "every mapped schedule is in the fixture");
    }
}
