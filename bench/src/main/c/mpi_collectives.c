/*
 * The C side of the MPI collectives comparison (bench/mpi-bench.sh): the same collectives as
 * dev.adamant.bench.MpiCollectivesBenchmark, called directly on Open MPI, same buffers, same timing.
 *
 *   mpicc -O2 -o mpi_collectives mpi_collectives.c
 *   mpirun -np 2 ./mpi_collectives [MiB=64] [iterations=20] [warmup=5]
 *
 * Two flavours of each: MPI's own (MPI_Allreduce; MPI_Reduce_scatter_block + MPI_Allgather) and
 * "p2p", the algorithm Adamant's MpiCommunicator runs, written here in C: the reduce-scatter as
 * point-to-point sends of every slice to its owner and a local sum in rank order, the all-gather as
 * point-to-point sends of the own slice to every rank, both in pieces of PIECE elements with the next
 * piece in flight while this one is summed, waits polling MPI_Testall. The p2p rows measure what the
 * Java side costs over the same algorithm in C; the MPI rows what MPI's tuned collectives do.
 *
 * Per collective, rank 0 prints one line:
 *   c <name> <bytes> <median seconds> <best seconds>
 * Each timed call starts after a barrier; the time is rank 0's, from its call to its return.
 * Buffers are allocated and touched before anything is timed.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, size_t bytes, double *t, int n) {
    qsort(t, n, sizeof(double), cmp);
    printf("c %s %zu %.9f %.9f\n", name, bytes, t[n / 2], t[0]);
    fflush(stdout);
}

enum { PIECE = 1 << 18 };

static void wait_all(int n, MPI_Request *r) {
    int done = 0;
    while (!done) MPI_Testall(n, r, &done, MPI_STATUSES_IGNORE);
}

/* Posts piece i of the reduce-scatter of `per` elements per rank into bank i & 1; returns the request count. */
static int post_rs(int i, const float *send, float *scratch, size_t per, int rank, int size, MPI_Request *req) {
    size_t off = (size_t) i * PIECE, count = per - off < PIECE ? per - off : PIECE;
    int n = 0, bank = i & 1;
    for (int k = 0; k < size; k++)
        if (k != rank)
            MPI_Irecv(scratch + ((size_t) bank * size + k) * PIECE, (int) count, MPI_FLOAT, k, 7, MPI_COMM_WORLD, &req[n++]);
    for (int j = 0; j < size; j++)
        if (j != rank)
            MPI_Isend(send + j * per + off, (int) count, MPI_FLOAT, j, 7, MPI_COMM_WORLD, &req[n++]);
    return n;
}

/* out[i] = sum over ranks k in order of send_k[rank * per + i]. */
static void reduce_scatter_p2p(const float *send, float *out, float *scratch, size_t per, int rank, int size,
                               MPI_Request *req) {
    int pieces = (int) ((per + PIECE - 1) / PIECE);
    int posted = pieces > 0 ? post_rs(0, send, scratch, per, rank, size, req) : 0;
    for (int i = 0; i < pieces; i++) {
        int bank = i & 1;
        int next = i + 1 < pieces ? post_rs(i + 1, send, scratch, per, rank, size, req + (bank ^ 1) * 2 * size) : 0;
        wait_all(posted, req + bank * 2 * size);
        posted = next;
        size_t off = (size_t) i * PIECE, count = per - off < PIECE ? per - off : PIECE;
        float *o = out + off;
        const float *own = send + rank * per + off;
        const float *first = rank == 0 ? own : scratch + ((size_t) bank * size) * PIECE;
        for (size_t e = 0; e < count; e++) o[e] = first[e];
        for (int k = 1; k < size; k++) {
            const float *x = k == rank ? own : scratch + ((size_t) bank * size + k) * PIECE;
            for (size_t e = 0; e < count; e++) o[e] += x[e];
        }
    }
}

/* Every rank's `per` elements (mine) into slice k of buf, in pieces, two in flight. */
static void all_gather_p2p(const float *mine, float *buf, size_t per, int rank, int size, MPI_Request *req) {
    if (mine != buf + rank * per) memcpy(buf + rank * per, mine, per * sizeof(float));
    int pieces = (int) ((per + PIECE - 1) / PIECE), posted = 0;
    for (int i = 0; i <= pieces; i++) {
        int next = 0;
        if (i < pieces) {
            size_t off = (size_t) i * PIECE, count = per - off < PIECE ? per - off : PIECE;
            MPI_Request *r = req + (i & 1) * 2 * size;
            for (int k = 0; k < size; k++)
                if (k != rank) MPI_Irecv(buf + k * per + off, (int) count, MPI_FLOAT, k, 8, MPI_COMM_WORLD, &r[next++]);
            for (int j = 0; j < size; j++)
                if (j != rank) MPI_Isend(mine + off, (int) count, MPI_FLOAT, j, 8, MPI_COMM_WORLD, &r[next++]);
        }
        if (i > 0) wait_all(posted, req + ((i - 1) & 1) * 2 * size);
        posted = next;
    }
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long mib = argc > 1 ? atol(argv[1]) : 64;
    int iterations = argc > 2 ? atoi(argv[2]) : 20, warmup = argc > 3 ? atoi(argv[3]) : 5;
    size_t bytes = (size_t) mib << 20, n = bytes / sizeof(float), per = n / size;
    float *buf = malloc(bytes), *send = malloc(bytes), *recv = malloc(per * sizeof(float));
    double *t = malloc(sizeof(double) * iterations);
    memset(buf, 0, bytes);
    memset(send, 0, bytes);
    memset(recv, 0, per * sizeof(float));

    for (int i = -warmup; i < iterations; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, (int) n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (i >= 0) t[i] = MPI_Wtime() - start;
    }
    if (rank == 0) report("allReduce", bytes, t, iterations);

    for (int i = -warmup; i < iterations; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        MPI_Reduce_scatter_block(send, recv, (int) per, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Allgather(recv, (int) per, MPI_FLOAT, buf, (int) per, MPI_FLOAT, MPI_COMM_WORLD);
        if (i >= 0) t[i] = MPI_Wtime() - start;
    }
    if (rank == 0) report("reduceScatter+allGather", bytes, t, iterations);

    float *scratch = malloc(sizeof(float) * 2 * size * PIECE);
    MPI_Request *req = malloc(sizeof(MPI_Request) * 4 * size);
    memset(scratch, 0, sizeof(float) * 2 * size * PIECE);
    for (int i = -warmup; i < iterations; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        reduce_scatter_p2p(buf, buf + rank * per, scratch, per, rank, size, req);
        all_gather_p2p(buf + rank * per, buf, per, rank, size, req);
        if (i >= 0) t[i] = MPI_Wtime() - start;
    }
    if (rank == 0) report("allReduce(p2p)", bytes, t, iterations);

    for (int i = -warmup; i < iterations; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        reduce_scatter_p2p(send, recv, scratch, per, rank, size, req);
        all_gather_p2p(recv, buf, per, rank, size, req);
        if (i >= 0) t[i] = MPI_Wtime() - start;
    }
    if (rank == 0) report("reduceScatter+allGather(p2p)", bytes, t, iterations);
    free(scratch); free(req);

    free(buf); free(send); free(recv); free(t);
    MPI_Finalize();
    return 0;
}
