/**
 * The collectives API for ZeRO: the {@link dev.adamant.zero.comm.Communicator} interface
 * (reduce-scatter, all-gather, all-reduce, broadcast, and small control collectives), the
 * {@link dev.adamant.zero.comm.Collective} and {@link dev.adamant.zero.comm.ReduceOp} it names,
 * byte counts under the ring model ({@link dev.adamant.zero.comm.CommStats}), and the exceptions
 * every backend throws ({@link dev.adamant.zero.comm.GroupFailedException} and its subclasses).
 *
 * <p>The backends live in their own packages: {@link dev.adamant.zero.comm.inprocess} (ranks are
 * threads of this JVM) and {@link dev.adamant.zero.comm.mpi} (ranks are processes, over Open MPI).
 * Both reduce in rank order with the same code, so they give the same bits. {@code InProcessGroup}
 * and {@code MpiCommunicator} in this package are deprecated forwarders to the backends' classes,
 * kept for code written against 0.1.
 */
package dev.adamant.zero.comm;
