package dev.adamant.core;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * One optimizer over many tensors in parameter groups, as PyTorch's {@code param_groups}: each group
 * has its own config (any hyper-parameter may differ and may change between steps), all groups share
 * one optimizer kind (Adam/AdamW, SGD or RMSProp) and one step count. Made by
 * {@link Optimizers#multiTensor(List)}; it owns its state (off-heap, zeroed) until {@link #close()}.
 *
 * <pre>{@code
 * List<ParamGroup> groups = List.of(
 *     ParamGroup.of(AdamConfig.adamW().withWeightDecay(0.1), weightSizes),
 *     ParamGroup.of(AdamConfig.adamW().withWeightDecay(0.0), normAndBiasSizes));
 * try (MultiTensorOptimizer opt = Optimizers.multiTensor(groups)) {
 *     opt.step(params, grads, team);    // one segment per tensor, in group order
 *     opt.setLr(0, 3e-4);               // between steps; the state is kept
 * }
 * }</pre>
 *
 * <p><b>Tensors</b> are numbered across the groups in order: group 0's tensors first, then group
 * 1's, and so on; {@code params.get(i)} and {@code grads.get(i)} are tensor {@code i}'s floats, of
 * {@link #size(int) size(i)} floats each, anywhere in memory (native or heap, 4-byte aligned).
 *
 * <p><b>State layout.</b> For each name in {@link #stateNames()} there is one buffer of
 * {@link #stateSize()} floats (its own: off-heap, cache-line aligned; or the caller's, made with
 * {@link Optimizers#multiTensor(List, MemorySegment)}: buffer {@code k} of {@link #stateNames()} at
 * floats {@code [k * stateSize(), (k + 1) * stateSize())} of the caller's segment), holding every tensor's state back to back in
 * tensor order: tensor {@code i}'s state is floats {@code [stateOffset(i), stateOffset(i) + size(i))},
 * where {@code stateOffset(0) = 0} and {@code stateOffset(i + 1)} is {@code stateOffset(i) + size(i)}
 * rounded up to a multiple of 16 floats (64 bytes), so every tensor's state starts on a cache line,
 * as a flat optimizer's does. The padding floats stay zero. Where groups keep different buffers
 * (amsgrad in one group only, momentum zero in one and not in another, centered in one), each buffer
 * still spans every tensor, and the slices of tensors whose group does not keep it stay zero and
 * unused: the cost of one offset table for all buffers.
 *
 * <p><b>For a framework's training loop</b>, as {@link Optimizer}'s: {@link StepOptions} (the
 * caller's step number, a gradient scale), {@link #setLr} and {@link #setConfig} per group between
 * steps, and {@link #update} (the update written, the parameters left alone; as close to the step
 * as {@link Optimizer#update} says).
 *
 * <p><b>Cost.</b> A step is one parallel region over every element of every tensor: the team's
 * members split the tensors' state index space (the elements end to end, each tensor starting on a
 * 16-float line: under 16 floats of padding a tensor) statically, in cache lines, across tensor
 * boundaries (no hand-off per tensor, so a tensor of 768 floats costs its bytes and no more), and
 * each member steps the pieces of the tensors its share covers with that tensor's group's kernel. So
 * no two members write one cache line of state, and each piece starts a whole number of lines into
 * its tensor. Bytes per element as {@link Optimizer}'s step (28 for Adam). The per-group
 * coefficients are computed once per step, in double. Each step checks every segment and sorts their
 * addresses to find overlaps: O(T log T) for T tensors, nothing per element. Besides its bytes a
 * tensor costs about 50 ns a step, the checks and its kernel call (2,000 tensors of 16 floats, one
 * thread, on the 2-core development machine, against 3-5 ns for one flat step of the same floats; a
 * quick harness, not JMH): 7 µs for GPT-2 small's 148 tensors. Bit-identical to stepping each tensor
 * alone with an {@link Optimizer} made with its group's config, whatever the team.
 *
 * <p><b>Bad input</b> is refused before anything is written, with an exception that names the
 * argument ({@code params[3]}, {@code grads[0] and params[7]}, {@code group}, {@code lr}, …):
 * {@link NullPointerException} for nulls; {@link IllegalArgumentException} for lists of the wrong
 * length, a segment not of its tensor's size or misaligned or closed, read-only params, any two
 * params or grads segments that overlap, a group or tensor index out of range, a hyper-parameter out
 * of range (the configs' own checks), a config of another optimizer kind or one that needs other
 * state buffers; {@link WrongThreadException} for a segment a member of the step may not access
 * (any {@code Arena.ofConfined()} segment when the step uses more than one thread);
 * {@link IllegalStateException} for a closed team, a closed optimizer, or another thread in a step.
 * A rejected call changes no parameter, state, config or step count.
 *
 * <p>Not thread-safe, and checked as {@link Optimizer} is: a step, {@link #restore},
 * {@link #setLr} or {@link #setConfig} while another thread is in one of them is refused with an
 * {@link IllegalStateException}.
 */
public interface MultiTensorOptimizer extends AutoCloseable {

    /** Receives one tensor's state buffer for {@link #restore}. */
    @FunctionalInterface
    interface StateFill {
        /** Fills {@code state}, a writable view of tensor {@code tensor}'s {@code name} buffer. */
        void fill(int tensor, String name, MemorySegment state);
    }

    /** One step on the calling thread; see the class comment. */
    void step(List<MemorySegment> params, List<MemorySegment> grads);

    /**
     * One step on {@code team}: one parallel region over every element of every tensor (at least
     * {@link Team#MIN_SHARE} elements a member, so a small model steps on the calling thread alone).
     *
     * @throws IllegalStateException if {@code team} is closed (nothing changed)
     */
    void step(List<MemorySegment> params, List<MemorySegment> grads, Team team);

    /** {@link #step(List, List)} numbered and scaled as {@code options} says (see {@link StepOptions}). */
    void step(List<MemorySegment> params, List<MemorySegment> grads, StepOptions options);

    /** {@link #step(List, List, StepOptions)} on {@code team}, bit-identical to it. */
    void step(List<MemorySegment> params, List<MemorySegment> grads, StepOptions options, Team team);

    /**
     * Update mode, tensor by tensor as {@link Optimizer#update}: {@code updates.get(i)} receives
     * {@code p - p'} for tensor {@code i} and the parameters are left alone. {@code updates.get(i)} may
     * be {@code grads.get(i)} itself, and must otherwise be disjoint from every params, grads and
     * updates segment. {@code params} may be null, and any of its entries may be null, for tensors
     * whose group's step does not read the parameters (weight decay 0).
     */
    void update(List<MemorySegment> params, List<MemorySegment> grads, List<MemorySegment> updates,
                StepOptions options);

    /** {@link #update(List, List, List, StepOptions)} on {@code team}, bit-identical to it. */
    void update(List<MemorySegment> params, List<MemorySegment> grads, List<MemorySegment> updates,
                StepOptions options, Team team);

    /**
     * Sets group {@code group}'s learning rate from the next step on; the state is kept.
     * Equivalent to {@code setConfig(group, config(group).withLr(lr))}.
     *
     * @throws IllegalArgumentException if {@code group} is out of range or {@code lr} is NaN,
     *     infinite or negative (nothing changed)
     */
    void setLr(int group, double lr);

    /**
     * Replaces group {@code group}'s config from the next step on, as PyTorch's
     * {@code param_group[k] = v}; the state is kept. Refused, with nothing changed, where the new
     * config is of another optimizer kind or needs other state buffers than the group's (amsgrad
     * turned on or off, momentum turned zero or non-zero, centered turned on or off), or breaks a
     * rule between its parameters (SGD's nesterov).
     */
    void setConfig(int group, OptimizerConfig config);

    /** Group {@code group}'s config now. */
    OptimizerConfig config(int group);

    /** How many groups. */
    int groups();

    /** How many tensors, over all groups. */
    int tensors();

    /** The group that tensor {@code tensor} belongs to. */
    int group(int tensor);

    /** Tensor {@code tensor}'s size in floats. */
    long size(int tensor);

    /** The floats of all tensors together, the sum of their sizes. */
    long totalSize();

    /** Steps taken so far: 0 before the first. */
    long stepCount();

    /**
     * PyTorch's names of the state buffers, for example {@code [exp_avg, exp_avg_sq]}: those any
     * group keeps, in PyTorch's order.
     */
    List<String> stateNames();

    /** The names of the state buffers that group {@code group} keeps. */
    List<String> stateNames(int group);

    /**
     * A read-only view of tensor {@code tensor}'s state buffer {@code name} ({@link #size(int)}
     * floats), named as in PyTorch; valid until {@link #close()}.
     *
     * @throws IllegalArgumentException if the tensor's group keeps no buffer of that name
     */
    MemorySegment state(int tensor, String name);

    /**
     * A read-only view of the whole state buffer {@code name}, {@link #stateSize()} floats laid out
     * as the class comment says; valid until {@link #close()}.
     *
     * @throws IllegalArgumentException if no group keeps a buffer of that name
     */
    MemorySegment state(String name);

    /** Where tensor {@code tensor}'s state starts in each state buffer, in floats: a multiple of 16. */
    long stateOffset(int tensor);

    /** Floats in each state buffer: every tensor's state and the padding between them. */
    long stateSize();

    /**
     * Restores a checkpoint: {@code fill} receives, tensor by tensor and in {@link #stateNames(int)}
     * order, every state buffer that tensor's group keeps, as a writable view of {@link #size(int)}
     * floats, and must fill it; then the step count becomes {@code stepCount}, so the next step is
     * step {@code stepCount + 1}. Nothing is checked about the values.
     *
     * @throws IllegalArgumentException if {@code stepCount} is negative (nothing changed)
     * @throws IllegalStateException if the optimizer is closed or another thread is in a step
     *     (nothing changed)
     * @throws RuntimeException whatever {@code fill} throws: the state is then partly overwritten, so
     *     the optimizer is closed before the exception propagates
     */
    void restore(long stepCount, StateFill fill);

    /**
     * Frees the state. Idempotent; views from {@link #state} become inaccessible. State the caller
     * gave stays the caller's, untouched and accessible.
     */
    @Override
    void close();
}
