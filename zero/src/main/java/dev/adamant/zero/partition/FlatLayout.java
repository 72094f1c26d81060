package dev.adamant.zero.partition;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A model's tensors flattened into one buffer, padded so that N devices get equal, aligned
 * partitions: device {@code i} owns elements {@code [i·P, (i+1)·P)}.
 *
 * <p>Tensors are laid out in the order given, back to back; the total Ψ is padded up to a multiple
 * of {@code N × alignment}. The padding (elements {@code [Ψ, N·P)}) is recorded: it holds zeros,
 * receives zero gradients and is never updated in a way that matters (the optimizer sees zero
 * gradients there, so its parameters stay zero under any optimizer without weight decay; with weight
 * decay they stay zero too since they start at zero).
 */
public final class FlatLayout {
    /** Default alignment in elements: one norm block and optimizer tile (4096), a multiple of a cache line. */
    public static final int DEFAULT_ALIGNMENT = 4096;

    /** One tensor's place in the flat buffer. */
    public record Tensor(String name, long offset, long count) {
        public long end() {
            return offset + count;
        }
    }

    private final Map<String, Tensor> tensors;
    private final long parameters, padded, partition;
    private final int devices, alignment;

    private FlatLayout(Map<String, Tensor> tensors, long parameters, int devices, int alignment) {
        this.tensors = Collections.unmodifiableMap(tensors);
        this.parameters = parameters;
        this.devices = devices;
        this.alignment = alignment;
        long unit = Math.multiplyExact((long) devices, alignment);
        this.padded = Math.max(unit, (parameters + unit - 1) / unit * unit);
        this.partition = padded / devices;
    }

    /**
     * Lays out {@code sizes} (name → element count, in iteration order) for {@code devices} devices.
     *
     * @param alignment partition alignment in elements: a multiple of 16 (one cache line of floats)
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
        long offset = 0;
        for (Map.Entry<String, Long> e : sizes.entrySet()) {
            long count = Objects.requireNonNull(e.getValue(), "sizes[" + e.getKey() + "]");
            if (count <= 0) {
                throw new IllegalArgumentException("sizes[" + e.getKey() + "]: expected > 0 elements, got " + count);
            }
            tensors.put(e.getKey(), new Tensor(e.getKey(), offset, count));
            offset = Math.addExact(offset, count);
        }
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("sizes: expected at least one tensor");
        }
        return new FlatLayout(tensors, offset, devices, alignment);
    }

    /** As {@link #of(Map, int, int)} with {@link #DEFAULT_ALIGNMENT}. */
    public static FlatLayout of(Map<String, Long> sizes, int devices) {
        return of(sizes, devices, DEFAULT_ALIGNMENT);
    }

    /** Ψ: the model's parameters, without padding. */
    public long parameters() { return parameters; }
    /** N·P: the flat buffer's length with padding. */
    public long paddedSize() { return padded; }
    /** P: each device's partition. */
    public long partitionSize() { return partition; }
    /** Padding elements at the end. */
    public long padding() { return padded - parameters; }
    public int devices() { return devices; }
    public int alignment() { return alignment; }

    /** Device {@code rank}'s first element. */
    public long partitionStart(int rank) {
        if (rank < 0 || rank >= devices) {
            throw new IllegalArgumentException("rank: expected [0, " + devices + "), got " + rank);
        }
        return rank * partition;
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
