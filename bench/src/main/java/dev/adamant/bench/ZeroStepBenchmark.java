package dev.adamant.bench;

import dev.adamant.core.AdamConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.LayeredModel;
import dev.adamant.zero.ZeroConfig;
import dev.adamant.zero.ZeroDevice;
import dev.adamant.zero.ZeroStage;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
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
 * The sharded step on Ψ = 2^24 parameters (4 layers of 2^22), stages 0-3, N = 1, 2, 4 devices
 * (threads): {@code optimizerPart} (every device checks its gradients, one vote on overflow, each
 * steps its slice of the fp32 master and Adam moments and writes its fp16 parameters; stages 1 and
 * 2 all-gather them) and {@code fullStep} (forward and backward of a model whose backward only
 * writes gradients, so that the step is the engine's work: gradient reduction, the optimizer part,
 * parameter gathers). The N device threads live for the whole trial and are released once per
 * invocation. Memory per device and traffic are the engine's; the fp16 gradients are small
 * constants, so no step overflows. Report with {@code BenchReport} as time per step (n = Ψ).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ZeroStepBenchmark {
    static final int LAYERS = 4;
    static final long LAYER = 1 << 22;

    /** A model whose forward does nothing and whose backward fills the gradient with one small fp16/bf16 value. */
    static final class FillModel implements LayeredModel {
        @Override public int layers() { return LAYERS; }
        @Override public long layerParameters(int layer) { return LAYER; }
        @Override public void forward(int layer, MemorySegment params) { }
        @Override public float loss() { return 0f; }

        @Override
        public void backward(int layer, MemorySegment params, MemorySegment grads, float scale, int globalBatch) {
            grads.fill((byte) 0x14);   // 0x1414: about 1e-3 in fp16, a tiny normal in bf16
        }
    }

    @State(Scope.Benchmark)
    public static class Group {
        @Param({"0", "1", "2", "3"})
        public int stage;

        @Param({"1", "2", "4"})
        public int devices;

        /** Ψ, for BenchReport's elements/s. */
        @Param({"16777216"})
        public long n;

        private CyclicBarrier start, done;
        private volatile int mode;        // 0 stop, 1 optimizer part, 2 full step
        private Thread runner;
        private volatile Throwable failure;

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            Map<String, Long> sizes = new LinkedHashMap<>();
            for (int l = 0; l < LAYERS; l++) {
                sizes.put("layer" + l, LAYER);
            }
            FlatLayout layout = FlatLayout.of(sizes, devices);
            ZeroConfig config = ZeroConfig.builder().stage(ZeroStage.of(stage)).precision(Precision.FP16)
                    .optimizer(AdamConfig.adamW()).globalBatch(devices)
                    .lossScaler(() -> DynamicLossScaler.builder().initScale(1).growthInterval(Integer.MAX_VALUE).build())
                    .build();
            start = new CyclicBarrier(devices + 1);
            done = new CyclicBarrier(devices + 1);
            Arena arena = Arena.ofShared();
            MemorySegment initial = arena.allocate(layout.paddedSize() * Float.BYTES, 64);
            InProcessGroup group = InProcessGroup.create(devices, Duration.ofMinutes(5));
            runner = new Thread(() -> {
                try {
                    group.run(comm -> {
                        FillModel model = new FillModel();
                        try (ZeroDevice device = new ZeroDevice(config, layout, comm, initial)) {
                            device.step(model);   // gradients in place for optimizerPart
                            while (true) {
                                start.await();
                                if (mode == 0) {
                                    return;
                                }
                                work(device, model);
                                done.await();
                            }
                        }
                    });
                } catch (Throwable t) {
                    failure = t;
                    start.reset();
                    done.reset();
                } finally {
                    arena.close();
                }
            }, "zero-bench");
            runner.setDaemon(true);
            runner.start();
        }

        /** One step's work, in its own method so that the JIT compiles it as a unit. */
        private void work(ZeroDevice device, FillModel model) {
            if (mode == 1) {
                device.update();
            } else {
                device.step(model);
            }
        }

        void round(int what) throws Exception {
            mode = what;
            start.await();
            done.await();
            if (failure != null) {
                throw new IllegalStateException("a device failed", failure);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            mode = 0;
            start.await(1, TimeUnit.MINUTES);
            runner.join(60_000);
        }
    }

    @Benchmark
    public void optimizerPart(Group g) throws Exception {
        g.round(1);
    }

    @Benchmark
    public void fullStep(Group g) throws Exception {
        g.round(2);
    }
}
