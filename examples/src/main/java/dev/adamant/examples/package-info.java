/**
 * A small model for ZeRO demos: {@link dev.adamant.examples.Mlp}, a multi-layer perceptron with
 * 16-bit parameters and gradients that a ZeRO engine drives one layer at a time, and
 * {@link dev.adamant.examples.Teacher}, a fixed random network whose outputs are the targets, so
 * training needs no data set. Forward and backward run on vector kernels (Vector API, or a scalar
 * twin with the same bits).
 */
package dev.adamant.examples;
