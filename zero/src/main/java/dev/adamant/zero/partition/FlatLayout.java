package dev.adamant.zero.partition;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A model's tensors flattened into one buffer and partitioned over N devices.
 *
 * <p>Each tensor (for the engine, one layer) is padded up to a multiple of {@code N × alignment}
 * elements, {@code N·Pₜ}, and the padded tensors are laid out back to back in the order given.
 * Device {@code i} owns slice {@code i} of every tensor, elements {@code [offsetₜ + i·Pₜ, offsetₜ +
 * (i+1)·Pₜ)}: its partition is those slices, {@code P = ΣPₜ} elements, and {@code N·P} is the padded
 * total. This is ZeRO-3's layout (each tensor split across the devices, so a layer is gathered by one
 * all-gather and its gradient reduced by one reduce-scatter); the engine uses it for every stage, so
 * that partitions, buckets and norm blocks line up the same way in all of them. With a single tensor
 * it is the flat layout {@code [i·P, (i+1)·P)}.
 *
 * <p>The padding is recorded ({@link #padding()}): it holds zeros, receives zero gradients, and so
 * stays zero under Adam, AdamW and SGD (a zero parameter with zero gradient and zero state does not
 * move). The alignment is a multiple of a cache line; the default, 4096, is also the norm block and
 * the optimizer tile, so each device's slices are whole blocks.
 */
public final class FlatLayout {
    /** Default alignment in elements: one norm block and optimizer tile (4096), a multiple of a cache line. */
    public static final int DEFAULT_ALIGNMENT = 4096;

    /**
     * One tensor's place in the flat buffer: {@code count} elements at {@code offset}, padded to
     * {@code devices × slice}.
     */
    public record Tensor(String name, int index, long offset, long count, long slice, int devices) {
        /** Elements with padding: {@code devices × slice}. */
        public long paddedCount() {
            return slice * devices;
        }

        /** Where device {@code rank}'s slice of this tensor starts in the flat buffer. */
        public long sliceStart(int rank) {
            return offset + rank * slice;
        }
    }

    private final Map<String, Tensor> tensors;
    private final long parameters, padded, partition;
    private final int devices, alignment;

    private FlatLayout(Map<String, Tensor> tensors, long parameters, long padded, int devices, int alignment) {
        this.tensors = Collections.unmodifiableMap(tensors);
        this.parameters = parameters;
        this.padded = padded;
        this.partition = padded / devices;
        this.devices = devices;
        this.alignment = alignment;
    }

    /**
     * Lays out {@code sizes} (name → element count, in iteration order) for {@code devices} devices.
     *
     * @param alignment slice alignment in elements: a positive multiple of 16 (one cache line of floats)
     */
    public static FlatLayout of(Map<String, Long> sizes, int devices, int alignment) {
        Objects.requireNonNull(sizes, "sizes");
        if (devices < 1) {
            throw new IllegalArgumentException("devices: expected >= 1, got " + devices);
        }
        if (alignment < 16 || alignment % 16 != 0) {
            throw new IllegalArgumentException("alignment: expected a positive multiple of 16 elements, got " + alignment);
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        long offset = 0, parameters = 0;
        long unit = Math.multiplyExact((long) devices, alignment);
        for (Map.Entry<String, Long> e : sizes.entrySet()) {
            long count = Objects.requireNonNull(e.getValue(), "sizes[" + e.getKey() + "]");
            if (count <= 0) {
                throw new IllegalArgumentException("sizes[" + e.getKey() + "]: expected > 0 elements, got " + count);
            }
            long slice = (count + unit - 1) / unit * alignment;
            tensors.put(e.getKey(), new Tensor(e.getKey(), tensors.size(), offset, count, slice, devices));
            offset = Math.addExact(offset, slice * devices);
            parameters += count;
        }
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("sizes: expected at least one tensor");
        }
        return new FlatLayout(tensors, parameters, offset, devices, alignment);
    }

    /** As {@link #of(Map, int, int)} with {@link #DEFAULT_ALIGNMENT}. */
    public static FlatLayout of(Map<String, Long> sizes, int devices) {
        return of(sizes, devices, DEFAULT_ALIGNMENT);
    }

    /** Ψ: the model's parameters, without padding. */
    public long parameters() { return parameters; }
    /** N·P: the flat buffer's length with every tensor's padding. */
    public long paddedSize() { return padded; }
    /** P: each device's partition, the sum of its slices. */
    public long partitionSize() { return partition; }
    /** Padding elements, all tensors together. */
    public long padding() { return padded - parameters; }
    public int devices() { return devices; }
    public int alignment() { return alignment; }

    /** The largest tensor's padded size: the engine's bucket and gathered-layer buffers hold one. */
    public long largestPaddedTensor() {
        long max = 0;
        for (Tensor t : tensors.values()) {
            max = Math.max(max, t.paddedCount());
        }
        return max;
    }

    /** Where tensor {@code t}'s slice starts in a device's partition: the slices of earlier tensors come first. */
    public long localOffset(Tensor t) {
        long off = 0;
        for (Tensor u : tensors.values()) {
            if (u.index() == t.index()) {
                return off;
            }
            off += u.slice();
        }
        throw new IllegalArgumentException("t: not a tensor of this layout: " + t);
    }

    /** The tensors in layout order. */
    public List<Tensor> tensors() {
        return new ArrayList<>(tensors.values());
    }

    /** The tensor called {@code name}. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("name: expected one of " + tensors.keySet() + ", got " + name);
        }
        return t;
    }
}
