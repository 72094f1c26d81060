/*
 * What bounds the bulk fp16/bf16 codecs from DRAM on this machine, as evidence for what the Java
 * codecs can reach: the hardware's own conversions (F16C vcvtps2ph/vcvtph2ps, AVX512-BF16
 * vcvtneps2bf16), written with ordinary stores and with non-temporal (streaming) stores, against
 * glibc's memcpy and a copy loop of each kind over the same 6n bytes of traffic (3n read, 3n
 * written), interleaved, 20 rounds; and a plain read of 2n bytes next to the fused overflow check
 * with the sum of squares. An ordinary store first reads the destination's cache line (write
 * allocate), so from DRAM a loop of ordinary stores moves 8n bytes to encode and 10n to decode; a
 * non-temporal store does not. The JDK's MemorySegment.copy of some megabytes uses non-temporal
 * stores; no Java loop can (neither the Vector API nor the FFM API has them).
 *
 *   gcc -O3 -march=x86-64-v4 -mavx512bf16 -o half_bound half_bound.c -lm
 *   ./half_bound LOG2_N REPS                  (e.g. 24 3, 16 2000)
 */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
__attribute__((noinline)) void enc_h(const float *restrict f, unsigned short *restrict h, long n) {
  for (long i = 0; i < n; i += 16) _mm256_store_si256((__m256i *)(h + i), _mm512_cvtps_ph(_mm512_load_ps(f + i), _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((noinline)) void enc_h_nt(const float *restrict f, unsigned short *restrict h, long n) {
  for (long i = 0; i < n; i += 16) _mm256_stream_si256((__m256i *)(h + i), _mm512_cvtps_ph(_mm512_load_ps(f + i), _MM_FROUND_TO_NEAREST_INT));
  _mm_sfence();
}
__attribute__((noinline)) void dec_h(const unsigned short *restrict h, float *restrict f, long n) {
  for (long i = 0; i < n; i += 16) _mm512_store_ps(f + i, _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(h + i))));
}
__attribute__((noinline)) void dec_h_nt(const unsigned short *restrict h, float *restrict f, long n) {
  for (long i = 0; i < n; i += 16) _mm512_stream_ps(f + i, _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(h + i))));
  _mm_sfence();
}
__attribute__((noinline)) void enc_b(const float *restrict f, unsigned short *restrict h, long n) {
  for (long i = 0; i < n; i += 16) _mm256_store_si256((__m256i *)(h + i), (__m256i)_mm512_cvtneps_pbh(_mm512_load_ps(f + i)));
}
__attribute__((noinline)) void enc_b_nt(const float *restrict f, unsigned short *restrict h, long n) {
  for (long i = 0; i < n; i += 16) _mm256_stream_si256((__m256i *)(h + i), (__m256i)_mm512_cvtneps_pbh(_mm512_load_ps(f + i)));
  _mm_sfence();
}
__attribute__((noinline)) void dec_b(const unsigned short *restrict h, float *restrict f, long n) {
  for (long i = 0; i < n; i += 16) _mm512_store_si512(f + i, _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_load_si256((const __m256i *)(h + i))), 16));
}
__attribute__((noinline)) void dec_b_nt(const unsigned short *restrict h, float *restrict f, long n) {
  for (long i = 0; i < n; i += 16) _mm512_stream_si512((__m512i *)(f + i), _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_load_si256((const __m256i *)(h + i))), 16));
  _mm_sfence();
}
__attribute__((noinline)) void copy_loop(const char *restrict a, char *restrict b, long bytes) {
  for (long i = 0; i < bytes; i += 64) _mm512_store_si512(b + i, _mm512_load_si512(a + i));
}
__attribute__((noinline)) void copy_loop_nt(const char *restrict a, char *restrict b, long bytes) {
  for (long i = 0; i < bytes; i += 64) _mm512_stream_si512((__m512i *)(b + i), _mm512_load_si512(a + i));
  _mm_sfence();
}
__attribute__((noinline)) float read_sum(const unsigned short *restrict h, long n) {
  __m512i acc = _mm512_setzero_si512();
  for (long i = 0; i < n; i += 32) acc = _mm512_add_epi16(acc, _mm512_load_si512(h + i));
  return (float) _mm512_reduce_add_epi32(acc);
}
/* fused: decode fp16, multiply by inv, any non-finite, sum of squares (fp32 lanes, 4 accumulators) */
__attribute__((noinline)) float check_norm_h(const unsigned short *restrict h, long n, float inv, int *bad) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0; __m512 vi = _mm512_set1_ps(inv); __mmask16 nf = 0;
  __m512i expmask = _mm512_set1_epi32(0x7f800000);
  for (long i = 0; i < n; i += 32) {
    __m512 x0 = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(h + i))), vi);
    __m512 x1 = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(h + i + 16))), vi);
    nf |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(x0), expmask), expmask);
    nf |= _mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(x1), expmask), expmask);
    a0 = _mm512_fmadd_ps(x0, x0, a0); a1 = _mm512_fmadd_ps(x1, x1, a1);
  }
  *bad = nf != 0; return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}
int main(int argc, char **argv) {
  long n = 1L << atoi(argv[1]); int reps = atoi(argv[2]);
  float *f = aligned_alloc(64, n * 4); unsigned short *h = aligned_alloc(64, n * 2);
  char *ca = aligned_alloc(64, 3 * n), *cb = aligned_alloc(64, 3 * n);
  for (long i = 0; i < n; i++) { f[i] = (float) sin(i); h[i] = 0x3c00; }
  memset(ca, 1, 3 * n); memset(cb, 2, 3 * n);
  const char *names[] = {"memcpy 3n", "copy loop 3n", "copy loop NT 3n", "fp16 enc", "fp16 enc NT", "fp16 dec", "fp16 dec NT",
                         "bf16 enc", "bf16 enc NT", "bf16 dec", "bf16 dec NT", "read 2n", "check+norm fp16"};
  enum { K = 13 }; double best[K], sum[K]; for (int k = 0; k < K; k++) { best[k] = 1e9; sum[k] = 0; }
  int rounds = 20; volatile float sink = 0; int bad;
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < K; k++) {
      double t0 = now();
      for (int q = 0; q < reps; q++) switch (k) {
        case 0: memcpy(cb, ca, 3 * n); break;
        case 1: copy_loop(ca, cb, 3 * n); break;
        case 2: copy_loop_nt(ca, cb, 3 * n); break;
        case 3: enc_h(f, h, n); break; case 4: enc_h_nt(f, h, n); break;
        case 5: dec_h(h, f, n); break; case 6: dec_h_nt(h, f, n); break;
        case 7: enc_b(f, h, n); break; case 8: enc_b_nt(f, h, n); break;
        case 9: dec_b(h, f, n); break; case 10: dec_b_nt(h, f, n); break;
        case 11: sink += read_sum(h, n); break;
        case 12: sink += check_norm_h(h, n, 0.5f, &bad); break;
      }
      double t = (now() - t0) / reps; if (t < best[k]) best[k] = t; sum[k] += t;
      if (k == 10) for (long i = 0; i < n; i++) h[i] = 0x3c00;
    }
  }
  for (int k = 0; k < K; k++) {
    double bytes = k < 11 ? 6.0 * n : 2.0 * n;
    if (k < 11) {
      printf("%-16s best %8.1f us  %6.2f GB/s   mean %6.2f GB/s   mean time ratio to memcpy %.2f, to the NT copy loop %.2f\n", names[k],
             best[k] * 1e6, bytes / best[k] / 1e9, bytes / (sum[k] / rounds) / 1e9, sum[0] / sum[k], sum[2] / sum[k]);
    } else {
      printf("%-16s best %8.1f us  %6.2f GB/s   mean %6.2f GB/s   mean time ratio to the read %.2f\n", names[k], best[k] * 1e6,
             bytes / best[k] / 1e9, bytes / (sum[k] / rounds) / 1e9, sum[11] / sum[k]);
    }
  }
  return 0;
}
