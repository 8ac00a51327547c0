import { KernelShapeError } from './errors.js';

/*
 * Per-token absmax quantization of activations to int8 (BitNet's A8), with
 * RuvLLM's semantics in float32 (docs/formats.md §W1.58A8): scale = 127 / max|x| (a multiplier, x ≈ q / scale),
 * q = clamp(round(x·scale), -127, 127) with halves away from zero, NaN → 0,
 * max|x| < 1e-10 → all zeros with scale 1.
 */

const TINY = Math.fround(1e-10);

export interface QuantizedActivations {
  q: Int8Array;
  /** The multiplier: x ≈ q / scale. */
  scale: number;
}

/** Quantizes one token's activations. Empty input gives `{ q: [], scale: 1 }`. */
export function absmaxQuantizeActivations(x: Float32Array): QuantizedActivations {
  const q = new Int8Array(x.length);
  return { q, scale: quantizeInto(x, 0, x.length, q, 0) };
}

/** Quantizes x[offset, offset + n) into q[qOffset …]; returns the scale. */
export function quantizeInto(x: Float32Array, offset: number, n: number, q: Int8Array, qOffset: number): number {
  let maxAbs = 0;
  for (let j = 0; j < n; j++) {
    const a = Math.abs(x[offset + j]);
    if (a > maxAbs) maxAbs = a; // NaN never compares greater
  }
  if (!(maxAbs >= TINY)) {
    q.fill(0, qOffset, qOffset + n);
    return 1;
  }
  const scale = Math.fround(127 / maxAbs);
  for (let j = 0; j < n; j++) {
    const v = Math.fround(x[offset + j] * scale);
    // Round half away from zero, then clamp; NaN (from NaN or ∞·0) becomes 0.
    let r = v >= 0 ? Math.floor(v + 0.5) : -Math.floor(-v + 0.5);
    if (r > 127) r = 127;
    else if (r < -127) r = -127;
    q[qOffset + j] = r;
  }
  return scale;
}

/**
 * quantizeInto and the running prefix sums in one pass: prefix[p] = 0, then
 * prefix[p + j + 1] = q[0] + … + q[j]. Same codes and scale as quantizeInto.
 */
function quantizeWithPrefix(
  x: Float32Array,
  offset: number,
  n: number,
  q: Int8Array,
  qOffset: number,
  prefix: Int32Array,
  pOffset: number,
): number {
  let maxAbs = 0;
  for (let j = 0; j < n; j++) {
    const a = Math.abs(x[offset + j] as number);
    if (a > maxAbs) maxAbs = a; // NaN never compares greater
  }
  prefix[pOffset] = 0;
  if (!(maxAbs >= TINY)) {
    q.fill(0, qOffset, qOffset + n);
    prefix.fill(0, pOffset, pOffset + n + 1);
    return 1;
  }
  const scale = Math.fround(127 / maxAbs);
  let running = 0;
  for (let j = 0; j < n; j++) {
    const v = Math.fround((x[offset + j] as number) * scale);
    // Half away from zero: v ± 0.5 is exact in double, and `| 0` truncates toward zero (NaN → 0).
    let r = (v >= 0 ? v + 0.5 : v - 0.5) | 0;
    if (r > 127) r = 127;
    else if (r < -127) r = -127;
    q[qOffset + j] = r;
    running += r;
    prefix[pOffset + j + 1] = running;
  }
  return scale;
}

/** Quantized tokens laid out for the kernels: see KERNEL.md §1. */
export interface TokenBatch {
  nTokens: number;
  qStride: number;
  /** nTokens × qStride int8, zero past each token's cols. */
  q: Int8Array;
  /** nTokens × (qStride + 1) prefix sums of q. */
  prefix: Int32Array;
  actScales: Float32Array;
}

/** Buffers a caller keeps between calls so quantizing tokens allocates nothing in steady state. */
export interface TokenScratch {
  q: Int8Array;
  prefix: Int32Array;
  actScales: Float32Array;
}

/**
 * Quantizes nTokens rows of X (nTokens × cols) with per-token scales and prefix
 * sums, into `scratch` when it is large enough (views of it are returned).
 */
export function quantizeTokens(
  X: Float32Array,
  nTokens: number,
  cols: number,
  qStride: number,
  scratch?: TokenScratch,
): TokenBatch {
  if (X.length < nTokens * cols) {
    throw new KernelShapeError(`activations (${nTokens} tokens × ${cols})`, nTokens * cols, X.length);
  }
  const qLength = nTokens * qStride;
  const prefixLength = nTokens * (qStride + 1);
  const q = scratch && scratch.q.length >= qLength ? scratch.q.subarray(0, qLength) : new Int8Array(qLength);
  const prefix =
    scratch && scratch.prefix.length >= prefixLength
      ? scratch.prefix.subarray(0, prefixLength)
      : new Int32Array(prefixLength);
  const actScales =
    scratch && scratch.actScales.length >= nTokens ? scratch.actScales.subarray(0, nTokens) : new Float32Array(nTokens);
  for (let t = 0; t < nTokens; t++) {
    const qBase = t * qStride;
    const pBase = t * (qStride + 1);
    actScales[t] = quantizeWithPrefix(X, t * cols, cols, q, qBase, prefix, pBase);
    // Reused buffers may hold an earlier, wider token: the padding must read as zero.
    q.fill(0, qBase + cols, qBase + qStride);
    const total = prefix[pBase + cols] as number;
    prefix.fill(total, pBase + cols + 1, pBase + qStride + 1);
  }
  return { nTokens, qStride, q, prefix, actScales };
}
