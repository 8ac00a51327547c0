/* @trit/tl1-kernel native backend: N-API glue, validation, ISA dispatch and
 * work splitting. The math and memory layout are fixed by ../KERNEL.md. */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dense_types.h"
#include "source_hash.h"
#include "tl1.h"

static tl1_cpu g_cpu;
static _Atomic int g_isa = TL1_ISA_SCALAR;

static const char* const ISA_NAMES[] = {"scalar", "avx2", "avxvnni", "avx512vnni", "avx512gfni"};
#define ISA_COUNT ((int)(sizeof ISA_NAMES / sizeof ISA_NAMES[0]))
#define ISA_CHOICES "'avx512gfni' | 'avx512vnni' | 'avxvnni' | 'avx2' | 'scalar' | 'auto'"

/* ------------------------------------------------------------------ errors */

static napi_value throw_fmt(napi_env env, int kind, const char* fmt, ...) {
  char buf[640];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  if (kind == 0) napi_throw_type_error(env, NULL, buf);
  else if (kind == 1) napi_throw_range_error(env, NULL, buf);
  else napi_throw_error(env, NULL, buf);
  return NULL;
}
#define TYPE_ERR(...) throw_fmt(env, 0, __VA_ARGS__)
#define RANGE_ERR(...) throw_fmt(env, 1, __VA_ARGS__)
#define PLAIN_ERR(...) throw_fmt(env, 2, __VA_ARGS__)

#define NAPI_OK(call)                                             \
  do {                                                            \
    if ((call) != napi_ok) return PLAIN_ERR("tl1: N-API call failed: %s", #call); \
  } while (0)

static const char* ta_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "TypedArray";
  }
}

static const char* js_type_name(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return "?";
  switch (t) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_object: {
      bool b = false;
      if (napi_is_typedarray(env, v, &b) == napi_ok && b) {
        napi_typedarray_type tt;
        size_t len;
        if (napi_get_typedarray_info(env, v, &tt, &len, NULL, NULL, NULL) == napi_ok) return ta_name(tt);
      }
      if (napi_is_array(env, v, &b) == napi_ok && b) return "Array";
      return "object";
    }
    case napi_function: return "function";
    case napi_external: return "external";
    case napi_bigint: return "bigint";
    default: return "?";
  }
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  return t == napi_undefined || t == napi_null;
}

/* Reads a typed array of type `want`. Returns 0 and throws on mismatch. */
static int get_ta(napi_env env, napi_value v, napi_typedarray_type want, const char* fn, const char* name, void** data,
                  size_t* len) {
  bool is = false;
  napi_typedarray_type tt;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &tt, len, data, NULL, NULL) != napi_ok || tt != want) {
    TYPE_ERR("%s: %s must be a %s, found %s", fn, name, ta_name(want), js_type_name(env, v));
    return 0;
  }
  if (*len > 0 && *data == NULL) {
    TYPE_ERR("%s: %s is detached", fn, name);
    return 0;
  }
  return 1;
}

static int get_int(napi_env env, napi_value v, const char* fn, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    TYPE_ERR("%s: %s must be a number, found %s", fn, name, js_type_name(env, v));
    return 0;
  }
  if (!(d == floor(d)) || d < (double)lo || d > (double)hi) {
    RANGE_ERR("%s: %s must be an integer in [%lld, %lld], found %.17g", fn, name, (long long)lo, (long long)hi, d);
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_double(env, (double)v, &r);
  return r;
}

static napi_value make_undefined(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

/* --------------------------------------------------------------- cpu / isa */

static int isa_supported(int isa) {
  switch (isa) {
    case TL1_ISA_SCALAR: return 1;
    case TL1_ISA_AVX2: return g_cpu.best >= TL1_ISA_AVX2;
    case TL1_ISA_AVXVNNI: return g_cpu.best >= TL1_ISA_AVX2 && g_cpu.avxVnni;
    case TL1_ISA_AVX512VNNI: return g_cpu.best >= TL1_ISA_AVX512VNNI;
    case TL1_ISA_AVX512GFNI: return g_cpu.best == TL1_ISA_AVX512GFNI;
    default: return 0;
  }
}

static napi_value set_bool(napi_env env, napi_value obj, const char* key, int v) {
  napi_value b;
  napi_get_boolean(env, v != 0, &b);
  napi_set_named_property(env, obj, key, b);
  return obj;
}

static napi_value js_cpuFeatures(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o, s;
  NAPI_OK(napi_create_object(env, &o));
  const int avxOs = g_cpu.osAvx, z = g_cpu.osAvx512;
  set_bool(env, o, "avx2", g_cpu.avx2 && avxOs);
  set_bool(env, o, "fma", g_cpu.fma && avxOs);
  set_bool(env, o, "f16c", g_cpu.f16c && avxOs);
  set_bool(env, o, "avxVnni", g_cpu.avxVnni && avxOs);
  set_bool(env, o, "avx512f", g_cpu.avx512f && z);
  set_bool(env, o, "avx512bw", g_cpu.avx512bw && z);
  set_bool(env, o, "avx512vl", g_cpu.avx512vl && z);
  set_bool(env, o, "avx512Vnni", g_cpu.avx512Vnni && z);
  set_bool(env, o, "gfni", g_cpu.gfni);
  NAPI_OK(napi_create_string_utf8(env, ISA_NAMES[atomic_load(&g_isa)], NAPI_AUTO_LENGTH, &s));
  NAPI_OK(napi_set_named_property(env, o, "isa", s));
  return o;
}

static napi_value js_setIsa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int isa = -1;
  char name[32] = "";
  if (argc < 1 || is_nullish(env, argv[0])) {
    isa = g_cpu.best;
  } else {
    napi_valuetype t;
    size_t n = 0;
    if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string ||
        napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok)
      return TYPE_ERR("setIsa: name must be a string (" ISA_CHOICES "), found %s",
                      js_type_name(env, argv[0]));
    if (strcmp(name, "auto") == 0) isa = g_cpu.best;
    for (int i = 0; i < ISA_COUNT; i++)
      if (strcmp(name, ISA_NAMES[i]) == 0) isa = i;
    if (isa < 0)
      return RANGE_ERR("setIsa: unknown ISA '%s' (expected " ISA_CHOICES ")", name);
    if (!isa_supported(isa))
      return RANGE_ERR("setIsa: ISA '%s' is not supported on this CPU (best available: '%s')", name,
                       ISA_NAMES[g_cpu.best]);
  }
  atomic_store(&g_isa, isa);
  napi_value s;
  NAPI_OK(napi_create_string_utf8(env, ISA_NAMES[isa], NAPI_AUTO_LENGTH, &s));
  return s;
}

/* ----------------------------------------------------------------- threads */

static napi_value js_setThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t n;
  if (argc < 1) return TYPE_ERR("setThreads: n must be a number, found undefined");
  if (!get_int(env, argv[0], "setThreads", "n", 1, 256, &n)) return NULL;
  return make_int(env, tl1_pool_resize((int)n));
}

static napi_value js_getThreads(napi_env env, napi_callback_info info) {
  (void)info;
  return make_int(env, tl1_pool_size());
}

/* The SHA-256 of the sources this binary was built from (scripts/source-hash.mjs).
 * The prefix lets a test find it in the file's bytes without loading the addon. */
#define SOURCE_HASH_PREFIX "tl1-source-sha256:"
static const char g_sourceHash[] = SOURCE_HASH_PREFIX TL1_SOURCE_HASH;

static napi_value js_sourceHash(napi_env env, napi_callback_info info) {
  (void)info;
  const size_t skip = sizeof SOURCE_HASH_PREFIX - 1;
  napi_value r;
  NAPI_OK(napi_create_string_utf8(env, g_sourceHash + skip, sizeof g_sourceHash - 1 - skip, &r));
  return r;
}

/* ---------------------------------------------------------- prepared matrix */

enum { A_CODES, A_SEGACT, A_SEGCHUNKS, A_SEGSCALE, A_ROWSEG, A_ROWCODE, A_N };
static const char* const A_NAMES[A_N] = {"codes", "segAct", "segChunks", "segScale", "rowSeg", "rowCode"};

#define HANDLE_MAGIC 0x544c3148u /* 'TL1H' */
static const napi_type_tag HANDLE_TAG = {0x8a1f3c5e7b2d4f60ULL, 0x1c0d2e3f4a5b6c7dULL};

typedef struct {
  uint32_t magic;
  tl1_mat m;
  napi_ref ref[A_N];
  const void* ptr[A_N];
  size_t len[A_N];
  uint8_t* ownCodes; /* the blocked copy (tl1_mat.blocked), or NULL */
} tl1_handle;

static void handle_free(napi_env env, tl1_handle* h) {
  if (!h) return;
  for (int i = 0; i < A_N; i++)
    if (h->ref[i]) napi_delete_reference(env, h->ref[i]);
  free(h->m.segOff);
  free(h->m.scale16);
  free(h->ownCodes);
  h->magic = 0;
  free(h);
}

static void handle_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  handle_free(env, (tl1_handle*)data);
}

static int check_segment(napi_env env, const tl1_mat* m, int32_t k, int64_t maxActEnd) {
  const int32_t a = m->segAct[k], c = m->segChunks[k];
  if (a < 0) {
    RANGE_ERR("ternaryPrepare: segAct[%d]: expected >= 0, found %d", k, a);
    return 0;
  }
  if (c < 0) {
    RANGE_ERR("ternaryPrepare: segChunks[%d]: expected >= 0, found %d", k, c);
    return 0;
  }
  if ((int64_t)a + 128 * (int64_t)c > maxActEnd) {
    RANGE_ERR("ternaryPrepare: segment %d: expected segAct + 128*segChunks <= maxActEnd (%lld), found %d + 128*%d = %lld",
              k, (long long)maxActEnd, a, c, (long long)((int64_t)a + 128 * (int64_t)c));
    return 0;
  }
  return 1;
}

static napi_value js_ternaryPrepare(napi_env env, napi_callback_info info) {
  static const char* FN = "ternaryPrepare";
  size_t argc = 9;
  napi_value argv[9];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9)
    return TYPE_ERR("%s: expected 9 arguments (codes, segAct, segChunks, segScale, rowSeg, rowCode, uniform, rows, "
                    "maxActEnd), found %zu", FN, argc);
  void* p[A_N] = {0};
  size_t len[A_N] = {0};
  static const napi_typedarray_type T[A_N] = {napi_uint8_array, napi_int32_array, napi_int32_array,
                                              napi_float32_array, napi_int32_array, napi_int32_array};
  for (int i = 0; i < A_N; i++) {
    if ((i == A_ROWSEG || i == A_ROWCODE) && is_nullish(env, argv[i])) continue;
    if (!get_ta(env, argv[i], T[i], FN, A_NAMES[i], &p[i], &len[i])) return NULL;
  }
  int64_t U, rows, maxActEnd;
  if (!get_int(env, argv[6], FN, "uniform", 0, 1 << 24, &U)) return NULL;
  if (!get_int(env, argv[7], FN, "rows", 0, INT32_MAX - 1, &rows)) return NULL;
  if (!get_int(env, argv[8], FN, "maxActEnd", 0, INT32_MAX - 1, &maxActEnd)) return NULL;

  tl1_mat m;
  memset(&m, 0, sizeof m);
  m.codes = (const uint8_t*)p[A_CODES];
  m.segAct = (const int32_t*)p[A_SEGACT];
  m.segChunks = (const int32_t*)p[A_SEGCHUNKS];
  m.segScale = (const float*)p[A_SEGSCALE];
  m.uniform = (int32_t)U;
  m.rows = (int32_t)rows;
  m.maxActEnd = (int32_t)maxActEnd;
  const size_t codesLen = len[A_CODES];

  if (U > 0) {
    if (len[A_SEGACT] != (size_t)U)
      return RANGE_ERR("%s: segAct.length: expected %lld (uniform), found %zu", FN, (long long)U, len[A_SEGACT]);
    if (len[A_SEGCHUNKS] != (size_t)U)
      return RANGE_ERR("%s: segChunks.length: expected %lld (uniform), found %zu", FN, (long long)U, len[A_SEGCHUNKS]);
    if ((uint64_t)len[A_SEGSCALE] != (uint64_t)rows * (uint64_t)U)
      return RANGE_ERR("%s: segScale.length: expected %llu (rows*uniform = %lld*%lld), found %zu", FN,
                       (unsigned long long)((uint64_t)rows * (uint64_t)U), (long long)rows, (long long)U, len[A_SEGSCALE]);
    m.nSeg = (int32_t)U;
    int64_t chunks = 0;
    m.maxSegChunks = 1;
    for (int32_t k = 0; k < m.nSeg; k++) {
      if (!check_segment(env, &m, k, maxActEnd)) return NULL;
      chunks += m.segChunks[k];
      if (m.segChunks[k] > m.maxSegChunks) m.maxSegChunks = m.segChunks[k];
    }
    if (chunks * 32 > INT32_MAX)
      return RANGE_ERR("%s: a row has %lld chunks; expected at most %d", FN, (long long)chunks, INT32_MAX / 32);
    m.rowChunks = chunks;
    m.rowBytes = (size_t)chunks * 32;
    const uint64_t need = (uint64_t)rows * (uint64_t)m.rowBytes;
    if ((uint64_t)codesLen < need)
      return RANGE_ERR("%s: codes.length: expected >= %llu (rows*32*sum(segChunks) = %lld*%zu), found %zu", FN,
                       (unsigned long long)need, (long long)rows, m.rowBytes, codesLen);
    /* rowSeg / rowCode are not used in uniform mode; if given they must still be Int32Arrays (checked above). */
    p[A_ROWSEG] = p[A_ROWCODE] = NULL;
    len[A_ROWSEG] = len[A_ROWCODE] = 0;
  } else {
    if (!p[A_ROWSEG] && len[A_ROWSEG] == 0 && is_nullish(env, argv[A_ROWSEG]))
      return TYPE_ERR("%s: rowSeg must be an Int32Array in general mode (uniform = 0), found %s", FN,
                      js_type_name(env, argv[A_ROWSEG]));
    if (is_nullish(env, argv[A_ROWCODE]))
      return TYPE_ERR("%s: rowCode must be an Int32Array in general mode (uniform = 0), found %s", FN,
                      js_type_name(env, argv[A_ROWCODE]));
    if (len[A_SEGACT] > (size_t)INT32_MAX)
      return RANGE_ERR("%s: segAct.length: expected <= %d, found %zu", FN, INT32_MAX, len[A_SEGACT]);
    const size_t nSeg = len[A_SEGACT];
    if (len[A_SEGCHUNKS] != nSeg)
      return RANGE_ERR("%s: segChunks.length: expected %zu (= segAct.length), found %zu", FN, nSeg, len[A_SEGCHUNKS]);
    if (len[A_SEGSCALE] != nSeg)
      return RANGE_ERR("%s: segScale.length: expected %zu (= segAct.length), found %zu", FN, nSeg, len[A_SEGSCALE]);
    if (len[A_ROWSEG] != (size_t)rows + 1)
      return RANGE_ERR("%s: rowSeg.length: expected %lld (rows + 1), found %zu", FN, (long long)rows + 1, len[A_ROWSEG]);
    if (len[A_ROWCODE] != (size_t)rows + 1)
      return RANGE_ERR("%s: rowCode.length: expected %lld (rows + 1), found %zu", FN, (long long)rows + 1,
                       len[A_ROWCODE]);
    m.nSeg = (int32_t)nSeg;
    m.rowSeg = (const int32_t*)p[A_ROWSEG];
    m.rowCode = (const int32_t*)p[A_ROWCODE];
    for (int32_t k = 0; k < m.nSeg; k++)
      if (!check_segment(env, &m, k, maxActEnd)) return NULL;
    if (m.rowSeg[0] < 0) return RANGE_ERR("%s: rowSeg[0]: expected >= 0, found %d", FN, m.rowSeg[0]);
    if (m.rowCode[0] < 0) return RANGE_ERR("%s: rowCode[0]: expected >= 0, found %d", FN, m.rowCode[0]);
    for (int32_t r = 0; r < m.rows; r++) {
      const int32_t s0 = m.rowSeg[r], s1 = m.rowSeg[r + 1];
      if (s1 < s0 || s1 > m.nSeg)
        return RANGE_ERR("%s: rowSeg[%d]: expected in [rowSeg[%d] = %d, %d], found %d", FN, r + 1, r, s0, m.nSeg, s1);
      int64_t bytes = 0;
      for (int32_t k = s0; k < s1; k++) bytes += 32 * (int64_t)m.segChunks[k];
      const int64_t end = (int64_t)m.rowCode[r] + bytes;
      if ((int64_t)m.rowCode[r + 1] < end)
        return RANGE_ERR("%s: rowCode[%d]: expected >= rowCode[%d] + 32*chunks(row %d) = %lld, found %d", FN, r + 1, r,
                         r, (long long)end, m.rowCode[r + 1]);
    }
    if ((uint64_t)m.rowCode[m.rows] > (uint64_t)codesLen)
      return RANGE_ERR("%s: rowCode[%d]: expected <= codes.length (%zu), found %d", FN, m.rows, codesLen,
                       m.rowCode[m.rows]);
  }

  tl1_handle* h = (tl1_handle*)calloc(1, sizeof *h);
  if (!h) return PLAIN_ERR("%s: out of memory", FN);
  h->magic = HANDLE_MAGIC;
  if (U > 0) {
    m.segOff = (int32_t*)malloc(sizeof(int32_t) * (size_t)U);
    if (!m.segOff) {
      free(h);
      return PLAIN_ERR("%s: out of memory", FN);
    }
    int64_t off = 0;
    for (int32_t k = 0; k < m.uniform; k++) {
      m.segOff[k] = (int32_t)off;
      off += 32 * (int64_t)m.segChunks[k];
    }
    const size_t blocks = ((size_t)m.rows + 15) / 16;
    m.scale16 = (float*)calloc(blocks > 0 ? blocks * 16 * (size_t)U : 1, sizeof(float)); /* never calloc(0) */
    if (!m.scale16) {
      free(m.segOff);
      free(h);
      return PLAIN_ERR("%s: out of memory", FN);
    }
    for (int32_t r = 0; r < m.rows; r++)
      for (int32_t k = 0; k < U; k++)
        m.scale16[((size_t)(r / 16) * (size_t)U + (size_t)k) * 16 + (size_t)(r % 16)] =
            m.segScale[(size_t)r * (size_t)U + (size_t)k];
    /* The blocked copy of the codes (tl1_mat.blocked): the GEMV tiles then read forward, which
     * streamed from memory 6-10% faster than 8 rows read side by side. The caller's codes are
     * not kept. Each segment of each row goes where tl1_seg_codes looks for it. */
    const size_t bytes = (size_t)m.rows * m.rowBytes;
    if (m.rows >= 8 && bytes > 0) {
      h->ownCodes = (uint8_t*)aligned_alloc(64, (bytes + 63) & ~(size_t)63);
      if (!h->ownCodes) {
        free(m.segOff);
        free(m.scale16);
        free(h);
        return PLAIN_ERR("%s: out of memory", FN);
      }
      tl1_mat blocked = m;
      blocked.codes = h->ownCodes;
      blocked.blocked = 1;
      for (int32_t r = 0; r < m.rows; r++)
        for (int32_t k = 0; k < U; k++)
          memcpy((uint8_t*)tl1_seg_codes(&blocked, r, k), tl1_seg_codes(&m, r, k), 32 * (size_t)m.segChunks[k]);
      m = blocked;
    }
  }
  h->m = m;
  for (int i = 0; i < A_N; i++) {
    h->ptr[i] = p[i];
    h->len[i] = len[i];
    if (p[i] == NULL && len[i] == 0 && (i == A_ROWSEG || i == A_ROWCODE)) continue;
    if (i == A_CODES && h->ownCodes) continue; /* copied: the caller's array may go */
    if (napi_create_reference(env, argv[i], 1, &h->ref[i]) != napi_ok) {
      handle_free(env, h);
      return PLAIN_ERR("%s: napi_create_reference failed", FN);
    }
  }
  napi_value ext;
  if (napi_create_external(env, h, handle_finalize, NULL, &ext) != napi_ok) {
    handle_free(env, h);
    return PLAIN_ERR("%s: napi_create_external failed", FN);
  }
  napi_type_tag_object(env, ext, &HANDLE_TAG);
  return ext;
}

/* Checks the handle and that the arrays it keeps were not detached/resized. */
static tl1_handle* get_handle(napi_env env, napi_value v, const char* fn) {
  napi_valuetype t;
  void* data = NULL;
  bool tagged = false;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &HANDLE_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, &data) != napi_ok || !data || ((tl1_handle*)data)->magic != HANDLE_MAGIC) {
    TYPE_ERR("%s: handle must be a value returned by ternaryPrepare, found %s", fn, js_type_name(env, v));
    return NULL;
  }
  tl1_handle* h = (tl1_handle*)data;
  for (int i = 0; i < A_N; i++) {
    if (!h->ref[i]) continue;
    napi_value arr;
    void* d = NULL;
    size_t n = 0;
    napi_typedarray_type tt;
    if (napi_get_reference_value(env, h->ref[i], &arr) != napi_ok || arr == NULL ||
        napi_get_typedarray_info(env, arr, &tt, &n, &d, NULL, NULL) != napi_ok || d != h->ptr[i] || n != h->len[i]) {
      PLAIN_ERR("%s: the prepared %s array was detached or resized since ternaryPrepare; prepare again", fn,
                A_NAMES[i]);
      return NULL;
    }
  }
  return h;
}

/* ---------------------------------------------------------------- ternary */

#define MAX_PARTS 256

typedef struct {
  const tl1_gemm* g;
  int isa;
  int32_t bounds[MAX_PARTS + 1];
} ternary_job;

/* From this many tokens on, uniform matrices take the panel GEMM, and row
 * splits fall on multiples of its 32-row blocks. */
#define PANEL_MIN_TOKENS 4

static void run_ternary(int isa, const tl1_gemm* g, int32_t r0, int32_t r1) {
  switch (isa) {
#if TL1_X86
    case TL1_ISA_AVX512GFNI: /* the panels widen codes once per panel: GFNI would not pay there */
      if (g->nTokens >= PANEL_MIN_TOKENS) r0 = tl1_ternary_panel_avx512(g, r0, r1);
      tl1_ternary_avx512gfni(g, r0, r1);
      break;
    case TL1_ISA_AVX512VNNI:
      if (g->nTokens >= PANEL_MIN_TOKENS) r0 = tl1_ternary_panel_avx512(g, r0, r1);
      tl1_ternary_avx512(g, r0, r1);
      break;
    case TL1_ISA_AVXVNNI:
      if (g->nTokens >= PANEL_MIN_TOKENS) r0 = tl1_ternary_panel_avxvnni(g, r0, r1);
      tl1_ternary_avxvnni(g, r0, r1);
      break;
    case TL1_ISA_AVX2: tl1_ternary_avx2(g, r0, r1); break;
#endif
    default: tl1_ternary_scalar(g, r0, r1); break;
  }
}

static void ternary_task(void* ctx, int p, int np) {
  ternary_job* j = (ternary_job*)ctx;
  if (p >= np) return;
  run_ternary(j->isa, j->g, j->bounds[p], j->bounds[p + 1]);
}

/* Minimum work per thread, scaled by TL1_MIN_PART_WORK (a factor; 0 splits even
 * tiny jobs across all threads: used by dev-check to exercise the pool). */
static double g_workScale = 1.0;

static int parts_for(double work, double minPerPart) {
  int n = tl1_pool_size();
  minPerPart *= g_workScale;
  if (minPerPart <= 0.0) return n > MAX_PARTS ? MAX_PARTS : n;
  double want = work / minPerPart;
  if (want < (double)n) n = want < 1.0 ? 1 : (int)want;
  if (n > MAX_PARTS) n = MAX_PARTS;
  return n < 1 ? 1 : n;
}

/* Row splits of a uniform matrix fall on multiples of this (the tile or panel height); the
 * tiles' and panels' scale16 loads rely on it (tl1.h). */
static int64_t ternary_row_align(int64_t nT) { return nT >= PANEL_MIN_TOKENS ? 32 : 8; }

/* For a uniform matrix, g->pdT = each segment's activation sum per token (allocated; the caller
 * frees it); *work = the job's size for parts_for. Returns 0 when out of memory. */
static int ternary_segment_sums(tl1_gemm* g, double* work) {
  const tl1_mat* m = g->m;
  const int64_t nT = g->nTokens;
  g->pdT = NULL;
  if (!m->uniform) {
    *work = ((double)(m->rowCode[m->rows] - m->rowCode[0]) / 32.0 + (double)m->rows) * (double)nT;
    return 1;
  }
  const int32_t U = m->uniform;
  int32_t* pd = (int32_t*)malloc(sizeof(int32_t) * (size_t)U * (size_t)nT + 16);
  if (!pd) return 0;
  for (int32_t k = 0; k < U; k++) {
    const size_t a = (size_t)m->segAct[k], e = a + 128 * (size_t)m->segChunks[k];
    for (int64_t t = 0; t < nT; t++) {
      const int32_t* pt = g->prefix + (size_t)t * (g->qStride + 1);
      pd[(size_t)k * (size_t)nT + (size_t)t] = (int32_t)((uint32_t)pt[e] - (uint32_t)pt[a]);
    }
  }
  g->pdT = pd;
  *work = (double)m->rows * ((double)m->rowChunks + 1.0) * (double)nT;
  return 1;
}

static napi_value js_ternaryGemm(napi_env env, napi_callback_info info) {
  static const char* FN = "ternaryGemm";
  size_t argc = 7;
  napi_value argv[7];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7)
    return TYPE_ERR("%s: expected 7 arguments (handle, q, prefix, qStride, actScales, nTokens, y), found %zu", FN, argc);
  tl1_handle* h = get_handle(env, argv[0], FN);
  if (!h) return NULL;
  const tl1_mat* m = &h->m;
  void *q, *prefix, *as, *y;
  size_t qLen, pLen, aLen, yLen;
  int64_t qStride, nT;
  if (!get_ta(env, argv[1], napi_int8_array, FN, "q", &q, &qLen)) return NULL;
  if (!get_ta(env, argv[2], napi_int32_array, FN, "prefix", &prefix, &pLen)) return NULL;
  if (!get_int(env, argv[3], FN, "qStride", 0, INT32_MAX - 1, &qStride)) return NULL;
  if (!get_ta(env, argv[4], napi_float32_array, FN, "actScales", &as, &aLen)) return NULL;
  if (!get_int(env, argv[5], FN, "nTokens", 0, INT32_MAX, &nT)) return NULL;
  if (!get_ta(env, argv[6], napi_float32_array, FN, "y", &y, &yLen)) return NULL;
  if (qStride < m->maxActEnd)
    return RANGE_ERR("%s: qStride: expected >= maxActEnd (%d), found %lld", FN, m->maxActEnd, (long long)qStride);
  const uint64_t needQ = (uint64_t)nT * (uint64_t)qStride;
  const uint64_t needP = (uint64_t)nT * (uint64_t)(qStride + 1);
  const uint64_t needY = (uint64_t)nT * (uint64_t)m->rows;
  if ((uint64_t)qLen < needQ)
    return RANGE_ERR("%s: q.length: expected >= nTokens*qStride = %llu, found %zu", FN, (unsigned long long)needQ, qLen);
  if ((uint64_t)pLen < needP)
    return RANGE_ERR("%s: prefix.length: expected >= nTokens*(qStride+1) = %llu, found %zu", FN,
                     (unsigned long long)needP, pLen);
  if ((uint64_t)aLen < (uint64_t)nT)
    return RANGE_ERR("%s: actScales.length: expected >= nTokens = %lld, found %zu", FN, (long long)nT, aLen);
  if ((uint64_t)yLen < needY)
    return RANGE_ERR("%s: y.length: expected >= nTokens*rows = %llu, found %zu", FN, (unsigned long long)needY, yLen);
  if (nT == 0 || m->rows == 0) return make_undefined(env);

  tl1_gemm g;
  g.m = m;
  g.q = (const int8_t*)q;
  g.prefix = (const int32_t*)prefix;
  g.qStride = (size_t)qStride;
  g.actScales = (const float*)as;
  g.nTokens = (int32_t)nT;
  g.y = (float*)y;
  g.pdT = NULL;

  const int isa = atomic_load(&g_isa);
  /* Copy q to a 64-byte aligned buffer when it is not: JS allocations are
   * usually only 8/16-byte aligned and unaligned 32/64-byte loads that split
   * cache lines cost up to 2x in the GEMM inner loop. */
  void* qCopy = NULL;
  if (((uintptr_t)q & 63) != 0 && isa != TL1_ISA_SCALAR) {
    const size_t bytes = (size_t)nT * (size_t)qStride;
    qCopy = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (qCopy) {
      memcpy(qCopy, q, bytes);
      g.q = (const int8_t*)qCopy;
    }
  }
  double work;
  if (!ternary_segment_sums(&g, &work)) {
    free(qCopy);
    return PLAIN_ERR("%s: out of memory", FN);
  }
  int32_t* const pd = (int32_t*)g.pdT;

  ternary_job job;
  job.g = &g;
  job.isa = isa;
  const int np = parts_for(work, 8192.0);
  job.bounds[0] = 0;
  job.bounds[np] = m->rows;
  for (int p = 1; p < np; p++) {
    int32_t b;
    if (m->uniform) {
      b = (int32_t)(((int64_t)m->rows * p / np) & ~(ternary_row_align(nT) - 1));
    } else { /* balance code bytes: first row whose codes start at or after the target */
      const int64_t c0 = m->rowCode[0], c1 = m->rowCode[m->rows];
      const int64_t target = c0 + (c1 - c0) * p / np;
      int32_t lo = 0, hi = m->rows;
      while (lo < hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        if ((int64_t)m->rowCode[mid] < target) lo = mid + 1;
        else hi = mid;
      }
      b = lo;
    }
    if (b < job.bounds[p - 1]) b = job.bounds[p - 1];
    job.bounds[p] = b;
  }
  tl1_pool_run(ternary_task, &job, np);
  free(pd);
  free(qCopy);
  return make_undefined(env);
}

/* Several matrices over the same quantized tokens (Q, K, V; gate, up) in one pool dispatch: their
 * rows are laid end to end and the parts split that sequence, so small matrices (K and V) no longer
 * run on one thread each, and the pool is woken once. Every row is computed as ternaryGemm would. */
#define MAX_MANY 8

typedef struct {
  int n, isa;
  tl1_gemm g[MAX_MANY];
  int32_t bounds[MAX_MANY][MAX_PARTS + 1]; /* part p takes rows [bounds[i][p], bounds[i][p+1]) of matrix i */
} ternary_many_job;

static void ternary_many_task(void* ctx, int p, int np) {
  const ternary_many_job* j = (const ternary_many_job*)ctx;
  if (p >= np) return;
  for (int i = 0; i < j->n; i++)
    if (j->bounds[i][p] < j->bounds[i][p + 1]) run_ternary(j->isa, &j->g[i], j->bounds[i][p], j->bounds[i][p + 1]);
}

static napi_value js_ternaryGemmMany(napi_env env, napi_callback_info info) {
  static const char* FN = "ternaryGemmMany";
  size_t argc = 7;
  napi_value argv[7];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7)
    return TYPE_ERR("%s: expected 7 arguments (handles, q, prefix, qStride, actScales, nTokens, ys), found %zu", FN,
                    argc);
  bool isArray = false;
  uint32_t n = 0, nY = 0;
  if (napi_is_array(env, argv[0], &isArray) != napi_ok || !isArray || napi_get_array_length(env, argv[0], &n) != napi_ok)
    return TYPE_ERR("%s: handles must be an array, found %s", FN, js_type_name(env, argv[0]));
  if (napi_is_array(env, argv[6], &isArray) != napi_ok || !isArray || napi_get_array_length(env, argv[6], &nY) != napi_ok)
    return TYPE_ERR("%s: ys must be an array, found %s", FN, js_type_name(env, argv[6]));
  if (n < 1 || n > MAX_MANY) return RANGE_ERR("%s: handles.length: expected 1 to %d, found %u", FN, MAX_MANY, n);
  if (nY != n) return RANGE_ERR("%s: ys.length: expected %u (one per handle), found %u", FN, n, nY);
  void *q, *prefix, *as;
  size_t qLen, pLen, aLen;
  int64_t qStride, nT;
  if (!get_ta(env, argv[1], napi_int8_array, FN, "q", &q, &qLen)) return NULL;
  if (!get_ta(env, argv[2], napi_int32_array, FN, "prefix", &prefix, &pLen)) return NULL;
  if (!get_int(env, argv[3], FN, "qStride", 0, INT32_MAX - 1, &qStride)) return NULL;
  if (!get_ta(env, argv[4], napi_float32_array, FN, "actScales", &as, &aLen)) return NULL;
  if (!get_int(env, argv[5], FN, "nTokens", 0, INT32_MAX, &nT)) return NULL;
  const uint64_t needQ = (uint64_t)nT * (uint64_t)qStride;
  const uint64_t needP = (uint64_t)nT * (uint64_t)(qStride + 1);
  if ((uint64_t)qLen < needQ)
    return RANGE_ERR("%s: q.length: expected >= nTokens*qStride = %llu, found %zu", FN, (unsigned long long)needQ, qLen);
  if ((uint64_t)pLen < needP)
    return RANGE_ERR("%s: prefix.length: expected >= nTokens*(qStride+1) = %llu, found %zu", FN,
                     (unsigned long long)needP, pLen);
  if ((uint64_t)aLen < (uint64_t)nT)
    return RANGE_ERR("%s: actScales.length: expected >= nTokens = %lld, found %zu", FN, (long long)nT, aLen);

  ternary_many_job* job = (ternary_many_job*)calloc(1, sizeof *job);
  if (!job) return PLAIN_ERR("%s: out of memory", FN);
  job->n = (int)n;
  job->isa = atomic_load(&g_isa);
  for (uint32_t i = 0; i < n; i++) {
    napi_value hv, yv;
    char what[32];
    NAPI_OK(napi_get_element(env, argv[0], i, &hv));
    NAPI_OK(napi_get_element(env, argv[6], i, &yv));
    snprintf(what, sizeof what, "ys[%u]", i);
    tl1_handle* h = get_handle(env, hv, FN);
    void* y;
    size_t yLen;
    if (!h || !get_ta(env, yv, napi_float32_array, FN, what, &y, &yLen)) {
      free(job);
      return NULL;
    }
    const tl1_mat* m = &h->m;
    if (qStride < m->maxActEnd) {
      free(job);
      return RANGE_ERR("%s: qStride: expected >= maxActEnd of handles[%u] (%d), found %lld", FN, i, m->maxActEnd,
                       (long long)qStride);
    }
    const uint64_t needY = (uint64_t)nT * (uint64_t)m->rows;
    if ((uint64_t)yLen < needY) {
      free(job);
      return RANGE_ERR("%s: ys[%u].length: expected >= nTokens*rows = %llu, found %zu", FN, i,
                       (unsigned long long)needY, yLen);
    }
    tl1_gemm* g = &job->g[i];
    g->m = m;
    g->q = (const int8_t*)q;
    g->prefix = (const int32_t*)prefix;
    g->qStride = (size_t)qStride;
    g->actScales = (const float*)as;
    g->nTokens = (int32_t)nT;
    g->y = (float*)y;
    g->pdT = NULL;
  }
  napi_value result = make_undefined(env);
  if (nT == 0) {
    free(job);
    return result;
  }
  /* as ternaryGemm: q 64-byte aligned for the SIMD loads */
  void* qCopy = NULL;
  if (((uintptr_t)q & 63) != 0 && job->isa != TL1_ISA_SCALAR) {
    const size_t bytes = (size_t)nT * (size_t)qStride;
    qCopy = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (qCopy) {
      memcpy(qCopy, q, bytes);
      for (int i = 0; i < job->n; i++) job->g[i].q = (const int8_t*)qCopy;
    }
  }
  double work = 0.0, w[MAX_MANY];
  int ok = 1;
  for (int i = 0; i < job->n && ok; i++) {
    ok = ternary_segment_sums(&job->g[i], &w[i]);
    work += w[i];
  }
  if (ok) {
    /* Part p takes the work from work·p/np on; inside a matrix, at the row where that falls
     * (rounded down to the tile height for uniform ones, to a row start by code bytes otherwise). */
    const int np = parts_for(work, 8192.0);
    double before = 0.0;
    for (int i = 0; i < job->n; i++) {
      const tl1_mat* m = job->g[i].m;
      int32_t* b = job->bounds[i];
      b[0] = 0;
      b[np] = m->rows;
      for (int p = 1; p < np; p++) {
        const double at = work * p / np - before; /* this matrix's share before the cut */
        int64_t r = at <= 0.0 ? 0 : at >= w[i] ? m->rows : (int64_t)((double)m->rows * (at / w[i]));
        if (m->uniform) r &= ~(ternary_row_align(nT) - 1);
        else {
          const int64_t c0 = m->rowCode[0], c1 = m->rowCode[m->rows];
          const int64_t target = c0 + (int64_t)((double)(c1 - c0) * (r / (double)(m->rows ? m->rows : 1)));
          int32_t lo = 0, hi = m->rows;
          while (lo < hi) {
            const int32_t mid = lo + (hi - lo) / 2;
            if ((int64_t)m->rowCode[mid] < target) lo = mid + 1;
            else hi = mid;
          }
          r = lo;
        }
        if (r < b[p - 1]) r = b[p - 1];
        if (r > m->rows) r = m->rows;
        b[p] = (int32_t)r;
      }
      before += w[i];
    }
    tl1_pool_run(ternary_many_task, job, np);
  } else {
    result = PLAIN_ERR("%s: out of memory", FN);
  }
  for (int i = 0; i < job->n; i++) free((void*)job->g[i].pdT);
  free(qCopy);
  free(job);
  return result;
}

/* ------------------------------------------------------------ activations */

typedef struct {
  const float* X;
  int32_t cols, qStride, nTokens;
  int8_t* q;
  int32_t* prefix;
  float* actScales;
  int isa;
  /* the glue (KERNEL.md §10), or NULLs: each part builds a token's input in its row of rows */
  const float *up, *w;
  double eps;
  float* rows;
} quantize_job;

static void quantize_task(void* ctx, int p, int np) {
  const quantize_job* j = (const quantize_job*)ctx;
  const int32_t t0 = (int32_t)((int64_t)j->nTokens * p / np), t1 = (int32_t)((int64_t)j->nTokens * (p + 1) / np);
  if (!j->up && !j->w) {
    tl1_quantize_tokens(j->isa, j->X, j->cols, j->qStride, t0, t1, j->q, j->prefix, j->actScales);
    return;
  }
  float* row = j->rows + (size_t)p * (size_t)j->cols;
  for (int32_t t = t0; t < t1; t++) {
    const size_t at = (size_t)t * (size_t)j->cols;
    tl1_glue_row(j->isa, j->X + at, j->up ? j->up + at : NULL, j->w, j->eps, j->cols, row);
    tl1_quantize_tokens(j->isa, row, j->cols, j->qStride, 0, 1, j->q + (size_t)t * (size_t)j->qStride,
                        j->prefix + (size_t)t * ((size_t)j->qStride + 1), j->actScales + t);
  }
}

/* quantizeTokens(X, nTokens, cols, qStride, q, prefix, actScales), and quantizeGlued: the same
 * and (up, activation, weight, eps), the glue of KERNEL.md §10 */
static napi_value quantize_impl(napi_env env, napi_callback_info info, const int glued) {
  const char* FN = glued ? "quantizeGlued" : "quantizeTokens";
  size_t argc = 11;
  napi_value argv[11];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < (glued ? 11u : 7u))
    return TYPE_ERR(glued ? "%s: expected 11 arguments (X, nTokens, cols, qStride, q, prefix, actScales, up, activation, "
                            "weight, eps), found %zu"
                          : "%s: expected 7 arguments (X, nTokens, cols, qStride, q, prefix, actScales), found %zu",
                    FN, argc);
  void *X, *q, *prefix, *as;
  size_t xLen, qLen, pLen, aLen;
  int64_t nT, cols, qStride;
  if (!get_ta(env, argv[0], napi_float32_array, FN, "X", &X, &xLen)) return NULL;
  if (!get_int(env, argv[1], FN, "nTokens", 0, INT32_MAX, &nT)) return NULL;
  if (!get_int(env, argv[2], FN, "cols", 0, INT32_MAX - 1, &cols)) return NULL;
  if (!get_int(env, argv[3], FN, "qStride", 0, INT32_MAX - 1, &qStride)) return NULL;
  if (!get_ta(env, argv[4], napi_int8_array, FN, "q", &q, &qLen)) return NULL;
  if (!get_ta(env, argv[5], napi_int32_array, FN, "prefix", &prefix, &pLen)) return NULL;
  if (!get_ta(env, argv[6], napi_float32_array, FN, "actScales", &as, &aLen)) return NULL;
  if (qStride < cols) return RANGE_ERR("%s: qStride: expected >= cols (%lld), found %lld", FN, (long long)cols, (long long)qStride);
  const uint64_t needX = (uint64_t)nT * (uint64_t)cols, needQ = (uint64_t)nT * (uint64_t)qStride;
  const uint64_t needP = (uint64_t)nT * (uint64_t)(qStride + 1);
  if ((uint64_t)xLen < needX)
    return RANGE_ERR("%s: X.length: expected >= nTokens*cols = %llu, found %zu", FN, (unsigned long long)needX, xLen);
  if ((uint64_t)qLen < needQ)
    return RANGE_ERR("%s: q.length: expected >= nTokens*qStride = %llu, found %zu", FN, (unsigned long long)needQ, qLen);
  if ((uint64_t)pLen < needP)
    return RANGE_ERR("%s: prefix.length: expected >= nTokens*(qStride+1) = %llu, found %zu", FN,
                     (unsigned long long)needP, pLen);
  if ((uint64_t)aLen < (uint64_t)nT)
    return RANGE_ERR("%s: actScales.length: expected >= nTokens = %lld, found %zu", FN, (long long)nT, aLen);
  quantize_job job = {(const float*)X, (int32_t)cols, (int32_t)qStride, (int32_t)nT, (int8_t*)q, (int32_t*)prefix,
                      (float*)as, atomic_load(&g_isa), NULL, NULL, 0.0, NULL};
  if (glued) { /* up (or null) with activation 1 = relu2, then weight (or null) and eps */
    void *up = NULL, *w = NULL;
    size_t upLen = 0, wLen = 0;
    int64_t act;
    if (!is_nullish(env, argv[7]) && !get_ta(env, argv[7], napi_float32_array, FN, "up", &up, &upLen)) return NULL;
    if (!get_int(env, argv[8], FN, "activation", 0, 1, &act)) return NULL;
    if (!is_nullish(env, argv[9]) && !get_ta(env, argv[9], napi_float32_array, FN, "weight", &w, &wLen)) return NULL;
    if (napi_get_value_double(env, argv[10], &job.eps) != napi_ok || !(job.eps >= 0))
      return TYPE_ERR("%s: eps: expected a number >= 0", FN);
    if ((up != NULL) != (act == 1))
      return RANGE_ERR("%s: activation: expected 1 (relu2) with up and 0 without, found %lld", FN, (long long)act);
    if (up && (uint64_t)upLen < needX)
      return RANGE_ERR("%s: up.length: expected >= nTokens*cols = %llu, found %zu", FN, (unsigned long long)needX, upLen);
    if (w && (uint64_t)wLen < (uint64_t)cols)
      return RANGE_ERR("%s: weight.length: expected >= cols = %lld, found %zu", FN, (long long)cols, wLen);
    job.up = (const float*)up;
    job.w = (const float*)w;
  }
  int np = parts_for((double)nT * (double)(qStride + 16), 65536.0);
  if (np > nT) np = nT > 0 ? (int)nT : 1;
  if (job.up || job.w) {
    job.rows = (float*)malloc(sizeof(float) * ((size_t)cols > 0 ? (size_t)cols : 1) * (size_t)np);
    if (!job.rows) return PLAIN_ERR("%s: out of memory", FN);
  }
  tl1_pool_run(quantize_task, &job, np);
  free(job.rows);
  return make_undefined(env);
}

static napi_value js_quantizeTokens(napi_env env, napi_callback_info info) { return quantize_impl(env, info, 0); }
static napi_value js_quantizeGlued(napi_env env, napi_callback_info info) { return quantize_impl(env, info, 1); }

typedef struct {
  const float *x, *w;
  float* out;
  int32_t n, nTokens;
  double eps;
  int isa;
} norm_job;

static void norm_task(void* ctx, int p, int np) {
  const norm_job* j = (const norm_job*)ctx;
  tl1_rms_norm(j->isa, j->x, j->out, j->w, j->n, j->eps, (int32_t)((int64_t)j->nTokens * p / np),
               (int32_t)((int64_t)j->nTokens * (p + 1) / np));
}

static napi_value js_rmsNorm(napi_env env, napi_callback_info info) {
  static const char* FN = "rmsNorm";
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return TYPE_ERR("%s: expected 6 arguments (x, out, weight, nTokens, n, eps), found %zu", FN, argc);
  void *x, *out, *w;
  size_t xLen, oLen, wLen;
  int64_t nT, n;
  double eps;
  if (!get_ta(env, argv[0], napi_float32_array, FN, "x", &x, &xLen)) return NULL;
  if (!get_ta(env, argv[1], napi_float32_array, FN, "out", &out, &oLen)) return NULL;
  if (!get_ta(env, argv[2], napi_float32_array, FN, "weight", &w, &wLen)) return NULL;
  if (!get_int(env, argv[3], FN, "nTokens", 0, INT32_MAX, &nT)) return NULL;
  if (!get_int(env, argv[4], FN, "n", 1, INT32_MAX, &n)) return NULL;
  if (napi_get_value_double(env, argv[5], &eps) != napi_ok)
    return TYPE_ERR("%s: eps: expected a number, found %s", FN, js_type_name(env, argv[5]));
  const uint64_t need = (uint64_t)nT * (uint64_t)n;
  if ((uint64_t)xLen < need) return RANGE_ERR("%s: x.length: expected >= nTokens*n = %llu, found %zu", FN, (unsigned long long)need, xLen);
  if ((uint64_t)oLen < need) return RANGE_ERR("%s: out.length: expected >= nTokens*n = %llu, found %zu", FN, (unsigned long long)need, oLen);
  if ((uint64_t)wLen < (uint64_t)n) return RANGE_ERR("%s: weight.length: expected >= n = %lld, found %zu", FN, (long long)n, wLen);
  norm_job job = {(const float*)x, (const float*)w, (float*)out, (int32_t)n, (int32_t)nT, eps, atomic_load(&g_isa)};
  const int np = parts_for((double)need, 16384.0);
  tl1_pool_run(norm_task, &job, np < nT ? np : (nT > 0 ? (int)nT : 1));
  return make_undefined(env);
}

static napi_value js_argmax(napi_env env, napi_callback_info info) {
  static const char* FN = "argmax";
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return TYPE_ERR("%s: expected 2 arguments (values, count), found %zu", FN, argc);
  void* x;
  size_t xLen;
  int64_t n;
  if (!get_ta(env, argv[0], napi_float32_array, FN, "values", &x, &xLen)) return NULL;
  if (!get_int(env, argv[1], FN, "count", 0, INT32_MAX, &n)) return NULL;
  if ((uint64_t)xLen < (uint64_t)n) return RANGE_ERR("%s: values.length: expected >= count = %lld, found %zu", FN, (long long)n, xLen);
  napi_value r;
  NAPI_OK(napi_create_int32(env, tl1_argmax(atomic_load(&g_isa), (const float*)x, (int32_t)n), &r));
  return r;
}

/* ------------------------------------------------------------------ dense */

typedef struct {
  const tl1_dense* d;
  int isa;
  int32_t bounds[MAX_PARTS + 1];
} dense_job;

static void dense_task(void* ctx, int p, int np) {
  dense_job* j = (dense_job*)ctx;
  if (p >= np) return;
#if TL1_X86
  if (j->isa != TL1_ISA_SCALAR) {
    tl1_dense_avx2(j->d, j->bounds[p], j->bounds[p + 1]);
    return;
  }
#endif
  tl1_dense_scalar(j->d, j->bounds[p], j->bounds[p + 1]);
}

static napi_value js_denseGemm(napi_env env, napi_callback_info info) {
  static const char* FN = "denseGemm";
  size_t argc = 7;
  napi_value argv[7];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) return TYPE_ERR("%s: expected 7 arguments (type, data, rows, cols, x, nTokens, y), found %zu", FN, argc);
  int64_t type, rows, cols, nT;
  void *data, *x, *y;
  size_t dLen, xLen, yLen;
  if (!get_int(env, argv[0], FN, "type", 0, 255, &type)) return NULL;
  const char* typeName;
  int64_t blockElements, blockBytes;
  switch (type) {
#define DENSE_TYPE_CASE(ID, NAME, ELEMENTS, BYTES) \
  case ID:                                        \
    typeName = NAME;                              \
    blockElements = ELEMENTS;                     \
    blockBytes = BYTES;                           \
    break;
    TL1_DENSE_TYPES(DENSE_TYPE_CASE)
#undef DENSE_TYPE_CASE
    default:
      return RANGE_ERR("%s: type: expected %s, found %lld", FN, TL1_DENSE_TYPE_IDS, (long long)type);
  }
  if (!get_ta(env, argv[1], napi_uint8_array, FN, "data", &data, &dLen)) return NULL;
  if (!get_int(env, argv[2], FN, "rows", 0, INT32_MAX, &rows)) return NULL;
  if (!get_int(env, argv[3], FN, "cols", 0, INT32_MAX / 4, &cols)) return NULL;
  if (!get_ta(env, argv[4], napi_float32_array, FN, "x", &x, &xLen)) return NULL;
  if (!get_int(env, argv[5], FN, "nTokens", 0, INT32_MAX, &nT)) return NULL;
  if (!get_ta(env, argv[6], napi_float32_array, FN, "y", &y, &yLen)) return NULL;
  if (cols % blockElements != 0)
    return RANGE_ERR("%s: cols: expected a multiple of %lld for %s, found %lld", FN, (long long)blockElements, typeName,
                     (long long)cols);
  const size_t rowBytes = (size_t)(cols / blockElements) * (size_t)blockBytes;
  const uint64_t needD = (uint64_t)rows * (uint64_t)rowBytes;
  if ((uint64_t)dLen < needD)
    return RANGE_ERR("%s: data.length: expected >= %llu (rows*rowBytes = %lld*%zu), found %zu", FN,
                     (unsigned long long)needD, (long long)rows, rowBytes, dLen);
  const uint64_t needX = (uint64_t)nT * (uint64_t)cols, needY = (uint64_t)nT * (uint64_t)rows;
  if ((uint64_t)xLen < needX)
    return RANGE_ERR("%s: x.length: expected >= nTokens*cols = %llu, found %zu", FN, (unsigned long long)needX, xLen);
  if ((uint64_t)yLen < needY)
    return RANGE_ERR("%s: y.length: expected >= nTokens*rows = %llu, found %zu", FN, (unsigned long long)needY, yLen);
  if (nT == 0 || rows == 0) return make_undefined(env);

  tl1_dense d;
  d.type = (int)type;
  d.data = (const uint8_t*)data;
  d.rowBytes = rowBytes;
  d.rows = (int32_t)rows;
  d.cols = (int32_t)cols;
  d.x = (const float*)x;
  d.nTokens = (int32_t)nT;
  d.y = (float*)y;
  dense_job job;
  job.d = &d;
  job.isa = atomic_load(&g_isa);
  const int np = parts_for((double)rows * ((double)cols + 32.0) * (double)nT, 65536.0);
  for (int p = 0; p <= np; p++) job.bounds[p] = (int32_t)((int64_t)rows * p / np);
  tl1_pool_run(dense_task, &job, np);
  return make_undefined(env);
}

/* -------------------------------------------------------------- attention */

typedef struct {
  const tl1_attention* a;
  int isa;
  int64_t bounds[MAX_PARTS + 1];
  float* scores; /* 4 rows of scoreStride >= start + nTokens floats per part */
  size_t scoreStride;
} attention_job;

static void attention_task(void* ctx, int p, int np) {
  attention_job* j = (attention_job*)ctx;
  if (p >= np) return;
  float* s = j->scores + (size_t)p * 4 * j->scoreStride;
#if TL1_X86
  if (j->isa != TL1_ISA_SCALAR) {
    tl1_attention_avx2(j->a, j->bounds[p], j->bounds[p + 1], s, j->scoreStride);
    return;
  }
#endif
  tl1_attention_scalar(j->a, j->bounds[p], j->bounds[p + 1], s);
}

static napi_value js_attention(napi_env env, napi_callback_info info) {
  static const char* FN = "attention";
  size_t argc = 16;
  napi_value argv[16];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10 || (argc > 12 && argc != 16))
    return TYPE_ERR("%s: expected 10 to 12 arguments (q, keys, values, out, heads, kvHeads, headDim, start, nTokens, scale"
                    "[, newKeys, newValues]) or 16 (and ropeCos, ropeSin, ropeMode, ropeDims), found %zu", FN, argc);
  void *q, *k, *v, *o, *nk = NULL, *nv = NULL;
  size_t qLen, kLen, vLen, oLen, nkLen = 0, nvLen = 0;
  int64_t heads, kvHeads, hd, start, nT;
  double scale;
  if (!get_ta(env, argv[0], napi_float32_array, FN, "q", &q, &qLen)) return NULL;
  /* the cache: float32, or half bits in a Uint16Array; values of the keys' type */
  bool isTa = false;
  napi_typedarray_type kt = napi_float32_array;
  if (napi_is_typedarray(env, argv[1], &isTa) == napi_ok && isTa)
    NAPI_OK(napi_get_typedarray_info(env, argv[1], &kt, NULL, NULL, NULL, NULL));
  if (kt != napi_uint16_array) kt = napi_float32_array;
  if (!get_ta(env, argv[1], kt, FN, "keys", &k, &kLen)) return NULL;
  if (!get_ta(env, argv[2], kt, FN, "values", &v, &vLen)) return NULL;
  const int half = kt == napi_uint16_array;
  const int withNew = argc >= 12 && !is_nullish(env, argv[10]) && !is_nullish(env, argv[11]);
  if (argc >= 12 && !withNew && (!is_nullish(env, argv[10]) || !is_nullish(env, argv[11])))
    return TYPE_ERR("%s: newKeys and newValues: expected both or neither", FN);
  if (withNew) {
    if (!get_ta(env, argv[10], napi_float32_array, FN, "newKeys", &nk, &nkLen)) return NULL;
    if (!get_ta(env, argv[11], napi_float32_array, FN, "newValues", &nv, &nvLen)) return NULL;
  }
  if (!get_ta(env, argv[3], napi_float32_array, FN, "out", &o, &oLen)) return NULL;
  if (!get_int(env, argv[4], FN, "heads", 1, 65536, &heads)) return NULL;
  if (!get_int(env, argv[5], FN, "kvHeads", 1, 65536, &kvHeads)) return NULL;
  if (!get_int(env, argv[6], FN, "headDim", 1, 65536, &hd)) return NULL;
  if (!get_int(env, argv[7], FN, "start", 0, INT32_MAX / 2, &start)) return NULL;
  if (!get_int(env, argv[8], FN, "nTokens", 1, INT32_MAX / 2, &nT)) return NULL;
  if (napi_get_value_double(env, argv[9], &scale) != napi_ok || !isfinite(scale))
    return TYPE_ERR("%s: scale: expected a finite number", FN);
  if (heads % kvHeads != 0)
    return RANGE_ERR("%s: heads: expected a multiple of kvHeads (%lld), found %lld", FN, (long long)kvHeads,
                     (long long)heads);
  const uint64_t needQ = (uint64_t)nT * (uint64_t)heads * (uint64_t)hd;
  const uint64_t needKv = (uint64_t)(start + nT) * (uint64_t)kvHeads * (uint64_t)hd;
  if ((uint64_t)qLen < needQ) return RANGE_ERR("%s: q.length: expected >= %llu, found %zu", FN, (unsigned long long)needQ, qLen);
  if ((uint64_t)oLen < needQ)
    return RANGE_ERR("%s: out.length: expected >= %llu, found %zu", FN, (unsigned long long)needQ, oLen);
  if ((uint64_t)kLen < needKv)
    return RANGE_ERR("%s: keys.length: expected >= %llu, found %zu", FN, (unsigned long long)needKv, kLen);
  if ((uint64_t)vLen < needKv)
    return RANGE_ERR("%s: values.length: expected >= %llu, found %zu", FN, (unsigned long long)needKv, vLen);
  const uint64_t needNew = (uint64_t)nT * (uint64_t)kvHeads * (uint64_t)hd;
  if (withNew && (uint64_t)nkLen < needNew)
    return RANGE_ERR("%s: newKeys.length: expected >= %llu, found %zu", FN, (unsigned long long)needNew, nkLen);
  if (withNew && (uint64_t)nvLen < needNew)
    return RANGE_ERR("%s: newValues.length: expected >= %llu, found %zu", FN, (unsigned long long)needNew, nvLen);
  if (argc == 16 && !is_nullish(env, argv[12])) { /* rotary tables: q and newKeys rotated in place first */
    void *rc, *rs;
    size_t rcLen, rsLen;
    int64_t mode, dims;
    if (!get_ta(env, argv[12], napi_float32_array, FN, "ropeCos", &rc, &rcLen)) return NULL;
    if (!get_ta(env, argv[13], napi_float32_array, FN, "ropeSin", &rs, &rsLen)) return NULL;
    if (!get_int(env, argv[14], FN, "ropeMode", 0, 1, &mode)) return NULL;
    if (!get_int(env, argv[15], FN, "ropeDims", 2, hd, &dims)) return NULL;
    if (dims % 2 != 0) return RANGE_ERR("%s: ropeDims: expected an even number, found %lld", FN, (long long)dims);
    const uint64_t needR = (uint64_t)(start + nT) * (uint64_t)(dims / 2);
    if ((uint64_t)rcLen < needR || (uint64_t)rsLen < needR)
      return RANGE_ERR("%s: ropeCos/ropeSin length: expected >= (start + nTokens) * ropeDims / 2 = %llu, found %zu, %zu",
                       FN, (unsigned long long)needR, rcLen, rsLen);
    for (int64_t t = 0; t < nT; t++) {
      tl1_rope((float*)q + (size_t)t * (size_t)heads * (size_t)hd, (int32_t)heads, (int32_t)hd, (const float*)rc,
               (const float*)rs, (int)mode, (int32_t)dims, start + t);
      if (withNew)
        tl1_rope((float*)nk + (size_t)t * (size_t)kvHeads * (size_t)hd, (int32_t)kvHeads, (int32_t)hd, (const float*)rc,
                 (const float*)rs, (int)mode, (int32_t)dims, start + t);
    }
  }
  const int attIsa = atomic_load(&g_isa);
  if (withNew) {
    const size_t at = (size_t)start * (size_t)kvHeads * (size_t)hd;
#if TL1_X86
    if (attIsa != TL1_ISA_SCALAR) {
      tl1_kv_store_avx2(k, half, at, (const float*)nk, (size_t)needNew);
      tl1_kv_store_avx2(v, half, at, (const float*)nv, (size_t)needNew);
    } else
#endif
    {
      tl1_kv_store_scalar(k, half, at, (const float*)nk, (size_t)needNew);
      tl1_kv_store_scalar(v, half, at, (const float*)nv, (size_t)needNew);
    }
  }

  tl1_attention a;
  a.q = (const float*)q;
  a.keys = k;
  a.values = v;
  a.half = half;
  a.out = (float*)o;
  a.heads = (int32_t)heads;
  a.kvHeads = (int32_t)kvHeads;
  a.headDim = (int32_t)hd;
  a.start = (int32_t)start;
  a.nTokens = (int32_t)nT;
  a.scale = (float)scale;
  attention_job job;
  job.a = &a;
  job.isa = attIsa;
  const int64_t pairs = nT * heads;
  const double work = (double)pairs * ((double)start + (double)nT * 0.5 + 1.0) * ((double)hd * 2.0 + 8.0);
  int np = parts_for(work, 32768.0);
  if (np > pairs) np = (int)pairs;
  /* Parts take whole units of `sub` heads of one kv group (which read the same keys and values once):
   * the largest such unit that still splits evenly, or into at least 4 units per part. */
  const int64_t group = heads / kvHeads;
  int64_t sub = 1;
  for (int64_t d = group; d > 1; d--) {
    const int64_t units = pairs / d;
    if (group % d == 0 && (units % np == 0 || units >= 4 * (int64_t)np)) {
      sub = d;
      break;
    }
  }
  const int64_t units = pairs / sub;
  job.scoreStride = (size_t)(start + nT + 7) & ~(size_t)7;
  job.scores = (float*)malloc(sizeof(float) * 4 * job.scoreStride * (size_t)np);
  if (!job.scores) return RANGE_ERR("%s: cannot allocate %zu score floats", FN, 4 * job.scoreStride * (size_t)np);
  for (int p = 0; p <= np; p++) job.bounds[p] = sub * (units * p / np);
  tl1_pool_run(attention_task, &job, np);
  free(job.scores);
  return make_undefined(env);
}

/* ------------------------------------------------------------- streamSum */

typedef struct {
  const uint8_t* p;
  size_t n;
  int isa;
  uint64_t part[MAX_PARTS];
} stream_job;

static void stream_task(void* ctx, int p, int np) {
  stream_job* j = (stream_job*)ctx;
  if (p >= np) return;
  /* 4 KiB-aligned split, so the checksum does not depend on the part count */
  const size_t pages = (j->n + 4095) / 4096;
  size_t b0 = pages * (size_t)p / (size_t)np * 4096, b1 = pages * (size_t)(p + 1) / (size_t)np * 4096;
  if (b0 > j->n) b0 = j->n;
  if (b1 > j->n) b1 = j->n;
#if TL1_X86
  if (j->isa != TL1_ISA_SCALAR) {
    j->part[p] = tl1_stream_avx2(j->p + b0, b1 - b0);
    return;
  }
#endif
  j->part[p] = tl1_stream_scalar(j->p + b0, b1 - b0);
}

static napi_value js_streamSum(napi_env env, napi_callback_info info) {
  static const char* FN = "streamSum";
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return TYPE_ERR("%s: data must be a Uint8Array, found undefined", FN);
  void* data;
  size_t n;
  int64_t threads = 1;
  if (!get_ta(env, argv[0], napi_uint8_array, FN, "data", &data, &n)) return NULL;
  if (argc >= 2 && !is_nullish(env, argv[1]) && !get_int(env, argv[1], FN, "threads", 1, 256, &threads)) return NULL;
  stream_job job;
  job.p = (const uint8_t*)data;
  job.n = n;
  job.isa = atomic_load(&g_isa);
  int np = (int)threads;
  if (np > tl1_pool_size()) np = tl1_pool_size();
  memset(job.part, 0, sizeof job.part);
  tl1_pool_run(stream_task, &job, np);
  uint64_t s = 0;
  for (int p = 0; p < np; p++) s += job.part[p];
  napi_value r;
  NAPI_OK(napi_create_double(env, (double)(s & ((1ULL << 53) - 1)), &r));
  return r;
}

/* ------------------------------------------------------------------- init */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void global_init(void) {
  const char* e = getenv("TL1_MIN_PART_WORK");
  if (e && *e) g_workScale = atof(e);
  tl1_cpu_detect(&g_cpu);
  atomic_store(&g_isa, g_cpu.best);
}

NAPI_MODULE_INIT() {
  pthread_once(&g_once, global_init);
  napi_property_descriptor props[] = {
      {"cpuFeatures", NULL, js_cpuFeatures, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setIsa", NULL, js_setIsa, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, js_setThreads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getThreads", NULL, js_getThreads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ternaryPrepare", NULL, js_ternaryPrepare, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ternaryGemm", NULL, js_ternaryGemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ternaryGemmMany", NULL, js_ternaryGemmMany, NULL, NULL, NULL, napi_enumerable, NULL},
      {"quantizeTokens", NULL, js_quantizeTokens, NULL, NULL, NULL, napi_enumerable, NULL},
      {"quantizeGlued", NULL, js_quantizeGlued, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rmsNorm", NULL, js_rmsNorm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"argmax", NULL, js_argmax, NULL, NULL, NULL, napi_enumerable, NULL},
      {"denseGemm", NULL, js_denseGemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"attention", NULL, js_attention, NULL, NULL, NULL, napi_enumerable, NULL},
      {"streamSum", NULL, js_streamSum, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sourceHash", NULL, js_sourceHash, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
