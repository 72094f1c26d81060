package dev.adamant.zero;

import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.model.Mlp;
import dev.adamant.zero.model.Teacher;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * The process {@link CheckpointKillTest} kills: {@code CheckpointSaveLoopMain FOLDER}. Two devices
 * train and save a checkpoint after every step, forever, resuming from FOLDER's newest checkpoint if
 * there is one. Before each save, device 0 prints {@code "iteration I hash H"}: the hash of all 16-bit
 * parameters the checkpoint of iteration I must hold.
 */
public final class CheckpointSaveLoopMain {
    static final int[] WIDTHS = {32, 768, 768, 8};
    static final int DEVICES = 2, MICRO_BATCH = 4;

    private CheckpointSaveLoopMain() {}

    static ZeroConfig config() {
        return ZeroCheckpointTest.config(ZeroStage.OPTIMIZER_STATE, DEVICES * MICRO_BATCH, "FP16", "nearest");
    }

    static FlatLayout layout(int devices) {
        try (Mlp probe = new Mlp(WIDTHS, config().precision(), 1)) {
            return FlatLayout.of(probe.tensorSizes(), devices);
        }
    }

    public static void main(String[] args) {
        Path folder = Path.of(args[0]);
        FlatLayout layout = layout(DEVICES);
        Teacher teacher = new Teacher(WIDTHS, 99);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment initial = ZeroTraining.paddedInitial(arena, WIDTHS, layout, 5);
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
                try (Arena local = Arena.ofShared(); Mlp model = new Mlp(WIDTHS, config().precision(), MICRO_BATCH)) {
                    MemorySegment x = local.allocate(MICRO_BATCH * 32L * 4, 64), y = local.allocate(MICRO_BATCH * 8L * 4, 64);
                    MemorySegment all = local.allocate(layout.paddedSize() * 2, 64);
                    for (long s = first; ; s++) {
                        teacher.sample(s, comm.rank(), x, y, MICRO_BATCH);
                        model.loadBatch(x, y);
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
