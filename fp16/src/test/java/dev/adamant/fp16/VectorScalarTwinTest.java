package dev.adamant.fp16;

import static dev.adamant.fp16.TestSupport.hex;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.quicktheories.QuickTheory.qt;

import dev.adamant.fp16.internal.Codec;
import dev.adamant.fp16.internal.CodecProvider;
import dev.adamant.fp16.internal.Codecs;
import dev.adamant.fp16.panama.BFloat16Vectors;
import dev.adamant.fp16.panama.CounterRandomVectors;
import dev.adamant.fp16.panama.HalfVectors;
import dev.adamant.fp16.scalar.BFloat16Scalars;
import dev.adamant.fp16.scalar.CounterRandom;
import dev.adamant.fp16.scalar.HalfScalars;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

/**
 * The vector codecs against their scalar twins, bit for bit (they share the order of operations):
 * whole kernels over awkward sizes, offsets, native and heap segments, with nothing written outside
 * the range; and the lane-level building blocks that fused loops inline, lane by lane. Runs in both
 * modes of the suite (the twins are reached directly), skipped only where the Vector API is absent.
 */
class VectorScalarTwinTest {
    private static final List<Integer> AWKWARD = List.of(0, 1, 15, 16, 17, 31, 33, 1021, 4099);
    private static final short SENTINEL = (short) 0xBEEF;

    private CodecProvider panama;
    private final CodecProvider scalar = Codecs.scalar();

    @BeforeEach
    void panama() {
        panama = Codecs.panamaOrNull();
        assumeTrue(panama != null, "the Vector API is not available");
    }

    /** n values at element offsets into buffers padded on both sides; native or heap. */
    record Layout(int n, int floatOffset, int halfOffset, boolean nativeMemory, long seed, long counterBase) {}

    private static Gen<Layout> layouts() {
        Gen<Integer> sizes = Generate.range(0, 3000).mix(Generate.pick(AWKWARD), 50);
        return sizes.zip(Generate.range(0, 37), Generate.range(0, 37), Generate.booleans(),
                        Generate.longRange(Long.MIN_VALUE, Long.MAX_VALUE), (n, fo, ho, nat, seed) -> new Layout(n, fo, ho, nat, seed, 0))
                .zip(Generate.longRange(-100, 100).mix(Generate.longRange((1L << 32) - 3000, (1L << 32) + 10), 50),
                        (l, base) -> new Layout(l.n(), l.floatOffset(), l.halfOffset(), l.nativeMemory(), l.seed(), base));
    }

    private static MemorySegment place(Arena arena, boolean nativeMemory, int[] ints) {
        MemorySegment heap = MemorySegment.ofArray(ints.clone());
        return nativeMemory ? arena.allocate(heap.byteSize(), 4).copyFrom(heap) : heap;
    }

    private static MemorySegment place(Arena arena, boolean nativeMemory, short[] shorts) {
        MemorySegment heap = MemorySegment.ofArray(shorts.clone());
        return nativeMemory ? arena.allocate(heap.byteSize(), 2).copyFrom(heap) : heap;
    }

    private interface Kernel {
        void run(Codec codec, MemorySegment floats, MemorySegment halves, Layout l);
    }

    /** Runs {@code kernel} with both implementations on copies of the same buffers; compares everything. */
    private void compare(Layout l, boolean half, Kernel kernel) {
        SplittableRandom rnd = new SplittableRandom(l.seed());
        int[] floats = new int[l.floatOffset() + l.n() + 5];
        short[] halves = new short[l.halfOffset() + l.n() + 5];
        float[] values = StochasticRoundingTest.inputs(l.seed(), floats.length);
        for (int i = 0; i < floats.length; i++) {
            floats[i] = Float.floatToRawIntBits(values[i]);
        }
        for (int i = 0; i < halves.length; i++) {
            halves[i] = (short) rnd.nextInt();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] f = {place(arena, l.nativeMemory(), floats), place(arena, l.nativeMemory(), floats)};
            MemorySegment[] h = {place(arena, l.nativeMemory(), halves), place(arena, l.nativeMemory(), halves)};
            CodecProvider[] providers = {panama, scalar};
            for (int k = 0; k < 2; k++) {
                kernel.run(half ? providers[k].half() : providers[k].bfloat16(), f[k], h[k], l);
            }
            assertArrayEquals(f[1].toArray(ValueLayout.JAVA_INT), f[0].toArray(ValueLayout.JAVA_INT), "floats, " + l);
            assertArrayEquals(h[1].toArray(ValueLayout.JAVA_SHORT), h[0].toArray(ValueLayout.JAVA_SHORT), "halves, " + l);
        }
    }

    @Test
    void encodersAgreeBitForBit() {
        for (boolean half : new boolean[] {true, false}) {
            qt().withExamples(150).forAll(layouts()).checkAssert(l -> compare(l, half,
                    (codec, f, h, x) -> codec.encode(f, x.floatOffset(), h, x.halfOffset(), x.n())));
        }
    }

    @Test
    void stochasticEncodersAgreeBitForBit() {
        for (boolean half : new boolean[] {true, false}) {
            qt().withExamples(150).forAll(layouts()).checkAssert(l -> compare(l, half,
                    (codec, f, h, x) -> codec.encodeStochastic(f, x.floatOffset(), h, x.halfOffset(), x.n(),
                            CounterRandom.key(x.seed()), x.counterBase())));
        }
    }

    @Test
    void decodersAgreeBitForBit() {
        for (boolean half : new boolean[] {true, false}) {
            qt().withExamples(150).forAll(layouts()).checkAssert(l -> compare(l, half,
                    (codec, f, h, x) -> codec.decode(h, x.halfOffset(), f, x.floatOffset(), x.n())));
        }
    }

    // ---- lane level ----

    /** Float bit patterns of every class, and the edges between them. */
    private static int[] patterns(SplittableRandom rnd, int lanes) {
        int[] edges = {0, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7F80_0001, 0x7FC0_0000, 0xFFFF_FFFF, 0x3880_0000,
            0x387F_FFFF, 0x4780_0000, 0x477F_EFFF, 0x477F_F000, 0x3300_0000, 0x3300_0001, 0x0000_0001, 0x7F7F_FFFF,
            0x7F7F_8000, 0x3F80_1000, 0x3F80_3000};
        int[] a = new int[lanes];
        for (int i = 0; i < lanes; i++) {
            a[i] = rnd.nextInt(4) == 0 ? edges[rnd.nextInt(edges.length)] ^ (rnd.nextBoolean() ? 0x8000_0000 : 0) : rnd.nextInt();
        }
        return a;
    }

    @Test
    void laneBuildingBlocksMatchTheirScalarTwins() {
        int lanes = HalfVectors.INTS.length();
        SplittableRandom rnd = new SplittableRandom(5);
        for (int round = 0; round < 20_000; round++) {
            int[] bits = patterns(rnd, lanes);
            int[] random = new int[lanes];
            short[] h16 = new short[lanes];
            int[] signExtended = new int[lanes];
            for (int i = 0; i < lanes; i++) {
                random[i] = rnd.nextInt();
                h16[i] = (short) rnd.nextInt();
                signExtended[i] = h16[i];
            }
            IntVector b = IntVector.fromArray(HalfVectors.INTS, bits, 0);
            IntVector r = IntVector.fromArray(HalfVectors.INTS, random, 0);
            FloatVector f = b.reinterpretAsFloats();
            ShortVector s = ShortVector.fromArray(HalfVectors.HALVES, h16, 0);
            IntVector sx = IntVector.fromArray(HalfVectors.INTS, signExtended, 0);
            int[] hEnc = HalfVectors.encodeBits(b).toIntArray();
            int[] hSr = HalfVectors.encodeStochasticBits(b, r).toIntArray();
            short[] hEncS = HalfVectors.encode(f).toArray();
            short[] hSrS = HalfVectors.encodeStochastic(f, r).toArray();
            int[] hDec = HalfVectors.decodeBits(sx).reinterpretAsInts().toIntArray();
            int[] hDecS = HalfVectors.decode(s).reinterpretAsInts().toIntArray();
            int[] bEnc = BFloat16Vectors.encodeBits(b).toIntArray();
            int[] bSr = BFloat16Vectors.encodeStochasticBits(b, r).toIntArray();
            short[] bEncS = BFloat16Vectors.encode(f).toArray();
            int[] bDecS = BFloat16Vectors.decode(s).reinterpretAsInts().toIntArray();
            for (int i = 0; i < lanes; i++) {
                String at = "lane " + i + ", float " + hex(bits[i]) + ", random " + hex(random[i]) + ", half " + hex(h16[i]);
                assertEquals(HalfScalars.encodeBits(bits[i]) & 0xFFFF, hEnc[i] & 0xFFFF, "HalfVectors.encodeBits, " + at);
                assertEquals((short) HalfScalars.encodeBits(bits[i]), hEncS[i], "HalfVectors.encode, " + at);
                assertEquals(HalfScalars.encodeStochasticBits(bits[i], random[i]) & 0xFFFF, hSr[i] & 0xFFFF,
                        "HalfVectors.encodeStochasticBits, " + at);
                assertEquals((short) HalfScalars.encodeStochasticBits(bits[i], random[i]), hSrS[i], "HalfVectors.encodeStochastic, " + at);
                assertEquals(hex(HalfScalars.decodeBits(h16[i])), hex(hDec[i]), "HalfVectors.decodeBits, " + at);
                assertEquals(hex(HalfScalars.decodeBits(h16[i])), hex(hDecS[i]), "HalfVectors.decode, " + at);
                assertEquals(BFloat16Scalars.encodeBits(bits[i]) & 0xFFFF, bEnc[i] & 0xFFFF, "BFloat16Vectors.encodeBits, " + at);
                assertEquals((short) BFloat16Scalars.encodeBits(bits[i]), bEncS[i], "BFloat16Vectors.encode, " + at);
                assertEquals(BFloat16Scalars.encodeStochasticBits(bits[i], random[i]) & 0xFFFF, bSr[i] & 0xFFFF,
                        "BFloat16Vectors.encodeStochasticBits, " + at);
                assertEquals(hex(BFloat16Scalars.decodeBits(h16[i])), hex(bDecS[i]), "BFloat16Vectors.decode, " + at);
            }
        }
    }

    @Test
    void loadAndStoreHelpersReadAndWriteTheNamedPlace() {
        int lanes = HalfVectors.FLOATS.length();
        short[] halves = new short[lanes + 3];
        for (int i = 0; i < halves.length; i++) {
            halves[i] = Half.fromFloat(i * 0.75f - 1);
        }
        MemorySegment seg = MemorySegment.ofArray(halves);
        FloatVector v = HalfVectors.load(seg, 2 * 3);
        for (int i = 0; i < lanes; i++) {
            assertEquals(Half.toFloat(halves[3 + i]), v.lane(i));
        }
        short[] out = new short[lanes + 2];
        HalfVectors.store(v.mul(2f), MemorySegment.ofArray(out), 2);
        HalfVectors.storeStochastic(v, CounterRandomVectors.bits(1, 2), MemorySegment.ofArray(new short[lanes]), 0);
        BFloat16Vectors.store(v, MemorySegment.ofArray(new short[lanes]), 0);
        assertEquals(0, out[0]);
        for (int i = 0; i < lanes; i++) {
            assertEquals(Half.fromFloat(2 * Half.toFloat(halves[3 + i])), out[1 + i]);
        }
        FloatVector b = BFloat16Vectors.load(MemorySegment.ofArray(new short[] {0x3F80, 0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 2);
        assertEquals(2f, b.lane(0));
    }

    @Test
    void randomLanesAreTheScalarBitsOfConsecutiveCounters() {
        int lanes = HalfVectors.INTS.length();
        long[] counters = {0, 1, 0xFFFF_FFFFL - 3, 0xFFFF_FFFFL, (1L << 32) - lanes, -1, -5, Long.MAX_VALUE - 2, Long.MIN_VALUE,
            0x1234_5678_FFFF_FFF9L};
        for (long seed : new long[] {0, 42, -1}) {
            long key = CounterRandom.key(seed);
            for (long c : counters) {
                int[] v = CounterRandomVectors.bits(key, c).toIntArray();
                for (int j = 0; j < lanes; j++) {
                    assertEquals(hex(CounterRandom.bits(key, c + j)), hex(v[j]), "seed " + seed + ", counter " + c + " + " + j);
                }
            }
        }
    }
}
