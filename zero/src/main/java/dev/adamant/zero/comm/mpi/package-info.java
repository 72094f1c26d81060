/**
 * The MPI backend of {@link dev.adamant.zero.comm.Communicator}: one rank per process, over Open
 * MPI's {@code libmpi.so.40} through {@code java.lang.foreign} downcalls. The public face is
 * {@link dev.adamant.zero.comm.mpi.MpiCommunicator}; behind it, one class per idea: the library's
 * downcalls ({@code Mpi}), the process-global MPI runtime (initialize and finalize, the one-thread
 * guard, aborting the job: {@code MpiRuntime}), the per-communicator piece exchange
 * ({@code PieceExchange}) and the header every collective exchanges first ({@code CallHeader}).
 */
package dev.adamant.zero.comm.mpi;
