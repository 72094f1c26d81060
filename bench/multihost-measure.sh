#!/usr/bin/env bash
# Issue 16's measurements over simulated hosts (network namespaces on a bridge, links shaped with
# tc tbf): each ZeRO stage's communication time per step against ZeroPlanner's prediction, on 2
# and 4 hosts at 1, 2 and 5 Gbit/s, stage 3 with and without prefetch, and a 64 MiB reduce-scatter
# + all-gather at 1 Gbit/s as a fraction of the link. Needs root, iproute2 and Open MPI (mpirun).
# Options go to dev.adamant.zero.comm.mpi.MultiHostBench (--hosts 2,4 --gbps 1,2,5 --widths ...).
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -DskipTests test-compile -pl zero -am
CP=$(mktemp)
./mvnw -B -q dependency:build-classpath -pl zero -Dmdep.outputFile="$CP" >/dev/null
. .mvn/find-jdk.sh   # the JDK 25 the wrapper would use
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
"$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -cp "zero/target/test-classes:zero/target/classes:fp16/target/classes:core/target/classes:$(cat "$CP")" \
  dev.adamant.zero.comm.mpi.MultiHostBench "$@" 2>&1 | grep -v '^WARNING: Using incubator'
rm -f "$CP"
