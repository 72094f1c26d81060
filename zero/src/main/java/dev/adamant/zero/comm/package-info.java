/**
 * Collectives for ZeRO: the {@link dev.adamant.zero.comm.Communicator} interface (reduce-scatter,
 * all-gather, all-reduce, broadcast, and small control collectives), bit-reproducible reductions in
 * rank order, byte counts under the ring model ({@link dev.adamant.zero.comm.CommStats}), and the
 * in-process backend {@link dev.adamant.zero.comm.InProcessGroup}, whose ranks are threads.
 */
package dev.adamant.zero.comm;
