/**
 * ZeRO stages 0-3 on the JVM: {@link dev.adamant.zero.ZeroStage} and {@link dev.adamant.zero.MemoryPlan}
 * (the memory table as a calculator), {@link dev.adamant.zero.ZeroDevice} (one engine for all stages
 * around the mixed-precision optimizer), {@link dev.adamant.zero.MemoryLedger} (each device's bytes by
 * purpose) and {@link dev.adamant.zero.ZeroRun} (a training loop of any {@link dev.adamant.zero.LayeredModel}).
 * Partitioning is in {@code dev.adamant.zero.partition}, communication in {@code dev.adamant.zero.comm}
 * (its backends in {@code .inprocess} and {@code .mpi}), checkpoints in
 * {@link dev.adamant.zero.ZeroCheckpoint}. The demo's model lives in the examples module.
 */
package dev.adamant.zero;
