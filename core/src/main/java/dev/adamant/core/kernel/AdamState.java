package dev.adamant.core.kernel;

import java.lang.foreign.MemorySegment;

/**
 * A begun Adam step as a fused loop in Adamant's own modules needs it: the step's coefficients and
 * the optimizer's whole state buffers, indexed like the parameters. A loop that reads and writes
 * them as {@link AdamKernel} would, in {@link AdamStep}'s order, gives the step's bits.
 *
 * @param maxExpAvgSq {@code max_exp_avg_sq} with amsgrad, else null
 */
public record AdamState(AdamStep coefficients, MemorySegment expAvg, MemorySegment expAvgSq,
                        MemorySegment maxExpAvgSq) {}
