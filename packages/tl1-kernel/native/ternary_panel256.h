/* The panel GEMM of ternary_panel.c with 256-bit vectors (8 rows each), for AVX-VNNI.
 * The includer defines SFX, TGT and DOT(acc, w, b) (acc += w · b in int32 lanes, exact). */

#define PCAT2(a, b) a##_##b
#define PCAT(a, b) PCAT2(a, b)
#define PFN(name) PCAT(name, SFX)
#define PAI static inline __attribute__((always_inline)) TGT

/* One 32-byte chunk of 8 rows (row i at p + i*rb, rb the row step) into its 32 groups at w + group*gs:
 * an 8 x 8 dword transpose, then a shift and mask per 2-bit plane. */
PAI void PFN(unpack8)(const uint8_t* p, size_t rb, uint8_t* w, size_t gs) {
  __m256i z[8], t[8], u[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) z[i] = _mm256_loadu_si256((const __m256i*)(p + (size_t)i * rb));
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_epi32(z[2 * i], z[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_epi32(z[2 * i], z[2 * i + 1]);
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++) { /* u[4h + d]: dword d (low lane) and d + 4 (high) of rows 4h … 4h+3 */
    u[4 * h + 0] = _mm256_unpacklo_epi64(t[4 * h], t[4 * h + 2]);
    u[4 * h + 1] = _mm256_unpackhi_epi64(t[4 * h], t[4 * h + 2]);
    u[4 * h + 2] = _mm256_unpacklo_epi64(t[4 * h + 1], t[4 * h + 3]);
    u[4 * h + 3] = _mm256_unpackhi_epi64(t[4 * h + 1], t[4 * h + 3]);
  }
  const __m256i m3 = _mm256_set1_epi8(3);
#pragma GCC unroll 4
  for (int d = 0; d < 4; d++) {
    const __m256i pl = _mm256_permute2x128_si256(u[d], u[d + 4], 0x20); /* dword d of rows 0 … 7 */
    const __m256i ph = _mm256_permute2x128_si256(u[d], u[d + 4], 0x31); /* dword d + 4 */
#pragma GCC unroll 4
    for (int n = 0; n < 4; n++) {
      _mm256_store_si256((__m256i*)(w + (size_t)(8 * n + d) * gs), _mm256_and_si256(_mm256_srli_epi16(pl, 2 * n), m3));
      _mm256_store_si256((__m256i*)(w + (size_t)(8 * n + d + 4) * gs),
                         _mm256_and_si256(_mm256_srli_epi16(ph, 2 * n), m3));
    }
  }
}

/* Tokens t … t+TB−1 (TB ≤ 4) over one decoded segment of 8H rows. */
PAI void PFN(tile)(const tl1_gemm* g, const uint8_t* w, int32_t G, int32_t r, int32_t k, int32_t a, int32_t t,
                   const int H, const int TB, const __m256 sc[2]) {
  const size_t qs = g->qStride;
  const int8_t* q = g->q + (size_t)t * qs + (size_t)a;
#define DECL(j) __m256i a##j##_0 = _mm256_setzero_si256(), a##j##_1 = _mm256_setzero_si256();
  DECL(0) DECL(1) DECL(2) DECL(3)
#undef DECL
  for (int32_t gi = 0; gi < G; gi++) {
    const __m256i w0 = _mm256_load_si256((const __m256i*)(w + (size_t)gi * 32 * H));
    const __m256i w1 = H > 1 ? _mm256_load_si256((const __m256i*)(w + (size_t)gi * 32 * H + 32)) : w0;
    const int8_t* qg = q + 4 * (size_t)gi;
#define STEP(j)                                         \
  if (TB > j) {                                         \
    int32_t x_;                                         \
    memcpy(&x_, qg + (size_t)(j) * qs, 4);              \
    const __m256i b_ = _mm256_set1_epi32(x_);           \
    DOT(a##j##_0, w0, b_);                              \
    if (H > 1) DOT(a##j##_1, w1, b_);                   \
  }
    STEP(0) STEP(1) STEP(2) STEP(3)
#undef STEP
  }
  const int32_t nT = g->nTokens, rows = g->m->rows;
#define EPILOGUE(j)                                                                                            \
  if (TB > j) {                                                                                                \
    const __m256i pd_ = _mm256_set1_epi32(g->pdT[(size_t)k * nT + t + j]);                                     \
    float* yp_ = g->y + (size_t)(t + j) * rows + r;                                                            \
    _mm256_storeu_ps(yp_, _mm256_add_ps(_mm256_loadu_ps(yp_),                                                  \
                                        _mm256_mul_ps(sc[0], _mm256_cvtepi32_ps(_mm256_sub_epi32(a##j##_0, pd_))))); \
    if (H > 1)                                                                                                 \
      _mm256_storeu_ps(yp_ + 8, _mm256_add_ps(_mm256_loadu_ps(yp_ + 8),                                        \
                                              _mm256_mul_ps(sc[1], _mm256_cvtepi32_ps(_mm256_sub_epi32(a##j##_1, pd_))))); \
  }
  EPILOGUE(0) EPILOGUE(1) EPILOGUE(2) EPILOGUE(3)
#undef EPILOGUE
}

#define PTILE_FN(H, TB)                                                                                        \
  static TGT __attribute__((noinline)) void PCAT(PFN(tile), H##_##TB)(const tl1_gemm* g, const uint8_t* w,    \
                                                                       int32_t G, int32_t r, int32_t k,       \
                                                                       int32_t a, int32_t t, const __m256 sc[2]) { \
    PFN(tile)(g, w, G, r, k, a, t, H, TB, sc);                                                                 \
  }
PTILE_FN(1, 1) PTILE_FN(1, 2) PTILE_FN(1, 3) PTILE_FN(1, 4)
PTILE_FN(2, 1) PTILE_FN(2, 2) PTILE_FN(2, 3) PTILE_FN(2, 4)
#undef PTILE_FN
static void (*const PFN(TILES)[2][4])(const tl1_gemm*, const uint8_t*, int32_t, int32_t, int32_t, int32_t, int32_t,
                                      const __m256[2]) = {
    {PCAT(PFN(tile), 1_1), PCAT(PFN(tile), 1_2), PCAT(PFN(tile), 1_3), PCAT(PFN(tile), 1_4)},
    {PCAT(PFN(tile), 2_1), PCAT(PFN(tile), 2_2), PCAT(PFN(tile), 2_3), PCAT(PFN(tile), 2_4)},
};

/* Rows r … r + 8H − 1, all tokens (as block() in ternary_panel.c). */
PAI void PFN(block)(const tl1_gemm* g, int32_t r, const int H, uint8_t* w) {
  const tl1_mat* m = g->m;
  const int32_t nT = g->nTokens, rows = m->rows, U = m->uniform;
  const size_t gs = 32 * (size_t)H;
  for (int32_t t = 0; t < nT; t++) memset(g->y + (size_t)t * rows + r, 0, sizeof(float) * 8 * (size_t)H);
  for (int32_t k = 0; k < U; k++) {
    const int32_t nc = m->segChunks[k], a = m->segAct[k], G = 32 * nc;
    const size_t rs = tl1_seg_step(m, k);
    for (int32_t ch = 0; ch < nc; ch++)
#pragma GCC unroll 2
      for (int h = 0; h < H; h++)
        PFN(unpack8)(tl1_seg_codes(m, r + 8 * h, k) + (size_t)ch * 32, rs, w + (size_t)ch * 32 * gs + 32 * (size_t)h, gs);
    panel_prefetch_next(m, r, 8 * H, k);
    __m256 sc[2];
#pragma GCC unroll 2
    for (int h = 0; h < H; h++) {
      const int32_t rh = r + 8 * h; /* a multiple of 8 */
      sc[h] = _mm256_loadu_ps(m->scale16 + ((size_t)(rh >> 4) * (size_t)U + (size_t)k) * 16 + (rh & 15));
    }
    for (int32_t t = 0; t < nT; t += 4) PFN(TILES)[H - 1][(nT - t >= 4 ? 4 : nT - t) - 1](g, w, G, r, k, a, t, sc);
  }
  for (int32_t t = 0; t < nT; t++) {
    const __m256 d = _mm256_set1_ps(g->actScales[t]);
    float* yp = g->y + (size_t)t * rows + r;
#pragma GCC unroll 2
    for (int h = 0; h < H; h++) _mm256_storeu_ps(yp + 8 * h, _mm256_div_ps(_mm256_loadu_ps(yp + 8 * h), d));
  }
}

static TGT void PFN(block16)(const tl1_gemm* g, int32_t r, uint8_t* w) { PFN(block)(g, r, 2, w); }
static TGT void PFN(block8)(const tl1_gemm* g, int32_t r, uint8_t* w) { PFN(block)(g, r, 1, w); }

int32_t PFN(tl1_ternary_panel)(const tl1_gemm* g, int32_t r0, int32_t r1) {
  const tl1_mat* m = g->m;
  if (!m->uniform || r1 - r0 < 8) return r0;
  uint8_t* w = (uint8_t*)aligned_alloc(64, (size_t)m->maxSegChunks * 32 * 64);
  if (!w) return r0;
  int32_t r = r0;
  for (; r + 16 <= r1; r += 16) PFN(block16)(g, r, w);
  if (r + 8 <= r1) {
    PFN(block8)(g, r, w);
    r += 8;
  }
  free(w);
  return r;
}

#undef PCAT2
#undef PCAT
#undef PFN
#undef PAI
