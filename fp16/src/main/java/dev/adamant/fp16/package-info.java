/**
 * Half-precision codecs: {@link dev.adamant.fp16.Half} (IEEE binary16) and
 * {@link dev.adamant.fp16.BFloat16}, scalar and bulk (Vector API with a scalar twin), rounding to
 * nearest even or stochastically ({@link dev.adamant.fp16.Rounding}); {@link dev.adamant.fp16.Precision}
 * names a buffer's format.
 *
 * <p>Fused kernels in this module inline the lane-wise building blocks of
 * {@code dev.adamant.fp16.panama} ({@code HalfVectors}, {@code BFloat16Vectors},
 * {@code CounterRandomVectors}) and their scalar twins in {@code dev.adamant.fp16.scalar}.
 */
package dev.adamant.fp16;
