import { floatToHalfBits, halfBitsToFloat } from '@trit/ternary';
import { quantizeInto } from './activations.js';
import {
  type DenseType,
  type DenseTypeInfo,
  denseTypeInfo,
  Q8_0_ACTIVATION_BLOCK,
  Q8_K_ACTIVATION_BLOCK,
} from './dense-types.js';

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
    default: {
      const block = (r * (cols / blockElements) + Math.floor(j / blockElements)) * blockBytes;
      const { multiplier, offset, code } = blockElement(type, view, block, j % blockElements);
      return Math.fround(Math.fround(multiplier * code) - offset);
    }
  }
}

/**
 * Element e of a q4_0 / q4_k / q5_k / q6_k block at byte `at`, as value = fround(multiplier · code) − offset
 * (docs/formats.md §Q4_0 … §Q6_K): every group of 8 consecutive elements shares multiplier and offset.
 */
export function blockElement(
  type: DenseType,
  view: DataView,
  at: number,
  e: number,
): { multiplier: number; offset: number; code: number } {
  const half = (byte: number) => halfBitsToFloat(view.getUint16(at + byte, true));
  const u8 = (byte: number) => view.getUint8(at + byte);
  switch (type) {
    case 'q4_0': {
      const packed = u8(2 + (e % 16));
      return { multiplier: half(0), offset: 0, code: (e < 16 ? packed & 15 : packed >> 4) - 8 };
    }
    case 'q4_k':
    case 'q5_k': {
      // Sub-block s of 32 elements: 6-bit scale and min packed in the 12 bytes at 4.
      const s = Math.floor(e / 32);
      const scaleByte = (i: number) => u8(4 + i);
      const scale = s < 4 ? scaleByte(s) & 63 : (scaleByte(s + 4) & 15) | ((scaleByte(s - 4) >> 6) << 4);
      const min = s < 4 ? scaleByte(s + 4) & 63 : (scaleByte(s + 4) >> 4) | ((scaleByte(s) >> 6) << 4);
      const quantsAt = type === 'q4_k' ? 16 : 48;
      const packed = u8(quantsAt + 32 * Math.floor(s / 2) + (e % 32));
      let code = s % 2 === 0 ? packed & 15 : packed >> 4;
      if (type === 'q5_k') code += ((u8(16 + (e % 32)) >> s) & 1) * 16;
      return { multiplier: Math.fround(half(0) * scale), offset: Math.fround(half(2) * min), code };
    }
    case 'q6_k': {
      // Halves of 128: low nibbles at 0, two high bits at 128, int8 scales per 16 at 192, d at 208.
      const n = Math.floor(e / 128);
      const quarter = Math.floor((e % 128) / 32);
      const l = e % 32;
      const low = u8(64 * n + l + 32 * (quarter % 2));
      const nibble = quarter < 2 ? low & 15 : low >> 4;
      const high = (u8(128 + 32 * n + l) >> (2 * quarter)) & 3;
      const scale = view.getInt8(at + 192 + 8 * n + 2 * quarter + Math.floor(l / 16));
      return { multiplier: Math.fround(half(208) * scale), offset: 0, code: (nibble | (high << 4)) - 32 };
    }
    default:
      throw new Error(`blockElement: ${type} is not a block type`);
  }
}

/**
 * One token's inputs of a dense matrix, rounded to its type's activation grid
 * (KERNEL.md §4), value by value: f16 and bf16 to nearest even; q8_0 blocks of
 * 32 to q = round-half-away(x / d) with d = fround(absmax / 127), value q · fp16(d)
 * (a NaN anywhere in a block makes the whole block NaN); q8_k blocks of 256 to
 * q = min(127, x · iscale rounded half to even) with iscale = fround(−127 / m), m the
 * block's value of largest magnitude with its sign, value q · fround(1 / iscale)
 * (a NaN or infinity anywhere in a block makes the whole block NaN, an all-zero block stays 0).
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
    case 'q8_k':
      for (let start = 0; start < cols; start += Q8_K_ACTIVATION_BLOCK) {
        const block = out.subarray(start, Math.min(cols, start + Q8_K_ACTIVATION_BLOCK));
        if (block.some((v) => !Number.isFinite(v))) {
          block.fill(Number.NaN);
          continue;
        }
        let largest = 0;
        for (const v of block) if (Math.abs(v) > Math.abs(largest)) largest = v;
        if (largest === 0) {
          block.fill(0);
          continue;
        }
        const iscale = Math.fround(-127 / largest);
        const d = Math.fround(1 / iscale);
        for (let i = 0; i < block.length; i++) {
          const scaled = Math.fround(block[i] * iscale);
          const floor = Math.floor(scaled);
          const fraction = scaled - floor;
          // Halves go to the even neighbour; + 0 makes −0 an integer zero, as ggml's int is.
          const q = (fraction > 0.5 || (fraction === 0.5 && floor % 2 !== 0) ? floor + 1 : floor) + 0;
          block[i] = Math.fround(Math.min(127, q) * d);
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
