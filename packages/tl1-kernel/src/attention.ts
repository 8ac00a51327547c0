/**
 * Causal multi-head attention over an f32 or f16 KV cache (KERNEL.md §7). Every
 * step is a float32 operation in a fixed order, so this JS version and the
 * native AVX2 one give the same bits: dot products in 8 lanes (lane = i mod 8)
 * reduced as the dense GEMV reduces, a float32 exp of our own (no libm), and
 * the weighted sum of values accumulated position by position. Halves widen to
 * float32 exactly, so an f16 cache gives the bits of an f32 cache holding the
 * same values.
 */

import { floatToHalfBits, halfToFloatTable } from '@trit/ternary';
import { KernelShapeError } from './errors.js';
import { dot8, reduce8 } from './js/dot.js';
import { checkRope, jsRopeForAttention, type RopeTables } from './rope.js';

/** A KV cache array: float32, or IEEE 754 half bits (what llama.cpp keeps by default; half the bytes). */
export type KvCacheArray = Float32Array | Uint16Array;

export interface AttentionInput {
  /** Queries, RoPE applied (or applied here in place, with `rope`): nTokens × heads × headDim. */
  q: Float32Array;
  /**
   * The cache: positions × kvHeads × headDim, holding at least start + nTokens positions;
   * keys and values of one type.
   */
  keys: KvCacheArray;
  values: KvCacheArray;
  /**
   * Optional: this call's keys and values (nTokens × kvHeads × headDim, RoPE applied), stored at
   * positions start … start + nTokens − 1 before attending: copied into an f32 cache, rounded to
   * nearest even into an f16 one (NaN becomes the quiet NaN 0x7e00 with its sign). Both or neither.
   */
  newKeys?: Float32Array;
  newValues?: Float32Array;
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
  /**
   * Optional: rotary tables; q and newKeys are then rotated in place for positions start …
   * start + nTokens − 1 (src/rope.ts's applyRope) before anything else, the bits of rotating
   * them first.
   */
  rope?: RopeTables;
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
  // Field by field, with no arrays built: a decode step calls this once per layer.
  positiveInteger('heads', heads);
  positiveInteger('kvHeads', kvHeads);
  positiveInteger('headDim', headDim);
  positiveInteger('nTokens', nTokens);
  if (!Number.isSafeInteger(start) || start < 0)
    throw new KernelShapeError('attention: start', 'a non-negative integer', start);
  if (heads % kvHeads !== 0)
    throw new KernelShapeError('attention: heads', `a multiple of kvHeads (${kvHeads})`, heads);
  if (!Number.isFinite(a.scale)) throw new KernelShapeError('attention: scale', 'a finite number', a.scale);
  const qLength = nTokens * heads * headDim;
  const cacheLength = (start + nTokens) * kvHeads * headDim;
  const newLength = nTokens * kvHeads * headDim;
  if (!(a.keys instanceof Float32Array || a.keys instanceof Uint16Array))
    throw new KernelShapeError('attention: keys', 'a Float32Array or a Uint16Array of halves', typeName(a.keys));
  if (a.values?.constructor !== a.keys.constructor)
    throw new KernelShapeError('attention: values', `a ${a.keys.constructor.name} like keys`, typeName(a.values));
  if ((a.newKeys === undefined) !== (a.newValues === undefined))
    throw new KernelShapeError('attention: newKeys and newValues', 'both or neither', 'only one');
  floats('q', a.q, qLength);
  floats('out', a.out, qLength);
  atLeast('keys', a.keys.length, cacheLength);
  atLeast('values', a.values.length, cacheLength);
  if (a.newKeys !== undefined) {
    floats('newKeys', a.newKeys, newLength);
    floats('newValues', a.newValues, newLength);
  }
  if (a.rope !== undefined) checkRope(a.rope, headDim, start + nTokens);
}

function positiveInteger(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new KernelShapeError(`attention: ${name}`, 'a positive integer', v);
}

function floats(name: string, array: unknown, least: number): void {
  if (!(array instanceof Float32Array))
    throw new KernelShapeError(`attention: ${name}`, 'a Float32Array', typeName(array));
  atLeast(name, array.length, least);
}

function atLeast(name: string, length: number, least: number): void {
  if (length < least) throw new KernelShapeError(`attention: ${name} length`, `at least ${least}`, length);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

/**
 * What every implementation does before attending: rotates q and newKeys when given `rope`, then
 * stores newKeys/newValues at positions start … start + nTokens − 1 (KERNEL.md §7).
 */
export function rotateAndStoreKv(a: AttentionInput): void {
  if (a.rope) jsRopeForAttention(a.rope, a.q, a.newKeys, a.heads, a.kvHeads, a.headDim, a.start, a.nTokens);
  if (!a.newKeys || !a.newValues) return;
  const n = a.nTokens * a.kvHeads * a.headDim;
  const at = a.start * a.kvHeads * a.headDim;
  for (const [cache, src] of [
    [a.keys, a.newKeys],
    [a.values, a.newValues],
  ] as const) {
    if (cache instanceof Float32Array) cache.set(src.subarray(0, n), at);
    else for (let i = 0; i < n; i++) cache[at + i] = floatToHalfBits(src[i] as number);
  }
}

/** Scratch reused between calls: scores grow to the longest span seen, widened halves to the longest span × headDim. */
let scores = new Float32Array(0);
let wideKeys = new Float32Array(0);
let wideValues = new Float32Array(0);
const lanes = new Float32Array(8);

/** The reference: one (token, head) at a time; an f16 cache is widened one kv head and token at a time. */
export function jsAttention(a: AttentionInput): void {
  rotateAndStoreKv(a);
  const { q, out, heads, kvHeads, headDim: hd, start, nTokens } = a;
  const scale = f(a.scale);
  const group = heads / kvHeads;
  const half = a.keys instanceof Uint16Array;
  if (scores.length < start + nTokens) scores = new Float32Array(start + nTokens);
  if (half && wideKeys.length < (start + nTokens) * hd) {
    wideKeys = new Float32Array((start + nTokens) * hd);
    wideValues = new Float32Array((start + nTokens) * hd);
  }
  const s = scores;
  for (let t = 0; t < nTokens; t++) {
    const span = start + t + 1;
    for (let g = 0; g < kvHeads; g++) {
      // Where head g's rows are: the cache itself, or this kv head's rows widened to float32 (exactly).
      let keys = a.keys as Float32Array;
      let values = a.values as Float32Array;
      let kvStride = kvHeads * hd;
      let kvAt = g * hd;
      if (half) {
        widen(a.keys as Uint16Array, wideKeys, span, kvStride, kvAt, hd);
        widen(a.values as Uint16Array, wideValues, span, kvStride, kvAt, hd);
        keys = wideKeys;
        values = wideValues;
        kvStride = hd;
        kvAt = 0;
      }
      for (let h = g * group; h < (g + 1) * group; h++) {
        const qAt = (t * heads + h) * hd;
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
}

/** Rows 0 … span − 1 of one kv head (kvAt, kvStride apart) as contiguous float32 rows of hd. */
function widen(from: Uint16Array, to: Float32Array, span: number, kvStride: number, kvAt: number, hd: number): void {
  const table = halfToFloatTable();
  for (let p = 0; p < span; p++)
    for (let i = 0, src = p * kvStride + kvAt, dst = p * hd; i < hd; i++) to[dst + i] = table[from[src + i]] as number;
}
