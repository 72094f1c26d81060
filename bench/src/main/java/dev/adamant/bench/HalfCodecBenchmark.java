package dev.adamant.bench;

import dev.adamant.fp16.BFloat16;
import dev.adamant.fp16.Half;
import dev.adamant.fp16.Precision;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Bulk fp16 and bf16 encode (n floats to n halves: 4n bytes read, 2n written) and decode (2n read,
 * 4n written) through the public codecs, against {@code copySameTraffic}, a {@code MemorySegment.copy}
 * of 3n bytes (3n read, 3n written: the same 6n bytes of traffic), against {@code copyLoopSameTraffic},
 * the same copy as a Vector API loop of loads and stores, and against {@code scalarLoop}, a plain loop
 * of {@code Float.floatToFloat16} (fp16) or {@code BFloat16.fromFloat} (bf16).
 *
 * <p>The two copies differ from DRAM: for copies of some megabytes the JDK's copy stub writes with
 * non-temporal stores, which skip reading the destination's lines into the cache first; a loop's
 * stores (any Java loop's: neither the Vector API nor the FFM API has a non-temporal store) read
 * each destination line before writing it. At 2^24 that is 2n more bytes read for encode and 4n for
 * decode. {@code bench/src/main/c/half_bound.c} measures the same difference in C.
 * Every buffer is allocated and touched in set-up. Scores are microseconds a call; report with
 * {@code BenchReport --bytes 6}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class HalfCodecBenchmark {
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_PREFERRED;


    @State(Scope.Benchmark)
    public static class Buffers {
        @Param({"65536", "16777216"})
        public int n;

        @Param({"FP16", "BF16"})
        public Precision format;

        Arena arena;
        MemorySegment floats, halves, copyFrom, copyTo;

        @Setup(Level.Trial)
        public void setUp() {
            arena = Arena.ofShared();
            floats = arena.allocate(4L * n, 64);
            halves = arena.allocate(2L * n, 64);
            copyFrom = arena.allocate(3L * n, 64);
            copyTo = arena.allocate(3L * n, 64);
            SplittableRandom r = new SplittableRandom(1);
            for (long i = 0; i < n; i++) {
                floats.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            }
            copyFrom.fill((byte) 1);
            copyTo.fill((byte) 2);
            if (format == Precision.FP16) {
                Half.encode(floats, halves);
            } else {
                BFloat16.encode(floats, halves);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    @Benchmark
    public void encode(Buffers b) {
        if (b.format == Precision.FP16) {
            Half.encode(b.floats, b.halves);
        } else {
            BFloat16.encode(b.floats, b.halves);
        }
    }

    @Benchmark
    public void decode(Buffers b) {
        if (b.format == Precision.FP16) {
            Half.decode(b.halves, b.floats);
        } else {
            BFloat16.decode(b.halves, b.floats);
        }
    }

    @Benchmark
    public void copySameTraffic(Buffers b) {
        MemorySegment.copy(b.copyFrom, 0, b.copyTo, 0, b.copyFrom.byteSize());
    }

    @Benchmark
    public void copyLoopSameTraffic(Buffers b) {
        MemorySegment from = b.copyFrom, to = b.copyTo;
        long bound = BYTES.loopBound(from.byteSize());
        for (long o = 0; o < bound; o += BYTES.length()) {
            ByteVector.fromMemorySegment(BYTES, from, o, ByteOrder.nativeOrder()).intoMemorySegment(to, o, ByteOrder.nativeOrder());
        }
        MemorySegment.copy(from, bound, to, bound, from.byteSize() - bound);
    }

    @Benchmark
    public void scalarLoop(Buffers b) {
        MemorySegment f = b.floats, h = b.halves;
        boolean fp16 = b.format == Precision.FP16;
        for (long i = 0; i < b.n; i++) {
            float x = f.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            h.setAtIndex(ValueLayout.JAVA_SHORT, i, fp16 ? Float.floatToFloat16(x) : BFloat16.fromFloat(x));
        }
    }
}
