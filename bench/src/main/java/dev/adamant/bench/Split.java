package dev.adamant.bench;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Splits a loop over {@code [0, count)} the way the optimizers split a step, so that the baselines
 * (yardstick, plain loops) pay the same hand-over cost and touch the same ranges on the same threads.
 *
 * <p>A copy of the rule in core's {@code dev.adamant.core.kernel.Chunks} (chunks of at least 16,384
 * floats, each a multiple of 16 floats but the last, chunk 0 on the calling thread), because that
 * package is exported to Adamant's own modules only. Keep the two in step.
 */
final class Split {
    /** As {@code Chunks.MIN_CHUNK}. */
    static final long MIN_CHUNK = 16_384;
    /** Floats in a 64-byte cache line, as {@code Buffers.FLOATS_PER_LINE}. */
    static final long FLOATS_PER_LINE = 16;

    private Split() {}

    /** A loop body over floats {@code [from, from + count)}. */
    @FunctionalInterface
    interface Body {
        void run(long from, long count);
    }

    /** Runs {@code body} over {@code [0, count)} in up to {@code parallelism} chunks; returns when all are done. */
    static void run(long count, int parallelism, Executor executor, Body body) {
        long perChunk = Math.max(MIN_CHUNK, (count + parallelism - 1) / parallelism);
        perChunk = (perChunk + FLOATS_PER_LINE - 1) / FLOATS_PER_LINE * FLOATS_PER_LINE;
        int chunks = (int) Math.max(1, (count + perChunk - 1) / perChunk);
        if (chunks == 1) {
            body.run(0, count);
            return;
        }
        CompletableFuture<?>[] others = new CompletableFuture<?>[chunks - 1];
        for (int c = 1; c < chunks; c++) {
            long from = c * perChunk;
            long n = Math.min(perChunk, count - from);
            others[c - 1] = CompletableFuture.runAsync(() -> body.run(from, n), executor);
        }
        body.run(0, perChunk);
        for (CompletableFuture<?> f : others) {
            f.join();
        }
    }
}
