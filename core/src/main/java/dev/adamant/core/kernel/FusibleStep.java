package dev.adamant.core.kernel;

/**
 * What a step begun with {@code Optimizer.beginStep()} offers Adamant's own modules besides
 * {@code apply}: the inputs of its kernel, for a loop that fuses more work into it (the
 * mixed-precision optimizer widens, unscales and clips its 16-bit gradients in Adam's loop). Every
 * optimizer's step implements it.
 */
public interface FusibleStep {
    /**
     * This step's coefficients and state if the optimizer is Adam or AdamW, else null.
     *
     * @throws IllegalStateException if the step is finished or the optimizer closed
     */
    AdamState adam();
}
