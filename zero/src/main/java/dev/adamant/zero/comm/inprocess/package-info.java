/**
 * The in-process backend of {@link dev.adamant.zero.comm.Communicator}: an
 * {@link dev.adamant.zero.comm.inprocess.InProcessGroup} of ranks that are threads of this JVM, for
 * tests, single-machine runs and the stage 0-3 benchmarks. Ranks read their peers' segments
 * directly (no intermediate copies), meet at a failing barrier with a deadline, and reduce in rank
 * order, so the results are the bits the MPI backend gives.
 */
package dev.adamant.zero.comm.inprocess;
