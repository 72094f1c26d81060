/*
 * What a C compiler reaches on this machine for the mixed-precision AdamW step, as evidence for what
 * the Java step can reach: fp16 or bf16 gradients in, fp32 master weights and moments, 16-bit
 * parameters out, with the hardware's own conversions (F16C vcvtph2ps/vcvtps2ph, AVX512-BF16
 * vcvtneps2bf16), which the Java Vector API lacks. Two passes, as the step must make: the overflow
 * check with the sum of squares (2 bytes a parameter), then the update, fused in registers (2 + 12
 * bytes read, 12 + 2 written), PyTorch's AdamW operations. Against the streaming yardstick (4 floats
 * read, 3 written) and a plain read of the gradients, interleaved, 20 rounds.
 *
 *   gcc -O3 -march=x86-64-v4 -mavx512bf16 -o mixed_bound mixed_bound.c -lm
 *   ./mixed_bound LOG2_N REPS            (e.g. 24 3)
 */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
typedef struct { float b1, c1, b2, c2, bc2, eps, negStep, decay, inv; } Coef;
static inline __m512 load16(const unsigned short *h, int bf16) {
  __m256i x = _mm256_load_si256((const __m256i *)h);
  return bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(x), 16)) : _mm512_cvtph_ps(x);
}
static inline void store16(unsigned short *h, __m512 x, int bf16) {
  _mm256_store_si256((__m256i *)h, bf16 ? (__m256i)_mm512_cvtneps_pbh(x) : _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((noinline)) float check(const unsigned short *restrict g16, long n, float inv, int bf16, int *bad) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0; __m512 vi = _mm512_set1_ps(inv); __m512i mx = _mm512_setzero_si512();
  __m512i e = _mm512_set1_epi16(bf16 ? 0x7f80 : 0x7c00);
  for (long i = 0; i < n; i += 32) {
    mx = _mm512_max_epu16(mx, _mm512_and_si512(_mm512_load_si512(g16 + i), e));
    __m512 x0 = _mm512_mul_ps(load16(g16 + i, bf16), vi), x1 = _mm512_mul_ps(load16(g16 + i + 16, bf16), vi);
    a0 = _mm512_fmadd_ps(x0, x0, a0); a1 = _mm512_fmadd_ps(x1, x1, a1);
  }
  *bad = _mm512_cmpeq_epi16_mask(mx, e) != 0; return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}
__attribute__((noinline)) void update(unsigned short *restrict p16, const unsigned short *restrict g16, float *restrict p,
    float *restrict m, float *restrict v, long n, Coef c, int bf16) {
  __m512 b1 = _mm512_set1_ps(c.b1), c1 = _mm512_set1_ps(c.c1), b2 = _mm512_set1_ps(c.b2), c2 = _mm512_set1_ps(c.c2),
         bc2 = _mm512_set1_ps(c.bc2), eps = _mm512_set1_ps(c.eps), ns = _mm512_set1_ps(c.negStep),
         dec = _mm512_set1_ps(c.decay), inv = _mm512_set1_ps(c.inv);
  for (long i = 0; i < n; i += 16) {
    __m512 g = _mm512_mul_ps(load16(g16 + i, bf16), inv);
    __m512 pi = _mm512_mul_ps(_mm512_load_ps(p + i), dec);
    __m512 mi = _mm512_fmadd_ps(g, c1, _mm512_mul_ps(_mm512_load_ps(m + i), b1));
    __m512 vi = _mm512_fmadd_ps(_mm512_mul_ps(c2, g), g, _mm512_mul_ps(_mm512_load_ps(v + i), b2));
    __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), bc2), eps);
    pi = _mm512_add_ps(pi, _mm512_div_ps(_mm512_mul_ps(ns, mi), denom));
    _mm512_store_ps(p + i, pi); _mm512_store_ps(m + i, mi); _mm512_store_ps(v + i, vi);
    store16(p16 + i, pi, bf16);
  }
}
__attribute__((noinline)) void yardstick(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n) {
  for (long i = 0; i < n; i++) { float gi = g[i]; p[i] = p[i] + gi; m[i] = m[i] + gi; v[i] = v[i] + gi; }
}
__attribute__((noinline)) unsigned plain_read(const unsigned short *restrict h, long n) {
  __m512i acc = _mm512_setzero_si512();
  for (long i = 0; i < n; i += 32) acc = _mm512_or_si512(acc, _mm512_load_si512(h + i));
  return (unsigned) _mm512_reduce_or_epi32(acc);
}
int main(int argc, char **argv) {
  long n = 1L << atoi(argv[1]); int reps = atoi(argv[2]);
  float *p = aligned_alloc(64, n * 4), *g = aligned_alloc(64, n * 4), *m = aligned_alloc(64, n * 4), *v = aligned_alloc(64, n * 4);
  float *yp = aligned_alloc(64, n * 4), *yg = aligned_alloc(64, n * 4), *ym = aligned_alloc(64, n * 4), *yv = aligned_alloc(64, n * 4);
  unsigned short *p16 = aligned_alloc(64, n * 2), *g16 = aligned_alloc(64, n * 2);
  for (long i = 0; i < n; i++) {
    p[i] = (float) sin(i); g[i] = 1e-3f * (float) cos(i); m[i] = v[i] = 0; yp[i] = p[i]; yg[i] = g[i]; ym[i] = yv[i] = 0; p16[i] = 0;
  }
  Coef c = {0.9f, 0.1f, 0.999f, 0.001f, 0.0316f, 1e-8f, -1e-3f, 0.99999f, 1.0f / 1024};
  for (int bf16 = 0; bf16 < 2; bf16++) {
    for (long i = 0; i < n; i++) { __m512 x = _mm512_set1_ps(g[i] * 1024); unsigned short t[32]; store16(t, x, bf16); g16[i] = t[0]; }
    double sy = 0, sc = 0, su = 0, sr = 0, by = 1e9, bs = 1e9, bc = 1e9, br = 1e9; int rounds = 20, bad; volatile float sink = 0;
    for (int r = 0; r < rounds; r++) {
      double t0 = now(); for (int k = 0; k < reps; k++) yardstick(yp, yg, ym, yv, n); double ty = (now() - t0) / reps;
      t0 = now(); for (int k = 0; k < reps; k++) sink += check(g16, n, c.inv, bf16, &bad); double tc = (now() - t0) / reps;
      t0 = now(); for (int k = 0; k < reps; k++) update(p16, g16, p, m, v, n, c, bf16); double tu = (now() - t0) / reps;
      t0 = now(); for (int k = 0; k < reps; k++) sink += plain_read(g16, n); double tr = (now() - t0) / reps;
      sy += ty; sc += tc; su += tu; sr += tr;
      if (ty < by) by = ty;
      if (tc + tu < bs) bs = tc + tu;
      if (tc < bc) bc = tc;
      if (tr < br) br = tr;
    }
    printf("%s n=2^%s: yardstick %.1f GB/s; step (check + update) %.1f GB/s at 28 B = %.2f of it (best %.2f); "
           "update alone %.2f; check %.1f GB/s = %.2f of a plain read (best %.2f)\n",
      bf16 ? "bf16" : "fp16", argv[1], 28.0 * n / (sy / rounds) / 1e9, 28.0 * n / ((sc + su) / rounds) / 1e9, sy / (sc + su), by / bs,
      sy / su, 2.0 * n / (sc / rounds) / 1e9, sr / sc, br / bc);
  }
  return 0;
}
