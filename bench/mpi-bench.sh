#!/usr/bin/env bash
# MPI collectives, Java (MpiCommunicator through FFM) next to C (the same Open MPI, called directly),
# in the same run: ROUNDS rounds, each running the C program then the Java program under
# mpirun -np RANKS; every program prints the median and best of ITER timed calls per collective.
# The table gives, per collective, the median over rounds of each program's median, GB/s (the
# buffer's bytes per second), and each C row's time as a multiple of Java's (> 1: Java is faster):
# C with the algorithm MpiCommunicator runs (point to point, local sums in rank order) measures
# what Java and FFM cost; C with MPI's own collectives shows what Open MPI's tuned algorithms do.
#
#   bench/mpi-bench.sh [MiB=64] [ROUNDS=3] [ITER=20] [RANKS=2] [PIECE_ELEMENTS (Java; default 2^18)]
#
# Needs: mpicc (apt-get install libopenmpi-dev) and bench/target/adamant-bench.jar
# (./mvnw -q -DskipTests verify). Extra environment (MALLOC_ARENA_MAX=1, OMPI_MCA_...) reaches
# both sides alike.
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-64} ROUNDS=${2:-3} ITER=${3:-20} RANKS=${4:-2} PIECE=${5:-} WARMUP=${WARMUP:-30}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
. .mvn/find-jdk.sh
JAVA="$JAVA_HOME/bin/java"
JAR=bench/target/adamant-bench.jar
[ -f "$JAR" ] || { echo "no $JAR: run ./mvnw -q -DskipTests verify first" >&2; exit 1; }
command -v mpicc >/dev/null || { echo "no mpicc: apt-get install libopenmpi-dev" >&2; exit 1; }
BIN=bench/target/mpi_collectives
mkdir -p bench/target
mpicc -O2 -o "$BIN" bench/src/main/c/mpi_collectives.c
OUT=$(mktemp)
for r in $(seq "$ROUNDS"); do
  mpirun --oversubscribe -np "$RANKS" "$BIN" "$MIB" "$ITER" "$WARMUP" >>"$OUT"
  mpirun --oversubscribe -np "$RANKS" "$JAVA" --enable-native-access=ALL-UNNAMED -Xmx1g -cp "$JAR" \
    dev.adamant.bench.MpiCollectivesBenchmark "$MIB" "$ITER" "$WARMUP" $PIECE 2>/dev/null | grep '^java ' >>"$OUT"
done
echo "$(mpirun --version | head -n 1), $RANKS ranks, $MIB MiB fp32, $ROUNDS rounds x $ITER calls; $(nproc) cores"
awk '
  { side = $1; key = $2; bytes[key] = $3; n = ++count[side, key]; t[side, key, n] = $4
    if (best[side, key] == "" || $5 < best[side, key]) best[side, key] = $5 }
  function median(side, key,   n, i, j, a, x) {
    n = count[side, key]; for (i = 1; i <= n; i++) a[i] = t[side, key, i]
    for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return a[int((n + 1) / 2)]
  }
  function row(name, key, side,   m) {
    m = median(side, key)
    printf "%-44s %9.2f %7.2f %9.3f %11.3f\n", name, m * 1e3, bytes[key] / m / 1e9, m / java[key], best[side, key] / jbest[key]
  }
  END {
    printf "%-44s %9s %7s %9s %11s\n", "collective (median of medians)", "ms", "GB/s", "x Java", "best x Java"
    split("allReduce reduceScatter+allGather", keys, " ")
    for (i = 1; i <= 2; i++) {
      key = keys[i]; java[key] = median("java", key); java[key "(p2p)"] = java[key]
      jbest[key] = best["java", key]; jbest[key "(p2p)"] = jbest[key]
      printf "%-44s %9.2f %7.2f %9s %11s\n", "Java " key, java[key] * 1e3, bytes[key] / java[key] / 1e9, "1", "1"
      row("C " key " (same algorithm)", key "(p2p)", "c")
      row("C " key " (MPI_*)", key, "c")
    }
  }' "$OUT"
rm -f "$OUT"
