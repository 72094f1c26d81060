package dev.adamant.core.kernel;

/**
 * The per-step scalars of one Adafactor step that the passes over the tensor use, each derived in
 * double by the optimizer and rounded to float once (PyTorch hands Python floats to float32 ops).
 *
 * <p>Per element, in PyTorch's order ({@code torch/optim/_adafactor.py}, single tensor, CPU):
 * <pre>
 *   g = g * gradFactor                         // -grad under maximize (exact), a grad scale
 *   lerp(s, e) = fma(lerpCoefficient, e - s, lerpFromStart ? s : e)
 *                                              // ATen's vector lerp: weight w if |w| &lt; 0.5,
 *                                              // else w - 1 from the end
 *   row/col mean m = (sqrt(sum of g^2))^2 / count   // vector_norm().square_().div_(): 3 roundings
 *   v = (row_var[i] * col_var[j]) / max(mean(row_var), eps1)   // matrix; vector: lerp(variance, g * g)
 *   u = g * (1 / sqrt(max(v, eps1Squared)))    // clamp_(min=eps1^2).rsqrt_().mul_(grad)
 *   p = fma(u, negAlpha, p * decayFactor)      // mul_(1 - lr * wd) (1, exact, without), add_(u, alpha)
 * </pre>
 * NaN propagates through every step as in PyTorch ({@code max} of NaN is NaN, as ATen's clamp).
 *
 * @param gradFactor what each gradient is multiplied by as it is read
 * @param lerpCoefficient {@code w} or {@code w - 1} (float), {@code w = (float) t^beta2Decay}
 * @param lerpFromStart whether {@code |w| < 0.5}: the lerp adds to the old state rather than the new value
 * @param eps1Squared {@code (float) (eps1 * eps1)}, the floor of the variance estimate
 * @param decayFactor {@code (float) (1 - lr * wd)}, or 1 without weight decay
 */
public record AdafactorStep(float gradFactor, float lerpCoefficient, boolean lerpFromStart, float eps1Squared,
                            float decayFactor) {

    /** {@code torch.lerp(start, end, w)} as ATen's CPU kernel computes it, with this step's weight. */
    public float lerp(float start, float end) {
        return Math.fma(lerpCoefficient, end - start, lerpFromStart ? start : end);
    }

    /** The update {@code g * rsqrt(max(v, eps1^2))} of one element, {@code g} already scaled. */
    public float update(float v, float g) {
        return 1f / (float) Math.sqrt(Math.max(v, eps1Squared)) * g;
    }

    /** A row's or column's mean square from its sum of squares: {@code (sqrt(s))^2 / count}, as PyTorch. */
    public static float meanSquare(float sumOfSquares, float count) {
        float norm = (float) Math.sqrt(sumOfSquares);
        return norm * norm / count;
    }
}
