// A C yardstick for Adamant's 8-bit block-wise AdamW (issue 15, Speed): the best one-pass AVX-512
// step we could write in plain C, beside a fp32 AdamW step written the same way, timed as
// ../../../shared/peers/deepspeed-cpu-adam/driver.cpp times DeepSpeed's CPU Adam (same fills, 3
// untimed steps, median and best of STEPS, OMP_NUM_THREADS threads, pages first touched by the
// threads that step them, the same output line). It answers one question independently of the Java
// code: how fast can the 8-bit step be on this machine, next to fp32, and what bounds it.
//
//   gcc -O3 -march=native -fopenmp blockwise8_adam.c -o /tmp/blockwise8_adam -lm   (build.sh)
//   OMP_NUM_THREADS=1 /tmp/blockwise8_adam LOG2N STEPS MODE [QMAP_DIR]
//
// MODE:
//   fp32         AdamW, fp32 p, g, m, v: DeepSpeed's maths (m = b1 m + (1-b1) g, v = b2 v + (1-b2) g g,
//                p = p (1 - lr wd) - step_size m / (sqrt(v)/sqrt(bc2) + eps)); 28 B an element.
//   8bit         AdamW with bitsandbytes' 8-bit block-wise states (blocks of 256, a float absmax a
//                block, a byte an element indexing the signed (m) or unsigned (v) dynamic map), one
//                pass a block: dequantize m and v (table lookup), the fp32 update above, store p,
//                keep m and v in an L1 buffer, block max |m| and max v (0 -> 1), divide, exact nearest
//                code, store codes and absmax; 16 B an element (+ 16 B a block of 256). The best we
//                found, gather-free: the lookup from 4 byte planes of the table with vpermi2b
//                (lookup_planes), the search by variable-width buckets (nearest64_bytes: the bucket
//                from the exponent and up to 7 mantissa bits, its candidate code by vpermi2b over 512
//                bytes, the candidate's threshold by vpermi2b from byte planes, one compare).
//   8bit-words   8bit with the bucket computed in 16-bit lanes (nearest64_words): no faster here.
//   8bit-packed  8bit with Adamant's fixed buckets (exponent + 7 mantissa bits) and one gather a
//                vector: candidate and the threshold's low 16 bits packed in one int.
//   8bit-gather  Adamant's method as written in Java: dequantize with vgatherdps, search with two
//                gathers (bucket, then threshold) a vector.
//   8bit-perm    8bit-gather dequantizing with 8 vpermi2ps over the table in 16 zmm + 7 blends.
//   8bit-mul     8bit multiplying by 1/absmax instead of dividing (cheaper, not bitsandbytes' codes).
//   8bit-noq     8bit without the nearest-code search (code = the scaled float's top byte): the
//                step's cost with a free search. Not a valid optimizer; a measurement.
//   mem28        memory traffic only: read p g m v, write p m v (p += g, m += g, v += g), 28 B/elem.
//   mem16        read p g and 2 bytes, write p and 2 bytes (+ absmax), 16 B/elem: the bound of 8bit.
//   check        three steps of every 8-bit variant against 8bit-gather on 2^LOG2N random states (bit
//                for bit), every search against a brute-force nearest code over all 256 codes on 6e6
//                random floats, and the gather-free searches on every 7th float of [-1, 1]; exit 1 on
//                any mismatch.
//
// The dynamic maps are bitsandbytes' (qmap-signed.f32, qmap-unsigned.f32 in QMAP_DIR, default
// ../shared/fixtures/bnb-8bit relative to the repository). The thresholds are the exact float32 argmin
// boundaries, found at start-up by bisection as Adamant's DynamicMap does, so the search gives
// bitsandbytes' argmin (the lower index on a tie); check mode verifies it against a brute-force search.
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 256
#define MANTISSA_BITS 7
#define KEY_SHIFT (23 - MANTISSA_BITS)
#define KEY_MASK ((1 << (8 + MANTISSA_BITS)) - 1)
#define KEY_MIN ((127 - 24) << MANTISSA_BITS)
#define KEY_MAX (127 << MANTISSA_BITS)
#define SPAN (KEY_MAX - KEY_MIN + 1)

typedef struct {
    float codes[256] __attribute__((aligned(64)));
    float thresholds[256] __attribute__((aligned(64)));  // [k]: smallest x whose code is above k
    int32_t buckets[2 * SPAN] __attribute__((aligned(64)));
    // packed[bucket]: cand in bits 0-7, and in bits 8-24 the low 16 bits of the one threshold inside
    // the bucket (its top 16 bits are the bucket's own: sign, exponent, 7 mantissa bits), flipped for
    // negative buckets so that x >= threshold is one unsigned compare of the low 16 bits; 0x10000:
    // no threshold in the bucket. One gather instead of two.
    int32_t packed[2 * SPAN] __attribute__((aligned(64)));
    // planes[k][i]: byte k of codes[i], for the vpermi2b lookup.
    uint8_t planes[4][256] __attribute__((aligned(64)));
    // The gather-free search. Buckets of variable width: in each binade (exponent) only as many top
    // mantissa bits as keep one threshold a bucket at most (0 to 7 for these maps), so that both
    // signs fit in 512 buckets: bucket = base[sign][exponent] + (mantissa >> shift[sign][exponent]),
    // binade[sign][e - 103] = base | shift << 16 (two vpermi2d), cand = bucket_cand[bucket] (four
    // vpermi2b, bytes), then thresholds[cand] from byte planes (as the codes) and one compare.
    uint32_t binade[2][32] __attribute__((aligned(64)));
    uint8_t bucket_cand[512] __attribute__((aligned(64)));
    uint8_t thr_planes[4][256] __attribute__((aligned(64)));
    // The same buckets for the 16-bit search: [sign << 5 | e - 103], base and 7 - mantissa bits.
    uint16_t base_w[64] __attribute__((aligned(64)));
    uint16_t shift_w[64] __attribute__((aligned(64)));
    int nbuckets;
} Map;

#define EXP_MIN 103   // biased exponent of 2^-24; smaller magnitudes share its lowest bucket

static Map SIGNED, UNSIGNED;

static int nearest_brute(const Map* map, float x);
static int32_t ordinal(float f) { int32_t b; memcpy(&b, &f, 4); return b ^ ((b >> 31) & 0x7FFFFFFF); }
static float from_ordinal(int32_t o) { int32_t b = o ^ ((o >> 31) & 0x7FFFFFFF); float f; memcpy(&f, &b, 4); return f; }

static void load_map(Map* map, const char* dir, const char* name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE* f = fopen(path, "rb");
    if (!f || fread(map->codes, 4, 256, f) != 256) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    fclose(f);
    // thresholds[k]: the smallest float whose brute-force nearest code is above k, by bisection over
    // the floats between codes k and k+1 in value order (as Adamant's DynamicMap builds them).
    for (int k = 0; k < 255; k++) {
        int32_t lo = ordinal(map->codes[k]), hi = ordinal(map->codes[k + 1]);
        while (hi - lo > 1) {
            int32_t mid = lo + (hi - lo) / 2;
            if (nearest_brute(map, from_ordinal(mid)) > k) hi = mid; else lo = mid;
        }
        map->thresholds[k] = from_ordinal(hi);
    }
    map->thresholds[255] = INFINITY;
    const uint32_t low = (1u << KEY_SHIFT) - 1;
    for (int sign = 0; sign < 2; sign++) {
        for (int j = 0; j < SPAN; j++) {
            uint32_t key = KEY_MIN + j, b;
            float lowest, highest;
            if (sign == 0) {
                b = key << KEY_SHIFT; memcpy(&lowest, &b, 4); if (j == 0) lowest = 0.f;
                b = (key << KEY_SHIFT) | low; memcpy(&highest, &b, 4); if (key == KEY_MAX) highest = 1.f;
            } else {
                b = 0x80000000u | (key << KEY_SHIFT) | low; memcpy(&lowest, &b, 4); if (key == KEY_MAX) lowest = -1.f;
                b = 0x80000000u | (key << KEY_SHIFT); memcpy(&highest, &b, 4); if (j == 0) highest = -0.f;
            }
            int cand = 0;
            while (cand < 255 && lowest >= map->thresholds[cand]) cand++;
            if (cand < 255 && highest >= map->thresholds[cand + 1]) {
                fprintf(stderr, "%s: bucket %u%c holds two thresholds\n", name, key, sign ? '-' : '+');
                exit(2);
            }
            map->buckets[sign * SPAN + j] = cand;
            uint32_t tk = 0x10000;
            if (cand < 255 && highest >= map->thresholds[cand]) {   // thresholds[cand] lies in this bucket
                uint32_t tb; memcpy(&tb, &map->thresholds[cand], 4);
                if (j == 0 || (tb >> KEY_SHIFT) != (sign ? (0x8000u | key) : key)) {
                    fprintf(stderr, "%s: threshold %d outside its bucket\n", name, cand); exit(2);
                }
                tk = sign ? 0xFFFFu - (tb & 0xFFFF) : (tb & 0xFFFF);
            }
            map->packed[sign * SPAN + j] = (int32_t)(cand | (tk << 8));
        }
    }
    for (int i = 0; i < 256; i++) {
        uint32_t cb, tb; memcpy(&cb, &map->codes[i], 4); memcpy(&tb, &map->thresholds[i], 4);
        for (int k = 0; k < 4; k++) {
            map->planes[k][i] = (uint8_t)(cb >> (8 * k)); map->thr_planes[k][i] = (uint8_t)(tb >> (8 * k));
        }
    }
    // Variable-width buckets.
    uint32_t next = 0;
    for (int sign = 0; sign < 2; sign++) {
        for (int e5 = 0; e5 < 32; e5++) {
            uint32_t exponent = EXP_MIN + e5, head = ((uint32_t)sign << 8) | exponent;
            int bits = 0;
            if (e5 <= 24) {
                for (;; bits++) {   // fewest mantissa bits with distinct buckets for this binade's thresholds
                    int clash = 0, last = -1;
                    for (int k = 0; k < 255 && !clash; k++) {
                        int kk = sign ? 254 - k : k;   // in order of magnitude
                        uint32_t tb; memcpy(&tb, &map->thresholds[kk], 4);
                        if ((tb >> 23) > ((uint32_t)sign << 8 | 0xFF) || (tb >> 31) != (uint32_t)sign) continue;
                        if ((tb >> 23 & 0xFF) <= EXP_MIN && e5 == 0) {
                            fprintf(stderr, "%s: a threshold below 2^-23\n", name); exit(2);
                        }
                        if ((tb >> 23) != head) continue;
                        int bucket = bits ? (int)((tb & 0x7FFFFF) >> (23 - bits)) : 0;
                        if (bucket == last) clash = 1;
                        last = bucket;
                    }
                    if (!clash) break;
                    if (bits == 8) { fprintf(stderr, "%s: binade %d needs > 8 bits\n", name, e5); exit(2); }
                }
            }
            map->binade[sign][e5] = next | (uint32_t)(bits ? 23 - bits : 32) << 16;
            if (bits > 7) { fprintf(stderr, "%s: binade %d needs %d > 7 mantissa bits\n", name, e5, bits); exit(2); }
            map->base_w[sign << 5 | e5] = (uint16_t)next;
            map->shift_w[sign << 5 | e5] = (uint16_t)(7 - bits);
            if (e5 > 24) continue;   // never indexed: the exponent is clamped to [103, 127]
            for (int j = 0; j < (1 << bits); j++) {
                uint32_t width = bits ? 23 - bits : 23;
                uint32_t lb = sign ? (0x80000000u | exponent << 23 | (uint32_t)j << width | ((1u << width) - 1))
                                   : (exponent << 23 | (uint32_t)j << width);
                float lowest; memcpy(&lowest, &lb, 4);
                if (e5 == 0 && !sign) lowest = 0.f;
                int cand = 0;
                while (cand < 255 && lowest >= map->thresholds[cand]) cand++;
                if (next >= 512) { fprintf(stderr, "%s: more than 512 buckets\n", name); exit(2); }
                map->bucket_cand[next++] = (uint8_t)cand;
            }
        }
    }
    map->nbuckets = (int)next;
}

// ---- scalar reference (check mode) ----
static int nearest_brute(const Map* map, float x) {
    int best = 0; float bd = fabsf(x - map->codes[0]);
    for (int i = 1; i < 256; i++) { float d = fabsf(x - map->codes[i]); if (d < bd) { bd = d; best = i; } }
    return best;
}

// ---- per-step scalars, once, in double (as DeepSpeed) ----
typedef struct { float b1, b2, one_minus_b1, one_minus_b2, eps, step_size, decay, bias2_sqrt; } Step;
static Step make_step(int t) {
    const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
    Step s;
    s.b1 = (float)b1; s.b2 = (float)b2; s.one_minus_b1 = (float)(1 - b1); s.one_minus_b2 = (float)(1 - b2);
    s.eps = (float)eps;
    s.step_size = (float)(-lr / (1 - pow(b1, t)));
    s.decay = (float)(1 - lr * wd);
    s.bias2_sqrt = (float)(1 / sqrt(1 - pow(b2, t)));
    return s;
}

// The AdamW update of 16 lanes; m and v in and out, p loaded and stored by the caller.
#define ADAMW16(pv, gv, mv, vv, S)                                                                  \
    do {                                                                                            \
        mv = _mm512_fmadd_ps(mv, S##_b1, _mm512_mul_ps(gv, S##_omb1));                               \
        vv = _mm512_fmadd_ps(vv, S##_b2, _mm512_mul_ps(_mm512_mul_ps(gv, gv), S##_omb2));            \
        __m512 den_ = _mm512_fmadd_ps(_mm512_sqrt_ps(vv), S##_b2s, S##_eps);                         \
        pv = _mm512_fmadd_ps(_mm512_div_ps(mv, den_), S##_ss, _mm512_mul_ps(pv, S##_dec));            \
    } while (0)

#define HOIST(S, s)                                                                                 \
    const __m512 S##_b1 = _mm512_set1_ps(s.b1), S##_b2 = _mm512_set1_ps(s.b2),                      \
                 S##_omb1 = _mm512_set1_ps(s.one_minus_b1), S##_omb2 = _mm512_set1_ps(s.one_minus_b2), \
                 S##_b2s = _mm512_set1_ps(s.bias2_sqrt), S##_eps = _mm512_set1_ps(s.eps),            \
                 S##_ss = _mm512_set1_ps(s.step_size), S##_dec = _mm512_set1_ps(s.decay)

static void step_fp32(float* p, const float* g, float* m, float* v, size_t n, Step s) {
    HOIST(S, s);
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < n / BLOCK; b++) {
        for (size_t i = b * BLOCK; i < (b + 1) * BLOCK; i += 16) {
            __m512 pv = _mm512_load_ps(p + i), gv = _mm512_load_ps(g + i);
            __m512 mv = _mm512_load_ps(m + i), vv = _mm512_load_ps(v + i);
            ADAMW16(pv, gv, mv, vv, S);
            _mm512_store_ps(p + i, pv); _mm512_store_ps(m + i, mv); _mm512_store_ps(v + i, vv);
        }
    }
}

// ---- table lookup: 16 codes -> 16 floats ----
static inline __m512 lookup_gather(__m512i idx, const float* table) {
    return _mm512_i32gather_ps(idx, table, 4);
}

// vpermi2ps picks from 32 floats by the low 5 bits; bits 5, 6, 7 pick among the 8 results.
static inline __m512 lookup_perm(__m512i idx, const float* t) {
    __m512 p0 = _mm512_permutex2var_ps(_mm512_load_ps(t + 0), idx, _mm512_load_ps(t + 16));
    __m512 p1 = _mm512_permutex2var_ps(_mm512_load_ps(t + 32), idx, _mm512_load_ps(t + 48));
    __m512 p2 = _mm512_permutex2var_ps(_mm512_load_ps(t + 64), idx, _mm512_load_ps(t + 80));
    __m512 p3 = _mm512_permutex2var_ps(_mm512_load_ps(t + 96), idx, _mm512_load_ps(t + 112));
    __m512 p4 = _mm512_permutex2var_ps(_mm512_load_ps(t + 128), idx, _mm512_load_ps(t + 144));
    __m512 p5 = _mm512_permutex2var_ps(_mm512_load_ps(t + 160), idx, _mm512_load_ps(t + 176));
    __m512 p6 = _mm512_permutex2var_ps(_mm512_load_ps(t + 192), idx, _mm512_load_ps(t + 208));
    __m512 p7 = _mm512_permutex2var_ps(_mm512_load_ps(t + 224), idx, _mm512_load_ps(t + 240));
    __mmask16 b5 = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(32));
    __mmask16 b6 = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(64));
    __mmask16 b7 = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(128));
    __m512 q0 = _mm512_mask_blend_ps(b5, p0, p1), q1 = _mm512_mask_blend_ps(b5, p2, p3);
    __m512 q2 = _mm512_mask_blend_ps(b5, p4, p5), q3 = _mm512_mask_blend_ps(b5, p6, p7);
    __m512 r0 = _mm512_mask_blend_ps(b6, q0, q1), r1 = _mm512_mask_blend_ps(b6, q2, q3);
    return _mm512_mask_blend_ps(b7, r0, r1);
}

// 64 codes -> 64 floats (out[0..3], in order) with VBMI byte permutes: each float's 4 bytes come from
// 4 byte planes of the table, 128 entries a vpermi2b, bit 7 picks between two; the bytes are then
// interleaved into floats (unpack 8 -> 16 -> 32 bits). Unpacking works within 128-bit lanes, so the
// codes are first permuted (one vpermb) for the floats to come out in order. 22 ops for 64 floats,
// against 4 x 19 for vpermi2ps trees.
static inline void lookup_planes(__m512i codes64, const uint8_t (*planes)[256], __m512i out[4]) {
    static const uint8_t ORDER_[64] __attribute__((aligned(64))) = {
#define R_(L, j) 16 * j + 4 * L + 0, 16 * j + 4 * L + 1, 16 * j + 4 * L + 2, 16 * j + 4 * L + 3
        R_(0, 0), R_(0, 1), R_(0, 2), R_(0, 3), R_(1, 0), R_(1, 1), R_(1, 2), R_(1, 3),
        R_(2, 0), R_(2, 1), R_(2, 2), R_(2, 3), R_(3, 0), R_(3, 1), R_(3, 2), R_(3, 3)
#undef R_
    };
    __m512i idx = _mm512_permutexvar_epi8(_mm512_load_si512(ORDER_), codes64);
    __mmask64 high = _mm512_movepi8_mask(idx);
    __m512i b[4];
    for (int k = 0; k < 4; k++) {
        const uint8_t* t = planes[k];
        __m512i lo = _mm512_permutex2var_epi8(_mm512_load_si512(t), idx, _mm512_load_si512(t + 64));
        __m512i hi = _mm512_permutex2var_epi8(_mm512_load_si512(t + 128), idx, _mm512_load_si512(t + 192));
        b[k] = _mm512_mask_blend_epi8(high, lo, hi);
    }
    __m512i w01lo = _mm512_unpacklo_epi8(b[0], b[1]), w01hi = _mm512_unpackhi_epi8(b[0], b[1]);
    __m512i w23lo = _mm512_unpacklo_epi8(b[2], b[3]), w23hi = _mm512_unpackhi_epi8(b[2], b[3]);
    out[0] = _mm512_unpacklo_epi16(w01lo, w23lo); out[1] = _mm512_unpackhi_epi16(w01lo, w23lo);
    out[2] = _mm512_unpacklo_epi16(w01hi, w23hi); out[3] = _mm512_unpackhi_epi16(w01hi, w23hi);
}

static inline void lookup_bytes(const uint8_t* codes, const Map* map, __m512 scale, __m512 out[4]) {
    __m512i w[4];
    lookup_planes(_mm512_load_si512(codes), map->planes, w);
    for (int u = 0; u < 4; u++) out[u] = _mm512_mul_ps(_mm512_castsi512_ps(w[u]), scale);
}

// ---- nearest codes of 64 floats in [-1, 1], gather-free, the bucket from 16-bit lanes ----
// The bucket depends only on a float's top 16 bits (sign, exponent, 7 mantissa bits), so it is
// computed 32 lanes at a time: the top halves of 64 floats in two vectors of words (two vpermt2w),
// base and shift by sign and exponent (64 entries: one vpermi2w each), then as nearest64_bytes.
static inline __m512i nearest64_words(const __m512 x[4], const Map* map) {
    static const uint16_t HI_[32] __attribute__((aligned(64))) = {
        1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31,
        33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63};
    const __m512i hi = _mm512_load_si512(HI_);
    const __m512i b0 = _mm512_load_si512(map->base_w), b1 = _mm512_load_si512(map->base_w + 32);
    const __m512i s0 = _mm512_load_si512(map->shift_w), s1 = _mm512_load_si512(map->shift_w + 32);
    __m256i lowb[2];
    __mmask32 b8[2];
    __mmask16 ge[4], nan[4];
    for (int h = 0; h < 2; h++) {
        __m512i w = _mm512_permutex2var_epi16(_mm512_castps_si512(x[2 * h]), hi, _mm512_castps_si512(x[2 * h + 1]));
        __m512i e = _mm512_and_si512(_mm512_srli_epi16(w, 7), _mm512_set1_epi16(0xFF));
        e = _mm512_sub_epi16(_mm512_min_epu16(_mm512_max_epu16(e, _mm512_set1_epi16(EXP_MIN)),
                                              _mm512_set1_epi16(EXP_MIN + 24)), _mm512_set1_epi16(EXP_MIN));
        __m512i key = _mm512_or_si512(e, _mm512_and_si512(_mm512_srai_epi16(w, 15), _mm512_set1_epi16(32)));
        __m512i bucket = _mm512_add_epi16(_mm512_permutex2var_epi16(b0, key, b1),
                _mm512_srlv_epi16(_mm512_and_si512(w, _mm512_set1_epi16(0x7F)), _mm512_permutex2var_epi16(s0, key, s1)));
        lowb[h] = _mm512_cvtepi16_epi8(bucket);
        b8[h] = _mm512_test_epi16_mask(bucket, _mm512_set1_epi16(256));
    }
    for (int u = 0; u < 4; u++) nan[u] = _mm512_cmp_ps_mask(x[u], x[u], _CMP_UNORD_Q);
    __m512i ib = _mm512_inserti64x4(_mm512_castsi256_si512(lowb[0]), lowb[1], 1);
    __mmask64 hi8 = _kunpackd_mask64(b8[1], b8[0]);
    __mmask64 hi7 = _mm512_movepi8_mask(ib);
    const uint8_t* c = map->bucket_cand;
    __m512i a = _mm512_mask_blend_epi8(hi7, _mm512_permutex2var_epi8(_mm512_load_si512(c), ib, _mm512_load_si512(c + 64)),
                                       _mm512_permutex2var_epi8(_mm512_load_si512(c + 128), ib, _mm512_load_si512(c + 192)));
    __m512i b = _mm512_mask_blend_epi8(hi7, _mm512_permutex2var_epi8(_mm512_load_si512(c + 256), ib, _mm512_load_si512(c + 320)),
                                       _mm512_permutex2var_epi8(_mm512_load_si512(c + 384), ib, _mm512_load_si512(c + 448)));
    __m512i cand = _mm512_mask_blend_epi8(hi8, a, b);
    __m512i t[4];
    lookup_planes(cand, map->thr_planes, t);
    for (int u = 0; u < 4; u++) ge[u] = _mm512_cmp_ps_mask(x[u], _mm512_castsi512_ps(t[u]), _CMP_GE_OQ);
    __mmask64 above = _kunpackd_mask64(_kunpackw_mask32(ge[3], ge[2]), _kunpackw_mask32(ge[1], ge[0]));
    __mmask64 isnan = _kunpackd_mask64(_kunpackw_mask32(nan[3], nan[2]), _kunpackw_mask32(nan[1], nan[0]));
    __m512i index = _mm512_mask_add_epi8(cand, above, cand, _mm512_set1_epi8(1));
    return _mm512_mask_mov_epi8(index, isnan, _mm512_setzero_si512());   // NaN -> 0, as Adamant's
}

// ---- nearest codes of 64 floats in [-1, 1], gather-free: variable-width buckets, all in bytes ----
static inline __m512i nearest64_bytes(const __m512 x[4], const Map* map) {
    const __m512i t0 = _mm512_load_si512(map->binade[0]), t1 = _mm512_load_si512(map->binade[0] + 16);
    const __m512i n0 = _mm512_load_si512(map->binade[1]), n1 = _mm512_load_si512(map->binade[1] + 16);
    __m128i lowb[4];
    __mmask16 b8[4], ge[4], nan[4];
    for (int u = 0; u < 4; u++) {
        __m512i bits = _mm512_castps_si512(x[u]);
        __m512i e = _mm512_and_si512(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(0xFF));
        e = _mm512_sub_epi32(_mm512_min_epi32(_mm512_max_epi32(e, _mm512_set1_epi32(EXP_MIN)),
                                              _mm512_set1_epi32(EXP_MIN + 24)), _mm512_set1_epi32(EXP_MIN));
        __m512i entry = _mm512_mask_blend_epi32(_mm512_movepi32_mask(bits), _mm512_permutex2var_epi32(t0, e, t1),
                                                _mm512_permutex2var_epi32(n0, e, n1));
        __m512i mant = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFF));
        __m512i bucket = _mm512_add_epi32(_mm512_and_si512(entry, _mm512_set1_epi32(0xFFFF)),
                                          _mm512_srlv_epi32(mant, _mm512_srli_epi32(entry, 16)));
        lowb[u] = _mm512_cvtepi32_epi8(bucket);
        b8[u] = _mm512_test_epi32_mask(bucket, _mm512_set1_epi32(256));
        nan[u] = _mm512_cmp_ps_mask(x[u], x[u], _CMP_UNORD_Q);
    }
    __m512i ib = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(lowb[0]), lowb[1], 1)),
                                    _mm256_inserti128_si256(_mm256_castsi128_si256(lowb[2]), lowb[3], 1), 1);
    __mmask64 hi8 = _kunpackd_mask64(_kunpackw_mask32(b8[3], b8[2]), _kunpackw_mask32(b8[1], b8[0]));
    __mmask64 hi7 = _mm512_movepi8_mask(ib);
    const uint8_t* c = map->bucket_cand;
    __m512i a = _mm512_mask_blend_epi8(hi7, _mm512_permutex2var_epi8(_mm512_load_si512(c), ib, _mm512_load_si512(c + 64)),
                                       _mm512_permutex2var_epi8(_mm512_load_si512(c + 128), ib, _mm512_load_si512(c + 192)));
    __m512i b = _mm512_mask_blend_epi8(hi7, _mm512_permutex2var_epi8(_mm512_load_si512(c + 256), ib, _mm512_load_si512(c + 320)),
                                       _mm512_permutex2var_epi8(_mm512_load_si512(c + 384), ib, _mm512_load_si512(c + 448)));
    __m512i cand = _mm512_mask_blend_epi8(hi8, a, b);
    __m512i t[4];
    lookup_planes(cand, map->thr_planes, t);
    for (int u = 0; u < 4; u++) ge[u] = _mm512_cmp_ps_mask(x[u], _mm512_castsi512_ps(t[u]), _CMP_GE_OQ);
    __mmask64 above = _kunpackd_mask64(_kunpackw_mask32(ge[3], ge[2]), _kunpackw_mask32(ge[1], ge[0]));
    __mmask64 isnan = _kunpackd_mask64(_kunpackw_mask32(nan[3], nan[2]), _kunpackw_mask32(nan[1], nan[0]));
    __m512i index = _mm512_mask_add_epi8(cand, above, cand, _mm512_set1_epi8(1));
    return _mm512_mask_mov_epi8(index, isnan, _mm512_setzero_si512());   // NaN -> 0, as Adamant's
}

// ---- nearest code of 16 floats in [-1, 1]: one gather of the packed bucket, one compare ----
static inline __m512i nearest16_packed(__m512 x, const Map* map) {
    __m512i bits = _mm512_castps_si512(x);
    __m512i sign = _mm512_srai_epi32(bits, 31);
    __m512i key = _mm512_and_si512(_mm512_srli_epi32(bits, KEY_SHIFT), _mm512_set1_epi32(KEY_MASK));
    key = _mm512_min_epi32(_mm512_max_epi32(key, _mm512_set1_epi32(KEY_MIN)), _mm512_set1_epi32(KEY_MAX));
    __m512i bucket = _mm512_add_epi32(key, _mm512_and_si512(sign, _mm512_set1_epi32(SPAN)));
    __m512i e = _mm512_i32gather_epi32(bucket, map->packed - KEY_MIN, 4);
    __m512i xk = _mm512_and_si512(_mm512_xor_si512(bits, sign), _mm512_set1_epi32(0xFFFF));
    __mmask16 above = _mm512_cmpge_epu32_mask(xk, _mm512_srli_epi32(e, 8));
    __m512i cand = _mm512_and_si512(e, _mm512_set1_epi32(0xFF));
    __m512i index = _mm512_mask_add_epi32(cand, above, cand, _mm512_set1_epi32(1));
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    return _mm512_mask_mov_epi32(index, nan, _mm512_setzero_si512());   // NaN -> 0, as Adamant's
}

// ---- nearest code of 16 floats in [-1, 1]: bucket gather, threshold gather, compare ----
static inline __m512i nearest16(__m512 x, const Map* map) {
    __m512i bits = _mm512_castps_si512(x);
    __m512i key = _mm512_and_si512(_mm512_srli_epi32(bits, KEY_SHIFT), _mm512_set1_epi32(KEY_MASK));
    key = _mm512_sub_epi32(_mm512_min_epi32(_mm512_max_epi32(key, _mm512_set1_epi32(KEY_MIN)),
                                            _mm512_set1_epi32(KEY_MAX)), _mm512_set1_epi32(KEY_MIN));
    __m512i bucket = _mm512_add_epi32(key, _mm512_mullo_epi32(_mm512_srli_epi32(bits, 31), _mm512_set1_epi32(SPAN)));
    __m512i cand = _mm512_i32gather_epi32(bucket, map->buckets, 4);
    __m512 t = _mm512_i32gather_ps(cand, map->thresholds, 4);
    __mmask16 above = _mm512_cmp_ps_mask(x, t, _CMP_GE_OQ);
    __m512i index = _mm512_mask_add_epi32(cand, above, cand, _mm512_set1_epi32(1));
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    return _mm512_mask_mov_epi32(index, nan, _mm512_setzero_si512());   // NaN -> 0, as Adamant's
}

enum { LOOKUP_GATHER, LOOKUP_PERM, LOOKUP_BYTES };
enum { Q_DIV, Q_MUL, Q_NONE };
enum { SEARCH_TWO_GATHERS, SEARCH_PACKED, SEARCH_BYTES, SEARCH_WORDS };

static inline __attribute__((always_inline)) void step8_block(float* p, const float* g, uint8_t* c1, uint8_t* c2,
        float* a1, float* a2, size_t b, const Step s, const int lookup, const int q, const int search) {
    HOIST(S, s);
    float mb[BLOCK] __attribute__((aligned(64))), vb[BLOCK] __attribute__((aligned(64)));
    const size_t base = b * BLOCK;
    const __m512 s1 = _mm512_set1_ps(a1[b]), s2 = _mm512_set1_ps(a2[b]);
    __m512 max1 = _mm512_setzero_ps(), max2 = _mm512_setzero_ps();
    for (int j = 0; j < BLOCK; j += 64) {
        __m512 m4[4], v4[4];
        if (lookup == LOOKUP_BYTES) {
            lookup_bytes(c1 + base + j, &SIGNED, s1, m4); lookup_bytes(c2 + base + j, &UNSIGNED, s2, v4);
        } else {
            for (int u = 0; u < 4; u++) {
                __m512i i1 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i*)(c1 + base + j + 16 * u)));
                __m512i i2 = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i*)(c2 + base + j + 16 * u)));
                if (lookup == LOOKUP_GATHER) {
                    m4[u] = lookup_gather(i1, SIGNED.codes); v4[u] = lookup_gather(i2, UNSIGNED.codes);
                } else {
                    m4[u] = lookup_perm(i1, SIGNED.codes); v4[u] = lookup_perm(i2, UNSIGNED.codes);
                }
                m4[u] = _mm512_mul_ps(m4[u], s1); v4[u] = _mm512_mul_ps(v4[u], s2);
            }
        }
        for (int u = 0; u < 4; u++) {
            const size_t i = base + j + 16 * u;
            __m512 mv = m4[u], vv = v4[u];
            __m512 pv = _mm512_load_ps(p + i), gv = _mm512_load_ps(g + i);
            ADAMW16(pv, gv, mv, vv, S);
            _mm512_store_ps(p + i, pv);
            _mm512_store_ps(mb + j + 16 * u, mv); _mm512_store_ps(vb + j + 16 * u, vv);
            max1 = _mm512_max_ps(max1, _mm512_abs_ps(mv)); max2 = _mm512_max_ps(max2, _mm512_abs_ps(vv));
        }
    }
    float n1 = _mm512_reduce_max_ps(max1), n2 = _mm512_reduce_max_ps(max2);
    if (n1 == 0.f) n1 = 1.f;
    if (n2 == 0.f) n2 = 1.f;
    a1[b] = n1; a2[b] = n2;
    const __m512 d1 = _mm512_set1_ps(q == Q_MUL ? 1.f / n1 : n1), d2 = _mm512_set1_ps(q == Q_MUL ? 1.f / n2 : n2);
    if ((search == SEARCH_BYTES || search == SEARCH_WORDS) && q != Q_NONE) {
        for (int j = 0; j < BLOCK; j += 64) {
            __m512 x1[4], x2[4];
            for (int u = 0; u < 4; u++) {
                x1[u] = _mm512_load_ps(mb + j + 16 * u); x2[u] = _mm512_load_ps(vb + j + 16 * u);
                x1[u] = q == Q_DIV ? _mm512_div_ps(x1[u], d1) : _mm512_mul_ps(x1[u], d1);
                x2[u] = q == Q_DIV ? _mm512_div_ps(x2[u], d2) : _mm512_mul_ps(x2[u], d2);
            }
            if (search == SEARCH_WORDS) {
                _mm512_store_si512(c1 + base + j, nearest64_words(x1, &SIGNED));
                _mm512_store_si512(c2 + base + j, nearest64_words(x2, &UNSIGNED));
            } else {
                _mm512_store_si512(c1 + base + j, nearest64_bytes(x1, &SIGNED));
                _mm512_store_si512(c2 + base + j, nearest64_bytes(x2, &UNSIGNED));
            }
        }
        return;
    }
    for (int j = 0; j < BLOCK; j += 16) {
        __m512 x1 = _mm512_load_ps(mb + j), x2 = _mm512_load_ps(vb + j);
        __m512i k1, k2;
        if (q != Q_NONE) {
            x1 = q == Q_DIV ? _mm512_div_ps(x1, d1) : _mm512_mul_ps(x1, d1);
            x2 = q == Q_DIV ? _mm512_div_ps(x2, d2) : _mm512_mul_ps(x2, d2);
            if (search == SEARCH_PACKED) {
                k1 = nearest16_packed(x1, &SIGNED); k2 = nearest16_packed(x2, &UNSIGNED);
            } else {
                k1 = nearest16(x1, &SIGNED); k2 = nearest16(x2, &UNSIGNED);
            }
        } else {
            k1 = _mm512_srli_epi32(_mm512_castps_si512(_mm512_div_ps(x1, d1)), 24);
            k2 = _mm512_srli_epi32(_mm512_castps_si512(_mm512_div_ps(x2, d2)), 24);
        }
        _mm_store_si128((__m128i*)(c1 + base + j), _mm512_cvtepi32_epi8(k1));
        _mm_store_si128((__m128i*)(c2 + base + j), _mm512_cvtepi32_epi8(k2));
    }
}

#define STEP8(NAME, LOOKUP, Q, SEARCH)                                                                   \
    static void NAME(float* p, const float* g, uint8_t* c1, uint8_t* c2, float* a1, float* a2,     \
                     size_t n, Step s) {                                                           \
        _Pragma("omp parallel for schedule(static)")                                               \
        for (size_t b = 0; b < n / BLOCK; b++) step8_block(p, g, c1, c2, a1, a2, b, s, LOOKUP, Q, SEARCH); \
    }
STEP8(step8_best, LOOKUP_BYTES, Q_DIV, SEARCH_BYTES)
STEP8(step8_words, LOOKUP_BYTES, Q_DIV, SEARCH_WORDS)
STEP8(step8_packed, LOOKUP_BYTES, Q_DIV, SEARCH_PACKED)
STEP8(step8_perm, LOOKUP_PERM, Q_DIV, SEARCH_TWO_GATHERS)
STEP8(step8_gather, LOOKUP_GATHER, Q_DIV, SEARCH_TWO_GATHERS)
STEP8(step8_mul, LOOKUP_BYTES, Q_MUL, SEARCH_BYTES)
STEP8(step8_noq, LOOKUP_BYTES, Q_NONE, SEARCH_PACKED)

// ---- memory traffic only ----
static void mem28(float* p, const float* g, float* m, float* v, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < n / BLOCK; b++)
        for (size_t i = b * BLOCK; i < (b + 1) * BLOCK; i += 16) {
            __m512 gv = _mm512_load_ps(g + i);
            _mm512_store_ps(p + i, _mm512_add_ps(_mm512_load_ps(p + i), gv));
            _mm512_store_ps(m + i, _mm512_add_ps(_mm512_load_ps(m + i), gv));
            _mm512_store_ps(v + i, _mm512_add_ps(_mm512_load_ps(v + i), gv));
        }
}

static void mem16(float* p, const float* g, uint8_t* c1, uint8_t* c2, float* a1, float* a2, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < n / BLOCK; b++) {
        const __m512i one = _mm512_set1_epi8(1);
        for (size_t i = b * BLOCK; i < (b + 1) * BLOCK; i += 64) {
            _mm512_store_si512(c1 + i, _mm512_add_epi8(_mm512_load_si512(c1 + i), one));
            _mm512_store_si512(c2 + i, _mm512_add_epi8(_mm512_load_si512(c2 + i), one));
        }
        for (size_t i = b * BLOCK; i < (b + 1) * BLOCK; i += 16)
            _mm512_store_ps(p + i, _mm512_add_ps(_mm512_load_ps(p + i), _mm512_load_ps(g + i)));
        a1[b] += 1.f; a2[b] += 1.f;
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

typedef void (*Step8)(float*, const float*, uint8_t*, uint8_t*, float*, float*, size_t, Step);

static int check(size_t n) {
    float *g = aligned_alloc(64, n * 4), *p[2], *a1[2], *a2[2];
    uint8_t *c1[2], *c2[2];
    for (int r = 0; r < 2; r++) {
        p[r] = aligned_alloc(64, n * 4); c1[r] = aligned_alloc(64, n); c2[r] = aligned_alloc(64, n);
        a1[r] = aligned_alloc(64, n / BLOCK * 4); a2[r] = aligned_alloc(64, n / BLOCK * 4);
    }
    // Three steps of each variant from the same random states; [0] the reference (gathers), [1] the variant.
    const Step8 variants[] = {step8_best, step8_words, step8_packed, step8_perm};
    const char* names[] = {"8bit", "8bit-words", "8bit-packed", "8bit-perm"};
    long mism1 = 0, mism2 = 0, mismp = 0, bucket_vs_brute = 0;
    for (int v = 0; v < 4; v++) {
        long m1 = 0, m2 = 0, mp = 0;
        for (int r = 0; r < 2; r++) {
            srand(1);
            for (size_t i = 0; i < n; i++) {
                p[r][i] = 0.5f;
                g[i] = 1e-3f * ((float)rand() / RAND_MAX - 0.5f) * (1 + (i % 7) * 100);   // varied magnitudes
                c1[r][i] = (uint8_t)(rand() & 255); c2[r][i] = (uint8_t)(rand() & 255);
            }
            for (size_t b = 0; b < n / BLOCK; b++) { a1[r][b] = 1e-3f * (1 + b % 5); a2[r][b] = 1e-6f * (1 + b % 3); }
            for (int t = 1; t <= 3; t++) (r ? variants[v] : step8_gather)(p[r], g, c1[r], c2[r], a1[r], a2[r], n, make_step(t));
        }
        for (size_t i = 0; i < n; i++) { m1 += c1[0][i] != c1[1][i]; m2 += c2[0][i] != c2[1][i]; mp += p[0][i] != p[1][i]; }
        printf("check n=%zu: %s vs 8bit-gather, 3 steps: %ld m-code, %ld v-code, %ld p mismatches\n", n, names[v], m1, m2, mp);
        mism1 += m1; mism2 += m2; mismp += mp;
    }
    // The bucket search against the brute-force nearest over all 256 codes, on many floats in [-1, 1].
    for (long k = 0; k < 4000000; k++) {
        float x = (k & 1 ? 1.f : -1.f) * ldexpf((float)rand() / RAND_MAX, -(int)(k % 26));
        for (int u = 0; u < 2; u++) {
            const Map* map = u ? &UNSIGNED : &SIGNED;
            if (u && x < 0) continue;
            __m512i idx = nearest16(_mm512_set1_ps(x), map), pk = nearest16_packed(_mm512_set1_ps(x), map);
            int got = _mm_cvtsi128_si32(_mm512_castsi512_si128(idx)), want = nearest_brute(map, x);
            int gotp = _mm_cvtsi128_si32(_mm512_castsi512_si128(pk));
            __m512 xs[4] = {_mm512_set1_ps(x), _mm512_set1_ps(x), _mm512_set1_ps(x), _mm512_set1_ps(x)};
            int gotb = (uint8_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(nearest64_bytes(xs, map)));
            if (gotb != got && bucket_vs_brute < 5) fprintf(stderr, "x=%a map=%d two-gather %d bytes %d brute %d\n", x, u, got, gotb, want);
            if (gotb != got) bucket_vs_brute++;
            if (got != gotp && bucket_vs_brute < 5) fprintf(stderr, "x=%a map=%d two-gather %d packed %d brute %d\n", x, u, got, gotp, want);
            if (got != gotp) bucket_vs_brute++;   // the two searches must agree exactly
            if (got != want) { if (bucket_vs_brute < 5) fprintf(stderr, "x=%a (%g) map=%d search %d brute %d\n", x, x, u, got, want); bucket_vs_brute++; }   
        }
    }
    // Every 7th float of [-1, 1] (ordinals), 64 at a time: the byte search against the two-gather search.
    long sweep_wrong = 0, swept = 0;
    for (int u = 0; u < 2; u++) {
        const Map* map = u ? &UNSIGNED : &SIGNED;
        int32_t lo = ordinal(u ? 0.f : -1.f), hi = ordinal(1.f);
        for (int64_t o = lo; o + 7 * 64 <= hi; o += 7 * 64) {
            float xf[64] __attribute__((aligned(64)));
            for (int i = 0; i < 64; i++) xf[i] = from_ordinal((int32_t)(o + 7 * i));
            __m512 xs[4] = {_mm512_load_ps(xf), _mm512_load_ps(xf + 16), _mm512_load_ps(xf + 32), _mm512_load_ps(xf + 48)};
            uint8_t got[64] __attribute__((aligned(64))), gotw[64] __attribute__((aligned(64)));
            _mm512_store_si512(got, nearest64_bytes(xs, map));
            _mm512_store_si512(gotw, nearest64_words(xs, map));
            for (int q = 0; q < 4; q++) {
                __m512i r = nearest16(xs[q], map);
                uint8_t want[16];
                _mm_storeu_si128((__m128i*)want, _mm512_cvtepi32_epi8(r));
                for (int i = 0; i < 16; i++) sweep_wrong += (got[16 * q + i] != want[i]) + (gotw[16 * q + i] != want[i]);
            }
            swept += 64;
        }
    }
    printf("check: buckets %d (signed), %d (unsigned); sweep of every 7th float in range (%ld floats): %ld byte- and word-search mismatches\n",
           SIGNED.nbuckets, UNSIGNED.nbuckets, swept, sweep_wrong);
    bucket_vs_brute += sweep_wrong;
    printf("check: three searches vs brute force over 256 codes (6e6 floats, both maps): %ld wrong\n", bucket_vs_brute);
    return (mism1 || mism2 || mismp || bucket_vs_brute) ? 1 : 0;
}

int main(int argc, char** argv) {
    if (argc < 4) { fprintf(stderr, "usage: blockwise8_adam LOG2N STEPS fp32|8bit|8bit-gather|8bit-perm|8bit-mul|8bit-noq|mem28|mem16|check [QMAP_DIR]\n"); return 2; }
    size_t n = (size_t)1 << atoi(argv[1]);
    int steps = atoi(argv[2]);
    const char* mode = argv[3];
    const char* dir = argc > 4 ? argv[4] : "../shared/fixtures/bnb-8bit";
    load_map(&SIGNED, dir, "qmap-signed.f32");
    load_map(&UNSIGNED, dir, "qmap-unsigned.f32");
    if (!strcmp(mode, "check")) return check(n);
    int fp32 = !strcmp(mode, "fp32") || !strcmp(mode, "mem28");
    float *p = aligned_alloc(64, n * 4), *g = aligned_alloc(64, n * 4), *m = NULL, *v = NULL, *a1 = NULL, *a2 = NULL;
    uint8_t *c1 = NULL, *c2 = NULL;
    if (fp32) {
        m = aligned_alloc(64, n * 4); v = aligned_alloc(64, n * 4);
    } else {
        c1 = aligned_alloc(64, n); c2 = aligned_alloc(64, n);
        a1 = aligned_alloc(64, n / BLOCK * 4); a2 = aligned_alloc(64, n / BLOCK * 4);
    }
#pragma omp parallel for schedule(static)   // every page touched by the thread that will step it (same blocks)
    for (size_t b = 0; b < n / BLOCK; b++) {
        for (size_t i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
            p[i] = 0.5f; g[i] = 1e-3f * (float)((long)(i % 1000) - 500) / 500.f;
            if (fp32) { m[i] = 0; v[i] = 0; } else { c1[i] = 0; c2[i] = 0; }
        }
        if (!fp32) { a1[b] = 0; a2[b] = 0; }   // states start at zero: codes 0, absmax 0
    }
    double* ts = malloc(sizeof(double) * steps);
    for (int t = 1; t <= steps + 3; t++) {
        double t0 = now();
        Step s = make_step(t);
        if (!strcmp(mode, "fp32")) step_fp32(p, g, m, v, n, s);
        else if (!strcmp(mode, "8bit")) step8_best(p, g, c1, c2, a1, a2, n, s);
        else if (!strcmp(mode, "8bit-words")) step8_words(p, g, c1, c2, a1, a2, n, s);
        else if (!strcmp(mode, "8bit-packed")) step8_packed(p, g, c1, c2, a1, a2, n, s);
        else if (!strcmp(mode, "8bit-perm")) step8_perm(p, g, c1, c2, a1, a2, n, s);
        else if (!strcmp(mode, "8bit-gather")) step8_gather(p, g, c1, c2, a1, a2, n, s);
        else if (!strcmp(mode, "8bit-mul")) step8_mul(p, g, c1, c2, a1, a2, n, s);
        else if (!strcmp(mode, "8bit-noq")) step8_noq(p, g, c1, c2, a1, a2, n, s);
        else if (!strcmp(mode, "mem28")) mem28(p, g, m, v, n);
        else if (!strcmp(mode, "mem16")) mem16(p, g, c1, c2, a1, a2, n);
        else { fprintf(stderr, "unknown mode %s\n", mode); return 2; }
        double t1 = now();
        if (t > 3) ts[t - 4] = t1 - t0;
    }
    qsort(ts, steps, sizeof(double), cmp_double);
    double med = ts[steps / 2], best = ts[0];
    int bytes = fp32 ? 28 : 16;
    char name[64];
    snprintf(name, sizeof name, "c-%s", mode);
    // Keep p observable so that nothing is optimised away.
    volatile float sink = p[n / 3]; (void)sink;
    printf("%-20s T=%-2d n=%-10zu median %9.4f ms  %6.3f ns/elem  %7.1f GB/s (%d B/elem)  best %7.1f GB/s\n",
           name, omp_get_max_threads(), n, med * 1e3, med * 1e9 / n, bytes * (double)n / med / 1e9, bytes,
           bytes * (double)n / best / 1e9);
    return 0;
}
