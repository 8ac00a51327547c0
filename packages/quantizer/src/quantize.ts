import { TernaryTensor } from '@trit/ternary';
import { absmeanGamma, absmeanThreshold } from './absmean.js';
import { type PtBitnetConfig, ptBitnetConfig } from './config.js';
import { QuantizeError } from './errors.js';
import { ThresholdSearch, thresholdSeedCode } from './scale-search.js';

const FLOAT32_MAX = 3.4028234663852886e38;

/** Seed code (t + 1) of w: 2 for w ≥ plus, 0 for w ≤ minus, else 1; branch-free. */
function seedCode(w: number, plus: number, minus: number): number {
  return 1 + ((w >= plus) as unknown as number) - ((w <= minus) as unknown as number);
}

/**
 * Adds element i's code to the byte being assembled; stores it when the byte is
 * full. Returns the partial byte to carry (blocks may start mid-byte).
 */
function appendCode(packed: Uint8Array, byte: number, i: number, code: number): number {
  const next = byte | (code << ((i & 3) << 1));
  if ((i & 3) !== 3) return next;
  packed[i >> 2] = next;
  return 0;
}

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
    const gamma = absmeanGamma(sum, end - start);
    if (sum > FLOAT32_MAX) {
      throw new QuantizeError(
        `block ${block} (weights ${start}–${end - 1}): the sum of |w| overflows float32`,
        name,
        start,
      );
    }
    const choice = search?.choose(w, start, end, gamma, sum);

    if (choice === undefined || choice.threshold < 0) {
      scales[block] = choice ? choice.scale : gamma;
      const plus = absmeanThreshold(gamma);
      const minus = -plus;
      let i = start;
      // Unaligned head (blocks that start mid-byte), then whole bytes, then the tail.
      for (; i < end && (i & 3) !== 0; i++) byte = appendCode(packed, byte, i, seedCode(w[i], plus, minus));
      for (; i + 4 <= end; i += 4) {
        packed[i >> 2] =
          seedCode(w[i], plus, minus) |
          (seedCode(w[i + 1], plus, minus) << 2) |
          (seedCode(w[i + 2], plus, minus) << 4) |
          (seedCode(w[i + 3], plus, minus) << 6);
      }
      for (; i < end; i++) byte = appendCode(packed, byte, i, seedCode(w[i], plus, minus));
    } else {
      scales[block] = choice.scale;
      for (let i = start; i < end; i++) {
        byte = appendCode(packed, byte, i, thresholdSeedCode(w[i], choice.threshold, choice.inverseMean));
      }
    }
  }
  if ((n & 3) !== 0) packed[n >> 2] = byte;
  return new TernaryTensor({ packed, scales, shape: [rows, cols], blockSize });
}
