package dev.adamant.fp16.panama;

import static dev.adamant.fp16.panama.HalfVectors.INTS;
import static dev.adamant.fp16.scalar.CounterRandom.HIGH_STEP;
import static dev.adamant.fp16.scalar.CounterRandom.LOW_STEP;
import static dev.adamant.fp16.scalar.CounterRandom.MIX_MULTIPLIER_1;
import static dev.adamant.fp16.scalar.CounterRandom.MIX_MULTIPLIER_2;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.UGT;
import static jdk.incubator.vector.VectorOperators.XOR;

import dev.adamant.fp16.scalar.CounterRandom;
import jdk.incubator.vector.IntVector;

/**
 * {@link CounterRandom#bits} for consecutive counters, one per lane: lane {@code j} of
 * {@code bits(key, counter)} equals {@code CounterRandom.bits(key, counter + j)}. Thirteen vector
 * operations (two multiplies), about 5,000 parse nodes, no memory access; a leaf, like
 * {@link HalfVectors}' functions.
 */
public final class CounterRandomVectors {
    private static final IntVector IOTA = IntVector.zero(INTS).addIndex(1);
    private static final IntVector IOTA_STEP = IOTA.mul(LOW_STEP);
    private static final IntVector MULTIPLIER_1 = IntVector.broadcast(INTS, MIX_MULTIPLIER_1);
    private static final IntVector MULTIPLIER_2 = IntVector.broadcast(INTS, MIX_MULTIPLIER_2);

    private CounterRandomVectors() {}

    /** Random bits for counters {@code counter, counter + 1, ...}, one per lane of {@link HalfVectors#INTS}. */
    public static IntVector bits(long key, long counter) {
        int lo = (int) counter;
        int base = lo * LOW_STEP + (int) (counter >>> 32) * HIGH_STEP + (int) (key >>> 32);
        // Lane j's low word wraps past 2^32 when j > ~lo (unsigned): its high word is one more.
        IntVector x = IntVector.broadcast(INTS, base)
                .blend(IntVector.broadcast(INTS, base + HIGH_STEP), IOTA.compare(UGT, IntVector.broadcast(INTS, ~lo)))
                .add(IOTA_STEP)
                .lanewise(XOR, IntVector.broadcast(INTS, (int) key));
        x = x.lanewise(XOR, x.lanewise(LSHR, 16)).mul(MULTIPLIER_1);
        x = x.lanewise(XOR, x.lanewise(LSHR, 15)).mul(MULTIPLIER_2);
        return x.lanewise(XOR, x.lanewise(LSHR, 16));
    }
}
