/**
 * Rotary position embedding (KERNEL.md §7): the tables, and the rotation that `attention`
 * applies to q and newKeys when given `rope`. This JS version is the definition; the native
 * addon gives the same bits.
 */

import { KernelShapeError } from './errors.js';

/** Rotary tables for positions 0 … length/(dims/2) − 1. */
export interface RopeTables {
  /** `normal`: pairs (2i, 2i+1), as llama; `neox`: pairs (i, i + dims/2), as bitnet and qwen2. */
  mode: 'normal' | 'neox';
  /** Dimensions rotated, from the start of each head (`rope.dimension_count`); even. */
  dims: number;
  /** cos/sin of θ_i·pos for each position and pair: [pos × dims/2 + i]. */
  cos: Float32Array;
  sin: Float32Array;
}

/** Tables for positions < contextSize: θ_i = base^(−2i/dims), each value rounded once to float32. */
export function ropeTables(dims: number, base: number, contextSize: number, mode: RopeTables['mode']): RopeTables {
  const half = dims / 2;
  const cos = new Float32Array(contextSize * half);
  const sin = new Float32Array(contextSize * half);
  for (let i = 0; i < half; i++) {
    const theta = base ** ((-2 * i) / dims);
    for (let pos = 0; pos < contextSize; pos++) {
      const angle = pos * theta;
      cos[pos * half + i] = Math.cos(angle);
      sin[pos * half + i] = Math.sin(angle);
    }
  }
  return { mode, dims, cos, sin };
}

/**
 * Rotates `heads` head vectors of `headDim` starting at x[at] for position `pos`, in place:
 * x_a' = x_a·c − x_b·s and x_b' = x_a·s + x_b·c, each in float64 and rounded once to float32.
 */
export function applyRope(
  rope: RopeTables,
  x: Float32Array,
  at: number,
  heads: number,
  headDim: number,
  pos: number,
): void {
  const half = rope.dims / 2;
  const base = pos * half;
  for (let h = 0; h < heads; h++) {
    const o = at + h * headDim;
    for (let i = 0; i < half; i++) {
      const c = rope.cos[base + i] as number;
      const s = rope.sin[base + i] as number;
      const a = rope.mode === 'normal' ? o + 2 * i : o + i;
      const b = rope.mode === 'normal' ? a + 1 : a + half;
      const x0 = x[a] as number;
      const x1 = x[b] as number;
      x[a] = x0 * c - x1 * s;
      x[b] = x0 * s + x1 * c;
    }
  }
}

/** Checks tables against a call at positions start … start + nTokens − 1 with heads of headDim. */
export function checkRope(rope: RopeTables, headDim: number, positions: number): void {
  if (typeof rope !== 'object' || rope === null)
    throw new KernelShapeError('attention: rope', 'an object', typeof rope);
  if (rope.mode !== 'normal' && rope.mode !== 'neox')
    throw new KernelShapeError('attention: rope.mode', "'normal' | 'neox'", String(rope.mode));
  if (!Number.isSafeInteger(rope.dims) || rope.dims < 2 || rope.dims % 2 !== 0 || rope.dims > headDim)
    throw new KernelShapeError('attention: rope.dims', `an even number in 2 … headDim (${headDim})`, rope.dims);
  const need = positions * (rope.dims / 2);
  for (const name of ['cos', 'sin'] as const) {
    const t = rope[name];
    if (!(t instanceof Float32Array)) throw new KernelShapeError(`attention: rope.${name}`, 'a Float32Array', typeof t);
    if (t.length < need)
      throw new KernelShapeError(
        `attention: rope.${name} length (start + nTokens positions)`,
        `at least ${need}`,
        t.length,
      );
  }
}

/** Rotates q (nTokens × heads) and, when given, newKeys (nTokens × kvHeads) in place for their positions. */
export function jsRopeForAttention(
  rope: RopeTables,
  q: Float32Array,
  newKeys: Float32Array | undefined,
  heads: number,
  kvHeads: number,
  headDim: number,
  start: number,
  nTokens: number,
): void {
  for (let t = 0; t < nTokens; t++) {
    applyRope(rope, q, t * heads * headDim, heads, headDim, start + t);
    if (newKeys) applyRope(rope, newKeys, t * kvHeads * headDim, kvHeads, headDim, start + t);
  }
}
