/*
 * What a C compiler reaches on this machine for the AdamW step, as evidence for what the Java kernel
 * can reach: the step with PyTorch 1.13's operations (a square root and two divisions per element:
 * Adamant's bit-exact order), the same step in DeepSpeed's order (sqrt(v) * (1/sqrt(bc2)): one
 * division, not bit-identical to PyTorch), and the streaming yardstick with Adam's access pattern
 * (4 floats read, 3 written), all on the same buffers, interleaved, 20 rounds. Prints GB/s at 28
 * bytes an element and each step's mean (best) ratio to the yardstick.
 *
 *   gcc -O3 -march=x86-64-v4 -mprefer-vector-width=512 -fno-math-errno -o adamw_bound adamw_bound.c -lm
 *   ./adamw_bound LOG2_N REPS                  (e.g. 20 20, 24 3, 26 1)
 *   scalar: add -fno-tree-vectorize; two threads: add -fopenmp and a
 *   "#pragma omp parallel for schedule(static)" before each loop, OMP_NUM_THREADS=2 OMP_PROC_BIND=true
 */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
__attribute__((noinline)) void adam_torch(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n,
    float b1, float c1, float b2, float c2, float bc2, float eps, float negStep, float decay) {
  for (long i = 0; i < n; i++) {
    float gi = g[i], pi = p[i] * decay;
    float mi = fmaf(gi, c1, m[i] * b1);
    float vi = fmaf(c2 * gi, gi, v[i] * b2);
    float denom = sqrtf(vi) / bc2 + eps;
    p[i] = pi + negStep * mi / denom;
    m[i] = mi; v[i] = vi;
  }
}
__attribute__((noinline)) void adam_ds(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n,
    float b1, float c1, float b2, float c2, float rbc2, float eps, float negStep, float decay) {
  for (long i = 0; i < n; i++) {
    float gi = g[i], pi = p[i] * decay;
    float mi = fmaf(gi, c1, m[i] * b1);
    float vi = fmaf(c2 * gi, gi, v[i] * b2);
    float denom = sqrtf(vi) * rbc2 + eps;
    p[i] = pi + negStep * mi / denom;
    m[i] = mi; v[i] = vi;
  }
}
__attribute__((noinline)) void yardstick(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n) {
  for (long i = 0; i < n; i++) {
    float gi = g[i];
    p[i] = p[i] + gi; m[i] = m[i] + gi; v[i] = v[i] + gi;
  }
}
int main(int argc, char **argv) {
  long n = 1L << atoi(argv[1]); int reps = atoi(argv[2]);
  float *p = aligned_alloc(64, n * 4), *g = aligned_alloc(64, n * 4), *m = aligned_alloc(64, n * 4), *v = aligned_alloc(64, n * 4);
  for (long i = 0; i < n; i++) { p[i] = (float) sin(i); g[i] = 1e-3f * (float) cos(i); m[i] = 0; v[i] = 0; }
  double tt = 1e9, td = 1e9, ty = 1e9, st = 0, sd = 0, sy = 0;
  int rounds = 20;
  for (int r = 0; r < rounds; r++) {
    double t0 = now(); for (int k = 0; k < reps; k++) adam_torch(p, g, m, v, n, 0.9f, 0.1f, 0.999f, 0.001f, 0.0316f, 1e-8f, -1e-3f, 0.99999f);
    double a = (now() - t0) / reps;
    t0 = now(); for (int k = 0; k < reps; k++) adam_ds(p, g, m, v, n, 0.9f, 0.1f, 0.999f, 0.001f, 31.6f, 1e-8f, -1e-3f, 0.99999f);
    double b = (now() - t0) / reps;
    t0 = now(); for (int k = 0; k < reps; k++) yardstick(p, g, m, v, n);
    double c = (now() - t0) / reps;
    if (a < tt) tt = a; if (b < td) td = b; if (c < ty) ty = c; st += a; sd += b; sy += c;
  }
  printf("n=2^%s: yardstick %.1f GB/s; PyTorch-order AdamW %.1f GB/s = %.2f (best %.2f); DeepSpeed-order %.1f GB/s = %.2f (best %.2f)\n",
    argv[1], 28.0 * n / (sy / rounds) / 1e9, 28.0 * n / (st / rounds) / 1e9, sy / st, ty / tt, 28.0 * n / (sd / rounds) / 1e9, sy / sd, ty / td);
  return 0;
}
