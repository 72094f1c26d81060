package dev.adamant.bench;

import dev.adamant.fp16.Precision;
import dev.adamant.zero.comm.ReduceOp;
import dev.adamant.zero.comm.mpi.MpiCommunicator;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;

/**
 * The Java side of the MPI collectives comparison ({@code bench/mpi-bench.sh}, next to
 * {@code bench/src/main/c/mpi_collectives.c}): {@link MpiCommunicator}'s all-reduce and
 * reduce-scatter + all-gather on fp32 buffers, timed as the C program times MPI's own.
 *
 * <pre>
 *   mpirun -np 2 java --enable-native-access=ALL-UNNAMED -cp bench/target/adamant-bench.jar \
 *       dev.adamant.bench.MpiCollectivesBenchmark [MiB=64] [iterations=20] [warmup=5] [pieceElements]
 * </pre>
 *
 * Rank 0 prints {@code java <name> <bytes> <median seconds> <best seconds>} per collective. Each
 * timed call starts after a barrier; the time is rank 0's. Buffers are allocated and touched (and
 * the reduction scratch allocated by the warm-up) before anything is timed. A plain program rather
 * than JMH: the ranks are separate processes that must make the same calls in the same order.
 */
public final class MpiCollectivesBenchmark {
    private MpiCollectivesBenchmark() {}

    public static void main(String[] args) {
        long mib = args.length > 0 ? Long.parseLong(args[0]) : 64;
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        MpiCommunicator.Settings settings = MpiCommunicator.Settings.defaults();
        if (args.length > 3) {
            settings = settings.withPieceElements(Integer.parseInt(args[3]));
        }
        MpiCommunicator.runRank(settings, comm -> {
            long bytes = mib << 20, per = bytes / Float.BYTES / comm.size();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(bytes, 64), send = arena.allocate(bytes, 64);
                MemorySegment recv = arena.allocate(per * Float.BYTES, 64);
                buf.fill((byte) 0);
                send.fill((byte) 0);
                recv.fill((byte) 0);
                double[] t = new double[iterations];
                for (int i = -warmup; i < iterations; i++) {
                    comm.barrier();
                    long start = System.nanoTime();
                    comm.allReduce(buf, Precision.FP32, ReduceOp.SUM);
                    if (i >= 0) {
                        t[i] = (System.nanoTime() - start) / 1e9;
                    }
                }
                report(comm.rank(), "allReduce", bytes, t);
                for (int i = -warmup; i < iterations; i++) {
                    comm.barrier();
                    long start = System.nanoTime();
                    comm.reduceScatter(send, recv, Precision.FP32);
                    comm.allGather(recv, buf, Precision.FP32);
                    if (i >= 0) {
                        t[i] = (System.nanoTime() - start) / 1e9;
                    }
                }
                report(comm.rank(), "reduceScatter+allGather", bytes, t);
            }
        });
    }

    private static void report(int rank, String name, long bytes, double[] t) {
        if (rank == 0) {
            double[] sorted = t.clone();
            Arrays.sort(sorted);
            System.out.printf(Locale.ROOT, "java %s %d %.9f %.9f%n", name, bytes, sorted[sorted.length / 2], sorted[0]);
            System.out.flush();
        }
    }
}
