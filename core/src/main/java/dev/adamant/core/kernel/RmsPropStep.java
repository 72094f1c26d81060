package dev.adamant.core.kernel;

/**
 * The per-step scalars of one RMSProp step, computed once in double and rounded to float once.
 *
 * <p>Per element, in this order (PyTorch 1.13 {@code _single_tensor_rmsprop}):
 * <pre>
 *   g  = g * gradFactor                        // ±gradScale (- with maximize)
 *   g  = fma(p, weightDecay, g)               // only if l2
 *   s  = fma(oneMinusAlpha * g, g, s * alpha)   // addcmul_: GCC contracts it to an FMA
 *   a  = fma(g, oneMinusAlpha, a * alpha)     // only if centered
 *   sh = s * correction                       // textbook bias correction 1/(1 - alpha^t); else 1
 *   ah = a * correction                       // only if centered
 *   r  = sqrt(centered ? max(fma(-ah, ah, sh), 0) : sh) + eps   // addcmul(value=-1): one rounding;
 *                                             // the max only acts where rounding made it negative
 *   b  = b * momentum + g / r;  p = fma(b, negLr, p)     // if hasMomentum
 *   p  = p + (negLr * g) / r                              // otherwise
 * </pre>
 */
public record RmsPropStep(float gradFactor, boolean l2, float weightDecay, float alpha,
                          float oneMinusAlpha, boolean centered, float correction, float eps,
                          boolean hasMomentum, float momentum, float negLr) {}
