package dev.adamant.fp16.scaling;

/**
 * What the fused unscale pass found: whether any gradient was infinite or NaN, and the sum of
 * squares of the unscaled gradients (accumulated as {@link dev.adamant.fp16.kernel.SquareSums} says,
 * so the same bits on any number of threads or devices).
 *
 * @param nonFinite whether any gradient was inf or NaN (the step must be skipped)
 * @param sumOfSquares the sum of squares of the unscaled gradients; meaningless when nonFinite
 */
public record GradientStats(boolean nonFinite, double sumOfSquares) {

    /** The global L2 norm, as a float (PyTorch's norms of fp32 gradients are float32 tensors). */
    public float norm() {
        return (float) Math.sqrt(sumOfSquares);
    }

    /**
     * Whether the gradients are finite but their norm is not: the sum of squares, accumulated in
     * float as {@link dev.adamant.fp16.kernel.SquareSums} says, overflowed (an unscaled gradient above
     * about 1.8e19 is enough). {@link #clipCoefficient} is then 0, and PyTorch's {@code
     * clip_grad_norm_} would zero every gradient and step on; {@code MixedPrecisionOptimizer} and
     * ZeRO's devices skip the step and back the loss scale off instead, as DeepSpeed's fp16 optimizer
     * does when its overflow check by norm sees an infinite norm.
     */
    public boolean normOverflows() {
        return !nonFinite && !Float.isFinite(norm());
    }

    /**
     * PyTorch's {@code clip_grad_norm_} coefficient: {@code max_norm / (norm + 1e-6)} clamped to 1,
     * in float, computed as PyTorch's {@code float / Tensor} is ({@code reciprocal(norm + 1e-6) *
     * max_norm}). Multiply the unscaled gradients by it. 0 when the norm is infinite (see
     * {@link #normOverflows()}).
     *
     * @throws IllegalArgumentException if maxNorm is not finite and {@code > 0}
     */
    public float clipCoefficient(double maxNorm) {
        if (!(maxNorm > 0 && maxNorm < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("maxNorm: expected a finite value > 0, got " + maxNorm);
        }
        float coef = (1f / (norm() + 1e-6f)) * (float) maxNorm;
        return Math.min(coef, 1f);
    }
}
