package dev.adamant.zero;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.core.AdamConfig;
import dev.adamant.core.Team;
import dev.adamant.fp16.Precision;
import dev.adamant.fp16.Rounding;
import dev.adamant.fp16.scaling.DynamicLossScaler;
import dev.adamant.zero.comm.inprocess.InProcessGroup;
import dev.adamant.zero.partition.FlatLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * ZeRO devices that step on a {@link Team} of their own ({@link ZeroDevice#useTeam}) against the same
 * run on the driving threads alone: parameters and step results bit for bit, every stage, fp16 and
 * bf16, with and without clipping, an injected overflow on one device included. Layers are large
 * enough that a device's slices split across its team's members.
 */
class ZeroTeamTest {
    /** Odd sizes, two of them split over 1-2 members a device even at stages 1-3 (half a tensor each). */
    private static final long[] SIZES = {3 * Team.MIN_SHARE + 5, 70, 4 * Team.MIN_SHARE + 4099, 1};
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int DEVICES = 2, STEPS = 4, OVERFLOW_STEP = 2, OVERFLOW_RANK = 1;

    private static ZeroConfig config(ZeroStage stage, Precision precision, double maxNorm, Rounding rounding) {
        return ZeroConfig.builder().stage(stage).precision(precision).optimizer(AdamConfig.adamW().withLr(1e-2))
                .maxGradNorm(maxNorm).rounding(rounding).globalBatch(8)
                .lossScaler(() -> DynamicLossScaler.builder().initScale(256).growthInterval(3).build()).build();
    }

    /** Parameters (rank 0's gathered copy) and step results after each step; {@code threads} 0: no team. */
    private static List<Object> train(ZeroConfig config, int threads) {
        FlatLayout layout = FlatLayout.of(SyntheticModel.named(SIZES), DEVICES);
        List<Object> out = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment init = SyntheticModel.initial(arena, layout, 1);
            InProcessGroup.create(DEVICES, Duration.ofSeconds(60)).run(comm -> {
                SyntheticModel model = new SyntheticModel(SIZES, config.precision(), comm.rank());
                model.overflowStep = OVERFLOW_STEP;
                model.overflowRank = OVERFLOW_RANK;
                MemorySegment all = arena.allocate(layout.paddedSize() * 2);
                try (Team team = threads == 0 ? null : Team.create(threads);
                     ZeroDevice device = new ZeroDevice(config, layout, comm, init)) {
                    device.useTeam(team);
                    assertSame(team, device.team());
                    for (int s = 0; s < STEPS; s++) {
                        model.setStep(s);
                        StepResult result = device.step(model);
                        device.gatherParams(all);
                        if (comm.rank() == 0) {
                            synchronized (out) {
                                out.add(result.toString());
                                out.add(all.toArray(S));
                            }
                        }
                    }
                }
            });
        }
        return out;
    }

    @ParameterizedTest(name = "{0}, {1}, maxNorm={2}, team of {3}")
    @CsvSource({
        "DATA_PARALLEL, FP16, 0, 2",
        "DATA_PARALLEL, BF16, 1.0, 3",
        "OPTIMIZER_STATE, FP16, 1.0, 2",
        "GRADIENTS, BF16, 0, 4",
        "PARAMETERS, FP16, 1.0, 3",
        "PARAMETERS, BF16, 1.0, 2",
    })
    void aRunWithTeamsEqualsTheRunWithout(ZeroStage stage, Precision precision, double maxNorm, int threads) {
        ZeroConfig config = config(stage, precision, maxNorm,
                precision == Precision.BF16 ? Rounding.stochastic(5) : Rounding.nearestEven());
        List<Object> alone = train(config, 0), teamed = train(config, threads);
        assertEquals(alone.size(), teamed.size());
        for (int i = 0; i < alone.size(); i += 2) {
            assertEquals(alone.get(i), teamed.get(i), "step " + i / 2);
            assertArrayEquals((short[]) alone.get(i + 1), (short[]) teamed.get(i + 1), "step " + i / 2 + ": params");
        }
        assertTrue(((String) alone.get(2 * OVERFLOW_STEP)).contains("skipped=true"), "the injected overflow skips");
    }

    @Test
    void aClosedTeamIsRefused() {
        FlatLayout layout = FlatLayout.of(SyntheticModel.named(new long[] {100}), 1);
        Team closed = Team.create(2);
        closed.close();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment init = SyntheticModel.initial(arena, layout, 1);
            InProcessGroup.create(1, Duration.ofSeconds(60)).run(comm -> {
                try (ZeroDevice device = new ZeroDevice(config(ZeroStage.DATA_PARALLEL, Precision.FP16, 0,
                        Rounding.nearestEven()), layout, comm, init)) {
                    assertTrue(assertThrows(IllegalStateException.class, () -> device.useTeam(closed)).getMessage()
                            .startsWith("team"));
                    assertEquals(null, device.team());
                }
            });
        }
    }
}
