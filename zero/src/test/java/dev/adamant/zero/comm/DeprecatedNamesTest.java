package dev.adamant.zero.comm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adamant.fp16.Precision;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The 0.1 names {@code dev.adamant.zero.comm.InProcessGroup} and {@code MpiCommunicator}, kept as
 * deprecated forwarders, still compile and give what the backends' classes give. The only code of
 * ours that uses them, hence the suppression.
 */
@SuppressWarnings("removal")
class DeprecatedNamesTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final int RANKS = 3;
    private static final int ELEMENTS = 1001;

    /** Each rank's all-reduced buffer, as raw float bits, run through {@code group}. */
    private interface Runner {
        void run(MemorySegment[] buffers);
    }

    private static int[][] allReduce(Runner runner) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment[] buffers = new MemorySegment[RANKS];
            for (int r = 0; r < RANKS; r++) {
                buffers[r] = arena.allocate(ValueLayout.JAVA_FLOAT, ELEMENTS);
                for (int i = 0; i < ELEMENTS; i++) {
                    buffers[r].setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) Math.sin(r * 7919.0 + i) * (i + 1));
                }
            }
            runner.run(buffers);
            int[][] bits = new int[RANKS][];
            for (int r = 0; r < RANKS; r++) {
                bits[r] = buffers[r].toArray(ValueLayout.JAVA_INT);
            }
            return bits;
        }
    }

    @Test
    void oldInProcessGroupGivesTheNewOnesBits() {
        int[][] viaNew = allReduce(b -> dev.adamant.zero.comm.inprocess.InProcessGroup.create(RANKS, TIMEOUT)
                .run(c -> c.allReduce(b[c.rank()], Precision.FP32, ReduceOp.SUM)));
        int[][] viaOld = allReduce(b -> InProcessGroup.create(RANKS, TIMEOUT)
                .run(c -> c.allReduce(b[c.rank()], Precision.FP32, ReduceOp.SUM)));
        for (int r = 0; r < RANKS; r++) {
            assertArrayEquals(viaNew[r], viaOld[r], "rank " + r);
        }
    }

    @Test
    void oldInProcessGroupForwardsEveryMember() throws Exception {
        assertEquals(dev.adamant.zero.comm.inprocess.InProcessGroup.ABANDON_AFTER, InProcessGroup.ABANDON_AFTER);
        InProcessGroup group = InProcessGroup.create(2, TIMEOUT);
        assertEquals(2, group.size());
        assertEquals(TIMEOUT, group.timeout());
        assertEquals(2, group.communicators().size());
        assertEquals(1, group.communicator(1).rank());
        assertEquals("InProcessGroup[2 ranks, timeout 60000 ms]", group.toString());
        InProcessGroup.RankFunction<Integer> rankPlusOne = c -> c.rank() + 1;
        assertEquals(List.of(1, 2), group.call(rankPlusOne));
        CommStats stats = group.call(c -> {
            c.barrier();
            return c.stats();
        }).get(0);
        assertEquals(1, stats.calls(Collective.BARRIER));
        assertFalse(group.isFailed());

        GroupFailedException e = assertThrows(GroupFailedException.class, () -> group.run(c -> {
            if (c.rank() == 1) {
                throw new java.io.IOException("rank 1's disk");
            }
            c.barrier();
        }));
        assertTrue(group.isFailed());
        assertEquals("rank 1's disk", group.failure().getMessage());
        assertTrue(e.getMessage().startsWith("rank 1 failed"), e.getMessage());
        assertTrue(group.awaitAbandoned(Duration.ofSeconds(10)));
        assertEquals(List.of(), group.abandoned());

        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> InProcessGroup.create(0, TIMEOUT));
        assertEquals("n: expected >= 1 ranks, got 0", bad.getMessage());
        NullPointerException noTask = assertThrows(NullPointerException.class,
                () -> InProcessGroup.create(1, TIMEOUT).run(null));
        assertEquals("task", noTask.getMessage());
    }

    @Test
    void oldMpiSettingsAreTheNewOnes() {
        var fresh = dev.adamant.zero.comm.mpi.MpiCommunicator.Settings.defaults();
        MpiCommunicator.Settings old = MpiCommunicator.Settings.defaults();
        assertEquals(fresh.timeout(), old.timeout());
        assertEquals(fresh.pieceElements(), old.pieceElements());
        assertEquals(dev.adamant.zero.comm.mpi.MpiCommunicator.Settings.DEFAULT_PIECE_ELEMENTS,
                MpiCommunicator.Settings.DEFAULT_PIECE_ELEMENTS);
        MpiCommunicator.Settings changed = old.withTimeout(Duration.ofSeconds(7)).withPieceElements(100);
        assertEquals(fresh.withTimeout(Duration.ofSeconds(7)).withPieceElements(100), changed.replacement());
        assertEquals(changed, MpiCommunicator.Settings.of(changed.replacement()));

        IllegalArgumentException newOne = assertThrows(IllegalArgumentException.class, () -> fresh.withPieceElements(0));
        IllegalArgumentException oldOne = assertThrows(IllegalArgumentException.class, () -> old.withPieceElements(0));
        assertEquals(newOne.getMessage(), oldOne.getMessage());
        IllegalArgumentException newZero = assertThrows(IllegalArgumentException.class,
                () -> fresh.withTimeout(Duration.ZERO));
        IllegalArgumentException oldZero = assertThrows(IllegalArgumentException.class,
                () -> old.withTimeout(Duration.ZERO));
        assertEquals(newZero.getMessage(), oldZero.getMessage());
        assertThrows(NullPointerException.class, () -> MpiCommunicator.world(null));
    }

    @Test
    void oldMpiCommunicatorReportsTheSameAvailability() {
        assertEquals(dev.adamant.zero.comm.mpi.MpiCommunicator.unavailableReason(), MpiCommunicator.unavailableReason());
    }
}
