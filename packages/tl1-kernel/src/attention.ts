/**
 * Causal multi-head attention over an f32 KV cache (KERNEL.md §6). Every
 * step is a float32 operation in a fixed order, so this JS version and the
 * native AVX2 one give the same bits: dot products in 8 lanes (lane = i mod 8)
 * reduced as the dense GEMV reduces, a float32 exp of our own (no libm), and
 * the weighted sum of values accumulated position by position.
 */

import { KernelShapeError } from './errors.js';
import { dot8, reduce8 } from './js/dot.js';

export interface AttentionInput {
  /** Queries, RoPE applied: nTokens × heads × headDim. */
  q: Float32Array;
  /** The cache: positions × kvHeads × headDim, holding at least start + nTokens positions. */
  keys: Float32Array;
  values: Float32Array;
  /** Output: nTokens × heads × headDim. */
  out: Float32Array;
  heads: number;
  /** Heads share key/value heads in groups of heads / kvHeads (GQA). */
  kvHeads: number;
  headDim: number;
  /** Position of the first query token; token t sees positions 0 … start + t. */
  start: number;
  nTokens: number;
  /** Multiplies q·k, usually 1/√headDim. */
  scale: number;
}

const f = Math.fround;
const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);
/** The float32 with this bit pattern: the constants are fixed by bits, shared with native/attention.c. */
function fromBits(u: number): number {
  bits[0] = u;
  return asFloat[0] as number;
}
const LOG2E = fromBits(0x3fb8aa3b);
const LN2_HI = fromBits(0x3f318000);
const LN2_LO = fromBits(0xb95e8083);
const P0 = fromBits(0x39506967);
const P1 = fromBits(0x3ab743ce);
const P2 = fromBits(0x3c088908);
const P3 = fromBits(0x3d2aa9c1);
const P4 = fromBits(0x3e2aaaaa);
const P5 = fromBits(0x3f000000);
/** Below this, exp underflows past the smallest normal float: 0. */
const EXP_MIN = -87;

/**
 * e^x for x ≤ 0 in float32 steps (Cody–Waite reduction by ln 2, degree-7
 * polynomial), identical to the native kernel's exp. Relative error < 2e-7.
 */
export function exp32(x: number): number {
  if (!(x >= EXP_MIN)) return Number.isNaN(x) ? Number.NaN : 0;
  const n = Math.floor(f(f(x * LOG2E) + 0.5));
  let r = f(x - f(n * LN2_HI));
  r = f(r - f(n * LN2_LO));
  const z = f(r * r);
  let p = f(f(P0 * r) + P1);
  p = f(f(p * r) + P2);
  p = f(f(p * r) + P3);
  p = f(f(p * r) + P4);
  p = f(f(p * r) + P5);
  const y = f(f(f(p * z) + r) + 1);
  return f(y * 2 ** n);
}

/** Checks an attention call's shapes; the message names the argument and the expected length. */
export function checkAttention(a: AttentionInput): void {
  const { heads, kvHeads, headDim, start, nTokens } = a;
  for (const [name, v] of [
    ['heads', heads],
    ['kvHeads', kvHeads],
    ['headDim', headDim],
    ['nTokens', nTokens],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new KernelShapeError(`attention: ${name}`, 'a positive integer', v);
  }
  if (!Number.isSafeInteger(start) || start < 0)
    throw new KernelShapeError('attention: start', 'a non-negative integer', start);
  if (heads % kvHeads !== 0)
    throw new KernelShapeError('attention: heads', `a multiple of kvHeads (${kvHeads})`, heads);
  if (!Number.isFinite(a.scale)) throw new KernelShapeError('attention: scale', 'a finite number', a.scale);
  const qLength = nTokens * heads * headDim;
  const cacheLength = (start + nTokens) * kvHeads * headDim;
  for (const [name, array, least] of [
    ['q', a.q, qLength],
    ['out', a.out, qLength],
    ['keys', a.keys, cacheLength],
    ['values', a.values, cacheLength],
  ] as const) {
    if (!(array instanceof Float32Array))
      throw new KernelShapeError(`attention: ${name}`, 'a Float32Array', typeof array);
    if (array.length < least)
      throw new KernelShapeError(`attention: ${name} length`, `at least ${least}`, array.length);
  }
}

/** Scratch reused between calls: scores grow to the longest span seen. */
let scores = new Float32Array(0);
const lanes = new Float32Array(8);

/** The reference: one (token, head) at a time. */
export function jsAttention(a: AttentionInput): void {
  const { q, keys, values, out, heads, kvHeads, headDim: hd, start, nTokens } = a;
  const scale = f(a.scale);
  const group = heads / kvHeads;
  const kvStride = kvHeads * hd;
  if (scores.length < start + nTokens) scores = new Float32Array(start + nTokens);
  const s = scores;
  for (let t = 0; t < nTokens; t++) {
    const span = start + t + 1;
    for (let h = 0; h < heads; h++) {
      const qAt = (t * heads + h) * hd;
      const kvAt = Math.floor(h / group) * hd;
      let max = Number.NEGATIVE_INFINITY;
      for (let p = 0; p < span; p++) {
        const kAt = p * kvStride + kvAt;
        const dot = dot8(q, qAt, keys, kAt, hd);
        const v = f(dot * scale);
        s[p] = v;
        if (v > max) max = v;
      }
      lanes.fill(0);
      for (let p = 0; p < span; p++) {
        const e = exp32(f(s[p] - max));
        s[p] = e;
        lanes[p & 7] = f(lanes[p & 7] + e);
      }
      const sum = reduce8(lanes);
      for (let p = 0; p < span; p++) s[p] = f(s[p] / sum);
      const oAt = (t * heads + h) * hd;
      out.fill(0, oAt, oAt + hd);
      for (let p = 0; p < span; p++) {
        const w = s[p];
        const vAt = p * kvStride + kvAt;
        for (let i = 0; i < hd; i++) out[oAt + i] = f(out[oAt + i] + f(w * values[vAt + i]));
      }
    }
  }
}
