/* Ternary GEMM for many tokens (prefill), uniform matrices (KERNEL.md §3).
 *
 * The GEMV kernels in ternary_tpl.h give each vector lane a different weight
 * of one row, so every segment ends in a horizontal sum, and each 2-bit code is
 * decoded again for every group of tokens. Here, for a block of 16 or 32 rows
 * and one segment, the codes are decoded once into 4-weight groups laid out
 * row-minor (one 64-byte vector = the same 4 weights of 16 rows), and every
 * token multiplies them with vpdpbusd against a broadcast of its 4 matching
 * activations. Each lane is one row, so a segment ends with one subtract,
 * convert, multiply and add per 16 rows, and the decode is shared by all
 * tokens. The integer dot is exact and the float epilogue keeps the order of
 * KERNEL.md §3, so the output is bit-identical to the other paths. AVX-512 VNNI
 * blocks 16 or 32 rows; AVX-VNNI (ternary_panel256.h) 8 or 16. */
#include <stdlib.h>
#include <string.h>

#include "tl1.h"

#if TL1_X86
#include <immintrin.h>

/* The rows of a block are 8-32 separate streams, too many for the hardware prefetchers:
 * after decoding segment k of rows r … r + n − 1, request the next segment's codes (or,
 * after the last, the next block's first) while this one is multiplied. */
static inline void panel_prefetch_next(const tl1_mat* m, int32_t r, int32_t n, int32_t k) {
  const int32_t kn = k + 1 < m->uniform ? k + 1 : 0;
  const int32_t first = kn ? r : r + n;
  if (first + n > m->rows) return;
  for (int32_t i = 0; i < n; i++) {
    const uint8_t* next = tl1_seg_codes(m, first + i, kn);
    for (int32_t c = 0; c < m->segChunks[kn]; c += 2) _mm_prefetch((const char*)(next + 32 * (size_t)c), _MM_HINT_T0);
  }
}

#define TGT __attribute__((target("avx2,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define AI static inline __attribute__((always_inline)) TGT

enum { PANEL_TOKENS = 8 }; /* tokens per register tile: 2 x 8 accumulators */

/* Decodes one 32-byte chunk of 16 rows (row i < 8 at p + i*rs, row 8 + i at p8 + i*rs) into its 32 groups:
 * group 8n + d (weights 32n + 4d … +3) of all 16 rows lands at w + (8n + d)*gs.
 * Row i's chunk is 8 dwords and dword d holds the 2-bit codes of group 8n + d in
 * bits 2n+1:2n of each byte, so a 16 x 8 dword transpose followed by a shift and
 * mask per plane n gives every group vector. */
AI void unpack16(const uint8_t* p, const uint8_t* p8, size_t rs, uint8_t* w, size_t gs) {
  __m512i z[8], t[8], u[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) /* 128-bit lanes: row i d0-3, row i d4-7, row i+8 d0-3, row i+8 d4-7 */
    z[i] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i*)(p + (size_t)i * rs))),
                              _mm256_loadu_si256((const __m256i*)(p8 + (size_t)i * rs)), 1);
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm512_unpacklo_epi32(z[2 * i], z[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(z[2 * i], z[2 * i + 1]);
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++) { /* u[4h + d], per lane: dword d (or d + 4) of rows 4h … 4h+3 */
    u[4 * h + 0] = _mm512_unpacklo_epi64(t[4 * h], t[4 * h + 2]);
    u[4 * h + 1] = _mm512_unpackhi_epi64(t[4 * h], t[4 * h + 2]);
    u[4 * h + 2] = _mm512_unpacklo_epi64(t[4 * h + 1], t[4 * h + 3]);
    u[4 * h + 3] = _mm512_unpackhi_epi64(t[4 * h + 1], t[4 * h + 3]);
  }
  const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
  const __m512i hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  const __m512i m3 = _mm512_set1_epi8(3);
#pragma GCC unroll 4
  for (int d = 0; d < 4; d++) {
    const __m512i pl = _mm512_permutex2var_epi64(u[d], lo, u[d + 4]); /* dword d of rows 0 … 15 */
    const __m512i ph = _mm512_permutex2var_epi64(u[d], hi, u[d + 4]); /* dword d + 4 */
#pragma GCC unroll 4
    for (int n = 0; n < 4; n++) {
      _mm512_store_si512((void*)(w + (size_t)(8 * n + d) * gs), _mm512_and_si512(_mm512_srli_epi16(pl, 2 * n), m3));
      _mm512_store_si512((void*)(w + (size_t)(8 * n + d + 4) * gs), _mm512_and_si512(_mm512_srli_epi16(ph, 2 * n), m3));
    }
  }
}

/* acc += w · b as vpdpbusd. Written as asm with the accumulator tied ("+v"):
 * with the intrinsic, GCC 12 copies every accumulator through another register
 * on each step of the loop below, which halves its speed. */
#define DPBUSD(acc, w, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(w), "v"(b))

/* Tokens t … t+TB-1 against one decoded segment of H*16 rows: y += scale · (dot − prefix diff).
 * The accumulators are named variables, not an array: GCC keeps an array of
 * vectors on the stack here. */
#define EACH_TOKEN(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
AI void tile(const tl1_gemm* g, const uint8_t* w, int32_t G, int32_t r, int32_t k, int32_t a, int32_t t, const int H,
             const int TB, const __m512 sc[2]) {
  const size_t qs = g->qStride;
  const int8_t* q = g->q + (size_t)t * qs + (size_t)a;
#define DECL(j) __m512i a##j##_0 = _mm512_setzero_si512(), a##j##_1 = _mm512_setzero_si512();
  EACH_TOKEN(DECL)
#undef DECL
  for (int32_t gi = 0; gi < G; gi++) {
    const __m512i w0 = _mm512_load_si512((const void*)(w + (size_t)gi * 64 * H));
    const __m512i w1 = H > 1 ? _mm512_load_si512((const void*)(w + (size_t)gi * 64 * H + 64)) : w0;
    const int8_t* qg = q + 4 * (size_t)gi;
#define STEP(j)                                                         \
  if (TB > j) {                                                         \
    int32_t x_;                                                         \
    memcpy(&x_, qg + (size_t)(j) * qs, 4);                              \
    const __m512i b_ = _mm512_set1_epi32(x_);                           \
    DPBUSD(a##j##_0, w0, b_);                                           \
    if (H > 1) DPBUSD(a##j##_1, w1, b_);                                \
  }
    EACH_TOKEN(STEP)
#undef STEP
  }
  const int32_t nT = g->nTokens, rows = g->m->rows;
#define EPILOGUE(j)                                                                                           \
  if (TB > j) {                                                                                               \
    const __m512i pd_ = _mm512_set1_epi32(g->pdT[(size_t)k * nT + t + j]);                                    \
    float* yp_ = g->y + (size_t)(t + j) * rows + r;                                                           \
    _mm512_storeu_ps(yp_, _mm512_add_ps(_mm512_loadu_ps(yp_),                                                 \
                                        _mm512_mul_ps(sc[0], _mm512_cvtepi32_ps(_mm512_sub_epi32(a##j##_0, pd_))))); \
    if (H > 1)                                                                                                \
      _mm512_storeu_ps(yp_ + 16, _mm512_add_ps(_mm512_loadu_ps(yp_ + 16),                                     \
                                               _mm512_mul_ps(sc[1], _mm512_cvtepi32_ps(_mm512_sub_epi32(a##j##_1, pd_))))); \
  }
  EACH_TOKEN(EPILOGUE)
#undef EPILOGUE
}

/* One out-of-line function per tile shape, so that each gets its own register allocation. */
#define TILE_FN(H, TB)                                                                                     \
  static TGT __attribute__((noinline)) void tile_##H##_##TB(const tl1_gemm* g, const uint8_t* w, int32_t G, \
                                                             int32_t r, int32_t k, int32_t a, int32_t t,    \
                                                             const __m512 sc[2]) {                          \
    tile(g, w, G, r, k, a, t, H, TB, sc);                                                                  \
  }
#define TILE_FNS(H) TILE_FN(H, 1) TILE_FN(H, 2) TILE_FN(H, 3) TILE_FN(H, 4) TILE_FN(H, 5) TILE_FN(H, 6) TILE_FN(H, 7) TILE_FN(H, 8)
TILE_FNS(1)
TILE_FNS(2)
typedef void (*tile_fn)(const tl1_gemm*, const uint8_t*, int32_t, int32_t, int32_t, int32_t, int32_t, const __m512[2]);
static const tile_fn TILES[2][PANEL_TOKENS] = {
    {tile_1_1, tile_1_2, tile_1_3, tile_1_4, tile_1_5, tile_1_6, tile_1_7, tile_1_8},
    {tile_2_1, tile_2_2, tile_2_3, tile_2_4, tile_2_5, tile_2_6, tile_2_7, tile_2_8},
};

/* Rows r … r + 16H − 1, all tokens; w holds 64H bytes per group of the longest segment.
 * r is a multiple of 16: panel row ranges start at multiples of 32 (ternary_row_align in tl1.c). */
AI void block(const tl1_gemm* g, int32_t r, const int H, uint8_t* w) {
  const tl1_mat* m = g->m;
  const int32_t nT = g->nTokens, rows = m->rows, U = m->uniform;
  const size_t gs = 64 * (size_t)H;
  for (int32_t t = 0; t < nT; t++) memset(g->y + (size_t)t * rows + r, 0, sizeof(float) * 16 * (size_t)H);
  for (int32_t k = 0; k < U; k++) {
    const int32_t nc = m->segChunks[k], a = m->segAct[k], G = 32 * nc;
    const size_t rs = tl1_seg_step(m, k);
    for (int32_t ch = 0; ch < nc; ch++)
#pragma GCC unroll 2
      for (int h = 0; h < H; h++)
        unpack16(tl1_seg_codes(m, r + 16 * h, k) + (size_t)ch * 32, tl1_seg_codes(m, r + 16 * h + 8, k) + (size_t)ch * 32,
                 rs, w + (size_t)ch * 32 * gs + 64 * (size_t)h, gs);
    panel_prefetch_next(m, r, 16 * H, k);
    __m512 sc[2];
#pragma GCC unroll 2
    for (int h = 0; h < H; h++)
      sc[h] = _mm512_loadu_ps(m->scale16 + ((size_t)((r >> 4) + h) * (size_t)U + (size_t)k) * 16);
    for (int32_t t = 0; t < nT; t += PANEL_TOKENS)
      TILES[H - 1][(nT - t >= PANEL_TOKENS ? PANEL_TOKENS : nT - t) - 1](g, w, G, r, k, a, t, sc);
  }
  for (int32_t t = 0; t < nT; t++) {
    const __m512 d = _mm512_set1_ps(g->actScales[t]);
    float* yp = g->y + (size_t)t * rows + r;
#pragma GCC unroll 2
    for (int h = 0; h < H; h++) _mm512_storeu_ps(yp + 16 * h, _mm512_div_ps(_mm512_loadu_ps(yp + 16 * h), d));
  }
}

static TGT void block32(const tl1_gemm* g, int32_t r, uint8_t* w) { block(g, r, 2, w); }
static TGT void block16(const tl1_gemm* g, int32_t r, uint8_t* w) { block(g, r, 1, w); }

int32_t tl1_ternary_panel_avx512(const tl1_gemm* g, int32_t r0, int32_t r1) {
  const tl1_mat* m = g->m;
  if (!m->uniform || r1 - r0 < 16) return r0;
  uint8_t* w = (uint8_t*)aligned_alloc(64, (size_t)m->maxSegChunks * 32 * 128);
  if (!w) return r0;
  int32_t r = r0;
  for (; r + 32 <= r1; r += 32) block32(g, r, w);
  if (r + 16 <= r1) {
    block16(g, r, w);
    r += 16;
  }
  free(w);
  return r;
}

#undef TGT
#undef AI

/* ---- 256-bit: AVX-VNNI ----
 * (AVX2 without VNNI keeps the GEMV kernels: maddubs + madd + add per group measured
 * 1.3x slower than them here.) */
/* VEX-encoded vpdpbusd as asm with the accumulator tied (see DPBUSD above); "x" keeps
 * the registers below 16, which VEX can encode. */
#define SFX avxvnni
#define TGT __attribute__((target("avx2,avxvnni")))
#define DOT(acc, w, b) __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(w), "x"(b))
#include "ternary_panel256.h"
#undef SFX
#undef TGT
#undef DOT

#endif
