import type { HiddenActivation } from '@trit/gguf';

/** The float32 building blocks of the forward pass; every loop writes into caller-owned buffers. */

/** Rotary position embedding of one head vector in place. */
export interface Rope {
  /** `normal`: pairs (2i, 2i+1), as llama; `neox`: pairs (i, i + n/2), as bitnet and qwen2. */
  mode: 'normal' | 'neox';
  /** Dimensions rotated, from the start of each head (`rope.dimension_count`). */
  dims: number;
  /** cos/sin of θ_i·pos for each position and pair: [pos][i]. */
  cos: Float32Array;
  sin: Float32Array;
}

/** Tables for positions < contextSize: θ_i = base^(−2i/dims). */
export function ropeTables(dims: number, base: number, contextSize: number, mode: Rope['mode']): Rope {
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

/** Rotates `heads` head vectors of `headDim` starting at x[at] for position `pos`. */
export function applyRope(rope: Rope, x: Float32Array, at: number, heads: number, headDim: number, pos: number): void {
  const half = rope.dims / 2;
  const base = pos * half;
  for (let h = 0; h < heads; h++) {
    const o = at + h * headDim;
    for (let i = 0; i < half; i++) {
      const c = rope.cos[base + i];
      const s = rope.sin[base + i];
      const a = rope.mode === 'normal' ? o + 2 * i : o + i;
      const b = rope.mode === 'normal' ? a + 1 : a + half;
      const x0 = x[a];
      const x1 = x[b];
      x[a] = x0 * c - x1 * s;
      x[b] = x0 * s + x1 * c;
    }
  }
}

/** The FFN activations (their names in files are read by @trit/quantizer's hiddenActivation). */
export type Activation = HiddenActivation;
