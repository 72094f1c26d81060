package dev.adamant.fp16.mixed;

/**
 * What one mixed-precision step did.
 *
 * @param step the optimizer's step count after this call (unchanged when skipped)
 * @param skipped whether an inf or NaN gradient (before or after unscaling) or an infinite norm made
 *     the whole step a no-op
 * @param scale the loss scale the gradients carried (and were unscaled by)
 * @param nextScale the loss scale for the next step, after the scaler's update
 * @param gradNorm the global L2 norm of the unscaled gradients, or NaN where it was not computed
 *     (no clipping) or not finite
 * @param clipCoefficient the factor the unscaled gradients were multiplied by (1: no clipping)
 */
public record StepReport(long step, boolean skipped, float scale, float nextScale, float gradNorm,
                         float clipCoefficient) {}
