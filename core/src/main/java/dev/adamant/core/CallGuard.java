package dev.adamant.core;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * What refuses misuse of an optimizer that owns off-heap state: a busy flag taken by one
 * compare-and-set a call (a step, a restore, a reconfiguration), so that a second thread calling at
 * once, which would tear the state, is refused instead; and the closed state. Taking and releasing
 * the flag also publishes the state from one call to the next when they run on different threads.
 */
final class CallGuard {
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile boolean closed;

    /**
     * Takes the flag, or refuses with an {@link IllegalStateException}: {@code "optimizer is closed"},
     * or {@code whyBusy}'s message where another call holds it.
     */
    void acquire(Supplier<String> whyBusy) {
        checkOpen();
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException(whyBusy.get());
        }
        if (closed) {   // closed between the first check and the flag
            busy.set(false);
            checkOpen();
        }
    }

    void release() {
        busy.set(false);
    }

    boolean isClosed() {
        return closed;
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("optimizer is closed");
        }
    }

    /** Marks the optimizer closed; true the first time, when the caller frees its memory. */
    boolean close() {
        if (closed) {
            return false;
        }
        closed = true;
        return true;
    }

    /**
     * The restore every optimizer shares: refuses a null {@code fill} and a negative step count, then,
     * holding the flag, runs {@code fillAll} (which fills the state and sets the step count). One that
     * throws leaves the state partly overwritten, so {@code closeOwner} runs before the exception
     * propagates.
     */
    void restore(Object fill, long stepCount, Supplier<String> whyBusy, Runnable fillAll, Runnable closeOwner) {
        Objects.requireNonNull(fill, "fill");
        if (stepCount < 0) {
            throw new IllegalArgumentException("stepCount: expected >= 0, got " + stepCount);
        }
        acquire(whyBusy);
        try {
            fillAll.run();
        } catch (RuntimeException | Error e) {
            closeOwner.run();
            throw e;
        } finally {
            release();
        }
    }
}
