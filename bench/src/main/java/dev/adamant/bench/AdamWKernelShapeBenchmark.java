package dev.adamant.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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
 * Why the AdamW kernel runs at the speed it does: local copies of the Panama kernel's loop in other
 * shapes, called directly on one thread (no facade, no split), next to the bandwidth yardstick.
 * <ul>
 *   <li>{@code kernelCopy}: core's {@code PanamaAdamKernel} loop as it is (AdamW path);
 *   <li>{@code unrolled2}: the same operations, two vectors an iteration;
 *   <li>{@code unitBc2Skipped}: core's loop at a late step, where the bias correction of {@code v} has
 *       rounded to 1 and its division is skipped (bit for bit the same result);
 *   <li>{@code reciprocalBc2}: {@code sqrt(v) * (1 / bc2) + eps} instead of {@code sqrt(v) / bc2 + eps},
 *       DeepSpeed {@code cpu_adam}'s form: one division an element instead of two;
 *   <li>{@code noDivide}, {@code noSqrt}: wrong maths, for cost attribution only (divisions replaced
 *       by multiplications; the square root dropped);
 *   <li>{@code yardstick}: {@link AdamWStepBenchmark#stream}, Adam's traffic with trivial arithmetic,
 *       four loads then three stores as in the kernel;
 *   <li>{@code yardstickInterleaved}: the same traffic with each stream loaded and stored in turn
 *       (p, then m, then v): measurably slower from L3 on, so not the yardstick.
 * </ul>
 * Run with {@code -p n=16384} (L2: the compute ceiling), {@code 1048576} (L3) and {@code 16777216} (DRAM).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xmx2g"})
public class AdamWKernelShapeBenchmark {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** AdamW's per-step floats at step {@code t}, derived as core's {@code AdamOptimizer.coefficients} does. */
    record Coefficients(float gradSign, float decay, float beta1, float oneMinusBeta1, float beta2,
                        float oneMinusBeta2, float bc2Sqrt, float eps, float negStep) {
        static Coefficients adamW(long t) {
            double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 1e-2;
            double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
            return new Coefficients(1f, (float) (1 - lr * wd), (float) b1, (float) (1 - b1), (float) b2,
                    (float) (1 - b2), (float) Math.sqrt(bc2), (float) eps, (float) (-lr / bc1));
        }
    }

    @State(Scope.Benchmark)
    public static class Buffers {
        @Param({"16384", "1048576", "16777216"})
        public int n;

        Arena arena;
        MemorySegment p, g, m, v;
        /** Step 1000: bias corrections well away from 1, as in the middle of training. */
        final Coefficients c = Coefficients.adamW(1000);
        /** Step 20,000: {@code (float) sqrt(1 - 0.999^t)} has rounded to 1. */
        final Coefficients late = Coefficients.adamW(20_000);

        @Setup(Level.Trial)
        public void setUp() {
            arena = Arena.ofShared();
            p = AdamWStepBenchmark.Sized.nativeCopy(arena, AdamWStepBenchmark.Sized.params(n));
            g = AdamWStepBenchmark.Sized.nativeCopy(arena, AdamWStepBenchmark.Sized.grads(n));
            m = AdamWStepBenchmark.Sized.nativeCopy(arena, new float[n]);
            v = AdamWStepBenchmark.Sized.nativeCopy(arena, new float[n]);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            arena.close();
        }
    }

    @Benchmark
    public void yardstick(Buffers b) {
        AdamWStepBenchmark.stream(b.p, b.g, b.m, b.v, 0, b.n);
    }

    @Benchmark
    public void yardstickInterleaved(Buffers b) {
        yardstickInterleaved(b.p, b.g, b.m, b.v, 0, b.n);
    }

    @Benchmark
    public void kernelCopy(Buffers b) {
        kernelCopy(b.c, b.p, b.g, b.m, b.v, 0, b.n);
    }

    @Benchmark
    public void unrolled2(Buffers b) {
        unrolled2(b.c, b.p, b.g, b.m, b.v, 0, b.n);
    }

    @Benchmark
    public void reciprocalBc2(Buffers b) {
        reciprocalBc2(b.c, b.p, b.g, b.m, b.v, 0, b.n);
    }

    @Benchmark
    public void unitBc2Skipped(Buffers b) {
        kernelSkippingUnitBc2(b.late, b.p, b.g, b.m, b.v, 0, b.n);
    }

    @Benchmark
    public void noDivide(Buffers b) {
        noDivide(b.c, b.p, b.g, b.m, b.v, 0, b.n);
    }

    @Benchmark
    public void noSqrt(Buffers b) {
        noSqrt(b.c, b.p, b.g, b.m, b.v, 0, b.n);
    }

    /** The yardstick's traffic with each stream's load and store together: p, then m, then v. */
    static void yardstickInterleaved(MemorySegment p, MemorySegment g, MemorySegment m, MemorySegment v, long from,
                                     long count) {
        final long end = (from + SPECIES.loopBound(count)) * Float.BYTES;
        final long stride = SPECIES.vectorByteSize();
        for (long o = from * Float.BYTES; o < end; o += stride) {
            FloatVector gv = FloatVector.fromMemorySegment(SPECIES, g, o, ORDER);
            FloatVector.fromMemorySegment(SPECIES, p, o, ORDER).add(gv).intoMemorySegment(p, o, ORDER);
            FloatVector.fromMemorySegment(SPECIES, m, o, ORDER).add(gv).intoMemorySegment(m, o, ORDER);
            FloatVector.fromMemorySegment(SPECIES, v, o, ORDER).add(gv).intoMemorySegment(v, o, ORDER);
        }
    }

    /** Core's loop, AdamW without amsgrad; the tail is left out (n is a multiple of the lanes). */
    static void kernelCopy(Coefficients s, MemorySegment param, MemorySegment grad, MemorySegment expAvg,
                           MemorySegment expAvgSq, long from, long count) {
        final FloatVector sign = FloatVector.broadcast(SPECIES, s.gradSign());
        final FloatVector decay = FloatVector.broadcast(SPECIES, s.decay());
        final FloatVector b1 = FloatVector.broadcast(SPECIES, s.beta1());
        final FloatVector c1 = FloatVector.broadcast(SPECIES, s.oneMinusBeta1());
        final FloatVector b2 = FloatVector.broadcast(SPECIES, s.beta2());
        final FloatVector c2 = FloatVector.broadcast(SPECIES, s.oneMinusBeta2());
        final FloatVector bc2 = FloatVector.broadcast(SPECIES, s.bc2Sqrt());
        final FloatVector eps = FloatVector.broadcast(SPECIES, s.eps());
        final FloatVector negStep = FloatVector.broadcast(SPECIES, s.negStep());
        final long end = (from + SPECIES.loopBound(count)) * Float.BYTES;
        final long stride = SPECIES.vectorByteSize();
        for (long o = from * Float.BYTES; o < end; o += stride) {
            FloatVector p = FloatVector.fromMemorySegment(SPECIES, param, o, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(SPECIES, grad, o, ORDER).mul(sign);
            p = p.mul(decay);
            FloatVector m = g.fma(c1, FloatVector.fromMemorySegment(SPECIES, expAvg, o, ORDER).mul(b1));
            FloatVector v = FloatVector.fromMemorySegment(SPECIES, expAvgSq, o, ORDER).mul(b2)
                    .add(c2.mul(g).mul(g));
            FloatVector denom = v.lanewise(VectorOperators.SQRT).div(bc2).add(eps);
            p = p.add(negStep.mul(m).div(denom));
            p.intoMemorySegment(param, o, ORDER);
            m.intoMemorySegment(expAvg, o, ORDER);
            v.intoMemorySegment(expAvgSq, o, ORDER);
        }
    }

    /** The same operations, two vectors an iteration. */
    static void unrolled2(Coefficients s, MemorySegment param, MemorySegment grad, MemorySegment expAvg,
                          MemorySegment expAvgSq, long from, long count) {
        final FloatVector sign = FloatVector.broadcast(SPECIES, s.gradSign());
        final FloatVector decay = FloatVector.broadcast(SPECIES, s.decay());
        final FloatVector b1 = FloatVector.broadcast(SPECIES, s.beta1());
        final FloatVector c1 = FloatVector.broadcast(SPECIES, s.oneMinusBeta1());
        final FloatVector b2 = FloatVector.broadcast(SPECIES, s.beta2());
        final FloatVector c2 = FloatVector.broadcast(SPECIES, s.oneMinusBeta2());
        final FloatVector bc2 = FloatVector.broadcast(SPECIES, s.bc2Sqrt());
        final FloatVector eps = FloatVector.broadcast(SPECIES, s.eps());
        final FloatVector negStep = FloatVector.broadcast(SPECIES, s.negStep());
        final long stride = SPECIES.vectorByteSize();
        final long end = (from + count / (2L * SPECIES.length()) * 2L * SPECIES.length()) * Float.BYTES;
        for (long o = from * Float.BYTES; o < end; o += 2 * stride) {
            long o2 = o + stride;
            FloatVector p = FloatVector.fromMemorySegment(SPECIES, param, o, ORDER);
            FloatVector pB = FloatVector.fromMemorySegment(SPECIES, param, o2, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(SPECIES, grad, o, ORDER).mul(sign);
            FloatVector gB = FloatVector.fromMemorySegment(SPECIES, grad, o2, ORDER).mul(sign);
            p = p.mul(decay);
            pB = pB.mul(decay);
            FloatVector m = g.fma(c1, FloatVector.fromMemorySegment(SPECIES, expAvg, o, ORDER).mul(b1));
            FloatVector mB = gB.fma(c1, FloatVector.fromMemorySegment(SPECIES, expAvg, o2, ORDER).mul(b1));
            FloatVector v = FloatVector.fromMemorySegment(SPECIES, expAvgSq, o, ORDER).mul(b2)
                    .add(c2.mul(g).mul(g));
            FloatVector vB = FloatVector.fromMemorySegment(SPECIES, expAvgSq, o2, ORDER).mul(b2)
                    .add(c2.mul(gB).mul(gB));
            FloatVector denom = v.lanewise(VectorOperators.SQRT).div(bc2).add(eps);
            FloatVector denomB = vB.lanewise(VectorOperators.SQRT).div(bc2).add(eps);
            p = p.add(negStep.mul(m).div(denom));
            pB = pB.add(negStep.mul(mB).div(denomB));
            p.intoMemorySegment(param, o, ORDER);
            pB.intoMemorySegment(param, o2, ORDER);
            m.intoMemorySegment(expAvg, o, ORDER);
            mB.intoMemorySegment(expAvg, o2, ORDER);
            v.intoMemorySegment(expAvgSq, o, ORDER);
            vB.intoMemorySegment(expAvgSq, o2, ORDER);
        }
    }

    /**
     * Core's loop with one exact shortcut: once {@code bc2Sqrt} is 1 (bias correction off, or
     * {@code (float) sqrt(1 - beta2^t)} rounded to 1: t > ~16,000 with beta2 = 0.999), dividing by it
     * changes no bit, so the loop-invariant test drops that division.
     */
    static void kernelSkippingUnitBc2(Coefficients s, MemorySegment param, MemorySegment grad, MemorySegment expAvg,
                                      MemorySegment expAvgSq, long from, long count) {
        final FloatVector sign = FloatVector.broadcast(SPECIES, s.gradSign());
        final FloatVector decay = FloatVector.broadcast(SPECIES, s.decay());
        final FloatVector b1 = FloatVector.broadcast(SPECIES, s.beta1());
        final FloatVector c1 = FloatVector.broadcast(SPECIES, s.oneMinusBeta1());
        final FloatVector b2 = FloatVector.broadcast(SPECIES, s.beta2());
        final FloatVector c2 = FloatVector.broadcast(SPECIES, s.oneMinusBeta2());
        final FloatVector bc2 = FloatVector.broadcast(SPECIES, s.bc2Sqrt());
        final FloatVector eps = FloatVector.broadcast(SPECIES, s.eps());
        final FloatVector negStep = FloatVector.broadcast(SPECIES, s.negStep());
        final boolean unitBc2 = s.bc2Sqrt() == 1f;
        final long end = (from + SPECIES.loopBound(count)) * Float.BYTES;
        final long stride = SPECIES.vectorByteSize();
        for (long o = from * Float.BYTES; o < end; o += stride) {
            FloatVector p = FloatVector.fromMemorySegment(SPECIES, param, o, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(SPECIES, grad, o, ORDER).mul(sign);
            p = p.mul(decay);
            FloatVector m = g.fma(c1, FloatVector.fromMemorySegment(SPECIES, expAvg, o, ORDER).mul(b1));
            FloatVector v = FloatVector.fromMemorySegment(SPECIES, expAvgSq, o, ORDER).mul(b2)
                    .add(c2.mul(g).mul(g));
            FloatVector root = v.lanewise(VectorOperators.SQRT);
            FloatVector denom = (unitBc2 ? root : root.div(bc2)).add(eps);
            p = p.add(negStep.mul(m).div(denom));
            p.intoMemorySegment(param, o, ORDER);
            m.intoMemorySegment(expAvg, o, ORDER);
            v.intoMemorySegment(expAvgSq, o, ORDER);
        }
    }

    /** DeepSpeed's denominator: {@code sqrt(v) * (1 / bc2) + eps}; one division an element. */
    static void reciprocalBc2(Coefficients s, MemorySegment param, MemorySegment grad, MemorySegment expAvg,
                              MemorySegment expAvgSq, long from, long count) {
        final FloatVector sign = FloatVector.broadcast(SPECIES, s.gradSign());
        final FloatVector decay = FloatVector.broadcast(SPECIES, s.decay());
        final FloatVector b1 = FloatVector.broadcast(SPECIES, s.beta1());
        final FloatVector c1 = FloatVector.broadcast(SPECIES, s.oneMinusBeta1());
        final FloatVector b2 = FloatVector.broadcast(SPECIES, s.beta2());
        final FloatVector c2 = FloatVector.broadcast(SPECIES, s.oneMinusBeta2());
        final FloatVector invBc2 = FloatVector.broadcast(SPECIES, 1f / s.bc2Sqrt());
        final FloatVector eps = FloatVector.broadcast(SPECIES, s.eps());
        final FloatVector negStep = FloatVector.broadcast(SPECIES, s.negStep());
        final long end = (from + SPECIES.loopBound(count)) * Float.BYTES;
        final long stride = SPECIES.vectorByteSize();
        for (long o = from * Float.BYTES; o < end; o += stride) {
            FloatVector p = FloatVector.fromMemorySegment(SPECIES, param, o, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(SPECIES, grad, o, ORDER).mul(sign);
            p = p.mul(decay);
            FloatVector m = g.fma(c1, FloatVector.fromMemorySegment(SPECIES, expAvg, o, ORDER).mul(b1));
            FloatVector v = FloatVector.fromMemorySegment(SPECIES, expAvgSq, o, ORDER).mul(b2)
                    .add(c2.mul(g).mul(g));
            FloatVector denom = v.lanewise(VectorOperators.SQRT).fma(invBc2, eps);
            p = p.add(negStep.mul(m).div(denom));
            p.intoMemorySegment(param, o, ORDER);
            m.intoMemorySegment(expAvg, o, ORDER);
            v.intoMemorySegment(expAvgSq, o, ORDER);
        }
    }

    /** Cost attribution only: both divisions replaced by multiplications. */
    static void noDivide(Coefficients s, MemorySegment param, MemorySegment grad, MemorySegment expAvg,
                         MemorySegment expAvgSq, long from, long count) {
        final FloatVector sign = FloatVector.broadcast(SPECIES, s.gradSign());
        final FloatVector decay = FloatVector.broadcast(SPECIES, s.decay());
        final FloatVector b1 = FloatVector.broadcast(SPECIES, s.beta1());
        final FloatVector c1 = FloatVector.broadcast(SPECIES, s.oneMinusBeta1());
        final FloatVector b2 = FloatVector.broadcast(SPECIES, s.beta2());
        final FloatVector c2 = FloatVector.broadcast(SPECIES, s.oneMinusBeta2());
        final FloatVector bc2 = FloatVector.broadcast(SPECIES, s.bc2Sqrt());
        final FloatVector eps = FloatVector.broadcast(SPECIES, s.eps());
        final FloatVector negStep = FloatVector.broadcast(SPECIES, s.negStep());
        final long end = (from + SPECIES.loopBound(count)) * Float.BYTES;
        final long stride = SPECIES.vectorByteSize();
        for (long o = from * Float.BYTES; o < end; o += stride) {
            FloatVector p = FloatVector.fromMemorySegment(SPECIES, param, o, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(SPECIES, grad, o, ORDER).mul(sign);
            p = p.mul(decay);
            FloatVector m = g.fma(c1, FloatVector.fromMemorySegment(SPECIES, expAvg, o, ORDER).mul(b1));
            FloatVector v = FloatVector.fromMemorySegment(SPECIES, expAvgSq, o, ORDER).mul(b2)
                    .add(c2.mul(g).mul(g));
            FloatVector denom = v.lanewise(VectorOperators.SQRT).mul(bc2).add(eps);
            p = p.add(negStep.mul(m).mul(denom));
            p.intoMemorySegment(param, o, ORDER);
            m.intoMemorySegment(expAvg, o, ORDER);
            v.intoMemorySegment(expAvgSq, o, ORDER);
        }
    }

    /** Cost attribution only: the square root dropped, both divisions kept. */
    static void noSqrt(Coefficients s, MemorySegment param, MemorySegment grad, MemorySegment expAvg,
                       MemorySegment expAvgSq, long from, long count) {
        final FloatVector sign = FloatVector.broadcast(SPECIES, s.gradSign());
        final FloatVector decay = FloatVector.broadcast(SPECIES, s.decay());
        final FloatVector b1 = FloatVector.broadcast(SPECIES, s.beta1());
        final FloatVector c1 = FloatVector.broadcast(SPECIES, s.oneMinusBeta1());
        final FloatVector b2 = FloatVector.broadcast(SPECIES, s.beta2());
        final FloatVector c2 = FloatVector.broadcast(SPECIES, s.oneMinusBeta2());
        final FloatVector bc2 = FloatVector.broadcast(SPECIES, s.bc2Sqrt());
        final FloatVector eps = FloatVector.broadcast(SPECIES, s.eps());
        final FloatVector negStep = FloatVector.broadcast(SPECIES, s.negStep());
        final long end = (from + SPECIES.loopBound(count)) * Float.BYTES;
        final long stride = SPECIES.vectorByteSize();
        for (long o = from * Float.BYTES; o < end; o += stride) {
            FloatVector p = FloatVector.fromMemorySegment(SPECIES, param, o, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(SPECIES, grad, o, ORDER).mul(sign);
            p = p.mul(decay);
            FloatVector m = g.fma(c1, FloatVector.fromMemorySegment(SPECIES, expAvg, o, ORDER).mul(b1));
            FloatVector v = FloatVector.fromMemorySegment(SPECIES, expAvgSq, o, ORDER).mul(b2)
                    .add(c2.mul(g).mul(g));
            FloatVector denom = v.div(bc2).add(eps);
            p = p.add(negStep.mul(m).div(denom));
            p.intoMemorySegment(param, o, ORDER);
            m.intoMemorySegment(expAvg, o, ORDER);
            v.intoMemorySegment(expAvgSq, o, ORDER);
        }
    }
}
