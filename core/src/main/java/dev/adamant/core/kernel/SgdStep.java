package dev.adamant.core.kernel;

/**
 * The per-step scalars of one SGD step, computed once in double and rounded to float once.
 *
 * <p>Per element, in this order (PyTorch 1.13 {@code _single_tensor_sgd}):
 * <pre>
 *   g = g * gradFactor                        // ±gradScale (- with maximize)
 *   g = fma(p, weightDecay, g)                // only if l2
 *   b = g                                     // only if firstStep: PyTorch clones the gradient
 *   b = fma(g, oneMinusDampening, b * momentum)   // otherwise, when momentum is on
 *   h = b * correction                        // textbook bias correction 1/(1 - momentum^t); else 1
 *   d = nesterov ? fma(h, momentum, g) : h    // without momentum: d = g
 *   p = fma(d, negLr, p)
 * </pre>
 *
 * @param hasMomentum whether a momentum buffer is kept (momentum != 0)
 * @param firstStep whether the buffer is set to the gradient instead of updated
 */
public record SgdStep(float gradFactor, boolean l2, float weightDecay, boolean hasMomentum,
                      boolean firstStep, float momentum, float oneMinusDampening, float correction,
                      boolean nesterov, float negLr) {}
