package dev.adamant.core;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.concurrent.Executor;

/**
 * An optimizer over {@link #size()} fp32 parameters. It owns its state buffers (off-heap, allocated
 * when it is made, zeroed) and frees them on {@link #close()}; or, made with
 * {@link Optimizers#create(OptimizerConfig, long, MemorySegment)}, it steps state the caller
 * allocated, owns and saves, laid out as {@link OptimizerConfig#stateNames()} says.
 *
 * <p><b>For a framework's training loop</b>: {@link #step(MemorySegment, MemorySegment, StepOptions)}
 * takes the caller's step number and a gradient scale ({@link StepOptions}); {@link #setLr} and
 * {@link #setConfig} change hyper-parameters between steps and keep the state (a learning-rate
 * schedule is {@code opt.setLr(schedule.lr(t))} before each step); {@link #update} leaves the
 * parameters alone and writes what to subtract from them, for frameworks whose updaters return an
 * update (Deeplearning4j's {@code params.subi(update)}).
 *
 * <p>A step is one pass over memory: it reads the parameters, gradients and state and writes the
 * parameters and state, each float once: floats read plus written, {@code 28} bytes a parameter for
 * Adam, {@code 36} with amsgrad; {@code 12} for SGD, {@code 20} with momentum; {@code 20} for RMSProp,
 * {@code 8} more with momentum and {@code 8} more centered.
 *
 * <p>Buffers are {@code MemorySegment}s of floats in the platform's byte order, native or heap
 * ({@code MemorySegment.ofArray(float[])}), 4-byte aligned. To step one slice of a larger model,
 * pass {@code params.asSlice(offset * 4, count * 4)} to an optimizer of {@code count} parameters.
 *
 * <p>Bad input is refused before anything is written, with an exception that names the argument:
 * {@link NullPointerException} for nulls, {@link IllegalArgumentException} for sizes other than
 * {@code size()} floats, misaligned, closed or read-only parameter segments, overlapping parameters
 * and gradients, a parallelism below 1; {@link WrongThreadException} (the JDK's own type for it)
 * for a segment that a thread the step runs on may not access: one confined to another thread, or,
 * for a step split across threads, any {@code Arena.ofConfined()} segment; {@link IllegalStateException}
 * for a step after {@link #close()}. {@link Optimizers} refuses {@code n} above {@code Buffers.MAX_FLOATS} (2^61 - 1,
 * whose byte size no longer fits in a long) the same way.
 *
 * <p>Non-finite gradients are not refused (the fp16 module's loss scaler skips such steps): a NaN
 * gradient makes that element's moments and parameter NaN for good; an infinite one makes the
 * moments infinite and the parameter NaN (Adam, RMSProp) or infinite (SGD).
 *
 * <p>Not thread-safe: one thread steps an optimizer at a time (a parallel step splits its own work).
 * Misuse is detected, at the cost of one atomic compare-and-set a step: a step, {@link #beginStep()}
 * or {@link #restore} while another is under way (on another thread, or a begun step not yet closed)
 * is refused with an {@link IllegalStateException} that says so, and changes nothing. A step handed
 * from one thread to the next (one at a time) needs no other synchronization.
 */
public interface Optimizer extends AutoCloseable {

    /** The number of parameters, {@code n}. */
    long size();

    /**
     * Steps taken so far: 0 before the first. After a step given its number
     * ({@link StepOptions#number(long)}), that number.
     */
    long stepCount();

    /** The config now: the one it was made with, or the last {@link #setConfig}. */
    OptimizerConfig config();

    /**
     * Replaces the config from the next step on, as PyTorch's {@code param_group[k] = v}; the state is
     * kept. Refused with an {@link IllegalArgumentException} naming {@code config}, nothing changed,
     * where the new config is of another kind or needs other state buffers (amsgrad, momentum zero or
     * not, centered), or breaks a rule between its parameters (SGD's nesterov); an
     * {@link IllegalStateException} while another thread is in a call or a begun step is open.
     */
    void setConfig(OptimizerConfig config);

    /**
     * Sets the learning rate from the next step on; the state is kept. Equivalent to
     * {@code setConfig(config().withLr(lr))}.
     *
     * @throws IllegalArgumentException naming {@code lr} if it is NaN, infinite or negative
     */
    void setLr(double lr);

    /** One step on the calling thread: {@code params} and {@code grads} hold {@link #size()} floats each. */
    void step(MemorySegment params, MemorySegment grads);

    /**
     * One step split into up to {@code parallelism} cache-line-aligned chunks run on the common
     * fork-join pool and the calling thread. Bit-identical to {@link #step(MemorySegment, MemorySegment)}.
     */
    void step(MemorySegment params, MemorySegment grads, int parallelism);

    /**
     * One step split into up to {@code parallelism} chunks, run by the calling thread and by up to
     * {@code parallelism - 1} helper tasks handed to {@code executor}. Bit-identical to
     * {@link #step(MemorySegment, MemorySegment)}.
     *
     * <p>All or nothing: every helper is handed to the executor before any chunk runs, so an executor
     * that refuses one (saturated, shut down, or throwing anything else) leaves every byte and the
     * step count as they were. Helpers never wait for each other, so a direct executor
     * ({@code Runnable::run}) or a caller-runs policy works; an executor that accepts helpers but does
     * not run them soon leaves their chunks to the calling thread. The calling thread waits for the
     * chunks that helpers took even if interrupted (they write the buffers), then sets its interrupt
     * flag again.
     *
     * @throws java.util.concurrent.RejectedExecutionException if {@code executor} throws from a
     *     hand-off (the cause); nothing was changed, and the step may be retried
     */
    void step(MemorySegment params, MemorySegment grads, Executor executor, int parallelism);

    /**
     * One step on {@code team}: one parallel region in which each member steps one static,
     * cache-line-aligned share (at least {@link Team#MIN_SHARE} floats, so a small step runs on
     * the calling thread alone). Bit-identical to {@link #step(MemorySegment, MemorySegment)}. A
     * hand-off costs about a microsecond while the team's threads spin (see {@link Team}).
     *
     * @throws IllegalStateException if {@code team} is closed (nothing changed)
     */
    void step(MemorySegment params, MemorySegment grads, Team team);

    /**
     * One step on the calling thread, numbered and scaled as {@code options} says; otherwise
     * {@link #step(MemorySegment, MemorySegment)}. With {@link StepOptions#next()} the two are the
     * same step.
     */
    void step(MemorySegment params, MemorySegment grads, StepOptions options);

    /** {@link #step(MemorySegment, MemorySegment, StepOptions)} on {@code team}, bit-identical to it. */
    void step(MemorySegment params, MemorySegment grads, StepOptions options, Team team);

    /**
     * Update mode: one step that leaves the parameters alone and writes into {@code update}, for each
     * element, the amount to subtract from the parameter: {@code update = p - p'}, {@code p'} being
     * the parameter {@link #step(MemorySegment, MemorySegment, StepOptions)} would write; the state
     * and the step count change as that step's do.
     *
     * <p>{@code update} is {@link #size()} writable floats, disjoint from {@code params}; it may be
     * {@code grads} itself (the same bytes: the one case where the gradients are written, each
     * element after it is read), or else disjoint from it. "The same bytes" is decided from the
     * segments: native ones at one address, heap ones over one array at one offset; a read-only
     * heap view does not say which array it views, so pass the gradients writable there. {@code params} may be read-only, and may
     * be null where the step does not read them (weight decay 0): the update is then computed from a
     * parameter of 0.
     *
     * <p><b>How close {@code p - update}, rounded to float as a framework computes it, is to the
     * step's {@code p'}</b> (the bounds are derived in {@code UpdateModePropertyTest}, which checks
     * them):
     * <ul>
     *   <li>{@code params} null, Adam, AdamW and RMSProp without momentum ({@code p' = p + x}):
     *       {@code update = -x} exactly, so {@code p - update} is {@code p'} bit for bit, always.
     *   <li>{@code params} given: bit for bit wherever {@code p'} lies within a factor of 2 of
     *       {@code p} (Sterbenz: {@code p - p'} is then exact), which is every element whose step
     *       is smaller than half its magnitude; elsewhere within {@code ulp(p - p')}.
     *   <li>{@code params} null, SGD and RMSProp with momentum ({@code p' = fma(d, -lr, p)}, one
     *       rounding): {@code update} is {@code lr * d} rounded once, so {@code p - update} rounds
     *       twice: within {@code ulp(p') + ulp(update)} of {@code p'}.
     *   <li>Where {@code p} or {@code p'} is infinite or NaN, {@code p - update} may be NaN.
     * </ul>
     *
     * @throws NullPointerException naming {@code params} if it is null and the step reads them
     */
    void update(MemorySegment params, MemorySegment grads, MemorySegment update, StepOptions options);

    /** {@link #update(MemorySegment, MemorySegment, MemorySegment, StepOptions)} on {@code team}, bit-identical to it. */
    void update(MemorySegment params, MemorySegment grads, MemorySegment update, StepOptions options, Team team);

    /**
     * Begins step {@code stepCount() + 1} for callers that step the buffer in pieces themselves:
     * partitions, cache-sized tiles, their own threads. The step's coefficients are computed once,
     * here; {@link Step#apply} steps one range and may be called from any threads for disjoint ranges;
     * {@link Step#close()} finishes the step (the step count advances then). Until it is closed (or
     * cancelled), other steps are refused, on any thread. Applying every range once gives, bit for
     * bit, what {@link #step(MemorySegment, MemorySegment)} gives.
     *
     * @throws IllegalStateException if the optimizer is closed, a begun step is still open, or
     *     another thread is in a step
     */
    Step beginStep();

    /** A step in progress; see {@link #beginStep()}. */
    interface Step extends AutoCloseable {
        /** The number of this step: 1 for the first. */
        long number();

        /**
         * Steps {@code params} (writable) with {@code grads}, {@code count} floats each, against state
         * floats {@code [stateOffset, stateOffset + count)}. Checked as {@code step} checks, and refused
         * with nothing changed where the range falls outside the state or the step is finished.
         */
        void apply(MemorySegment params, MemorySegment grads, long stateOffset);

        /** Finishes the step: the step count advances. Idempotent; nothing after {@link #cancel()}. */
        @Override
        void close();

        /**
         * Ends the step without counting it, for a caller whose work was refused before any range was
         * applied (an executor that rejected its tasks): the step count stays, the next step gets this
         * step's number again, and other steps are allowed. Ranges already applied stay applied, so
         * after one has been, close the step instead. Idempotent; nothing after {@link #close()}.
         */
        void cancel();
    }

    /** PyTorch's names for this optimizer's state buffers, for example {@code [exp_avg, exp_avg_sq]}. */
    List<String> stateNames();

    /**
     * A read-only view of the state buffer named as in PyTorch ({@code exp_avg}, {@code exp_avg_sq},
     * {@code max_exp_avg_sq}, {@code momentum_buffer}, {@code square_avg}, {@code grad_avg}), or for
     * 8-bit block-wise states as in bitsandbytes ({@code state1}, {@code state2}: a byte an element;
     * {@code absmax1}, {@code absmax2}: a float a block of 256); valid until {@link #close()}.
     *
     * @throws IllegalArgumentException if this optimizer keeps no buffer of that name
     */
    MemorySegment state(String name);

    /**
     * A float copy of state {@code name}, allocated in {@code arena}: for 8-bit block-wise states
     * ({@code state1}, {@code state2}; see {@link StateFormat}) each element dequantized
     * ({@code code * absmax}, as a step reads it), for fp32 states a copy of {@link #state(String)}.
     * The optimizer is not changed.
     *
     * @throws IllegalArgumentException naming {@code name} if this optimizer keeps no such state (the
     *     absmax buffers have no float copy)
     * @throws NullPointerException naming {@code arena} if it is null
     * @throws IllegalStateException if the optimizer is closed
     */
    default MemorySegment dequantizedState(String name, Arena arena) {
        java.util.Objects.requireNonNull(arena, "arena");
        MemorySegment s = state(name);
        MemorySegment copy = arena.allocate(s.byteSize(), 64);
        copy.copyFrom(s);
        return copy;
    }

    /**
     * Restores a checkpoint: {@code fill} receives each state buffer by name ({@link #stateNames()}
     * order), as a writable view of {@link #size()} floats, and must fill it; then the step count
     * becomes {@code stepCount}, so the next step is step {@code stepCount + 1}, with that step's bias
     * corrections. Nothing is checked about the values: they are the checkpoint's.
     *
     * @throws IllegalArgumentException if {@code stepCount} is negative (nothing changed)
     * @throws IllegalStateException if the optimizer is closed, a begun step is open, or another
     *     thread is in a step (nothing changed)
     * @throws RuntimeException whatever {@code fill} throws: the state is then partly overwritten, so
     *     the optimizer is closed before the exception propagates
     */
    void restore(long stepCount, BiConsumer<String, MemorySegment> fill);

    /**
     * Frees the state buffers. Idempotent; views from {@link #state} become inaccessible. State the
     * caller gave stays the caller's, untouched and accessible.
     */
    @Override
    void close();
}
