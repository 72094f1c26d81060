package dev.adamant.fp16;

import dev.adamant.fp16.scalar.CounterRandom;

/**
 * How a float is narrowed to 16 bits: {@link #nearestEven()} (the default, IEEE and PyTorch's) or
 * {@link #stochastic(long)}.
 *
 * <p>Stochastic rounding rounds toward zero, then up by one ulp in magnitude with probability equal
 * to the dropped fraction of an ulp, so the expectation of the result is the float itself: small
 * updates to 16-bit weights survive on average instead of being rounded away. The random bits are a
 * function of the seed and a counter ({@code counterBase + i} for element {@code i} of a bulk call,
 * the {@code counter} argument of the scalar call), not of any state, so results are reproducible
 * and do not depend on how a buffer is chunked or on the thread count. Draw fresh bits each step
 * with a new seed or a new counter range (for example {@code counterBase = step * n}); reusing a
 * (seed, counter) pair reuses its bits. The generator is described in {@link CounterRandom}.
 */
public sealed interface Rounding permits Rounding.NearestEven, Rounding.Stochastic {

    /** Round to nearest, ties to even. */
    static Rounding nearestEven() {
        return NearestEven.INSTANCE;
    }

    /** Stochastic rounding with random bits drawn from {@code seed} and each element's counter. */
    static Rounding stochastic(long seed) {
        return new Stochastic(seed);
    }

    /** Round to nearest, ties to even. */
    record NearestEven() implements Rounding {
        static final NearestEven INSTANCE = new NearestEven();

        @Override
        public String toString() {
            return "nearestEven";
        }
    }

    /** Stochastic rounding from {@code seed}. */
    record Stochastic(long seed) implements Rounding {
        /** The generator's key for this seed (see {@link CounterRandom#key}). */
        public long key() {
            return CounterRandom.key(seed);
        }

        @Override
        public String toString() {
            return "stochastic(seed=" + seed + ")";
        }
    }
}
