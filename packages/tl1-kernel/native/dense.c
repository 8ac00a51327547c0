/* Dense GEMV/GEMM (KERNEL.md §4) for F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K and
 * Q6_K weights, and the memory-bandwidth probe behind streamSum. */
#include <string.h>

#include "dense_types.h"
#include "tl1.h"

#define TL1_BLOCK_HALF(bits) tl1_half_to_float((uint16_t)(bits))
#include "dense_blocks.h"

float tl1_half_to_float(uint16_t h) {
  const uint32_t s = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, mant = h & 0x3ffu, f;
  if (e == 0) {
    if (mant == 0) {
      f = s;
    } else { /* subnormal half: normalize */
      int sh = 0;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        sh++;
      }
      mant &= 0x3ffu;
      f = s | ((uint32_t)(113 - sh) << 23) | (mant << 13);
    }
  } else if (e == 31) {
    f = s | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0); /* NaN made quiet, like F16C */
  } else {
    f = s | ((e + 112) << 23) | (mant << 13);
  }
  float out;
  memcpy(&out, &f, 4);
  return out;
}

static inline uint16_t rd16(const uint8_t* p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static inline float bf16_to_float(uint16_t h) {
  const uint32_t f = (uint32_t)h << 16;
  float out;
  memcpy(&out, &f, 4);
  return out;
}

static inline float reduce8(const float* lane) {
  float v4[4], v2[2];
  for (int i = 0; i < 4; i++) v4[i] = lane[i] + lane[i + 4];
  for (int i = 0; i < 2; i++) v2[i] = v4[i] + v4[i + 2];
  return v2[0] + v2[1];
}

/* element j of a row, as float32 (F32 / F16 / BF16 only) */
static inline float elem(int type, const uint8_t* row, int32_t j) {
  switch (type) {
    case TL1_DENSE_F32: {
      float f;
      memcpy(&f, row + (size_t)j * TL1_DENSE_F32_BLOCK_BYTES, 4);
      return f;
    }
    case TL1_DENSE_F16:
      return tl1_half_to_float(rd16(row + (size_t)j * TL1_DENSE_F16_BLOCK_BYTES));
    default:
      return bf16_to_float(rd16(row + (size_t)j * TL1_DENSE_BF16_BLOCK_BYTES));
  }
}

/* A Q8_0 block: fp16 scale d, then BLOCK_ELEMENTS int8 values. */
enum { Q8_ELEMENTS = TL1_DENSE_Q8_0_BLOCK_ELEMENTS, Q8_BYTES = TL1_DENSE_Q8_0_BLOCK_BYTES, Q8_VALUES_AT = 2 };

void tl1_dense_scalar(const tl1_dense* d, int32_t r0, int32_t r1) {
  const int32_t cols = d->cols;
  for (int32_t r = r0; r < r1; r++) {
    const uint8_t* row = d->data + (size_t)r * d->rowBytes;
    for (int32_t t = 0; t < d->nTokens; t++) {
      const float* x = d->x + (size_t)t * cols;
      float lane[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
      if (TL1_DENSE_IS_BLOCK(d->type)) { /* groups of 8 share multiplier and offset (dense_blocks.h) */
        const int32_t elements = tl1_dense_block_elements(d->type), bytes = tl1_dense_block_bytes(d->type);
        for (int32_t b = 0; b < cols / elements; b++) {
          const uint8_t* blk = row + (size_t)b * bytes;
          float bd, bmin;
          tl1_block_scales(d->type, blk, &bd, &bmin);
          for (int32_t e = 0; e < elements; e += 8) {
            float m, o;
            tl1_block_group(d->type, blk, e, bd, bmin, &m, &o);
            const uint64_t codes = tl1_block_codes8(d->type, blk, e);
            for (int i = 0; i < 8; i++) {
              const int32_t code = (int32_t)((codes >> (8 * i)) & 0xffu) - tl1_block_bias(d->type);
              const float w = m * (float)code - o;
              const float p = w * x[b * elements + e + i];
              lane[i] = lane[i] + p;
            }
          }
        }
      } else if (d->type == TL1_DENSE_Q8_0) {
        for (int32_t b = 0; b < cols / Q8_ELEMENTS; b++) {
          const uint8_t* blk = row + (size_t)b * Q8_BYTES;
          const float dd = tl1_half_to_float(rd16(blk));
          for (int i = 0; i < Q8_ELEMENTS; i++) {
            const float w = dd * (float)(int8_t)blk[Q8_VALUES_AT + i];
            const float p = w * x[b * Q8_ELEMENTS + i];
            lane[i & 7] = lane[i & 7] + p;
          }
        }
      } else {
        for (int32_t j = 0; j < cols; j++) {
          const float p = elem(d->type, row, j) * x[j];
          lane[j & 7] = lane[j & 7] + p;
        }
      }
      d->y[(size_t)t * d->rows + r] = reduce8(lane);
    }
  }
}

uint64_t tl1_stream_scalar(const uint8_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    memcpy(w, p + i, 32);
    s0 += w[0];
    s1 += w[1];
    s2 += w[2];
    s3 += w[3];
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    s0 += w;
  }
  for (; i < n; i++) s0 += p[i];
  return s0 + s1 + s2 + s3;
}

#if TL1_X86
#include <immintrin.h>

#define DTGT __attribute__((target("avx2,f16c")))
#define DAI static inline __attribute__((always_inline)) DTGT

DAI __m256 loadw8(const int type, const uint8_t* row, int32_t j) {
  switch (type) {
    case TL1_DENSE_F32:
      return _mm256_loadu_ps((const float*)(const void*)(row + (size_t)j * TL1_DENSE_F32_BLOCK_BYTES));
    case TL1_DENSE_F16:
      return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(row + (size_t)j * TL1_DENSE_F16_BLOCK_BYTES)));
    default:
      return _mm256_castsi256_ps(_mm256_slli_epi32(
          _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(row + (size_t)j * TL1_DENSE_BF16_BLOCK_BYTES))), 16));
  }
}

/* Codes of elements e … e+31 of a block (e % 32 == 0) minus tl1_block_bias, one signed
 * byte each: tl1_block_codes8's bit fields, 32 at a time. */
DAI __m256i block_codes32(const int type, const uint8_t* blk, int32_t e) {
  const __m256i low4 = _mm256_set1_epi8(15);
  __m256i codes;
  if (type == TL1_DENSE_Q4_0) { /* the whole block: low nibbles are elements 0-15, high ones 16-31 */
    const __m128i packed = _mm_loadu_si128((const __m128i*)(blk + 2));
    codes = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low4);
  } else if (type == TL1_DENSE_Q4_K || type == TL1_DENSE_Q5_K) {
    const int32_t s = e >> 5;
    const __m256i packed =
        _mm256_loadu_si256((const __m256i*)(blk + (type == TL1_DENSE_Q4_K ? 16 : 48) + 32 * (s >> 1)));
    codes = _mm256_and_si256((s & 1) ? _mm256_srli_epi16(packed, 4) : packed, low4);
    if (type == TL1_DENSE_Q5_K) {
      const __m256i qh = _mm256_loadu_si256((const __m256i*)(blk + 16));
      const __m256i bit = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(s)), _mm256_set1_epi8(1));
      codes = _mm256_or_si256(codes, _mm256_slli_epi16(bit, 4));
    }
  } else { /* Q6_K */
    const int32_t n = e >> 7, quarter = (e >> 5) & 3;
    const __m256i low = _mm256_loadu_si256((const __m256i*)(blk + 64 * n + 32 * (quarter & 1)));
    const __m256i high = _mm256_loadu_si256((const __m256i*)(blk + 128 + 32 * n));
    const __m256i nibbles = _mm256_and_si256(quarter < 2 ? low : _mm256_srli_epi16(low, 4), low4);
    const __m256i top =
        _mm256_and_si256(_mm256_srl_epi16(high, _mm_cvtsi32_si128(2 * quarter)), _mm256_set1_epi8(3));
    codes = _mm256_or_si256(nibbles, _mm256_slli_epi16(top, 4));
  }
  return _mm256_sub_epi8(codes, _mm256_set1_epi8((char)tl1_block_bias(type)));
}

/* RB rows x TB tokens; one __m256 accumulator per (row, token), mul then add
 * (never fused), then the KERNEL.md §4 reduction. Several independent rows
 * or tokens hide the add latency of the single-accumulator order. */
DAI void dense_tile(const tl1_dense* d, const int type, int32_t r, int32_t t, const int RB, const int TB) {
  const int32_t cols = d->cols;
  const uint8_t* row[8];
  const float* x[4];
  __m256 acc[8][4];
#pragma GCC unroll 8
  for (int i = 0; i < RB; i++) row[i] = d->data + (size_t)(r + i) * d->rowBytes;
#pragma GCC unroll 8
  for (int k = 0; k < TB; k++) x[k] = d->x + (size_t)(t + k) * cols;
#pragma GCC unroll 8
  for (int i = 0; i < RB; i++)
#pragma GCC unroll 8
    for (int k = 0; k < TB; k++) acc[i][k] = _mm256_setzero_ps();
  int32_t j = 0;
  if (TL1_DENSE_IS_BLOCK(type)) { /* groups of 8 share multiplier and offset (dense_blocks.h) */
    const int32_t elements = tl1_dense_block_elements(type), bytes = tl1_dense_block_bytes(type);
    const int32_t nb = cols / elements;
    /* Q4_0 and Q6_K have no offset, and w − (+0) is w (dense_blocks.h), so the sub is left out. */
    const int hasOffset = type == TL1_DENSE_Q4_K || type == TL1_DENSE_Q5_K;
    for (int32_t b = 0; b < nb; b++) {
      const uint8_t* blk[8];
      float bd[8], bmin[8];
#pragma GCC unroll 8
      for (int i = 0; i < RB; i++) {
        blk[i] = row[i] + (size_t)b * bytes;
        _mm_prefetch((const char*)(blk[i] + 2 * bytes), _MM_HINT_T0);
        tl1_block_scales(type, blk[i], &bd[i], &bmin[i]);
      }
      /* Rows innermost: RB independent accumulator chains, each still in element order. */
      for (int32_t e32 = 0; e32 < elements; e32 += 32) {
#pragma GCC unroll 8
        for (int i = 0; i < RB; i++) {
          const __m256i codes32 = block_codes32(type, blk[i], e32);
          const __m128i half[2] = {_mm256_castsi256_si128(codes32), _mm256_extracti128_si256(codes32, 1)};
          /* Every type keeps one multiplier and offset for 16 elements at least. */
          __m256 mv[2], ov[2];
#pragma GCC unroll 2
          for (int h = 0; h < 2; h++) {
            float m, o;
            tl1_block_group(type, blk[i], e32 + 16 * h, bd[i], bmin[i], &m, &o);
            mv[h] = _mm256_set1_ps(m);
            ov[h] = _mm256_set1_ps(o);
          }
#pragma GCC unroll 4
          for (int g = 0; g < 4; g++) {
            const int32_t e = e32 + 8 * g;
            const __m128i c8 = (g & 1) ? _mm_srli_si128(half[g >> 1], 8) : half[g >> 1];
            __m256 w = _mm256_mul_ps(mv[g >> 1], _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c8)));
            if (hasOffset) w = _mm256_sub_ps(w, ov[g >> 1]);
#pragma GCC unroll 8
            for (int k = 0; k < TB; k++)
              acc[i][k] = _mm256_add_ps(acc[i][k], _mm256_mul_ps(w, _mm256_loadu_ps(x[k] + b * elements + e)));
          }
        }
      }
    }
    j = cols;
  } else if (type == TL1_DENSE_Q8_0) {
    const int32_t nb = cols / Q8_ELEMENTS;
    for (int32_t b = 0; b < nb; b++) {
#pragma GCC unroll 8
      for (int i = 0; i < RB; i++) {
        const uint8_t* blk = row[i] + (size_t)b * Q8_BYTES;
        const __m256 dv = _mm256_set1_ps(_cvtsh_ss(rd16(blk)));
#pragma GCC unroll 8
        for (int g = 0; g < Q8_ELEMENTS / 8; g++) {
          const __m256i qi = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(blk + Q8_VALUES_AT + g * 8)));
          const __m256 w = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(qi));
#pragma GCC unroll 8
          for (int k = 0; k < TB; k++)
            acc[i][k] = _mm256_add_ps(acc[i][k], _mm256_mul_ps(w, _mm256_loadu_ps(x[k] + b * Q8_ELEMENTS + g * 8)));
        }
      }
    }
    j = nb * Q8_ELEMENTS;
  } else {
    /* Software prefetch 512 weights ahead in each row: with several rows in
     * flight the hardware prefetchers fall behind (F16 GEMV 1.3-1.5x faster).
     * Past a row's end this reaches into the next row, which comes next; past
     * the matrix it is a hint to an address never loaded, which cannot fault. */
    const int elemBytes = type == TL1_DENSE_F32 ? TL1_DENSE_F32_BLOCK_BYTES : TL1_DENSE_F16_BLOCK_BYTES;
    for (; j + 8 <= cols; j += 8) {
      if ((j & 31) == 0) {
#pragma GCC unroll 8
        for (int i = 0; i < RB; i++) _mm_prefetch((const char*)(row[i] + (size_t)(j + 512) * elemBytes), _MM_HINT_T0);
      }
#pragma GCC unroll 8
      for (int i = 0; i < RB; i++) {
        const __m256 w = loadw8(type, row[i], j);
#pragma GCC unroll 8
        for (int k = 0; k < TB; k++) acc[i][k] = _mm256_add_ps(acc[i][k], _mm256_mul_ps(w, _mm256_loadu_ps(x[k] + j)));
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < RB; i++)
#pragma GCC unroll 8
    for (int k = 0; k < TB; k++) {
      float lane[8];
      _mm256_storeu_ps(lane, acc[i][k]);
      for (int32_t jj = j; jj < cols; jj++) { /* tail: lanes 0 .. cols%8-1 */
        const float p = elem(type, row[i], jj) * x[k][jj];
        lane[jj & 7] = lane[jj & 7] + p;
      }
      d->y[(size_t)(t + k) * d->rows + r + i] = reduce8(lane);
    }
}

DAI void dense_rows(const tl1_dense* d, const int type, int32_t r0, int32_t r1) {
  const int32_t nT = d->nTokens;
  int32_t r = r0;
  if (nT >= 4) {
    for (; r + 2 <= r1; r += 2) {
      int32_t t = 0;
      for (; t + 4 <= nT; t += 4) dense_tile(d, type, r, t, 2, 4);
      for (; t < nT; t++) dense_tile(d, type, r, t, 2, 1);
    }
  } else {
    for (; r + 8 <= r1; r += 8)
      for (int32_t t = 0; t < nT; t++) dense_tile(d, type, r, t, 8, 1);
    for (; r + 4 <= r1; r += 4)
      for (int32_t t = 0; t < nT; t++) dense_tile(d, type, r, t, 4, 1);
  }
  for (; r < r1; r++)
    for (int32_t t = 0; t < nT; t++) dense_tile(d, type, r, t, 1, 1);
}

/* One copy of the loops per type, each with its type a compile-time constant. */
static DTGT void dense_f32(const tl1_dense* d, int32_t r0, int32_t r1) { dense_rows(d, TL1_DENSE_F32, r0, r1); }
static DTGT void dense_f16(const tl1_dense* d, int32_t r0, int32_t r1) { dense_rows(d, TL1_DENSE_F16, r0, r1); }
static DTGT void dense_bf16(const tl1_dense* d, int32_t r0, int32_t r1) { dense_rows(d, TL1_DENSE_BF16, r0, r1); }
static DTGT void dense_q80(const tl1_dense* d, int32_t r0, int32_t r1) { dense_rows(d, TL1_DENSE_Q8_0, r0, r1); }
static DTGT void dense_q40(const tl1_dense* d, int32_t r0, int32_t r1) { dense_rows(d, TL1_DENSE_Q4_0, r0, r1); }
static DTGT void dense_q4k(const tl1_dense* d, int32_t r0, int32_t r1) { dense_rows(d, TL1_DENSE_Q4_K, r0, r1); }
static DTGT void dense_q5k(const tl1_dense* d, int32_t r0, int32_t r1) { dense_rows(d, TL1_DENSE_Q5_K, r0, r1); }
static DTGT void dense_q6k(const tl1_dense* d, int32_t r0, int32_t r1) { dense_rows(d, TL1_DENSE_Q6_K, r0, r1); }

void tl1_dense_avx2(const tl1_dense* d, int32_t r0, int32_t r1) {
  switch (d->type) {
    case TL1_DENSE_F32: dense_f32(d, r0, r1); break;
    case TL1_DENSE_F16: dense_f16(d, r0, r1); break;
    case TL1_DENSE_BF16: dense_bf16(d, r0, r1); break;
    case TL1_DENSE_Q8_0: dense_q80(d, r0, r1); break;
    case TL1_DENSE_Q4_0: dense_q40(d, r0, r1); break;
    case TL1_DENSE_Q4_K: dense_q4k(d, r0, r1); break;
    case TL1_DENSE_Q5_K: dense_q5k(d, r0, r1); break;
    case TL1_DENSE_Q6_K: dense_q6k(d, r0, r1); break;
    default: break;
  }
}

DTGT uint64_t tl1_stream_avx2(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    a0 = _mm256_add_epi64(a0, _mm256_loadu_si256((const __m256i*)(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_loadu_si256((const __m256i*)(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_loadu_si256((const __m256i*)(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_loadu_si256((const __m256i*)(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  uint64_t w[4];
  _mm256_storeu_si256((__m256i*)w, s);
  return w[0] + w[1] + w[2] + w[3] + tl1_stream_scalar(p + i, n - i);
}
#endif
