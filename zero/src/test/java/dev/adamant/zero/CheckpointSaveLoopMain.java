package dev.adamant.zero;

import dev.adamant.core.AdamConfig;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * The process {@link CheckpointKillTest} kills: {@code CheckpointSaveLoopMain FOLDER}. Two devices
 * train a {@link SyntheticModel} of an MLP's shapes and save a checkpoint after every step, forever, resuming from FOLDER's newest checkpoint if
 * there is one. Before each save, device 0 prints {@code "iteration I hash H"}: the hash of all 16-bit
 * parameters the checkpoint of iteration I must hold.
 */
public final class CheckpointSaveLoopMain {
    static final long[] SIZES = SyntheticModel.mlpSizes(32, 768, 768, 8);
    static final int DEVICES = 2, MICRO_BATCH = 4;

    private CheckpointSaveLoopMain() {}

    static ZeroConfig config() {
        return ZeroConfig.builder().stage(ZeroStage.OPTIMIZER_STATE).precision(Precision.FP16)
                .optimizer(AdamConfig.adamW().withLr(3e-3))
                .lossScaler(() -> DynamicLossScaler.builder().initScale(65536).growthInterval(4).build())
                .globalBatch(DEVICES * MICRO_BATCH).build();
    }

    static FlatLayout layout(int devices) {
        return FlatLayout.of(SyntheticModel.named(SIZES), devices);
    }

    public static void main(String[] args) {
        Path folder = Path.of(args[0]);
        FlatLayout layout = layout(DEVICES);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment initial = SyntheticModel.initial(arena, layout, 5);
            InProcessGroup.create(DEVICES, Duration.ofMinutes(1)).run(comm -> {
                long first = 0;
                ZeroDevice device;
                if (ZeroCheckpoint.latest(folder).isPresent()) {
                    ZeroCheckpoint.Restored r = ZeroCheckpoint.restore(config(), layout, comm, folder);
                    device = r.device();
                    first = r.info().iterations();
                } else {
                    device = new ZeroDevice(config(), layout, comm, initial);
                }
                SyntheticModel model = new SyntheticModel(SIZES, config().precision(), comm.rank());
                try (Arena local = Arena.ofShared()) {
                    MemorySegment all = local.allocate(layout.paddedSize() * 2, 64);
                    for (long s = first; ; s++) {
                        model.setStep(s);
                        device.step(model);
                        if (comm.rank() == 0) {
                            device.gatherParams(all);
                            System.out.println("iteration " + (s + 1) + " hash " + hash(all));
                            System.out.flush();
                        }
                        ZeroCheckpoint.save(device, folder, s + 1);
                    }
                } finally {
                    device.close();
                }
            });
        }
    }

    static int hash(MemorySegment params) {
        return Arrays.hashCode(params.toArray(ValueLayout.JAVA_SHORT_UNALIGNED));
    }
}
