import { assertCount, assertPositiveInteger, TernaryLengthError } from './errors.js';
import { packedByteLength, unpackTernary } from './pack.js';

/**
 * Seed-layout codes × per-block scales → floats. Block b covers flat elements
 * [b·blockSize, (b+1)·blockSize). Short inputs are an error, never a short output.
 */
export function dequantizeBitnetT158(
  packed: Uint8Array,
  scales: Float32Array,
  n: number,
  blockSize = 256,
): Float32Array {
  assertCount('dequantizeBitnetT158', 'n', n);
  assertPositiveInteger('dequantizeBitnetT158', 'blockSize', blockSize);
  if (packed.length < packedByteLength(n)) {
    throw new TernaryLengthError(
      'dequantizeBitnetT158: packed bytes',
      packedByteLength(n),
      packed.length,
      `${n} values`,
    );
  }
  const blocks = Math.ceil(n / blockSize);
  if (scales.length < blocks) {
    throw new TernaryLengthError(
      'dequantizeBitnetT158: scales',
      blocks,
      scales.length,
      `${n} values, block size ${blockSize}`,
    );
  }
  const codes = unpackTernary(packed, n);
  const out = new Float32Array(n);
  scaleCodes(codes, scales, blockSize, out);
  return out;
}

/** out[i] = codes[i] · scales[floor(i / blockSize)]. */
export function scaleCodes(codes: Int8Array, scales: Float32Array, blockSize: number, out: Float32Array): void {
  const n = codes.length;
  for (let block = 0, start = 0; start < n; block++, start += blockSize) {
    const scale = scales[block];
    const end = Math.min(start + blockSize, n);
    for (let i = start; i < end; i++) out[i] = codes[i] * scale;
  }
}

/** Dequantizes one 64-byte seed block of 256 weights into `out`. */
export function dequantizeBitnetBlock(block: Uint8Array, scale: number, out: Float32Array): void {
  if (block.length < 64) throw new TernaryLengthError('dequantizeBitnetBlock: block bytes', 64, block.length);
  if (out.length < 256) throw new TernaryLengthError('dequantizeBitnetBlock: output length', 256, out.length);
  const codes = unpackTernary(block, 256);
  for (let i = 0; i < 256; i++) out[i] = codes[i] * scale;
}

export interface DequantError {
  /** Mean absolute error. */
  mae: number;
  /** Mean squared error. */
  mse: number;
  /** Largest absolute error. */
  maxAbs: number;
}

/** Error between two equally long arrays, accumulated in float64; zeros for empty input. */
export function computeDequantError(a: ArrayLike<number>, b: ArrayLike<number>): DequantError {
  if (a.length !== b.length) throw new TernaryLengthError('computeDequantError: lengths', a.length, b.length);
  const n = a.length;
  if (n === 0) return { mae: 0, mse: 0, maxAbs: 0 };
  let absSum = 0;
  let squareSum = 0;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const diff = Math.abs(a[i] - b[i]);
    absSum += diff;
    squareSum += diff * diff;
    // NaN must propagate rather than be skipped by the comparison.
    if (diff > maxAbs || Number.isNaN(diff)) maxAbs = diff;
  }
  return { mae: absSum / n, mse: squareSum / n, maxAbs };
}
