#!/bin/bash
# Builds the C yardstick: bench/yardstick/build.sh [OUT]   (default /tmp/blockwise8_adam)
# gcc with OpenMP and AVX-512 (-march=native on an AVX-512 CPU), as the DeepSpeed peer is built.
set -e
here=$(cd "$(dirname "$0")" && pwd); out=${1:-/tmp/blockwise8_adam}
grep -q avx512f /proc/cpuinfo || { echo "the yardstick needs AVX-512 (avx512f)" >&2; exit 1; }
gcc -O3 -std=gnu11 -march=native -fopenmp "$here/blockwise8_adam.c" -o "$out" -lm
echo "built $out"
