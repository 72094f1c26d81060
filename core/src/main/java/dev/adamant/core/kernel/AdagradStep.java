package dev.adamant.core.kernel;

/**
 * The per-step scalars of one Adagrad step, computed once in double and rounded to float once.
 *
 * <p>Per element, in this order (PyTorch 2.x {@code _single_tensor_adagrad}):
 * <pre>
 *   g   = g * gradFactor                 // ±gradScale (- with maximize)
 *   g   = fma(p, weightDecay, g)         // only if l2: grad.add(param, alpha=weight_decay)
 *   s   = fma(g, g, s)                   // sum.addcmul_(grad, grad, value=1): 1 * g is exact
 *   std = sqrt(s) + eps                  // sum.sqrt().add_(eps)
 *   p   = p + (negClr * g) / std         // param.addcdiv_(grad, std, value=-clr)
 * </pre>
 * with {@code clr = lr / (1 + (t - 1) * lrDecay)} in double, negated and rounded once. A NaN
 * gradient makes the sum NaN for good, as in PyTorch; a sum of 0 with eps gives a step of
 * {@code clr * g / eps}.
 *
 * @param l2 whether {@code weightDecay} is added to the gradient (weight decay != 0)
 */
public record AdagradStep(float gradFactor, boolean l2, float weightDecay, float eps, float negClr) {}
