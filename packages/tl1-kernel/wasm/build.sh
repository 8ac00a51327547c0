#!/usr/bin/env bash
# Rebuild the four modules from tl1.c (deterministic output): tl1-simd.wasm and
# tl1-simd-mt.wasm (SIMD128), tl1-relaxed-simd.wasm and tl1-relaxed-simd-mt.wasm
# (SIMD128 + relaxed SIMD), after regenerating source_hash.h (the hash the modules
# export as source_hash). Needs node, clang 16 (wasm32 target) and its wasm-ld
# (Debian: apt-get install clang-16 lld-16): the bytes depend on the compiler, and
# older clangs write relaxed-SIMD opcodes from before the proposal's final numbering.
# Override the tools with CLANG=... WASM_LD=... if needed.
set -euo pipefail
cd "$(dirname "$0")"

find_tool() { # var-name candidates...
  local var=$1
  shift
  if [ -n "${!var:-}" ]; then
    command -v "${!var}" >/dev/null 2>&1 && return 0
    echo "build.sh: $var=${!var} not found" >&2
    exit 1
  fi
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then
      printf -v "$var" '%s' "$c"
      return 0
    fi
  done
  return 1
}

find_tool CLANG clang-16 ||
  { echo "build.sh: clang-16 not found. Install it: apt-get install clang-16 lld-16" >&2; exit 1; }
find_tool WASM_LD wasm-ld-16 ||
  { echo "build.sh: wasm-ld-16 not found. Install it: apt-get install lld-16" >&2; exit 1; }

if ! "$CLANG" --target=wasm32 -msimd128 -mrelaxed-simd -x c -c -o /dev/null - </dev/null 2>/dev/null; then
  echo "build.sh: $CLANG cannot target wasm32 with SIMD128 and relaxed SIMD" >&2
  exit 1
fi

node ../scripts/source-hash.mjs wasm

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# -ffp-contract=off and no -ffast-math: float ops stay exactly as written.
# No -g; the compile runs on a copy at a fixed relative name so no host path
# can end up in the object.
CFLAGS=(--target=wasm32 -O3 -msimd128 -ffreestanding -nostdlib -ffp-contract=off -fno-ident
  -fno-builtin -Wall -Wextra -Werror)
LDFLAGS=(--no-entry --import-memory --strip-all --gc-sections -z stack-size=0 --initial-memory=65536
  --export=ternary_gemm --export=dense_gemm --export=ternary_tl_bytes --export=ternary_tl_repack
  --export=ternary_tl_lut --export=ternary_tl_gemm --export=attention --export=source_hash)

cp tl1.c source_hash.h ../include/*.h "$tmp/"
(
  cd "$tmp"
  "$CLANG" "${CFLAGS[@]}" -c tl1.c -o st.o
  "$CLANG" "${CFLAGS[@]}" -matomics -mbulk-memory -c tl1.c -o mt.o
  "$CLANG" "${CFLAGS[@]}" -mrelaxed-simd -DTL1_RELAXED -c tl1.c -o rst.o
  "$CLANG" "${CFLAGS[@]}" -mrelaxed-simd -DTL1_RELAXED -matomics -mbulk-memory -c tl1.c -o rmt.o
  "$WASM_LD" "${LDFLAGS[@]}" -o tl1-simd.wasm st.o
  "$WASM_LD" "${LDFLAGS[@]}" --shared-memory --max-memory=4294967296 -o tl1-simd-mt.wasm mt.o
  "$WASM_LD" "${LDFLAGS[@]}" -o tl1-relaxed-simd.wasm rst.o
  "$WASM_LD" "${LDFLAGS[@]}" --shared-memory --max-memory=4294967296 -o tl1-relaxed-simd-mt.wasm rmt.o
)

# The kernels must not use a linear-memory stack or any data of their own
# (several instances share one memory in the MT build). Check the disassembly
# when a disassembler is available.
DIS=""
for c in llvm-objdump-16 llvm-objdump; do
  command -v "$c" >/dev/null 2>&1 && { DIS=$c; break; }
done
for w in tl1-simd.wasm tl1-simd-mt.wasm tl1-relaxed-simd.wasm tl1-relaxed-simd-mt.wasm; do
  if [ -n "$DIS" ]; then
    # Whole listings first: with pipefail, grep -q closing the pipe early would fail the check's own test.
    listing="$("$DIS" -d "$tmp/$w")"
    if grep -Eq 'global\.(get|set)' <<<"$listing"; then
      echo "build.sh: $w uses a global (stack pointer?): the kernels must not use a stack" >&2
      exit 1
    fi
    headers="$("$DIS" -h "$tmp/$w")"
    if grep -Eiq '^\s*[0-9]+\s+DATA' <<<"$headers"; then
      echo "build.sh: $w has a data section" >&2
      exit 1
    fi
  fi
  cp "$tmp/$w" "$w"
  chmod 644 "$w"
  echo "built $w ($(wc -c <"$w") bytes, sha256 $(sha256sum "$w" | cut -c1-16))"
done
[ -n "$DIS" ] || echo "build.sh: warning: llvm-objdump not found, skipped the no-stack check" >&2
