package dev.adamant.zero.partition;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.zero.partition.FlatLayout.Bucket;
import dev.adamant.zero.partition.FlatLayout.Share;
import dev.adamant.zero.partition.FlatLayout.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The bucketed layout, checked element by element against its definition: the shares of every
 * tensor over the devices are disjoint, cover it, start on the alignment counted from the tensor's
 * first element, and lie in the device's own slice; buckets hold consecutive tensors and are closed
 * at the least size; the padding stays within its bound.
 */
class FlatLayoutTest {
    private static Map<String, Long> sizes(long... counts) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < counts.length; i++) {
            m.put("t" + i, counts[i]);
        }
        return m;
    }

    /** Checks every property of {@code layout} over {@code counts} by walking the flat buffer. */
    private static void check(FlatLayout layout, long[] counts, long bucketElements) {
        int n = layout.devices(), a = layout.alignment();
        String where = layout.toString();
        long flat = 0, model = 0;
        int tensor = 0;
        for (Bucket b : layout.buckets()) {
            assertEquals(flat, b.offset(), where + ": buckets back to back");
            assertEquals(tensor, b.firstTensor(), where + ": consecutive tensors");
            assertEquals(0, b.slice() % a, where + ": a slice is whole alignments");
            long content = 0;
            for (Tensor t : layout.tensorsOf(b)) {
                assertEquals(tensor, t.index());
                assertEquals(counts[tensor], t.count());
                assertEquals(b.offset() + content, t.offset(), where + ": " + t + " at its aligned place");
                assertEquals(model, layout.modelOffset(t));
                content += (t.count() + a - 1) / a * a;
                long covered = 0;
                for (int r = 0; r < n; r++) {
                    Share s = layout.share(t, r);
                    if (s.isEmpty()) {
                        continue;
                    }
                    assertEquals(covered, s.from(), where + ": " + t + " rank " + r + " starts where the last ended");
                    assertEquals(0, s.from() % a, where + ": " + t + " rank " + r + " starts on the alignment");
                    long at = t.offset() + s.from();
                    assertTrue(at >= b.offset() + r * b.slice() && t.offset() + s.to() <= b.offset() + (r + 1) * b.slice(),
                            where + ": " + t + " rank " + r + " inside its slice");
                    covered = s.to();
                }
                assertEquals(t.count(), covered, where + ": " + t + " covered once");
                model += t.count();
                tensor++;
            }
            assertEquals(b.paddedCount(), n * b.slice());
            assertTrue(b.paddedCount() >= content && b.paddedCount() - content < (long) n * a, where + ": tail padding");
            boolean last = b.index() == layout.buckets().size() - 1;
            long withoutLast = content - (layout.tensorsOf(b).getLast().count() + a - 1) / a * a;
            assertTrue(last || content >= bucketElements, where + ": bucket " + b.index() + " closed early");
            assertTrue(withoutLast < bucketElements, where + ": bucket " + b.index() + " closed late");
            flat += b.paddedCount();
        }
        assertEquals(counts.length, tensor);
        assertEquals(flat, layout.paddedSize());
        assertEquals(flat / n, layout.partitionSize());
        assertEquals(model, layout.parameters());
        long local = 0;
        for (Bucket b : layout.buckets()) {
            assertEquals(local, layout.localOffset(b));
            local += b.slice();
        }
    }

    @Test
    void randomModelsSatisfyTheDefinition() {
        SplittableRandom r = new SplittableRandom(16);
        for (int trial = 0; trial < 300; trial++) {
            long[] counts = new long[1 + r.nextInt(30)];
            for (int i = 0; i < counts.length; i++) {
                counts[i] = r.nextInt(4) == 0 ? 1 + r.nextInt(3) : 1 + r.nextLong(r.nextBoolean() ? 700 : 40_000);
            }
            int n = 1 + r.nextInt(9);
            int a = 256 * (1 + r.nextInt(3));
            long bucket = switch (r.nextInt(3)) {
                case 0 -> 1;
                case 1 -> 1 + r.nextLong(50_000);
                default -> FlatLayout.defaultBucketElements(n, a);
            };
            check(FlatLayout.of(sizes(counts), n, a, bucket), counts, bucket);
        }
    }

    @Test
    void smallTensorsShareABucketInsteadOfBeingPaddedAlone() {
        // 100 LayerNorm-sized tensors on 1024 devices: one bucket of 100 x 768 elements, 1024 x 256 padded,
        // instead of 100 x 1024 x 256 with a bucket each.
        long[] counts = new long[100];
        java.util.Arrays.fill(counts, 768);
        FlatLayout shared = FlatLayout.of(sizes(counts), 1024);
        assertEquals(1, shared.buckets().size());
        assertEquals(1024 * 256, shared.paddedSize());
        FlatLayout alone = FlatLayout.of(sizes(counts), 1024, 256, 1);
        assertEquals(100, alone.buckets().size());
        assertEquals(100L * 1024 * 256, alone.paddedSize());
        check(shared, counts, FlatLayout.defaultBucketElements(1024, 256));
    }

    @Test
    void badInputIsRefusedNamingTheArgument() {
        Map<String, Long> ok = sizes(10, 20);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FlatLayout.of(ok, 0)).getMessage()
                .startsWith("devices: expected >= 1, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FlatLayout.of(ok, 2, 128)).getMessage()
                .startsWith("alignment: expected a positive multiple of 256"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FlatLayout.of(ok, 2, 256, 0)).getMessage()
                .startsWith("bucketElements: expected >= 1, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FlatLayout.of(sizes(10, 0), 2)).getMessage()
                .startsWith("sizes[t1]: expected > 0 elements, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> FlatLayout.of(new LinkedHashMap<>(), 2))
                .getMessage().startsWith("sizes: expected at least one tensor"));
        assertTrue(assertThrows(NullPointerException.class, () -> FlatLayout.of(null, 2)).getMessage().startsWith("sizes"));
        FlatLayout layout = FlatLayout.of(ok, 2);
        FlatLayout other = FlatLayout.of(sizes(10, 30), 2);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> layout.share(layout.tensors().get(0), 2))
                .getMessage().startsWith("rank: expected 0 to 1, got 2"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> layout.share(other.tensors().get(1), 0))
                .getMessage().startsWith("t: not a tensor of this layout"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> layout.tensor("x")).getMessage()
                .startsWith("name: expected one of [t0, t1], got x"));
    }
}
