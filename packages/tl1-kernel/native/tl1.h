/* @trit/tl1-kernel native backend: shared declarations.
 * The math and memory layout are fixed by ../KERNEL.md. */
#ifndef TL1_H
#define TL1_H

#include <stddef.h>
#include <stdint.h>

/* Bind the pthread symbols that glibc 2.34 re-versioned to their original
 * versions, so a prebuilt addon made on a new distribution also loads on
 * older glibc (the remaining requirement is GLIBC_2.17). Same code in libc. */
#if defined(__GLIBC__) && defined(__x86_64__) && !defined(TL1_NO_SYMVER)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
__asm__(".symver pthread_mutex_trylock,pthread_mutex_trylock@GLIBC_2.2.5");
__asm__(".symver pthread_once,pthread_once@GLIBC_2.2.5");
#endif

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define TL1_X86 1
#else
#define TL1_X86 0
#endif

/* Ordered: each one's kernels need what every lower one needs, except that AVX-512 VNNI does not
 * imply AVX-VNNI (isa_supported in tl1.c checks each). AVX512GFNI is AVX512VNNI with GFNI for the
 * ternary GEMV's code extraction. */
enum { TL1_ISA_SCALAR = 0, TL1_ISA_AVX2 = 1, TL1_ISA_AVXVNNI = 2, TL1_ISA_AVX512VNNI = 3, TL1_ISA_AVX512GFNI = 4 };

typedef struct {
  int avx, avx2, fma, f16c, avxVnni, avx512f, avx512bw, avx512vl, avx512Vnni, gfni;
  int osAvx, osAvx512;
  int best; /* best usable TL1_ISA_* */
} tl1_cpu;

void tl1_cpu_detect(tl1_cpu* out);

/* ---- thread pool (pool.c) ---- */
typedef void (*tl1_task_fn)(void* ctx, int part, int nparts);
int tl1_pool_size(void);
int tl1_pool_resize(int n);
/* Runs fn(ctx, p, nparts) for p in [0, nparts); part 0 on the calling thread.
 * nparts is clamped to the pool size. */
void tl1_pool_run(tl1_task_fn fn, void* ctx, int nparts);

/* ---- ternary matrix (validated once in tl1.c) ---- */
typedef struct {
  const uint8_t* codes;
  const int32_t* segAct;
  const int32_t* segChunks;
  const float* segScale;
  const int32_t* rowSeg;  /* general mode */
  const int32_t* rowCode; /* general mode */
  int32_t uniform;        /* U > 0: uniform mode */
  int32_t rows;
  int32_t maxActEnd;
  int32_t nSeg;
  int64_t rowChunks;    /* uniform: chunks per row */
  size_t rowBytes;      /* uniform: 32 * rowChunks */
  int32_t* segOff;      /* uniform: byte offset of segment k inside a row (U entries) */
  int32_t maxSegChunks; /* uniform: the longest segment, in chunks (at least 1) */
  /* uniform: a copy of segScale in blocks of 16 rows, scale16[((r / 16) * U + k) * 16 + r % 16]
   * (last block padded with 0), so the 8- and 16-row tiles load a segment's scales with one
   * vector load instead of a strided gather (a gather per segment cost ~10% of a GEMV). */
  float* scale16;
  /* uniform, 8 rows or more: codes is the addon's own copy with rows below rows & ~7 in blocks of 8
   * (segment k of the block's 8 rows together, row after row), so a GEMV tile reads forward;
   * the remaining rows follow row after row, each at r * rowBytes as before */
  int32_t blocked;
} tl1_mat;

/* Codes of segment k of row r (uniform matrices). */
static inline const uint8_t* tl1_seg_codes(const tl1_mat* m, int32_t r, int32_t k) {
  if (m->blocked && r < (m->rows & ~7))
    return m->codes + (size_t)(r & ~7) * m->rowBytes + 8 * (size_t)m->segOff[k] +
           (size_t)(r & 7) * 32 * (size_t)m->segChunks[k];
  return m->codes + (size_t)r * m->rowBytes + (size_t)m->segOff[k];
}

/* From row r's codes of segment k to row r + 1's, within one block of 8 (uniform matrices). */
static inline size_t tl1_seg_step(const tl1_mat* m, int32_t k) {
  return m->blocked ? 32 * (size_t)m->segChunks[k] : m->rowBytes;
}

typedef struct {
  const tl1_mat* m;
  const int8_t* q;
  const int32_t* prefix;
  size_t qStride;
  const float* actScales;
  int32_t nTokens;
  float* y;
  const int32_t* pdT; /* uniform only: pdT[k * nTokens + t] = prefix diff of segment k, token t */
} tl1_gemm;

/* Row range [r0, r1) of the GEMM for all tokens. */
void tl1_ternary_scalar(const tl1_gemm* g, int32_t r0, int32_t r1);
#if TL1_X86
void tl1_ternary_avx2(const tl1_gemm* g, int32_t r0, int32_t r1);
void tl1_ternary_avxvnni(const tl1_gemm* g, int32_t r0, int32_t r1);
void tl1_ternary_avx512(const tl1_gemm* g, int32_t r0, int32_t r1);
void tl1_ternary_avx512gfni(const tl1_gemm* g, int32_t r0, int32_t r1);
/* Many-token GEMM (ternary_panel.c): uniform matrices only, blocks of 16 or 32 rows
 * from r0; returns the first row it left for the kernels above. */
int32_t tl1_ternary_panel_avx512(const tl1_gemm* g, int32_t r0, int32_t r1);
/* The same with 256-bit vectors in blocks of 8 or 16 rows. */
int32_t tl1_ternary_panel_avxvnni(const tl1_gemm* g, int32_t r0, int32_t r1);
#endif

/* ---- activations (activations.c) ---- */
/* Tokens [t0, t1) of X (cols floats each) to q, prefix and actScales as KERNEL.md §1 lays them out. */
void tl1_quantize_tokens(int isa, const float* X, int32_t cols, int32_t qStride, int32_t t0, int32_t t1, int8_t* q,
                         int32_t* prefix, float* actScales);

/* Rows [t0, t1) of nTokens x n floats; out may be x. */
void tl1_rms_norm(int isa, const float* x, float* out, const float* w, int32_t n, double eps, int32_t t0, int32_t t1);
/* Rotary embedding (KERNEL.md §7) of heads vectors of hd floats at x for position pos, in place. */
void tl1_rope(float* x, int32_t heads, int32_t hd, const float* cosT, const float* sinT, int neox, int32_t dims,
              int64_t pos);
/* One token's glued input (KERNEL.md §10) into out: relu2(x) * up when up is given, then
 * RMSNorm with w when given (either may be NULL). */
void tl1_glue_row(int isa, const float* x, const float* up, const float* w, double eps, int32_t n, float* out);

/* Index of the first largest of n floats, NaN skipped; 0 when none exceeds -inf. */
int32_t tl1_argmax(int isa, const float* x, int32_t n);

/* ---- dense (dense.c) ---- */
typedef struct {
  int type; /* a ggml type id of dense_types.h */
  const uint8_t* data;
  size_t rowBytes;
  int32_t rows, cols;
  const float* x;
  int32_t nTokens;
  float* y;
} tl1_dense;

void tl1_dense_scalar(const tl1_dense* d, int32_t r0, int32_t r1);
#if TL1_X86
void tl1_dense_avx2(const tl1_dense* d, int32_t r0, int32_t r1); /* needs AVX2 + F16C */
#endif

/* ---- attention (attention.c) ---- */
typedef struct {
  const float* q;     /* nTokens x heads x headDim */
  const void* keys;   /* positions x kvHeads x headDim: float, or half bits when half */
  const void* values; /* the same */
  float* out;         /* nTokens x heads x headDim */
  int32_t heads, kvHeads, headDim, start, nTokens;
  int32_t half;
  float scale;
} tl1_attention;

/* n floats stored into a cache array from element `at`: copied, or rounded to halves
 * (KERNEL.md §6: nearest, ties to even; NaN -> 0x7e00 with its sign). */
uint16_t tl1_float_to_half(float f);
void tl1_kv_store_scalar(void* cache, int half, size_t at, const float* src, size_t n);
#if TL1_X86
void tl1_kv_store_avx2(void* cache, int half, size_t at, const float* src, size_t n); /* needs AVX2 + F16C */
#endif

/* (token, head) pairs [pair0, pair1), pair = t * heads + h; s holds start + nTokens floats. */
void tl1_attention_scalar(const tl1_attention* a, int64_t pair0, int64_t pair1, float* s);
#if TL1_X86
/* s holds 4 rows of ss >= start + nTokens floats: up to 4 heads of a kv group are done together */
void tl1_attention_avx2(const tl1_attention* a, int64_t pair0, int64_t pair1, float* s, size_t ss);
#endif

uint64_t tl1_stream_scalar(const uint8_t* p, size_t n);
#if TL1_X86
uint64_t tl1_stream_avx2(const uint8_t* p, size_t n);
#endif

float tl1_half_to_float(uint16_t h);

#endif
