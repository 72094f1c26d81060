package dev.adamant.core.schedule;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.schedule.LrSchedules.Anneal;
import dev.adamant.core.schedule.LrSchedules.WsdShape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every factory refuses each bad argument, naming it; every schedule refuses a negative step. */
class LrScheduleBadInputTest {
    private static final double NAN = Double.NaN;
    private static final double INF = Double.POSITIVE_INFINITY;

    /** Nulls: the JDK's {@link NullPointerException}, its message naming the argument. */
    private static void refusesNull(String argument, Executable call) {
        NullPointerException e = assertThrows(NullPointerException.class, call, argument);
        assertTrue(e.getMessage().startsWith(argument + ": expected "),
                () -> "expected a message naming " + argument + ", got: " + e.getMessage());
    }

    private static void refuses(String argument, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, argument);
        assertTrue(e.getMessage().startsWith(argument + ": expected "),
                () -> "expected a message naming " + argument + ", got: " + e.getMessage());
    }

    @Test
    void baseLrMustBeFiniteAndNonNegative() {
        for (double bad : new double[] {-0.1, NAN, INF}) {
            refuses("lr", () -> LrSchedules.constant(bad));
            refuses("baseLr", () -> LrSchedules.stepLR(bad, 7, 0.5));
            refuses("baseLr", () -> LrSchedules.multiStepLR(bad, new long[] {1}, 0.5));
            refuses("baseLr", () -> LrSchedules.exponentialLR(bad, 0.9));
            refuses("baseLr", () -> LrSchedules.cosineAnnealingLR(bad, 10, 0));
            refuses("baseLr", () -> LrSchedules.linearLR(bad, 0.1, 1, 10));
            refuses("baseLr", () -> LrSchedules.polynomialLR(bad, 10, 1));
            refuses("maxLr", () -> LrSchedules.oneCycleLR(bad, 60));
            refuses("baseLr", () -> LrSchedules.cosineAnnealingWarmRestarts(bad, 10, 2, 0));
            refuses("baseLr", () -> LrSchedules.constantWithWarmup(bad, 6));
            refuses("baseLr", () -> LrSchedules.linearWithWarmup(bad, 6, 60));
            refuses("baseLr", () -> LrSchedules.cosineWithWarmup(bad, 6, 60));
            refuses("baseLr", () -> LrSchedules.polynomialDecayWithWarmup(bad, 6, 60, 0, 1));
            refuses("baseLr", () -> LrSchedules.inverseSqrt(bad, 6));
            refuses("baseLr", () -> LrSchedules.wsd(bad, 6, 12, 60));
        }
    }

    @Test
    void pyTorchSchedulesCheckTheirArguments() {
        refuses("stepSize", () -> LrSchedules.stepLR(0.01, 0, 0.5));
        for (double bad : new double[] {0, -0.5, NAN, INF}) {
            refuses("gamma", () -> LrSchedules.stepLR(0.01, 7, bad));
            refuses("gamma", () -> LrSchedules.multiStepLR(0.01, new long[] {3}, bad));
            refuses("gamma", () -> LrSchedules.exponentialLR(0.01, bad));
            refuses("power", () -> LrSchedules.polynomialLR(0.01, 10, bad));
            refuses("divFactor", () -> LrSchedules.oneCycleLR(0.05, 60, 0.3, Anneal.COS, bad, 1e4, false));
            refuses("finalDivFactor", () -> LrSchedules.oneCycleLR(0.05, 60, 0.3, Anneal.COS, 25, bad, false));
        }
        refusesNull("milestones", () -> LrSchedules.multiStepLR(0.01, null, 0.5));
        refuses("milestones", () -> LrSchedules.multiStepLR(0.01, new long[] {5, -1}, 0.5));
        refuses("tMax", () -> LrSchedules.cosineAnnealingLR(0.01, 0, 0));
        for (double bad : new double[] {-1e-4, NAN, INF}) {
            refuses("etaMin", () -> LrSchedules.cosineAnnealingLR(0.01, 10, bad));
            refuses("etaMin", () -> LrSchedules.cosineAnnealingWarmRestarts(0.01, 10, 1, bad));
        }
        for (double bad : new double[] {0, 1.5, -0.1, NAN}) {
            refuses("startFactor", () -> LrSchedules.linearLR(0.01, bad, 1, 10));
        }
        for (double bad : new double[] {1.5, -0.1, NAN}) {
            refuses("endFactor", () -> LrSchedules.linearLR(0.01, 0.1, bad, 10));
            refuses("pctStart", () -> LrSchedules.oneCycleLR(0.05, 60, bad, Anneal.COS, 25, 1e4, false));
        }
        refuses("totalIters", () -> LrSchedules.linearLR(0.01, 0.1, 1, 0));
        refuses("totalIters", () -> LrSchedules.polynomialLR(0.01, 0, 1));
        refuses("totalSteps", () -> LrSchedules.oneCycleLR(0.05, 0));
        refusesNull("anneal", () -> LrSchedules.oneCycleLR(0.05, 60, 0.3, null, 25, 1e4, false));
        // A phase of no steps would divide by zero in PyTorch; phases out of order make no schedule.
        refuses("pctStart", () -> LrSchedules.oneCycleLR(0.05, 60, 0.0, Anneal.COS, 25, 1e4, false));
        refuses("pctStart", () -> LrSchedules.oneCycleLR(0.05, 60, 1.0, Anneal.LINEAR, 25, 1e4, false));
        // Three phases need 2 * pctStart * totalSteps - 2 < totalSteps - 1.
        refuses("pctStart", () -> LrSchedules.oneCycleLR(0.05, 60, 0.6, Anneal.COS, 25, 1e4, true));
        refuses("t0", () -> LrSchedules.cosineAnnealingWarmRestarts(0.01, 0, 1, 0));
        refuses("tMult", () -> LrSchedules.cosineAnnealingWarmRestarts(0.01, 10, 0, 0));
        LrSchedule one = LrSchedules.constant(0.01);
        refusesNull("schedules", () -> LrSchedules.sequentialLR(null, new long[0]));
        refuses("schedules", () -> LrSchedules.sequentialLR(List.of(), new long[0]));
        refusesNull("schedules", () -> LrSchedules.sequentialLR(Arrays.asList(one, null), new long[] {3}));
        refusesNull("milestones", () -> LrSchedules.sequentialLR(List.of(one, one), null));
        refuses("milestones", () -> LrSchedules.sequentialLR(List.of(one, one), new long[0]));
        refuses("milestones", () -> LrSchedules.sequentialLR(List.of(one, one), new long[] {0}));
        refuses("milestones", () -> LrSchedules.sequentialLR(List.of(one, one, one), new long[] {5, 5}));
    }

    @Test
    void transformersSchedulesCheckTheirArguments() {
        refuses("warmup", () -> LrSchedules.constantWithWarmup(0.01, -1));
        refuses("warmup", () -> LrSchedules.linearWithWarmup(0.01, -1, 60));
        refuses("total", () -> LrSchedules.linearWithWarmup(0.01, 6, 5));
        refuses("warmup", () -> LrSchedules.cosineWithWarmup(0.01, -1, 60));
        refuses("total", () -> LrSchedules.cosineWithWarmup(0.01, 6, 5));
        for (double bad : new double[] {-0.5, NAN, INF}) {
            refuses("numCycles", () -> LrSchedules.cosineWithWarmup(0.01, 6, 60, bad));
            refuses("numCycles", () -> LrSchedules.wsd(0.01, 6, 12, 60, WsdShape.LINEAR, WsdShape.COSINE, 0, bad));
            refuses("minLrRatio", () -> LrSchedules.wsd(0.01, 6, 12, 60, WsdShape.LINEAR, WsdShape.COSINE,
                    bad == -0.5 ? 1.5 : bad, 0.5));
        }
        refuses("warmup", () -> LrSchedules.polynomialDecayWithWarmup(0.01, -1, 60, 0, 1));
        refuses("total", () -> LrSchedules.polynomialDecayWithWarmup(0.01, 6, 6, 0, 1));
        refuses("lrEnd", () -> LrSchedules.polynomialDecayWithWarmup(0.01, 6, 60, 0.01, 1));
        refuses("lrEnd", () -> LrSchedules.polynomialDecayWithWarmup(0.01, 6, 60, NAN, 1));
        refuses("power", () -> LrSchedules.polynomialDecayWithWarmup(0.01, 6, 60, 0, 0));
        refuses("warmup", () -> LrSchedules.inverseSqrt(0.01, -1));
        refuses("timescale", () -> LrSchedules.inverseSqrt(0.01, 6, 0));
        refuses("warmup", () -> LrSchedules.wsd(0.01, -1, 12, 60));
        refuses("decay", () -> LrSchedules.wsd(0.01, 6, -1, 60));
        refuses("total", () -> LrSchedules.wsd(0.01, 6, 12, 17));
        refusesNull("warmupType", () -> LrSchedules.wsd(0.01, 6, 12, 60, null, WsdShape.COSINE, 0, 0.5));
        refusesNull("decayType", () -> LrSchedules.wsd(0.01, 6, 12, 60, WsdShape.LINEAR, null, 0, 0.5));
    }

    @Test
    void everyScheduleRefusesANegativeStep() {
        List<LrSchedule> all = new ArrayList<>(List.of(
                LrSchedules.constant(0.01), LrSchedules.stepLR(0.01, 7), LrSchedules.multiStepLR(0.01, new long[] {3}),
                LrSchedules.exponentialLR(0.01, 0.9), LrSchedules.cosineAnnealingLR(0.01, 10),
                LrSchedules.linearLR(0.01), LrSchedules.polynomialLR(0.01), LrSchedules.oneCycleLR(0.05, 60),
                LrSchedules.cosineAnnealingWarmRestarts(0.01, 10),
                LrSchedules.sequentialLR(List.of(LrSchedules.constant(0.01), LrSchedules.constant(0.02)), new long[] {4}),
                LrSchedules.constantWithWarmup(0.01, 6), LrSchedules.linearWithWarmup(0.01, 6, 60),
                LrSchedules.cosineWithWarmup(0.01, 6, 60), LrSchedules.polynomialDecayWithWarmup(0.01, 6, 60),
                LrSchedules.inverseSqrt(0.01, 6), LrSchedules.wsd(0.01, 6, 12, 60)));
        for (LrSchedule s : all) {
            refuses("step", () -> s.lr(-1));
            refuses("step", () -> s.lr(Long.MIN_VALUE));
        }
        // OneCycleLR is defined up to totalSteps, as PyTorch's is.
        refuses("step", () -> LrSchedules.oneCycleLR(0.05, 60).lr(61));
    }
}
