/**
 * The glue a transformer block puts around its projections, fused into gemm and gemmMany
 * (KERNEL.md §10): before the product, the gated activation act(X) ⊙ up and an RMSNorm of
 * each token; after it, the residual add. This JS version is the definition: the kernel
 * class runs it where a driver has no faster copy with the same bits (the native addon
 * does relu² and the norm inside its activation quantization).
 */

import { KernelShapeError } from './errors.js';

/** The gated FFN's activations: SiLU, squared ReLU (BitNet), and GELU (tanh approximation). */
export type GatedActivation = 'silu' | 'relu2' | 'gelu';

export interface GemmGlue {
  /** Before anything else: the input is act(X) ⊙ up, X being the gate (nTokens × cols each). X is not written. */
  gate?: { up: Float32Array; activation: GatedActivation };
  /** Then RMSNorm of each token (KERNEL.md §8) with this weight (cols floats). X is not written. */
  norm?: { weight: Float32Array; eps: number };
  /**
   * After the product (one matrix): into = into + Y · scale per element, in float64 and rounded
   * once to float32 (nTokens × rows floats). Y still receives the product.
   */
  residual?: { into: Float32Array; scale: number };
}

const ACTIVATIONS: readonly GatedActivation[] = ['silu', 'relu2', 'gelu'];

/** Checks a glue against a call of nTokens × cols inputs to `matrices` matrices, the first of `rows` rows. */
export function checkGlue(
  what: string,
  glue: GemmGlue,
  nTokens: number,
  cols: number,
  matrices: number,
  rows: number,
): void {
  if (typeof glue !== 'object' || glue === null) throw new KernelShapeError(`${what}: glue`, 'an object', typeof glue);
  const need = (name: string, array: unknown, length: number) => {
    if (!(array instanceof Float32Array))
      throw new KernelShapeError(`${what}: ${name}`, 'a Float32Array', typeof array);
    if (array.length !== length) throw new KernelShapeError(`${what}: ${name} length`, length, array.length);
  };
  if (glue.gate !== undefined) {
    need('glue.gate.up', glue.gate.up, nTokens * cols);
    if (!ACTIVATIONS.includes(glue.gate.activation))
      throw new KernelShapeError(
        `${what}: glue.gate.activation`,
        ACTIVATIONS.join(' | '),
        String(glue.gate.activation),
      );
  }
  if (glue.norm !== undefined) {
    need('glue.norm.weight', glue.norm.weight, cols);
    if (typeof glue.norm.eps !== 'number' || !(glue.norm.eps >= 0))
      throw new KernelShapeError(`${what}: glue.norm.eps`, 'a number >= 0', String(glue.norm.eps));
  }
  if (glue.residual !== undefined) {
    if (matrices !== 1)
      throw new KernelShapeError(`${what}: glue.residual`, 'one matrix (a residual takes one output)', `${matrices}`);
    need('glue.residual.into', glue.residual.into, nTokens * rows);
    if (typeof glue.residual.scale !== 'number' || !Number.isFinite(glue.residual.scale))
      throw new KernelShapeError(`${what}: glue.residual.scale`, 'a finite number', String(glue.residual.scale));
  }
}

/** Whether a glue changes the product's input (a gate or a norm). */
export function gluesInput(glue: GemmGlue | undefined): glue is GemmGlue {
  return glue?.gate !== undefined || glue?.norm !== undefined;
}

/**
 * out[i] = act(gate[i]) · up[i] for n elements, each in float64 and rounded once to float32
 * (out may be gate).
 */
export function gatedActivation(
  gate: Float32Array,
  up: Float32Array,
  n: number,
  activation: GatedActivation,
  out: Float32Array = gate,
): void {
  if (activation === 'silu') {
    for (let i = 0; i < n; i++) {
      const g = gate[i] as number;
      out[i] = (g / (1 + Math.exp(-g))) * (up[i] as number);
    }
  } else if (activation === 'relu2') {
    for (let i = 0; i < n; i++) {
      // max(g, 0) without a branch on the sign, which half the gates fail at random (a branch
      // there costs 5× the loop): g + |g| is exactly 2g or +0 in double for every float32 g,
      // NaN stays NaN, and only −∞ (∞ − ∞) needs the rarely taken fix.
      const g = gate[i] as number;
      let r = (g + Math.abs(g)) * 0.5;
      if (g === Number.NEGATIVE_INFINITY) r = 0;
      out[i] = r * r * (up[i] as number);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const g = gate[i] as number;
      out[i] = 0.5 * g * (1 + Math.tanh(0.7978845608028654 * (g + 0.044715 * g * g * g))) * (up[i] as number);
    }
  }
}

/** into[i] = into[i] + y[i] · scale in float64, rounded once to float32. */
export function addResidual(into: Float32Array, y: Float32Array, scale: number): void {
  if (scale === 1) for (let i = 0; i < into.length; i++) into[i] = (into[i] as number) + (y[i] as number);
  else for (let i = 0; i < into.length; i++) into[i] = (into[i] as number) + (y[i] as number) * scale;
}
