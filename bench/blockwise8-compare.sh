#!/usr/bin/env bash
# Adamant's 8-bit block-wise AdamW (issue 15, Speed) beside fp32 AdamW, DeepSpeed's AVX-512 CPU Adam
# (../shared/peers/deepspeed-cpu-adam) and the C yardstick (bench/yardstick: the best fp32 and 8-bit
# AdamW steps we could write in C with AVX-512), on this machine, alternating all of them, REPS times.
# Prints every line, then per case the range over the repetitions of speed ratios taken within one
# repetition (> 1: the first is faster):
#   Adamant 8-bit / Adamant fp32     the issue's target: >= 1.5x (1 thread), >= 1.6x (2) at 2^24, 2^26
#   C 8-bit / C fp32                 the yardstick: what this machine allows
#   C 8-bit-noq / C fp32             the same without the nearest-code search: a ceiling for any search
#   Adamant 8-bit / DeepSpeed
# and the memory-only passes' bandwidth (C mem28: the bytes of fp32 AdamW, mem16: those of 8-bit).
#   bench/blockwise8-compare.sh [REPS] [CASES...]     a case is LOG2N:THREADS
#   default: 3 repetitions of 16:1 24:1 24:2 26:1 26:2
# Needs the bench jar (./mvnw -B -o -q -DskipTests package -pl bench -am), gcc and g++ with OpenMP.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3}; shift || true
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(16:1 24:1 24:2 26:1 26:2)
DS=${DS_ADAM:-/tmp/ds_adam}
[ -x "$DS" ] || ../shared/peers/deepspeed-cpu-adam/build.sh "$DS" >/dev/null
YARD=${YARDSTICK:-/tmp/blockwise8_adam}
bench/yardstick/build.sh "$YARD" >/dev/null   # always rebuilt: cheap, and never stale
QMAP=${QMAP_DIR:-../shared/fixtures/bnb-8bit}
JAR=bench/target/adamant-bench.jar
if [ -z "${JAVA:-}" ]; then
  . .mvn/find-jdk.sh   # the JDK 25 the wrapper would use
  adamant_find_jdk >/dev/null 2>&1 || true
  JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
fi
steps() { case $1 in 2[6-9]) echo 11;; 2[2-5]) echo 21;; *) echo 201;; esac; }
adamant() { "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx1g -cp "$JAR" \
              dev.adamant.bench.PeerAdam "$@" 2>/dev/null; }
ms() { awk '{for(i=1;i<NF;i++) if($i=="median") print $(i+1)}'; }
# The best step in ms, from the line's "best G GB/s" and "(B B/elem)" and n.
best() { awk '{for(i=1;i<NF;i++){ if($i ~ /^n=/) n=substr($i,3); if($i=="(16" || $i=="(28") b=substr($i,2); if($i=="best") g=$(i+1) } print b*n/(g*1e6)}'; }
OUT=$(mktemp)
echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%FT%TZ); load $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "$REPS"); do
  for c in "${CASES[@]}"; do
    size=${c%%:*}; t=${c##*:}; k=$(steps "$size")
    ds=$(OMP_NUM_THREADS=$t OMP_PROC_BIND=false "$DS" "$size" "$k")
    a32=$(adamant "$size" "$k" "$t" fp32)
    a8=$(adamant "$size" "$k" "$t" 8bit)
    y32=$(OMP_NUM_THREADS=$t "$YARD" "$size" "$k" fp32 "$QMAP")
    y8=$(OMP_NUM_THREADS=$t "$YARD" "$size" "$k" 8bit "$QMAP")
    ynoq=$(OMP_NUM_THREADS=$t "$YARD" "$size" "$k" 8bit-noq "$QMAP")
    m28=$(OMP_NUM_THREADS=$t "$YARD" "$size" "$k" mem28 "$QMAP")
    m16=$(OMP_NUM_THREADS=$t "$YARD" "$size" "$k" mem16 "$QMAP")
    printf '%s\n' "$ds" "$a32" "$a8" "$y32" "$y8" "$ynoq" "$m28" "$m16"
    echo "$c $(for l in "$ds" "$a32" "$a8" "$y32" "$y8" "$ynoq" "$m28" "$m16"; do echo "$l" | ms; done | tr '\n' ' ')" >>"$OUT"
    echo "$c $(for l in "$ds" "$a32" "$a8" "$y32" "$y8" "$ynoq" "$m28" "$m16"; do echo "$l" | best; done | tr '\n' ' ')" >>"$OUT.best"
  done
done
table() { awk '
function upd(name, k, r) { key = name SUBSEP k; if (!(key in lo) || r < lo[key]) lo[key] = r; if (!(key in hi) || r > hi[key]) hi[key] = r }
function rng(name, k,   key) { key = name SUBSEP k; return sprintf(lo[key] == hi[key] ? "%.3g" : "%.3g-%.3g", lo[key], hi[key]) }
{ k = $1; if (!(k in seen)) { seen[k] = 1; order[n++] = k; e[k] = substr(k, 1, index(k, ":") - 1) }
  ds = $2; a32 = $3; a8 = $4; c32 = $5; c8 = $6; cnoq = $7; m28 = $8; m16 = $9
  upd("a8/a32", k, a32 / a8); upd("c8/c32", k, c32 / c8); upd("cnoq/c32", k, c32 / cnoq); upd("a8/ds", k, ds / a8)
  upd("ds", k, ds); upd("a32", k, a32); upd("a8", k, a8); upd("c32", k, c32); upd("c8", k, c8); upd("cnoq", k, cnoq)
  nel = 2 ^ e[k]; upd("m28", k, 28 * nel / (m28 * 1e6)); upd("m16", k, 16 * nel / (m16 * 1e6)) }
END {
  printf "%-6s %-16s %-16s %-16s %-16s\n", "case", "Adamant 8b/fp32", "C 8b/C fp32", "C noq/C fp32", "Adamant 8b/DS"
  for (i = 0; i < n; i++) { k = order[i]
    printf "%-6s %-16s %-16s %-16s %-16s\n", k, rng("a8/a32", k) "x", rng("c8/c32", k) "x", rng("cnoq/c32", k) "x", rng("a8/ds", k) "x" }
  printf "%-6s %-15s %-15s %-15s %-15s %-15s %-15s %-11s %-11s\n", "case", "DS ms", "Adamant fp32", "Adamant 8b", "C fp32", "C 8b", "C 8b-noq", "mem28 GB/s", "mem16 GB/s"
  for (i = 0; i < n; i++) { k = order[i]
    printf "%-6s %-15s %-15s %-15s %-15s %-15s %-15s %-11s %-11s\n", k, rng("ds", k), rng("a32", k), rng("a8", k), rng("c32", k), rng("c8", k), rng("cnoq", k), rng("m28", k), rng("m16", k) }
}' "$1"; }
echo "== speed ratios from the median steps (same repetition), min-max over $REPS repetitions;"
echo "== then median ms, min-max: DeepSpeed, Adamant fp32, Adamant 8-bit, C fp32, C 8-bit, C 8-bit-noq; GB/s of C mem28 (28 B/elem), mem16 (16 B/elem)"
table "$OUT"
echo "== the same from the best steps (on a shared machine, the best step is the least disturbed)"
table "$OUT.best"
rm -f "$OUT" "$OUT.best"
