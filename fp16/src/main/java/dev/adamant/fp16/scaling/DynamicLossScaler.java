package dev.adamant.fp16.scaling;

import java.util.Objects;

/**
 * Dynamic loss scaling: PyTorch {@code GradScaler}'s state machine with DeepSpeed's options.
 *
 * <p>The loss is multiplied by {@link #scale()} before backward so that small fp16 gradients do not
 * underflow; the gradients are unscaled by {@code 1/scale} before the optimizer step. After each step
 * the caller reports whether any gradient was non-finite with {@link #update(boolean)}:
 * <ul>
 *   <li>Overflow: the step was skipped; the count of good steps restarts at 0. With hysteresis
 *       {@code k}, the first {@code k - 1} overflows (since the hysteresis was last refilled) keep the
 *       scale; the {@code k}-th multiplies it by {@code backoffFactor}, never below
 *       {@code minScale}. At the minimum, an overflow either clamps (the scale stays at the minimum)
 *       or throws {@link LossScaleException}, as configured; a throw changes nothing.</li>
 *   <li>No overflow: after {@code growthInterval} good steps in a row the scale is multiplied by
 *       {@code growthFactor}, unless that would make it infinite (then it stays), and the count
 *       restarts. The hysteresis is refilled then (DeepSpeed's default) or after every good step
 *       ({@code consecutiveHysteresis}).</li>
 * </ul>
 * The scale is a float, as PyTorch's {@code _scale} tensor is, and every product is rounded to float.
 * Defaults are PyTorch's: init 2^16, growth 2, backoff 0.5, interval 2000, hysteresis 1 (back off at
 * the first overflow), no minimum (0), clamp. Unlike PyTorch, the scale never backs off below 2^-126
 * (the smallest normal float), so {@code 1/scale} is always finite.
 *
 * <p>Not thread-safe: one training loop owns a scaler. Its whole state is a {@link State}, which
 * {@link #state()} reads and {@link #restore(State)} writes, for checkpoints.
 */
public final class DynamicLossScaler {
    /** What an overflow does when the scale is already at {@code minScale}. */
    public enum AtMinimum {
        /** The scale stays at the minimum and training goes on (skipping the step). */
        CLAMP,
        /** {@link #update(boolean)} throws {@link LossScaleException}: training cannot go on. */
        THROW
    }

    /**
     * Everything the scaler's future depends on.
     *
     * @param scale the current scale
     * @param goodSteps good steps since the last overflow or growth (PyTorch's growth tracker)
     * @param hysteresisLeft overflows still tolerated before the next back-off (1: back off at the next)
     */
    public record State(float scale, int goodSteps, int hysteresisLeft) {}

    /** The scale never falls below 2^-126, so that {@code 1/scale} stays finite, whatever minScale says. */
    static final float FLOOR = Float.MIN_NORMAL;

    private final float growthFactor, backoffFactor, minScale;
    private final int growthInterval, hysteresis;
    private final boolean consecutiveHysteresis;
    private final AtMinimum atMinimum;
    private float scale;
    private int goodSteps;
    private int hysteresisLeft;

    private DynamicLossScaler(Builder b) {
        this.growthFactor = b.growthFactor;
        this.backoffFactor = b.backoffFactor;
        this.minScale = b.minScale;
        this.growthInterval = b.growthInterval;
        this.hysteresis = b.hysteresis;
        this.consecutiveHysteresis = b.consecutiveHysteresis;
        this.atMinimum = b.atMinimum;
        this.scale = b.initScale;
        this.hysteresisLeft = b.hysteresis;
    }

    /** A scaler with PyTorch's defaults. */
    public static DynamicLossScaler create() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The current loss scale. */
    public float scale() {
        return scale;
    }

    /** {@code 1 / scale}, rounded to float once, as PyTorch's {@code scale.reciprocal()} is. */
    public float inverseScale() {
        return 1f / scale;
    }

    /**
     * Advances the state machine after a step.
     *
     * @param overflow whether any gradient of the step was inf or NaN (the step was skipped)
     * @return the new scale
     * @throws LossScaleException on an overflow at the minimum scale with {@link AtMinimum#THROW};
     *     the state is then unchanged
     */
    public float update(boolean overflow) {
        if (overflow) {
            if (hysteresisLeft > 1) {
                hysteresisLeft--;
            } else {
                if (atMinimum == AtMinimum.THROW && scale <= Math.max(minScale, FLOOR)) {
                    throw new LossScaleException("loss scale already at its minimum " + minScale
                            + " and the gradients still overflow: the model diverges or the minimum is too high");
                }
                scale = Math.max(scale * backoffFactor, Math.max(minScale, FLOOR));
            }
            goodSteps = 0;
        } else {
            if (consecutiveHysteresis) {
                hysteresisLeft = hysteresis;
            }
            goodSteps++;
            if (goodSteps == growthInterval) {
                float grown = scale * growthFactor;
                if (Float.isFinite(grown)) {
                    scale = grown;
                }
                goodSteps = 0;
                hysteresisLeft = hysteresis;
            }
        }
        return scale;
    }

    /** The whole state, for a checkpoint. */
    public State state() {
        return new State(scale, goodSteps, hysteresisLeft);
    }

    /**
     * Restores a state from {@link #state()}.
     *
     * @throws IllegalArgumentException if it cannot come from this scaler (scale not finite and
     *     positive or below the minimum, counts out of range); nothing is changed then
     */
    public void restore(State state) {
        Objects.requireNonNull(state, "state");
        if (!(state.scale() >= Math.max(minScale, FLOOR) && state.scale() <= Float.MAX_VALUE)) {
            throw new IllegalArgumentException("state.scale: expected a finite value >= max(minScale " + minScale
                    + ", 2^-126), got " + state.scale());
        }
        if (state.goodSteps() < 0 || state.goodSteps() >= growthInterval) {
            throw new IllegalArgumentException("state.goodSteps: expected [0, " + growthInterval + "), got "
                    + state.goodSteps());
        }
        if (state.hysteresisLeft() < 1 || state.hysteresisLeft() > hysteresis) {
            throw new IllegalArgumentException("state.hysteresisLeft: expected [1, " + hysteresis + "], got "
                    + state.hysteresisLeft());
        }
        scale = state.scale();
        goodSteps = state.goodSteps();
        hysteresisLeft = state.hysteresisLeft();
    }

    /**
     * The options alone, without the state: {@code "growth=2.0, backoff=0.5, interval=2000,
     * hysteresis=1 (consecutive), min=..., at minimum CLAMP"}. Checkpoints record it so that a scaler
     * configured differently is refused on restore.
     */
    public String settings() {
        return "growth=" + growthFactor + ", backoff=" + backoffFactor + ", interval=" + growthInterval
                + ", hysteresis=" + hysteresis + (consecutiveHysteresis ? " (consecutive)" : "") + ", min=" + minScale
                + ", at minimum " + atMinimum;
    }

    @Override
    public String toString() {
        return "DynamicLossScaler[scale=" + scale + ", goodSteps=" + goodSteps + "/" + growthInterval
                + ", hysteresisLeft=" + hysteresisLeft + "/" + hysteresis + ", growth=" + growthFactor + ", backoff="
                + backoffFactor + ", min=" + minScale + " (" + atMinimum + ")]";
    }

    /** Options, each checked when set; an exception names the option and the range it expected. */
    public static final class Builder {
        private float initScale = 65536f, growthFactor = 2f, backoffFactor = 0.5f, minScale = 0f;
        private int growthInterval = 2000, hysteresis = 1;
        private boolean consecutiveHysteresis;
        private AtMinimum atMinimum = AtMinimum.CLAMP;

        private Builder() {}

        /**
         * The first scale, as a float in [2^-126, {@link Float#MAX_VALUE}] (PyTorch: 2^16): the
         * scaler never backs off below 2^-126, so a smaller start (1e-46, say, which is 0 as a
         * float) is refused.
         */
        public Builder initScale(double initScale) {
            float f = (float) initScale;
            if (!(f >= FLOOR && f <= Float.MAX_VALUE)) {
                throw new IllegalArgumentException("initScale: expected a value in [" + FLOOR + ", " + Float.MAX_VALUE
                        + "] as a float, got " + initScale + asFloat(initScale, f));
            }
            this.initScale = f;
            return this;
        }

        /**
         * Multiplier after {@code growthInterval} good steps: finite and {@code > 1} as a float
         * (PyTorch: 2); {@code 1 + 1e-10}, which is 1 as a float and would never grow, is refused.
         */
        public Builder growthFactor(double growthFactor) {
            float f = (float) growthFactor;
            if (!(f > 1 && f <= Float.MAX_VALUE)) {
                throw new IllegalArgumentException("growthFactor: expected a finite value > 1 as a float, got "
                        + growthFactor + asFloat(growthFactor, f));
            }
            this.growthFactor = f;
            return this;
        }

        /**
         * Multiplier at an overflow: in (0, 1) as a float (PyTorch: 0.5); {@code 1 - 1e-10}, which
         * is 1 as a float and would never back off, is refused.
         */
        public Builder backoffFactor(double backoffFactor) {
            float f = (float) backoffFactor;
            if (!(f > 0 && f < 1)) {
                throw new IllegalArgumentException("backoffFactor: expected a value in (0, 1) as a float, got "
                        + backoffFactor + asFloat(backoffFactor, f));
            }
            this.backoffFactor = f;
            return this;
        }

        /** Good steps in a row before growing: {@code >= 1} (PyTorch: 2000). */
        public Builder growthInterval(int growthInterval) {
            if (growthInterval < 1) {
                throw new IllegalArgumentException("growthInterval: expected >= 1, got " + growthInterval);
            }
            this.growthInterval = growthInterval;
            return this;
        }

        /** DeepSpeed's hysteresis: the {@code k}-th overflow backs off, {@code k >= 1} (1: every overflow). */
        public Builder hysteresis(int hysteresis) {
            if (hysteresis < 1) {
                throw new IllegalArgumentException("hysteresis: expected >= 1, got " + hysteresis);
            }
            this.hysteresis = hysteresis;
            return this;
        }

        /** Refill the hysteresis after every good step instead of at growth (DeepSpeed's consecutive_hysteresis). */
        public Builder consecutiveHysteresis(boolean consecutiveHysteresis) {
            this.consecutiveHysteresis = consecutiveHysteresis;
            return this;
        }

        /** The scale never backs off below this: finite and {@code >= 0} (PyTorch: none, 0). */
        public Builder minScale(double minScale) {
            if (!(minScale >= 0 && minScale <= Float.MAX_VALUE)) {
                throw new IllegalArgumentException("minScale: expected a finite value >= 0, got " + minScale);
            }
            this.minScale = (float) minScale;
            return this;
        }

        /** {@code " (as a float: 1.0)"} where the float differs from the double given, else nothing. */
        private static String asFloat(double given, float f) {
            return given == f || Double.isNaN(given) ? "" : " (as a float: " + f + ")";
        }

        /** What an overflow at the minimum scale does. */
        public Builder atMinimum(AtMinimum atMinimum) {
            this.atMinimum = Objects.requireNonNull(atMinimum, "atMinimum");
            return this;
        }

        /** @throws IllegalArgumentException if minScale exceeds initScale */
        public DynamicLossScaler build() {
            if (minScale > initScale) {
                throw new IllegalArgumentException("minScale: expected <= initScale " + initScale + ", got " + minScale);
            }
            return new DynamicLossScaler(this);
        }
    }
}
