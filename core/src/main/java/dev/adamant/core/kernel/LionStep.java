package dev.adamant.core.kernel;

/**
 * The per-step scalars of one Lion step, computed once in double and rounded to float once.
 *
 * <p>Per element, in this order (bitsandbytes' pure-PyTorch reference,
 * {@code optimizer_update_8bit_blockwise_pytorch}, {@code "lion"}, on fp32 state):
 * <pre>
 *   g = g * gradFactor                    // grad = g.float() * gnorm_scale
 *   p = p * decayFactor                   // p.mul_(1 - lr * wd); 1 (exact) without weight decay
 *   c = m * beta1 + g * oneMinusBeta1     // two roundings, then the add: no FMA
 *   d = c > 0 ? 1 : c < 0 ? -1 : 0        // torch.sign: sign(±0) = 0, and sign(NaN) = 0 as on
 *                                         // PyTorch's CPU (it compares: 0 < c, c < 0)
 *   p = fma(d, negLr, p)                  // p.add_(d, alpha=-lr): p - lr, p + lr or p, one rounding
 *   m = fma(g, oneMinusBeta2, m * beta2)  // m.mul_(beta2).add_(g, alpha=1 - beta2)
 * </pre>
 * A NaN gradient or momentum therefore leaves the parameter where it is (the sign is 0) but makes
 * the momentum NaN, which then holds every later step of that element still.
 */
public record LionStep(float gradFactor, float decayFactor, float beta1, float oneMinusBeta1, float beta2,
                       float oneMinusBeta2, float negLr) {}
