/**
 * What the backends share and nobody else should use: the argument checks (which name the argument
 * and say what was expected), the rank-order reduction that makes every backend give the same bits,
 * the ring volume model and the per-rank byte counters behind {@link dev.adamant.zero.comm.CommStats},
 * and {@link dev.adamant.zero.comm.internal.Call}, one rank's call as the ranks compare them.
 * Public only so that {@code inprocess} and {@code mpi} can reach it; the module does not export
 * this package, and it may change in any release. Callers have checked what the javadoc says they have.
 */
package dev.adamant.zero.comm.internal;
