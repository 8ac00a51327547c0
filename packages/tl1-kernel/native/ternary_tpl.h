/* Ternary GEMV/GEMM template, included once per SIMD ISA by ternary.c.
 *
 * The includer defines:
 *   SFX                 function-name suffix
 *   TGT                 __attribute__((target(...)))
 *   VACC                accumulator vector type (int32 lanes)
 *   CONSTS_DECL         declares the constants the macros below use
 *   ACC_ZERO()          zero accumulator
 *   CODES_DECL(p)       loads the 32-byte chunk at p and declares its code vectors
 *   DOT_STEP(acc, q)    acc += codes · q[0..127] (exact int32)
 *   FOLD(acc)           VACC -> __m256i whose lane sum is the dot
 *   TREE8(acc)          8 VACC -> __m256i of their 8 lane sums
 *
 * Integer sums are exact, so any order gives the same dot; the float epilogue
 * follows KERNEL.md §3 exactly (segments ascending, mul then add, one div). */

#define TCAT2(a, b) a##_##b
#define TCAT(a, b) TCAT2(a, b)
#define FN(name) TCAT(name, SFX)
#define TL1_AI static inline __attribute__((always_inline)) TGT

TL1_AI int32_t FN(hsum256)(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

#ifndef TL1_PF_AHEAD
#define TL1_PF_AHEAD 49152 /* bytes of codes requested ahead of the tile being read */
#endif

/* lane i of the result = sum of the lanes of a[i] */
TL1_AI __m256i FN(tree8)(const __m256i* a) {
  const __m256i s01 = _mm256_hadd_epi32(a[0], a[1]);
  const __m256i s23 = _mm256_hadd_epi32(a[2], a[3]);
  const __m256i s45 = _mm256_hadd_epi32(a[4], a[5]);
  const __m256i s67 = _mm256_hadd_epi32(a[6], a[7]);
  const __m256i s0123 = _mm256_hadd_epi32(s01, s23);
  const __m256i s4567 = _mm256_hadd_epi32(s45, s67);
  const __m256i lo = _mm256_permute2x128_si256(s0123, s4567, 0x20);
  const __m256i hi = _mm256_permute2x128_si256(s0123, s4567, 0x31);
  return _mm256_add_epi32(lo, hi);
}

/* dots of one segment (nc chunks at c) against T token vectors q[j] */
TL1_AI void FN(segdot)(const uint8_t* c, const int8_t* const* q, const int T, int32_t nc, int32_t* out) {
  CONSTS_DECL
  VACC acc[4];
#pragma GCC unroll 4
  for (int j = 0; j < T; j++) acc[j] = ACC_ZERO();
  for (int32_t ch = 0; ch < nc; ch++) {
    CODES_DECL(c + (size_t)ch * 32)
#pragma GCC unroll 4
    for (int j = 0; j < T; j++) DOT_STEP(acc[j], q[j] + (size_t)ch * 128);
  }
#pragma GCC unroll 4
  for (int j = 0; j < T; j++) out[j] = FN(hsum256)(FOLD(acc[j]));
}

/* Any mode: rows [r0, r1), tokens [t0, t1), one row at a time. */
static TGT void FN(rows_simple)(const tl1_gemm* g, int32_t r0, int32_t r1, int32_t t0, int32_t t1) {
  const tl1_mat* m = g->m;
  const int32_t rows = m->rows;
  for (int32_t r = r0; r < r1; r++) {
    int32_t k0, k1;
    const uint8_t* rc;
    const float* sc;
    if (m->uniform) {
      k0 = 0;
      k1 = m->uniform;
      rc = m->codes + (size_t)r * m->rowBytes;
      sc = m->segScale + (size_t)r * (size_t)m->uniform;
    } else {
      k0 = m->rowSeg[r];
      k1 = m->rowSeg[r + 1];
      rc = m->codes + m->rowCode[r];
      sc = m->segScale;
    }
    int32_t t = t0;
    for (; t < t1; t += 4) {
      const int T = t1 - t >= 4 ? 4 : 1;
      if (T == 1) {
        /* one token at a time for the (< 4) remaining tokens */
        for (; t < t1; t++) {
          const int8_t* qt = g->q + (size_t)t * g->qStride;
          const int32_t* pt = g->prefix + (size_t)t * (g->qStride + 1);
          const uint8_t* cp = rc;
          float sum = 0.0f;
          for (int32_t k = k0; k < k1; k++) {
            const int32_t a = m->segAct[k], nc = m->segChunks[k];
            if (m->uniform) cp = tl1_seg_codes(m, r, k);
            const int8_t* qq[1] = {qt + a};
            int32_t dot;
            FN(segdot)(cp, qq, 1, nc, &dot);
            const int32_t acc = (int32_t)((uint32_t)dot - ((uint32_t)pt[(size_t)a + 128 * (size_t)nc] - (uint32_t)pt[a]));
            const float s = sc[k] * (float)acc;
            sum = sum + s;
            cp += (size_t)nc * 32;
          }
          g->y[(size_t)t * rows + r] = sum / g->actScales[t];
        }
        break;
      }
      const int8_t* qt[4];
      const int32_t* pt[4];
      float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      for (int j = 0; j < 4; j++) {
        qt[j] = g->q + (size_t)(t + j) * g->qStride;
        pt[j] = g->prefix + (size_t)(t + j) * (g->qStride + 1);
      }
      const uint8_t* cp = rc;
      for (int32_t k = k0; k < k1; k++) {
        const int32_t a = m->segAct[k], nc = m->segChunks[k];
        if (m->uniform) cp = tl1_seg_codes(m, r, k);
        const int8_t* qq[4] = {qt[0] + a, qt[1] + a, qt[2] + a, qt[3] + a};
        int32_t dot[4];
        FN(segdot)(cp, qq, 4, nc, dot);
        const float scale = sc[k];
        for (int j = 0; j < 4; j++) {
          const int32_t acc = (int32_t)((uint32_t)dot[j] - ((uint32_t)pt[j][(size_t)a + 128 * (size_t)nc] - (uint32_t)pt[j][a]));
          const float s = scale * (float)acc;
          sum[j] = sum[j] + s;
        }
        cp += (size_t)nc * 32;
      }
      for (int j = 0; j < 4; j++) g->y[(size_t)(t + j) * rows + r] = sum[j] / g->actScales[t + j];
    }
  }
}

/* Uniform mode register tile: RB rows x TB tokens, RB*TB == 8.
 * Lane l = i*TB + j holds row r+i, token t+j. r is a multiple of 8: uniform row
 * ranges start at one (ternary_row_align in tl1.c), and tiles step by 8 from there. */
TL1_AI void FN(tile)(const tl1_gemm* g, int32_t r, int32_t t, const int RB, const int TB) {
  CONSTS_DECL
  const tl1_mat* m = g->m;
  const int32_t U = m->uniform;
  const int32_t nT = g->nTokens;
  const size_t rb = m->rowBytes;
  const size_t qs = g->qStride;
  const uint8_t* rowp = m->codes + (size_t)r * rb;
  const int8_t* qbase = g->q + (size_t)t * qs;
  const float* scp = m->segScale + (size_t)r * (size_t)U;
  /* A uniform matrix's rows lie back to back, so the tiles read one forward stream of
   * codes; each segment step requests its share of the bytes TL1_PF_AHEAD past the
   * tile (whole rows of short rows are only a few lines each, too short for
   * per-row prefetching to reach far enough ahead), stopping at the codes' end. */
  const size_t tileBytes = (size_t)RB * rb;
  const size_t pfStep = (tileBytes + (size_t)U - 1) / (size_t)U;
  const uint8_t* pfBase = rowp + tileBytes + TL1_PF_AHEAD;
  const uint8_t* pfEnd = m->codes + (size_t)m->rows * rb;
  __m256 sumv = _mm256_setzero_ps();
  for (int32_t k = 0; k < U; k++) {
    const uint8_t* cp = tl1_seg_codes(m, r, k);
    const size_t rs = tl1_seg_step(m, k);
    const int8_t* qp = qbase + m->segAct[k];
    const int32_t nc = m->segChunks[k];
    VACC acc[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) acc[i] = ACC_ZERO();
    for (const uint8_t* p = pfBase + (size_t)k * pfStep, *e = p + pfStep; p < e && p < pfEnd; p += 64)
      _mm_prefetch((const char*)p, _MM_HINT_T0);
    for (int32_t ch = 0; ch < nc; ch++) {
#pragma GCC unroll 8
      for (int i = 0; i < RB; i++) {
        CODES_DECL(cp + (size_t)i * rs + (size_t)ch * 32)
#pragma GCC unroll 4
        for (int j = 0; j < TB; j++) DOT_STEP(acc[i * TB + j], qp + (size_t)j * qs + (size_t)ch * 128);
      }
    }
    const __m256i dots = TREE8(acc);
    __m256i pdv;
    __m256 scv;
    if (TB == 1) {
      pdv = _mm256_set1_epi32(g->pdT[(size_t)k * nT + t]);
      scv = _mm256_loadu_ps(m->scale16 + ((size_t)(r >> 4) * (size_t)U + (size_t)k) * 16 + (r & 15));
    } else { /* RB == 2, TB == 4 */
      pdv = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)(g->pdT + (size_t)k * nT + t)));
      scv = _mm256_set_m128(_mm_set1_ps(scp[U + k]), _mm_set1_ps(scp[k]));
    }
    const __m256i accv = _mm256_sub_epi32(dots, pdv);
    const __m256 prod = _mm256_mul_ps(scv, _mm256_cvtepi32_ps(accv));
    sumv = _mm256_add_ps(sumv, prod);
  }
  const int32_t rows = m->rows;
  if (TB == 1) {
    const __m256 yv = _mm256_div_ps(sumv, _mm256_set1_ps(g->actScales[t]));
    _mm256_storeu_ps(g->y + (size_t)t * rows + r, yv);
  } else {
    const __m128 a4 = _mm_loadu_ps(g->actScales + t);
    const __m256 yv = _mm256_div_ps(sumv, _mm256_set_m128(a4, a4));
    float tmp[8];
    _mm256_storeu_ps(tmp, yv);
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 4; j++) g->y[(size_t)(t + j) * rows + r + i] = tmp[i * 4 + j];
  }
}

static TGT void FN(tile81)(const tl1_gemm* g, int32_t r, int32_t t) { FN(tile)(g, r, t, 8, 1); }
static TGT void FN(tile24)(const tl1_gemm* g, int32_t r, int32_t t) { FN(tile)(g, r, t, 2, 4); }

static TGT void FN(tl1_ternary_impl)(const tl1_gemm* g, int32_t r0, int32_t r1) {
  if (r1 <= r0) return;
  const int32_t nT = g->nTokens;
  if (!g->m->uniform) {
    FN(rows_simple)(g, r0, r1, 0, nT);
    return;
  }
  /* Row blocks whose codes (about 16 KiB) stay in L1 while all token groups
   * pass over them; inside, 2x4 tiles for groups of 4 tokens, 8x1 for the rest. */
  const int32_t full = r0 + (r1 - r0) / 8 * 8;
  const size_t rb = g->m->rowBytes ? g->m->rowBytes : 1;
  int32_t blk = (int32_t)(16384 / rb) / 8 * 8;
  if (blk < 8) blk = 8;
  if (blk > 128) blk = 128;
  if (nT < 4) blk = 8;
  for (int32_t b0 = r0; b0 < full; b0 += blk) {
    const int32_t b1 = b0 + blk < full ? b0 + blk : full;
    int32_t t = 0;
    for (; t + 4 <= nT; t += 4)
      for (int32_t r = b0; r < b1; r += 2) FN(tile24)(g, r, t);
    for (; t < nT; t++)
      for (int32_t r = b0; r < b1; r += 8) FN(tile81)(g, r, t);
  }
  if (full < r1) FN(rows_simple)(g, full, r1, 0, nT);
}

#undef TL1_AI
#undef FN
#undef TCAT
#undef TCAT2
