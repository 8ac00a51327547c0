import { floatToHalfBits, halfBitsToFloat } from '@trit/ternary';
import { quantizeInto } from './activations.js';
import { type DenseType, type DenseTypeInfo, denseTypeInfo, Q8_0_ACTIVATION_BLOCK } from './dense-types.js';

/*
 * Straightforward implementations of KERNEL.md, written from the contract and
 * not from the kernels' layout: the known-answer vectors are generated with
 * these, and the float64 versions define correctness.
 */

/** A ternary matrix in contract terms: values t[r·cols + j] and flat blocks of `blockSize` with scales. */
export interface ContractTernary {
  rows: number;
  cols: number;
  values: Int8Array;
  scales: Float32Array;
  blockSize: number;
}

/** KERNEL.md §1 + §3 for one token, element by element. */
export function referenceTernaryGemv(m: ContractTernary, x: Float32Array, tokenOffset = 0): Float32Array {
  const { rows, cols, values, scales, blockSize } = m;
  const q = new Int8Array(cols);
  const actScale = quantizeInto(x, tokenOffset, cols, q, 0);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    let j = 0;
    while (j < cols) {
      const block = Math.floor((r * cols + j) / blockSize);
      const end = Math.min(cols, (block + 1) * blockSize - r * cols);
      let acc = 0;
      for (; j < end; j++) acc += values[r * cols + j] * q[j];
      sum = Math.fround(sum + Math.fround(scales[block] * acc));
    }
    y[r] = Math.fround(sum / actScale);
  }
  return y;
}

/** float64 y = W·x with unquantized activations, and the error bound int8 activation rounding allows. */
export function float64TernaryGemv(
  m: ContractTernary,
  x: Float32Array,
  tokenOffset = 0,
): { y: Float64Array; bound: Float64Array } {
  const { rows, cols, values, scales, blockSize } = m;
  let maxAbs = 0;
  for (let j = 0; j < cols; j++) if (Math.abs(x[tokenOffset + j]) > maxAbs) maxAbs = Math.abs(x[tokenOffset + j]);
  const y = new Float64Array(rows);
  const bound = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    let weightAbs = 0;
    let productAbs = 0;
    for (let j = 0; j < cols; j++) {
      const w = values[r * cols + j] * scales[Math.floor((r * cols + j) / blockSize)];
      sum += w * x[tokenOffset + j];
      weightAbs += Math.abs(w);
      productAbs += Math.abs(w * x[tokenOffset + j]);
    }
    y[r] = sum;
    // Each q is within half a step (maxAbs/127/2) of x·127/maxAbs; float32 epilogue adds a few ulps.
    // Below 1e-10 the activations quantize to zero altogether.
    const rounding = maxAbs < 1e-10 ? maxAbs * weightAbs : (0.5 * maxAbs * weightAbs) / 127;
    bound[r] = rounding + 1e-5 * productAbs + 1e-30;
  }
  return { y, bound };
}

/** Exact float32 value of element i of a dense row-major matrix. */
export function denseValue(type: DenseType, data: Uint8Array, cols: number, r: number, j: number): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const { blockElements, blockBytes } = denseTypeInfo(type) as DenseTypeInfo;
  switch (type) {
    case 'f32':
      return view.getFloat32(4 * (r * cols + j), true);
    case 'f16':
      return halfBitsToFloat(view.getUint16(2 * (r * cols + j), true));
    case 'bf16':
      return new Float32Array(new Uint32Array([view.getUint16(2 * (r * cols + j), true) << 16]).buffer)[0];
    case 'q8_0': {
      const block = (r * (cols / blockElements) + Math.floor(j / blockElements)) * blockBytes;
      return Math.fround(halfBitsToFloat(view.getUint16(block, true)) * view.getInt8(block + 2 + (j % blockElements)));
    }
  }
}

/**
 * One token's inputs of a dense matrix, rounded to its type's activation grid
 * (KERNEL.md §4), value by value: f16 and bf16 to nearest even; q8_0 blocks of
 * 32 to q = round-half-away(x / d) with d = fround(absmax / 127), value q · fp16(d)
 * (a NaN anywhere in a block makes the whole block NaN).
 */
export function referenceDenseActivations(
  type: DenseType,
  x: Float32Array,
  tokenOffset: number,
  cols: number,
): Float32Array {
  const out = x.slice(tokenOffset, tokenOffset + cols);
  const bits = new Uint32Array(1);
  const asFloat = new Float32Array(bits.buffer);
  switch ((denseTypeInfo(type) as DenseTypeInfo).activation) {
    case 'f32':
      return out;
    case 'f16':
      for (let j = 0; j < cols; j++) out[j] = halfBitsToFloat(floatToHalfBits(out[j]));
      return out;
    case 'bf16':
      for (let j = 0; j < cols; j++) {
        if (Number.isNaN(out[j])) continue;
        asFloat[0] = out[j];
        const low = bits[0] & 0xffff;
        const keep = bits[0] - low;
        // Round to nearest, ties to an even upper half.
        const up = low > 0x8000 || (low === 0x8000 && (keep & 0x10000) !== 0);
        bits[0] = up ? keep + 0x10000 : keep;
        out[j] = asFloat[0];
      }
      return out;
    case 'q8_0':
      for (let start = 0; start < cols; start += Q8_0_ACTIVATION_BLOCK) {
        const block = out.subarray(start, Math.min(cols, start + Q8_0_ACTIVATION_BLOCK));
        let absmax = 0;
        for (const v of block)
          absmax = Number.isNaN(v) || Number.isNaN(absmax) ? Number.NaN : Math.max(absmax, Math.abs(v));
        const d = Math.fround(absmax / 127);
        const inverse = d === 0 ? 0 : Math.fround(1 / d);
        const stored = halfBitsToFloat(floatToHalfBits(d));
        for (let i = 0; i < block.length; i++) {
          const scaled = Math.fround(block[i] * inverse);
          const q = Math.sign(scaled) * Math.floor(Math.abs(scaled) + 0.5);
          block[i] = Math.fround(q * stored);
        }
      }
      return out;
  }
}

/** KERNEL.md §4 for one token, inputs rounded first. */
export function referenceDenseGemv(
  type: DenseType,
  data: Uint8Array,
  rows: number,
  cols: number,
  x: Float32Array,
  tokenOffset = 0,
): Float32Array {
  const input = referenceDenseActivations(type, x, tokenOffset, cols);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const lane = new Float32Array(8);
    for (let j = 0; j < cols; j++)
      lane[j % 8] = lane[j % 8] + Math.fround(denseValue(type, data, cols, r, j) * input[j]);
    const v4 = [0, 1, 2, 3].map((i) => Math.fround(lane[i] + lane[i + 4]));
    const v2 = [0, 1].map((i) => Math.fround(v4[i] + v4[i + 2]));
    y[r] = Math.fround(v2[0] + v2[1]);
  }
  return y;
}

/**
 * float64 y = W·x̃ for a dense matrix, x̃ being x rounded to the type's
 * activation grid (as the kernels do), and the float32 rounding bound of the
 * 8-lane summation: each lane sums ⌈cols/8⌉ products, then three pairwise
 * levels, each step off by at most 2^-24 relative, so
 * |y − y64| ≤ (⌈cols/8⌉ + 4) · 2^-24 · Σ|w·x̃|.
 */
export function float64DenseGemv(
  type: DenseType,
  data: Uint8Array,
  rows: number,
  cols: number,
  x: Float32Array,
  tokenOffset = 0,
): { y: Float64Array; bound: Float64Array } {
  const input = referenceDenseActivations(type, x, tokenOffset, cols);
  const y = new Float64Array(rows);
  const bound = new Float64Array(rows);
  const steps = Math.ceil(cols / 8) + 4;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    let magnitude = 0;
    for (let j = 0; j < cols; j++) {
      const product = denseValue(type, data, cols, r, j) * input[j];
      sum += product;
      magnitude += Math.abs(product);
    }
    y[r] = sum;
    bound[r] = steps * 2 ** -24 * magnitude + 1e-45;
  }
  return { y, bound };
}
