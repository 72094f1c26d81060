package dev.adamant.core.schedule;

import java.util.List;
import java.util.TreeMap;

/**
 * Learning-rate schedules of PyTorch 2.11 ({@code torch.optim.lr_scheduler}) and Hugging Face
 * transformers 5.17 ({@code transformers.optimization}), as {@link LrSchedule}s: {@code lr(k)} is the
 * learning rate PyTorch's optimizer holds before its k-th step (step 0 first), for one parameter group
 * whose initial lr is {@code baseLr}.
 *
 * <p>Each factory names the original and its defaults; overloads fill in the defaults. Where PyTorch
 * computes a schedule recursively (each step multiplies or adjusts the lr of the step before: StepLR,
 * MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, PolynomialLR), the same recursion is
 * iterated in the same order of operations, so the values follow PyTorch's (bit for bit on the 60-step
 * fixture this is tested against) rather than drifting from them as a closed form does (by 4e-14
 * relative within 60 steps for CosineAnnealingLR, a few ulps for the others, growing with the step);
 * those schedules memoize one value every 256 steps (8 bytes) and a call costs at most 255 recursion
 * steps after the first call that reaches that far. The transformers
 * schedules ({@code LambdaLR}) and OneCycleLR and CosineAnnealingWarmRestarts are closed forms, a few
 * operations a call.
 *
 * <p>Bad input: every factory checks every argument and throws {@link IllegalArgumentException} naming
 * it and what it expected ({@link NullPointerException} for nulls); the schedules throw it for a
 * negative step.
 */
public final class LrSchedules {
    private LrSchedules() {}

    /** OneCycleLR's {@code anneal_strategy}. */
    public enum Anneal {
        /** {@code 'cos'}: {@code end + (start - end) / 2 * (cos(pi * pct) + 1)}. */
        COS,
        /** {@code 'linear'}: {@code (end - start) * pct + start}. */
        LINEAR;

        double between(double start, double end, double pct) {
            return this == COS ? end + (start - end) / 2.0 * (Math.cos(Math.PI * pct) + 1)
                    : (end - start) * pct + start;
        }
    }

    /** The shape of a WSD warmup or decay phase: transformers' {@code 'linear'}, {@code 'cosine'}, {@code '1-sqrt'}. */
    public enum WsdShape { LINEAR, COSINE, ONE_MINUS_SQRT }

    // ---------------------------------------------------------------- PyTorch

    /** {@code lr} at every step (PyTorch: no scheduler; transformers: {@code get_constant_schedule}). */
    public static LrSchedule constant(double lr) {
        Args.nonNegative("lr", lr);
        return step -> {
            Args.step(step);
            return lr;
        };
    }

    /**
     * PyTorch {@code StepLR(step_size, gamma=0.1)}: {@code baseLr * gamma^floor(k / stepSize)}, computed
     * as PyTorch does, one multiplication by gamma at each multiple of stepSize.
     *
     * @param stepSize {@code >= 1}
     * @param gamma finite, {@code > 0}
     */
    public static LrSchedule stepLR(double baseLr, long stepSize, double gamma) {
        Args.nonNegative("baseLr", baseLr);
        Args.atLeast("stepSize", stepSize, 1);
        Args.positive("gamma", gamma);
        Recurrence decays = new Recurrence(baseLr, (n, prev) -> prev * gamma, Long.MAX_VALUE);
        return step -> decays.lr(Args.step(step) / stepSize);
    }

    /** {@link #stepLR(double, long, double)} with PyTorch's default {@code gamma = 0.1}. */
    public static LrSchedule stepLR(double baseLr, long stepSize) {
        return stepLR(baseLr, stepSize, 0.1);
    }

    /**
     * PyTorch {@code MultiStepLR(milestones, gamma=0.1)}: the lr is multiplied by
     * {@code gamma^count} at each milestone (count: how often it is listed, as PyTorch's Counter does).
     *
     * @param milestones steps {@code >= 0}, in any order, repeats allowed
     * @param gamma finite, {@code > 0}
     */
    public static LrSchedule multiStepLR(double baseLr, long[] milestones, double gamma) {
        Args.nonNegative("baseLr", baseLr);
        Args.notNull("milestones", milestones);
        Args.positive("gamma", gamma);
        TreeMap<Long, Integer> counts = new TreeMap<>();
        for (int i = 0; i < milestones.length; i++) {
            if (milestones[i] < 0) {
                throw new IllegalArgumentException("milestones: expected steps >= 0, got " + milestones[i]
                        + " at index " + i);
            }
            counts.merge(milestones[i], 1, Integer::sum);
        }
        long[] at = counts.keySet().stream().mapToLong(Long::longValue).toArray();
        double[] lrs = new double[at.length];
        double lr = baseLr;
        int i = 0;
        for (var e : counts.entrySet()) {
            lr = lr * Math.pow(gamma, e.getValue());
            lrs[i++] = lr;
        }
        return step -> {
            Args.step(step);
            int passed = 0;
            while (passed < at.length && at[passed] <= step) {
                passed++;
            }
            return passed == 0 ? baseLr : lrs[passed - 1];
        };
    }

    /** {@link #multiStepLR(double, long[], double)} with PyTorch's default {@code gamma = 0.1}. */
    public static LrSchedule multiStepLR(double baseLr, long[] milestones) {
        return multiStepLR(baseLr, milestones, 0.1);
    }

    /**
     * PyTorch {@code ExponentialLR(gamma)}: {@code baseLr * gamma^k}, computed as PyTorch does, one
     * multiplication a step.
     *
     * @param gamma finite, {@code > 0} (above 1 for an lr range test)
     */
    public static LrSchedule exponentialLR(double baseLr, double gamma) {
        Args.nonNegative("baseLr", baseLr);
        Args.positive("gamma", gamma);
        return new Recurrence(baseLr, (k, prev) -> prev * gamma, Long.MAX_VALUE);
    }

    /**
     * PyTorch {@code CosineAnnealingLR(T_max, eta_min=0)}: in closed form
     * {@code etaMin + (baseLr - etaMin) * (1 + cos(pi * k / tMax)) / 2}, periodic past tMax (it rises
     * again, as PyTorch's does). Computed with PyTorch's recursion,
     * {@code lr_k = (1 + cos(pi k / T)) / (1 + cos(pi (k-1) / T)) * (lr_{k-1} - etaMin) + etaMin}, and
     * {@code lr_k = lr_{k-1} + (baseLr - etaMin) * (1 - cos(pi / T)) / 2} where
     * {@code (k - 1 - T) mod 2T == 0}; the closed form is 4e-14 relative away from it within 60 steps
     * (tMax 40), and further as the step grows.
     *
     * @param tMax {@code >= 1}
     * @param etaMin finite, {@code >= 0}
     */
    public static LrSchedule cosineAnnealingLR(double baseLr, long tMax, double etaMin) {
        Args.nonNegative("baseLr", baseLr);
        Args.atLeast("tMax", tMax, 1);
        Args.nonNegative("etaMin", etaMin);
        double t = tMax;
        double restart = (baseLr - etaMin) * (1 - Math.cos(Math.PI / t)) / 2;
        return new Recurrence(baseLr, (k, prev) -> Math.floorMod(k - 1 - tMax, 2 * tMax) == 0
                ? prev + restart
                : (1 + Math.cos(Math.PI * k / t)) / (1 + Math.cos(Math.PI * (k - 1) / t)) * (prev - etaMin) + etaMin,
                Long.MAX_VALUE);
    }

    /** {@link #cosineAnnealingLR(double, long, double)} with PyTorch's default {@code eta_min = 0}. */
    public static LrSchedule cosineAnnealingLR(double baseLr, long tMax) {
        return cosineAnnealingLR(baseLr, tMax, 0);
    }

    /**
     * PyTorch {@code LinearLR(start_factor=1/3, end_factor=1, total_iters=5)}: in closed form
     * {@code baseLr * (startFactor + (endFactor - startFactor) * min(k, totalIters) / totalIters)},
     * computed with PyTorch's recursion, {@code lr_k = lr_{k-1} * (1 + (end - start) / (totalIters * start
     * + (k - 1) * (end - start)))} for {@code 1 <= k <= totalIters}.
     *
     * @param startFactor in (0, 1]
     * @param endFactor in [0, 1]
     * @param totalIters {@code >= 1}
     */
    public static LrSchedule linearLR(double baseLr, double startFactor, double endFactor, long totalIters) {
        Args.nonNegative("baseLr", baseLr);
        if (!(startFactor > 0 && startFactor <= 1)) {
            throw new IllegalArgumentException("startFactor: expected a value in (0, 1], got " + startFactor);
        }
        Args.closed("endFactor", endFactor, 0, 1);
        Args.atLeast("totalIters", totalIters, 1);
        double span = endFactor - startFactor;
        return new Recurrence(baseLr * startFactor,
                (k, prev) -> prev * (1.0 + span / (totalIters * startFactor + (k - 1) * span)), totalIters);
    }

    /** {@link #linearLR(double, double, double, long)} with PyTorch's defaults (1/3, 1.0, 5). */
    public static LrSchedule linearLR(double baseLr) {
        return linearLR(baseLr, 1.0 / 3, 1.0, 5);
    }

    /**
     * PyTorch {@code PolynomialLR(total_iters=5, power=1)}: in closed form
     * {@code baseLr * (1 - min(k, totalIters) / totalIters)^power}, computed with PyTorch's recursion,
     * {@code lr_k = lr_{k-1} * ((1 - k / T) / (1 - (k - 1) / T))^power} for {@code 1 <= k <= T}; 0 from
     * totalIters on.
     *
     * @param totalIters {@code >= 1}
     * @param power finite, {@code > 0}
     */
    public static LrSchedule polynomialLR(double baseLr, long totalIters, double power) {
        Args.nonNegative("baseLr", baseLr);
        Args.atLeast("totalIters", totalIters, 1);
        Args.positive("power", power);
        double t = totalIters;
        return new Recurrence(baseLr,
                (k, prev) -> prev * Math.pow((1.0 - k / t) / (1.0 - (k - 1) / t), power), totalIters);
    }

    /** {@link #polynomialLR(double, long, double)} with PyTorch's defaults (5, 1.0). */
    public static LrSchedule polynomialLR(double baseLr) {
        return polynomialLR(baseLr, 5, 1.0);
    }

    /**
     * PyTorch {@code OneCycleLR(max_lr, total_steps, pct_start=0.3, anneal_strategy='cos',
     * div_factor=25, final_div_factor=1e4, three_phase=False)}, closed form as PyTorch computes it. With
     * {@code initial = maxLr / divFactor} and {@code min = initial / finalDivFactor}, the phases end at
     * steps {@code pctStart * totalSteps - 1} (initial to maxLr) and {@code totalSteps - 1} (maxLr to
     * min); with threePhase at {@code pctStart * totalSteps - 1} (initial to maxLr),
     * {@code 2 * pctStart * totalSteps - 2} (maxLr to initial) and {@code totalSteps - 1} (initial to min).
     * Defined for steps 0 to totalSteps, as PyTorch is (it raises past that; so does this schedule).
     *
     * @param maxLr finite, {@code >= 0}
     * @param totalSteps {@code >= 1}
     * @param pctStart in [0, 1], with every phase at least one step long and the phases in order
     * @param divFactor finite, {@code > 0}
     * @param finalDivFactor finite, {@code > 0}
     */
    public static LrSchedule oneCycleLR(double maxLr, long totalSteps, double pctStart, Anneal anneal,
                                        double divFactor, double finalDivFactor, boolean threePhase) {
        Args.nonNegative("maxLr", maxLr);
        Args.atLeast("totalSteps", totalSteps, 1);
        Args.closed("pctStart", pctStart, 0, 1);
        Args.notNull("anneal", anneal);
        Args.positive("divFactor", divFactor);
        Args.positive("finalDivFactor", finalDivFactor);
        double initial = maxLr / divFactor;
        double min = initial / finalDivFactor;
        double[] ends;
        double[] from;
        double[] to;
        if (threePhase) {
            ends = new double[] {pctStart * totalSteps - 1, 2 * pctStart * totalSteps - 2, totalSteps - 1};
            from = new double[] {initial, maxLr, initial};
            to = new double[] {maxLr, initial, min};
        } else {
            ends = new double[] {pctStart * totalSteps - 1, totalSteps - 1};
            from = new double[] {initial, maxLr};
            to = new double[] {maxLr, min};
        }
        double start = 0;
        for (double end : ends) {
            if (!(end > start)) {
                throw new IllegalArgumentException("pctStart: expected every phase to be at least one step long, in order"
                        + " (pctStart * totalSteps >= 2 and the last phase non-empty), got pctStart " + pctStart
                        + " with totalSteps " + totalSteps);
            }
            start = end;
        }
        return step -> {
            Args.step(step);
            if (step > totalSteps) {
                throw new IllegalArgumentException("step: expected a value in [0, " + totalSteps
                        + "] (OneCycleLR's totalSteps), got " + step);
            }
            double phaseStart = 0;
            for (int i = 0; i < ends.length; i++) {
                if (step <= ends[i] || i == ends.length - 1) {
                    return anneal.between(from[i], to[i], (step - phaseStart) / (ends[i] - phaseStart));
                }
                phaseStart = ends[i];
            }
            throw new AssertionError();
        };
    }

    /** {@link #oneCycleLR(double, long, double, Anneal, double, double, boolean)} with PyTorch's defaults. */
    public static LrSchedule oneCycleLR(double maxLr, long totalSteps) {
        return oneCycleLR(maxLr, totalSteps, 0.3, Anneal.COS, 25, 1e4, false);
    }

    /**
     * PyTorch {@code CosineAnnealingWarmRestarts(T_0, T_mult=1, eta_min=0)}:
     * {@code etaMin + (baseLr - etaMin) * (1 + cos(pi * tCur / tI)) / 2}, where the i-th cycle lasts
     * {@code t0 * tMult^i} steps and tCur counts the steps since it began (integers, as PyTorch's
     * stepping without an epoch argument keeps them).
     *
     * @param t0 {@code >= 1}
     * @param tMult {@code >= 1}
     * @param etaMin finite, {@code >= 0}
     */
    public static LrSchedule cosineAnnealingWarmRestarts(double baseLr, long t0, long tMult, double etaMin) {
        Args.nonNegative("baseLr", baseLr);
        Args.atLeast("t0", t0, 1);
        Args.atLeast("tMult", tMult, 1);
        Args.nonNegative("etaMin", etaMin);
        return step -> {
            long tCur = Args.step(step);
            long tI = t0;
            if (tMult == 1) {
                tCur %= t0;
            } else {
                while (tCur >= tI) {
                    tCur -= tI;
                    tI = Math.multiplyHigh(tI, tMult) != 0 ? Long.MAX_VALUE : tI * tMult;
                }
            }
            return etaMin + (baseLr - etaMin) * (1 + Math.cos(Math.PI * tCur / tI)) / 2;
        };
    }

    /** {@link #cosineAnnealingWarmRestarts(double, long, long, double)} with PyTorch's defaults (1, 0). */
    public static LrSchedule cosineAnnealingWarmRestarts(double baseLr, long t0) {
        return cosineAnnealingWarmRestarts(baseLr, t0, 1, 0);
    }

    /**
     * PyTorch {@code SequentialLR(schedulers, milestones)}: schedule i runs from milestone i-1 (0 for
     * the first) and starts there at its own step 0, as PyTorch does by calling {@code step(0)} on it:
     * {@code lr(k) = schedules[i].lr(k - milestones[i - 1])}.
     *
     * @param schedules at least one, none null
     * @param milestones one fewer than schedules, strictly increasing, each {@code >= 1}
     */
    public static LrSchedule sequentialLR(List<LrSchedule> schedules, long[] milestones) {
        Args.notNull("schedules", schedules);
        Args.notNull("milestones", milestones);
        if (schedules.isEmpty()) {
            throw new IllegalArgumentException("schedules: expected at least one schedule, got none");
        }
        if (schedules.stream().anyMatch(s -> s == null)) {
            throw new NullPointerException("schedules: expected no null schedule, got " + schedules);
        }
        if (milestones.length != schedules.size() - 1) {
            throw new IllegalArgumentException("milestones: expected " + (schedules.size() - 1)
                    + " (one fewer than schedules), got " + milestones.length);
        }
        for (int i = 0; i < milestones.length; i++) {
            if (milestones[i] < 1 || (i > 0 && milestones[i] <= milestones[i - 1])) {
                throw new IllegalArgumentException("milestones: expected strictly increasing steps >= 1, got "
                        + java.util.Arrays.toString(milestones));
            }
        }
        LrSchedule[] parts = schedules.toArray(LrSchedule[]::new);
        long[] at = milestones.clone();
        return step -> {
            Args.step(step);
            int i = 0;
            while (i < at.length && at[i] <= step) {
                i++;
            }
            return parts[i].lr(i == 0 ? step : step - at[i - 1]);
        };
    }

    // ---------------------------------------------------------------- transformers

    /** transformers' linear warmup factor {@code k / max(1, warmup)}. */
    private static double warmupFactor(long step, long warmup) {
        return (double) step / (double) Math.max(1, warmup);
    }

    /**
     * transformers {@code get_constant_schedule_with_warmup(num_warmup_steps)}:
     * {@code baseLr * k / warmup} during warmup, then baseLr.
     *
     * @param warmup {@code >= 0}
     */
    public static LrSchedule constantWithWarmup(double baseLr, long warmup) {
        Args.nonNegative("baseLr", baseLr);
        Args.atLeast("warmup", warmup, 0);
        return step -> baseLr * (Args.step(step) < warmup ? warmupFactor(step, warmup) : 1.0);
    }

    /**
     * transformers {@code get_linear_schedule_with_warmup(num_warmup_steps, num_training_steps)}:
     * {@code baseLr * k / warmup} during warmup, then
     * {@code baseLr * max(0, (total - k) / max(1, total - warmup))}.
     *
     * @param warmup {@code >= 0}
     * @param total {@code >= warmup}
     */
    public static LrSchedule linearWithWarmup(double baseLr, long warmup, long total) {
        Args.nonNegative("baseLr", baseLr);
        Args.atLeast("warmup", warmup, 0);
        Args.atLeast("total", total, warmup);
        return step -> baseLr * (Args.step(step) < warmup ? warmupFactor(step, warmup)
                : Math.max(0.0, (double) (total - step) / (double) Math.max(1, total - warmup)));
    }

    /**
     * transformers {@code get_cosine_schedule_with_warmup(num_warmup_steps, num_training_steps,
     * num_cycles=0.5)}: {@code baseLr * k / warmup} during warmup, then
     * {@code baseLr * max(0, (1 + cos(pi * numCycles * 2 * progress)) / 2)} with
     * {@code progress = (k - warmup) / max(1, total - warmup)}.
     *
     * @param warmup {@code >= 0}
     * @param total {@code >= warmup}
     * @param numCycles finite, {@code >= 0}
     */
    public static LrSchedule cosineWithWarmup(double baseLr, long warmup, long total, double numCycles) {
        Args.nonNegative("baseLr", baseLr);
        Args.atLeast("warmup", warmup, 0);
        Args.atLeast("total", total, warmup);
        Args.nonNegative("numCycles", numCycles);
        return step -> {
            if (Args.step(step) < warmup) {
                return baseLr * warmupFactor(step, warmup);
            }
            double progress = (double) (step - warmup) / (double) Math.max(1, total - warmup);
            return baseLr * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * numCycles * 2.0 * progress)));
        };
    }

    /** {@link #cosineWithWarmup(double, long, long, double)} with transformers' default {@code num_cycles = 0.5}. */
    public static LrSchedule cosineWithWarmup(double baseLr, long warmup, long total) {
        return cosineWithWarmup(baseLr, warmup, total, 0.5);
    }

    /**
     * transformers {@code get_polynomial_decay_schedule_with_warmup(num_warmup_steps,
     * num_training_steps, lr_end=1e-7, power=1)}: {@code baseLr * k / warmup} during warmup, then
     * {@code (baseLr - lrEnd) * (1 - (k - warmup) / (total - warmup))^power + lrEnd} up to total, lrEnd
     * after; computed as transformers does, {@code baseLr * (value / baseLr)}.
     *
     * @param warmup {@code >= 0}
     * @param total {@code > warmup}
     * @param lrEnd finite, {@code >= 0} and {@code < baseLr}
     * @param power finite, {@code > 0}
     */
    public static LrSchedule polynomialDecayWithWarmup(double baseLr, long warmup, long total, double lrEnd,
                                                       double power) {
        Args.nonNegative("baseLr", baseLr);
        Args.atLeast("warmup", warmup, 0);
        Args.atLeast("total", total, warmup + 1);
        Args.nonNegative("lrEnd", lrEnd);
        if (!(lrEnd < baseLr)) {
            throw new IllegalArgumentException("lrEnd: expected a value < baseLr (" + baseLr + "), got " + lrEnd);
        }
        Args.positive("power", power);
        double range = baseLr - lrEnd;
        long decaySteps = total - warmup;
        return step -> {
            if (Args.step(step) < warmup) {
                return baseLr * warmupFactor(step, warmup);
            }
            if (step > total) {
                return baseLr * (lrEnd / baseLr);
            }
            double remaining = 1 - (double) (step - warmup) / (double) decaySteps;
            return baseLr * ((range * Math.pow(remaining, power) + lrEnd) / baseLr);
        };
    }

    /** {@link #polynomialDecayWithWarmup} with transformers' defaults {@code lr_end = 1e-7}, {@code power = 1}. */
    public static LrSchedule polynomialDecayWithWarmup(double baseLr, long warmup, long total) {
        return polynomialDecayWithWarmup(baseLr, warmup, total, 1e-7, 1.0);
    }

    /**
     * transformers {@code get_inverse_sqrt_schedule(num_warmup_steps, timescale)}:
     * {@code baseLr * k / warmup} during warmup, then
     * {@code baseLr / sqrt((k + timescale - warmup) / timescale)}.
     *
     * @param warmup {@code >= 0}
     * @param timescale {@code >= 1}
     */
    public static LrSchedule inverseSqrt(double baseLr, long warmup, long timescale) {
        Args.nonNegative("baseLr", baseLr);
        Args.atLeast("warmup", warmup, 0);
        Args.atLeast("timescale", timescale, 1);
        long shift = timescale - warmup;
        return step -> baseLr * (Args.step(step) < warmup ? warmupFactor(step, warmup)
                : 1.0 / Math.sqrt((double) (step + shift) / (double) timescale));
    }

    /** {@link #inverseSqrt(double, long, long)} with transformers' default timescale: warmup, or 10,000 if it is 0. */
    public static LrSchedule inverseSqrt(double baseLr, long warmup) {
        Args.atLeast("warmup", warmup, 0);
        return inverseSqrt(baseLr, warmup, warmup != 0 ? warmup : 10_000);
    }

    /**
     * transformers {@code get_wsd_schedule(num_warmup_steps, num_decay_steps, num_training_steps,
     * num_stable_steps=None, warmup_type='linear', decay_type='cosine', min_lr_ratio=0, num_cycles=0.5)}:
     * warmup from {@code minLrRatio * baseLr} to baseLr, stable at baseLr for
     * {@code total - warmup - decay} steps (transformers' num_stable_steps s is {@code total = warmup + s
     * + decay} here), decay to {@code minLrRatio * baseLr}, which holds after. With progress p through a
     * phase: warmup factor p, {@code (1 - cos(pi p)) / 2} or {@code 1 - sqrt(1 - p)}; decay factor
     * {@code 1 - p}, {@code (1 + cos(pi * numCycles * 2 * p)) / 2} or {@code 1 - sqrt(p)}; each mapped to
     * {@code max(0, factor * (1 - minLrRatio) + minLrRatio)}.
     *
     * @param warmup {@code >= 0}
     * @param decay {@code >= 0}
     * @param total {@code >= warmup + decay}
     * @param minLrRatio in [0, 1]
     * @param numCycles finite, {@code >= 0}
     */
    public static LrSchedule wsd(double baseLr, long warmup, long decay, long total, WsdShape warmupType,
                                 WsdShape decayType, double minLrRatio, double numCycles) {
        Args.nonNegative("baseLr", baseLr);
        Args.atLeast("warmup", warmup, 0);
        Args.atLeast("decay", decay, 0);
        Args.atLeast("total", total, warmup + decay);
        Args.notNull("warmupType", warmupType);
        Args.notNull("decayType", decayType);
        Args.closed("minLrRatio", minLrRatio, 0, 1);
        Args.nonNegative("numCycles", numCycles);
        long stableEnd = total - decay;
        return step -> {
            if (Args.step(step) < warmup) {
                double p = warmupFactor(step, warmup);
                double f = switch (warmupType) {
                    case LINEAR -> p;
                    case COSINE -> 0.5 * (1.0 - Math.cos(Math.PI * p));
                    case ONE_MINUS_SQRT -> 1.0 - Math.sqrt(1.0 - p);
                };
                return baseLr * Math.max(0.0, f * (1.0 - minLrRatio) + minLrRatio);
            }
            if (step < stableEnd) {
                return baseLr * 1.0;
            }
            if (step < total) {
                double p = (double) (step - stableEnd) / (double) Math.max(1, decay);
                double f = switch (decayType) {
                    case LINEAR -> 1.0 - p;
                    case COSINE -> 0.5 * (1.0 + Math.cos(Math.PI * numCycles * 2.0 * p));
                    case ONE_MINUS_SQRT -> 1.0 - Math.sqrt(p);
                };
                return baseLr * Math.max(0.0, f * (1.0 - minLrRatio) + minLrRatio);
            }
            return baseLr * minLrRatio;
        };
    }

    /** {@link #wsd(double, long, long, long, WsdShape, WsdShape, double, double)} with transformers' defaults. */
    public static LrSchedule wsd(double baseLr, long warmup, long decay, long total) {
        return wsd(baseLr, warmup, decay, total, WsdShape.LINEAR, WsdShape.COSINE, 0, 0.5);
    }
}
