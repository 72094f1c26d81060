package dev.adamant.core.kernel;

/**
 * The per-step scalars of one Adam or AdamW step, each computed once in double and rounded to float
 * once, so that the loop sees only floats (DeepSpeed's and PyTorch's fused kernels do the same).
 *
 * <p>Per element, in this order (PyTorch 1.13 {@code _single_tensor_adam}; {@code fma(a, b, c)} is
 * {@code a * b + c} rounded once, as PyTorch's {@code add_(x, alpha=a)} is):
 * <pre>
 *   g  = g * gradFactor                     // maximize: gradFactor = -1
 *   g  = fma(p, weightDecay, g)           // only if l2 (Adam's weight decay)
 *   p  = p * decayFactor                  // AdamW: 1 - lr * wd; Adam: 1 (exact)
 *   m  = fma(g, oneMinusBeta1, m * beta1)
 *   v  = fma(oneMinusBeta2 * g, g, v * beta2)   // addcmul_: GCC contracts it to an FMA
 *   vm = max(vm, v)                       // only if amsgrad; the denominator then uses vm
 *   d  = sqrt(v) / biasCorrection2Sqrt + eps
 *   p  = p + (negStepSize * m) / d        // negStepSize = -lr / (1 - beta1^t)
 * </pre>
 *
 * @param l2 whether {@code weightDecay} is added to the gradient (Adam with weight decay != 0)
 * @param amsgrad whether the running maximum of {@code v} is kept and used
 */
public record AdamStep(float gradFactor, boolean l2, float weightDecay, float decayFactor,
                       float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
                       float biasCorrection2Sqrt, float eps, float negStepSize, boolean amsgrad) {}
