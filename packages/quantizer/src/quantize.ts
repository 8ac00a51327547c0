import { TernaryTensor } from '@trit/ternary';
import { ABSMEAN_EPSILON } from './absmean.js';
import { type PtBitnetConfig, ptBitnetConfig } from './config.js';
import { QuantizeError } from './errors.js';
import { ThresholdSearch, thresholdCode } from './scale-search.js';

const FLOAT32_MAX = 3.4028234663852886e38;

export interface QuantizeOptions {
  /** Tensor name, quoted in errors. */
  name?: string;
}

/**
 * Quantizes a row-major [rows, cols] matrix to ternary with one scale per
 * `config.blockSize` flat weights (blocks may straddle rows). With
 * `optimizeScales: false` the result is bit-identical to plain absmean.
 * Codes are written straight into the packed bytes: no per-element allocation.
 */
export function quantizeTensor(
  weights: Float32Array | ArrayLike<number>,
  shape: readonly [rows: number, cols: number],
  config: Partial<PtBitnetConfig> = {},
  options: QuantizeOptions = {},
): TernaryTensor {
  const { blockSize, optimizeScales } = ptBitnetConfig(config);
  const { name } = options;
  const [rows, cols] = shape;
  for (const [label, value] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new QuantizeError(`${label} must be a positive integer, got ${value}`, name);
    }
  }
  const n = rows * cols;
  if (!Number.isSafeInteger(n)) throw new QuantizeError(`${rows}×${cols} elements overflow a safe integer`, name);
  if (weights.length !== n) {
    throw new QuantizeError(`expected ${n} weights for shape ${rows}×${cols}, found ${weights.length}`, name);
  }
  const w = weights instanceof Float32Array ? weights : Float32Array.from(weights);
  const blocks = Math.ceil(n / blockSize);
  const packed = new Uint8Array(Math.ceil(n / 4));
  const scales = new Float32Array(blocks);
  const search = optimizeScales ? new ThresholdSearch() : undefined;

  let byte = 0;
  for (let block = 0; block < blocks; block++) {
    const start = block * blockSize;
    const end = Math.min(start + blockSize, n);
    let sum = 0;
    for (let i = start; i < end; i++) {
      const a = Math.abs(w[i]);
      if (!(a <= FLOAT32_MAX)) {
        throw new QuantizeError(`weight ${i} is ${w[i]}; weights must be finite`, name, i);
      }
      sum = Math.fround(sum + a);
    }
    const gamma = Math.fround(Math.fround(sum / Math.fround(end - start)) + ABSMEAN_EPSILON);
    if (sum > FLOAT32_MAX) {
      throw new QuantizeError(`block ${block} (weights ${start}–${end - 1}): the sum of |w| overflows float32`, name, start);
    }
    const choice = search?.choose(w, start, end, gamma, sum);

    if (choice === undefined || choice.threshold < 0) {
      scales[block] = choice ? choice.scale : gamma;
      for (let i = start; i < end; i++) {
        const q = Math.fround(w[i] / gamma);
        // Seed code (t + 1) in 2 bits: 2 for +1, 0 for -1, 1 for zero.
        const code = q >= 0.5 ? 2 : q <= -0.5 ? 0 : 1;
        byte |= code << ((i & 3) << 1);
        if ((i & 3) === 3) {
          packed[i >> 2] = byte;
          byte = 0;
        }
      }
    } else {
      scales[block] = choice.scale;
      for (let i = start; i < end; i++) {
        const code = thresholdCode(w[i], choice.threshold, choice.inverseMean) + 1;
        byte |= code << ((i & 3) << 1);
        if ((i & 3) === 3) {
          packed[i >> 2] = byte;
          byte = 0;
        }
      }
    }
  }
  if ((n & 3) !== 0) packed[n >> 2] = byte;
  return new TernaryTensor({ packed, scales, shape: [rows, cols], blockSize });
}
