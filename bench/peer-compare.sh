#!/usr/bin/env bash
# Adamant's AdamW step beside DeepSpeed's AVX-512 CPU Adam (../shared/peers/deepspeed-cpu-adam), on
# this machine, alternating the two, REPS times; prints every line, then per case the range of
# Adamant's speed as a multiple of DeepSpeed's in the same repetition (> 1: Adamant faster).
#   bench/peer-compare.sh [REPS] [CASES...]     a case is LOG2N:THREADS or gpt2:THREADS
#   default: 3 repetitions of 14 16 18 20 22 24 on 1 and 2 threads, and GPT-2 small on 1 and 2.
# Needs the bench jar (./mvnw -q -DskipTests package) and g++ with OpenMP for the peer.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-3}; shift || true
CASES=("$@")
if [ ${#CASES[@]} -eq 0 ]; then
  for t in 1 2; do for e in 14 16 18 20 22 24; do CASES+=("$e:$t"); done; CASES+=("gpt2:$t"); done
fi
DS=${DS_ADAM:-/tmp/ds_adam}
[ -x "$DS" ] || ../shared/peers/deepspeed-cpu-adam/build.sh "$DS" >/dev/null
JAR=bench/target/adamant-bench.jar
if [ -z "${JAVA:-}" ]; then
  . .mvn/find-jdk.sh   # the JDK 25 the wrapper would use
  adamant_find_jdk >/dev/null 2>&1 || true
  JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
fi
steps() { case $1 in gpt2) echo 7;; 2[2-9]) echo 21;; *) echo 201;; esac; }
OUT=$(mktemp)
echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%FT%TZ)"
for rep in $(seq 1 "$REPS"); do
  for c in "${CASES[@]}"; do
    size=${c%%:*}; t=${c##*:}; k=$(steps "$size")
    ds=$(OMP_NUM_THREADS=$t OMP_PROC_BIND=false "$DS" "$size" "$k")
    ours=$("$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx1g -cp "$JAR" \
           dev.adamant.bench.PeerAdam "$size" "$k" "$t" 2>/dev/null)
    echo "$ds"; echo "$ours"
    echo "$c $(echo "$ds" | awk '{print $5}') $(echo "$ours" | awk '{print $5}')" >>"$OUT"
  done
done
echo "== Adamant's speed / DeepSpeed's (same repetition), min-max over $REPS repetitions; median ms: DeepSpeed, Adamant"
awk '{r=$2/$3; k=$1; if(!(k in lo)||r<lo[k])lo[k]=r; if(!(k in hi)||r>hi[k])hi[k]=r; d[k]=d[k]" "$2; a[k]=a[k]" "$3; if(!(k in o)){o[k]=n++; order[n-1]=k}}
     END{for(i=0;i<n;i++){k=order[i]; printf "%-8s %.2f-%.2fx   ds:%s   adamant:%s\n", k, lo[k], hi[k], d[k], a[k]}}' "$OUT"
rm -f "$OUT"
