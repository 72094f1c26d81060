package dev.adamant.zero.partition;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A model's tensors flattened into one buffer and partitioned over N devices, in buckets.
 *
 * <p>Consecutive tensors are grouped into buckets of at least {@code bucketElements} elements (a
 * tensor that large is a bucket of its own; the last bucket takes what is left). Inside a bucket each
 * tensor starts on a multiple of the alignment {@code A}; the bucket is padded up to a multiple of
 * {@code N·A}, {@code N·S_b}, and device {@code i} owns slice {@code i} of every bucket, elements
 * {@code [offset_b + i·S_b, offset_b + (i+1)·S_b)}. Its partition is those slices, {@code P = ΣS_b},
 * and {@code N·P} is the padded total. A slice may cover the end of one tensor and the start of the
 * next: a device's {@linkplain #share share} of a tensor is the part of it inside the device's slice,
 * a contiguous range of the tensor that starts on a multiple of {@code A} counted from the tensor's
 * own first element. This is DeepSpeed's flat partitioning by buckets: a bucket is gathered by one
 * all-gather and its gradient reduced by one reduce-scatter, and a small tensor shares its bucket's
 * padding instead of being padded to {@code N·A} alone.
 *
 * <p>Padding, the alignment gaps inside a bucket and the bucket's tail, is at most {@code N·A - 1}
 * plus {@code A - 1} per tensor: with the default bucket of {@code 128·N·A} elements, under 1/128
 * of the model, plus {@code A} per tensor. It holds zeros, receives zero gradients, and belongs to no
 * tensor (no optimizer steps it). The alignment is a multiple of 256 (by default 256 itself): a norm
 * block of {@code SquareSums} and a block of the 8-bit optimizer states, so each device's share of a
 * tensor is whole blocks of that tensor, the same blocks at every N and stage.
 */
public final class FlatLayout {
    /** Default alignment in elements: one norm block and one 8-bit state block (256), four cache lines. */
    public static final int DEFAULT_ALIGNMENT = 256;
    /** The alignment must be a multiple of this: the norm block and the 8-bit state block. */
    public static final int ALIGNMENT_UNIT = 256;
    /** The default bucket is this many times {@code N × alignment}: padding under 1/128 of each bucket. */
    public static final int DEFAULT_BUCKET_FACTOR = 128;

    /**
     * One tensor's place in the flat buffer: {@code count} elements at {@code offset}, in bucket
     * {@code bucket}.
     */
    public record Tensor(String name, int index, long offset, long count, int bucket) {}

    /**
     * One bucket: tensors {@code [firstTensor, firstTensor + tensors)} at {@code offset}, padded to
     * {@code devices × slice} elements.
     */
    public record Bucket(int index, long offset, int firstTensor, int tensors, long slice, int devices) {
        /** Elements with padding: {@code devices × slice}. */
        public long paddedCount() {
            return slice * devices;
        }

        /** Where device {@code rank}'s slice of this bucket starts in the flat buffer. */
        public long sliceStart(int rank) {
            return offset + rank * slice;
        }
    }

    /** A device's share of a tensor: elements {@code [from, to)} of the tensor (counted from its first), maybe empty. */
    public record Share(long from, long to) {
        public long count() {
            return to - from;
        }

        public boolean isEmpty() {
            return to <= from;
        }
    }

    private final List<Tensor> tensors;
    private final Map<String, Tensor> byName;
    private final List<Bucket> buckets;
    private final long[] localOffsets, modelOffsets;
    private final long parameters, padded, partition, bucketElements;
    private final int devices, alignment;

    private FlatLayout(List<Tensor> tensors, List<Bucket> buckets, long parameters, long padded, int devices,
                       int alignment, long bucketElements) {
        this.tensors = Collections.unmodifiableList(tensors);
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Tensor t : tensors) {
            m.put(t.name(), t);
        }
        this.byName = Collections.unmodifiableMap(m);
        this.buckets = Collections.unmodifiableList(buckets);
        this.parameters = parameters;
        this.padded = padded;
        this.partition = padded / devices;
        this.devices = devices;
        this.alignment = alignment;
        this.bucketElements = bucketElements;
        this.localOffsets = new long[buckets.size()];
        long local = 0;
        for (Bucket b : buckets) {
            localOffsets[b.index()] = local;
            local += b.slice();
        }
        this.modelOffsets = new long[tensors.size()];
        long model = 0;
        for (Tensor t : tensors) {
            modelOffsets[t.index()] = model;
            model += t.count();
        }
    }

    /**
     * Lays out {@code sizes} (name → element count, in iteration order) for {@code devices} devices.
     *
     * @param alignment where each tensor starts in its bucket, and the unit of a slice, in elements:
     *     a positive multiple of {@value #ALIGNMENT_UNIT}
     * @param bucketElements the least elements a bucket holds before it is closed ({@code >= 1}; 1
     *     makes every tensor a bucket of its own)
     */
    public static FlatLayout of(Map<String, Long> sizes, int devices, int alignment, long bucketElements) {
        Objects.requireNonNull(sizes, "sizes");
        if (devices < 1) {
            throw new IllegalArgumentException("devices: expected >= 1, got " + devices);
        }
        if (alignment < ALIGNMENT_UNIT || alignment % ALIGNMENT_UNIT != 0) {
            throw new IllegalArgumentException("alignment: expected a positive multiple of " + ALIGNMENT_UNIT
                    + " elements (a norm block and an 8-bit state block), got " + alignment);
        }
        if (bucketElements < 1) {
            throw new IllegalArgumentException("bucketElements: expected >= 1, got " + bucketElements);
        }
        List<Tensor> tensors = new ArrayList<>();
        List<Bucket> buckets = new ArrayList<>();
        long unit = Math.multiplyExact((long) devices, alignment);
        long offset = 0, parameters = 0, content = 0;
        int first = 0;
        for (Map.Entry<String, Long> e : sizes.entrySet()) {
            Objects.requireNonNull(e.getKey(), "sizes: a null name");
            long count = Objects.requireNonNull(e.getValue(), "sizes[" + e.getKey() + "]");
            if (count <= 0) {
                throw new IllegalArgumentException("sizes[" + e.getKey() + "]: expected > 0 elements, got " + count);
            }
            tensors.add(new Tensor(e.getKey(), tensors.size(), offset + content, count, buckets.size()));
            content = Math.addExact(content, roundUp(count, alignment));
            parameters += count;
            if (content >= bucketElements) {
                long slice = roundUp(content, unit) / devices;
                buckets.add(new Bucket(buckets.size(), offset, first, tensors.size() - first, slice, devices));
                offset = Math.addExact(offset, Math.multiplyExact(slice, devices));
                content = 0;
                first = tensors.size();
            }
        }
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("sizes: expected at least one tensor");
        }
        if (content > 0) {
            long slice = roundUp(content, unit) / devices;
            buckets.add(new Bucket(buckets.size(), offset, first, tensors.size() - first, slice, devices));
            offset = Math.addExact(offset, Math.multiplyExact(slice, devices));
        }
        return new FlatLayout(tensors, buckets, parameters, offset, devices, alignment, bucketElements);
    }

    /** As {@link #of(Map, int, int, long)} with the default bucket for this alignment and N. */
    public static FlatLayout of(Map<String, Long> sizes, int devices, int alignment) {
        return of(sizes, devices, alignment, defaultBucketElements(devices, alignment));
    }

    /** As {@link #of(Map, int, int, long)} with {@link #DEFAULT_ALIGNMENT} and the default bucket. */
    public static FlatLayout of(Map<String, Long> sizes, int devices) {
        return of(sizes, devices, DEFAULT_ALIGNMENT);
    }

    /**
     * The default least bucket size: {@value #DEFAULT_BUCKET_FACTOR}{@code · N · alignment}
     * elements, so that a bucket's tail padding (under {@code N · alignment}) is under 1/128 of it.
     */
    public static long defaultBucketElements(int devices, int alignment) {
        if (devices < 1) {
            throw new IllegalArgumentException("devices: expected >= 1, got " + devices);
        }
        return Math.multiplyExact(Math.multiplyExact((long) DEFAULT_BUCKET_FACTOR, devices), (long) alignment);
    }

    private static long roundUp(long x, long unit) {
        return Math.multiplyExact((x + unit - 1) / unit, unit);
    }

    /** Ψ: the model's parameters, without padding. */
    public long parameters() { return parameters; }
    /** N·P: the flat buffer's length with every bucket's padding. */
    public long paddedSize() { return padded; }
    /** P: each device's partition, the sum of its slices. */
    public long partitionSize() { return partition; }
    /** Padding elements, all buckets together. */
    public long padding() { return padded - parameters; }
    public int devices() { return devices; }
    public int alignment() { return alignment; }
    /** The least elements a bucket holds before it is closed. */
    public long bucketElements() { return bucketElements; }

    /** The largest bucket's padded size: the engine's gradient bucket and gathered buffer hold one. */
    public long largestPaddedBucket() {
        long max = 0;
        for (Bucket b : buckets) {
            max = Math.max(max, b.paddedCount());
        }
        return max;
    }

    /** Where bucket {@code b}'s slice starts in a device's partition: the slices of earlier buckets come first. */
    public long localOffset(Bucket b) {
        return localOffsets[checked(b).index()];
    }

    /**
     * Where tensor {@code t} starts in the model without padding: the sum of the earlier tensors'
     * counts. The same at every N, alignment and bucket size (stochastic rounding counts from it).
     */
    public long modelOffset(Tensor t) {
        return modelOffsets[checked(t).index()];
    }

    /** Device {@code rank}'s share of tensor {@code t}: the part of {@code t} inside its slice of {@code t}'s bucket. */
    public Share share(Tensor t, int rank) {
        checked(t);
        if (rank < 0 || rank >= devices) {
            throw new IllegalArgumentException("rank: expected 0 to " + (devices - 1) + ", got " + rank);
        }
        Bucket b = buckets.get(t.bucket());
        long lo = Math.max(t.offset(), b.sliceStart(rank)), hi = Math.min(t.offset() + t.count(), b.sliceStart(rank + 1));
        return hi <= lo ? new Share(0, 0) : new Share(lo - t.offset(), hi - t.offset());
    }

    /** The tensors in layout order. */
    public List<Tensor> tensors() {
        return tensors;
    }

    /** The buckets in layout order. */
    public List<Bucket> buckets() {
        return buckets;
    }

    /** The bucket tensor {@code t} is in. */
    public Bucket bucketOf(Tensor t) {
        return buckets.get(checked(t).bucket());
    }

    /** The tensors of bucket {@code b}, in order. */
    public List<Tensor> tensorsOf(Bucket b) {
        checked(b);
        return tensors.subList(b.firstTensor(), b.firstTensor() + b.tensors());
    }

    /** The tensor called {@code name}. */
    public Tensor tensor(String name) {
        Tensor t = byName.get(name);
        if (t == null) {
            throw new IllegalArgumentException("name: expected one of " + byName.keySet() + ", got " + name);
        }
        return t;
    }

    private Tensor checked(Tensor t) {
        Objects.requireNonNull(t, "t");
        if (t.index() < 0 || t.index() >= tensors.size() || !tensors.get(t.index()).equals(t)) {
            throw new IllegalArgumentException("t: not a tensor of this layout: " + t);
        }
        return t;
    }

    private Bucket checked(Bucket b) {
        Objects.requireNonNull(b, "b");
        if (b.index() < 0 || b.index() >= buckets.size() || !buckets.get(b.index()).equals(b)) {
            throw new IllegalArgumentException("b: not a bucket of this layout: " + b);
        }
        return b;
    }

    @Override
    public String toString() {
        return "FlatLayout[" + tensors.size() + " tensors, " + parameters + " parameters, " + buckets.size()
                + " buckets, padded " + padded + ", N=" + devices + ", alignment " + alignment + ", bucket >= "
                + bucketElements + "]";
    }
}
