package dev.adamant.zero;

import dev.adamant.core.AdamConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.fp16.scaling.Gradients;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * What every device of a ZeRO run must agree on: the stage, the 16-bit format, the optimizer, the
 * loss scaling, clipping and rounding, and the global batch. Immutable; built with {@link #builder()}.
 */
public final class ZeroConfig {
    private final ZeroStage stage;
    private final Precision precision;
    private final AdamConfig optimizer;
    private final Supplier<DynamicLossScaler> lossScaler;
    private final double maxGradNorm;
    private final Rounding rounding;
    private final int globalBatch;
    private final boolean prefetch;

    private ZeroConfig(Builder b) {
        this.stage = b.stage;
        this.precision = b.precision;
        this.optimizer = b.optimizer;
        this.lossScaler = b.lossScaler;
        this.maxGradNorm = b.maxGradNorm;
        this.rounding = b.rounding;
        this.globalBatch = b.globalBatch;
        this.prefetch = b.prefetch;
    }

    public static Builder builder() {
        return new Builder();
    }

    public ZeroStage stage() { return stage; }
    public Precision precision() { return precision; }
    public AdamConfig optimizer() { return optimizer; }
    /** A new scaler for one device; every device's must make the same decisions. */
    public DynamicLossScaler newLossScaler() { return lossScaler.get(); }
    public double maxGradNorm() { return maxGradNorm; }
    public Rounding rounding() { return rounding; }
    public int globalBatch() { return globalBatch; }
    /** Whether stage 3 gathers the next bucket while the current one computes (see {@link Builder#prefetch}). */
    public boolean prefetch() { return prefetch; }

    /** A copy with another stage. */
    public ZeroConfig withStage(ZeroStage stage) {
        Builder b = new Builder();
        b.stage = Objects.requireNonNull(stage, "stage");
        b.precision = precision;
        b.optimizer = optimizer;
        b.lossScaler = lossScaler;
        b.maxGradNorm = maxGradNorm;
        b.rounding = rounding;
        b.globalBatch = globalBatch;
        b.prefetch = prefetch;
        return b.build();
    }

    /** Options; defaults: stage 1, FP16, AdamW with PyTorch's defaults, PyTorch's GradScaler, no clipping. */
    public static final class Builder {
        private ZeroStage stage = ZeroStage.OPTIMIZER_STATE;
        private Precision precision = Precision.FP16;
        private AdamConfig optimizer = AdamConfig.adamW();
        private Supplier<DynamicLossScaler> lossScaler = DynamicLossScaler::create;
        private double maxGradNorm;
        private Rounding rounding = Rounding.nearestEven();
        private int globalBatch = 1;
        private boolean prefetch;

        private Builder() {}

        public Builder stage(ZeroStage stage) {
            this.stage = Objects.requireNonNull(stage, "stage");
            return this;
        }

        /** FP16 or BF16. */
        public Builder precision(Precision precision) {
            Objects.requireNonNull(precision, "precision");
            if (precision == Precision.FP32) {
                throw new IllegalArgumentException("precision: expected FP16 or BF16, got FP32");
            }
            this.precision = precision;
            return this;
        }

        public Builder optimizer(AdamConfig optimizer) {
            this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
            return this;
        }

        /** Makes each device's scaler (they must be configured alike). */
        public Builder lossScaler(Supplier<DynamicLossScaler> lossScaler) {
            this.lossScaler = Objects.requireNonNull(lossScaler, "lossScaler");
            return this;
        }

        /** Clip the global gradient norm to this (0: no clipping). */
        public Builder maxGradNorm(double maxGradNorm) {
            this.maxGradNorm = Gradients.checkMaxGradNorm(maxGradNorm);
            return this;
        }

        public Builder rounding(Rounding rounding) {
            this.rounding = Objects.requireNonNull(rounding, "rounding");
            return this;
        }

        /** Examples per step over all devices: the loss is their mean. */
        public Builder globalBatch(int globalBatch) {
            if (globalBatch < 1) {
                throw new IllegalArgumentException("globalBatch: expected >= 1, got " + globalBatch);
            }
            this.globalBatch = globalBatch;
            return this;
        }

        /**
         * Stage 3 only: all-gather the next bucket's parameters on a communication thread of the
         * device while the current bucket's layers compute (forward, and backward from the last),
         * as DeepSpeed's prefetch does; one more gathered bucket of memory. The same collectives
         * and bits as without; every device of a run must agree (the order of its collectives
         * changes). Default off.
         */
        public Builder prefetch(boolean prefetch) {
            this.prefetch = prefetch;
            return this;
        }

        /**
         * @throws IllegalArgumentException if prefetch is on at a stage below 3 (only stage 3
         *     gathers parameters)
         */
        public ZeroConfig build() {
            if (prefetch && stage != ZeroStage.PARAMETERS) {
                throw new IllegalArgumentException("prefetch: only stage 3 all-gathers parameters to prefetch, got stage "
                        + stage.ordinal());
            }
            return new ZeroConfig(this);
        }
    }
}
