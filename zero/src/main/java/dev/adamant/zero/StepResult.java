package dev.adamant.zero;

/**
 * One sharded training step, as every device saw it (they agree on all of it).
 *
 * @param step optimizer steps taken so far (unchanged by a skipped step)
 * @param skipped whether an inf/NaN gradient on any device skipped the step on all of them
 * @param loss the mean over devices of their micro-batch losses
 * @param scale the loss scale of this step
 * @param nextScale the loss scale for the next step
 * @param gradNorm the global L2 norm of the unscaled gradients (NaN when skipped or not clipping)
 * @param clipCoefficient the factor applied to the unscaled gradients (1 without clipping)
 */
public record StepResult(long step, boolean skipped, float loss, float scale, float nextScale, float gradNorm,
                         float clipCoefficient) {}
