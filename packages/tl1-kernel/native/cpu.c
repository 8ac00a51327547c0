/* Run-time ISA detection: cpuid for the instruction sets, xgetbv for the OS
 * saving the AVX / AVX-512 register state. */
#include <string.h>

#include "tl1.h"

#if TL1_X86
#include <cpuid.h>

static uint64_t tl1_xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}
#endif

void tl1_cpu_detect(tl1_cpu* c) {
  memset(c, 0, sizeof *c);
  c->best = TL1_ISA_SCALAR;
#if TL1_X86
  unsigned a, b, cx, d;
  unsigned maxLeaf = __get_cpuid_max(0, 0);
  if (maxLeaf < 1) return;
  __cpuid_count(1, 0, a, b, cx, d);
  int osxsave = (cx >> 27) & 1;
  c->avx = (cx >> 28) & 1;
  c->fma = (cx >> 12) & 1;
  c->f16c = (cx >> 29) & 1;
  if (osxsave) {
    uint64_t xcr0 = tl1_xgetbv0();
    c->osAvx = (xcr0 & 0x6) == 0x6;
    c->osAvx512 = c->osAvx && (xcr0 & 0xE0) == 0xE0;
  }
  if (maxLeaf >= 7) {
    __cpuid_count(7, 0, a, b, cx, d);
    unsigned maxSub = a;
    c->avx2 = (b >> 5) & 1;
    c->avx512f = (b >> 16) & 1;
    c->avx512bw = (b >> 30) & 1;
    c->avx512vl = (b >> 31) & 1;
    c->avx512Vnni = (cx >> 11) & 1;
    c->gfni = (cx >> 8) & 1;
    if (maxSub >= 1) {
      __cpuid_count(7, 1, a, b, cx, d);
      c->avxVnni = (a >> 4) & 1;
    }
  }
  int avx2ok = c->osAvx && c->avx && c->avx2 && c->f16c;
  if (avx2ok) c->best = TL1_ISA_AVX2;
  if (avx2ok && c->avxVnni) c->best = TL1_ISA_AVXVNNI;
  if (avx2ok && c->osAvx512 && c->avx512f && c->avx512bw && c->avx512vl && c->avx512Vnni)
    c->best = c->gfni ? TL1_ISA_AVX512GFNI : TL1_ISA_AVX512VNNI;
#endif
}
