// Inputs for testing the kernels beneath the TernaryKernel API: the native addon
// and the wasm exports, called directly. Segment layouts in uniform and general
// mode (KERNEL.md §2), scales and activations with special values, and the sums
// that come closest to overflowing (§3), each with its expected output from
// src/reference.ts, the one JS transcription of the contract. Not part of the public API.
import { floatToHalfBits } from '@trit/ternary';
import { createRng, type Rng } from '@trit/testkit';
import { quantizeTokens, type TokenBatch } from './activations.js';
import { fillBlockWeights, isBlockType } from './block-weights.js';
import { type DenseType, type DenseTypeInfo, denseTypeInfo } from './dense-types.js';
import { qStrideFor } from './kernel.js';
import { layoutFromFlatBlocks, type TernaryLayout } from './layout.js';
import {
  type ContractTernary,
  referenceDenseActivations,
  referenceDenseGemv,
  referenceTernaryGemv,
} from './reference.js';

export interface TernaryKernelCase {
  name: string;
  layout: TernaryLayout;
  batch: TokenBatch;
  /** nTokens × rows, from referenceTernaryGemv. */
  expected: Float32Array;
}

type Weights = 'random' | 'plus' | 'minus';
type Activations = 'gauss' | 'saturate' | 'negative' | 'first-zero' | 'infinite';
type Scales = 'plain' | 'special';

interface TernaryShape {
  rows: number;
  cols: number;
  blockSize: number;
  tokens: number[];
  weights?: Weights;
  activations?: Activations;
  scales?: Scales;
  note?: string;
}

/*
 * blockSize decides the layout (src/layout.ts): a multiple or divisor of cols gives
 * uniform mode with segments at multiples of blockSize (not of 128 unless it is one);
 * anything else gives blocks that straddle rows, so general mode with per-row segments
 * at odd offsets. `plus`/`minus` weights with ±127 activations reach the largest
 * integer sums, which int16 partial sums must widen in time for.
 */
const TERNARY_SHAPES: TernaryShape[] = [
  { rows: 1, cols: 1, blockSize: 128, tokens: [1, 3, 8] },
  { rows: 3, cols: 5, blockSize: 128, tokens: [1, 3, 8, 64] },
  { rows: 7, cols: 257, blockSize: 256, tokens: [1, 3, 8, 64] },
  { rows: 7, cols: 257, blockSize: 257, tokens: [1, 5], note: 'one segment per row' },
  { rows: 13, cols: 300, blockSize: 100, tokens: [1, 4, 9], note: 'segments at multiples of 100' },
  { rows: 37, cols: 1000, blockSize: 256, tokens: [1, 3, 8, 64], note: 'a short last segment' },
  { rows: 1, cols: 700, blockSize: 300, tokens: [1, 4], note: 'general mode' },
  { rows: 37, cols: 641, blockSize: 300, tokens: [1, 3, 8, 64], note: 'general mode' },
  { rows: 301, cols: 300, blockSize: 1000, tokens: [1, 7], note: 'general mode, blocks over rows' },
  { rows: 29, cols: 1000, blockSize: 7, tokens: [1, 8], activations: 'saturate', note: 'general mode' },
  { rows: 19, cols: 2048, blockSize: 2048, tokens: [1, 4], weights: 'plus', activations: 'saturate' },
  { rows: 19, cols: 2048, blockSize: 2048, tokens: [1, 5], weights: 'plus', activations: 'negative' },
  { rows: 16, cols: 4096, blockSize: 256, tokens: [1, 4], weights: 'minus', activations: 'saturate' },
  { rows: 33, cols: 1024, blockSize: 256, tokens: [1, 3, 8, 64], activations: 'saturate' },
  { rows: 2, cols: 25_600, blockSize: 25_600, tokens: [1], weights: 'plus', activations: 'saturate' },
  { rows: 9, cols: 256, blockSize: 256, tokens: [3], activations: 'first-zero' },
  { rows: 17, cols: 300, blockSize: 100, tokens: [1], scales: 'special', activations: 'infinite' },
  { rows: 40, cols: 700, blockSize: 300, tokens: [7], scales: 'special', activations: 'infinite' },
  { rows: 9, cols: 2000, blockSize: 256, tokens: [4], scales: 'special', activations: 'infinite' },
  // 32- and 16-row blocks of the many-token GEMM, with token tails (native/ternary_panel.c)
  { rows: 80, cols: 512, blockSize: 256, tokens: [4, 13], scales: 'special', activations: 'infinite' },
  { rows: 50, cols: 768, blockSize: 256, tokens: [4, 8, 17], activations: 'negative' },
  {
    rows: 64,
    cols: 640,
    blockSize: 640,
    tokens: [9],
    weights: 'minus',
    activations: 'saturate',
    note: 'one segment per row',
  },
];

/** Scales of every kind the float epilogue must carry through: NaN, ±inf, -0, subnormal, huge. */
const SPECIAL_SCALES = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e-40, 3e38, -2.5e-3];

function ternaryValues(weights: Weights, n: number, rng: Rng): Int8Array {
  if (weights === 'plus') return new Int8Array(n).fill(1);
  if (weights === 'minus') return new Int8Array(n).fill(-1);
  return Int8Array.from({ length: n }, () => rng.nextInt(3) - 1);
}

function activations(kind: Activations, nTokens: number, cols: number, rng: Rng): Float32Array {
  const x = new Float32Array(nTokens * cols);
  for (let i = 0; i < x.length; i++) {
    const g = rng.gaussian() * (rng.nextInt(100) === 0 ? 20 : 1);
    x[i] = kind === 'saturate' ? (rng.nextU32() & 1 ? 4 : -4) : kind === 'negative' ? -4 : g;
  }
  if (kind === 'first-zero') x.fill(0, 0, cols); // scale 1, all codes zero
  if (kind === 'infinite') x[cols - 1] = Number.POSITIVE_INFINITY; // token 0: scale 0, all codes zero
  return x;
}

/**
 * The same general-mode matrix with 0–40 bytes of junk (reserved code 3 included)
 * before each row's codes, so rows start at any byte offset and a kernel that reads
 * past a row's segments gets wrong sums.
 */
function withPaddedRows(layout: TernaryLayout, rng: Rng): TernaryLayout {
  const rowCode = layout.rowCode as Int32Array;
  const pads = Array.from({ length: layout.rows }, () => rng.nextInt(41));
  const codes = new Uint8Array(layout.codes.length + pads.reduce((a, b) => a + b, 0) + 7).fill(0xff);
  const padded = new Int32Array(layout.rows + 1);
  let at = 0;
  for (let r = 0; r < layout.rows; r++) {
    at += pads[r] as number;
    padded[r] = at;
    codes.set(layout.codes.subarray(rowCode[r], rowCode[r + 1]), at);
    at += (rowCode[r + 1] as number) - (rowCode[r] as number);
  }
  padded[layout.rows] = at;
  return { ...layout, codes, rowCode: padded };
}

export function ternaryKernelCases(seed = 1): TernaryKernelCase[] {
  const rng = createRng(seed);
  const cases: TernaryKernelCase[] = [];
  for (const shape of TERNARY_SHAPES) {
    const { rows, cols, blockSize, weights = 'random', scales = 'plain' } = shape;
    const values = ternaryValues(weights, rows * cols, rng);
    const scaleValues = Float32Array.from({ length: Math.ceil((rows * cols) / blockSize) }, (_, i) =>
      scales === 'special' && i % 3 === 1
        ? (SPECIAL_SCALES[rng.nextInt(SPECIAL_SCALES.length)] as number)
        : (0.01 + rng.nextFloat() * 2) * (rng.nextInt(10) === 0 ? -1 : 1),
    );
    const contract: ContractTernary = { rows, cols, values, scales: scaleValues, blockSize };
    const layout = layoutFromFlatBlocks(values, scaleValues, rows, cols, blockSize);
    for (const nTokens of shape.tokens) {
      const x = activations(shape.activations ?? 'gauss', nTokens, cols, rng);
      const expected = new Float32Array(nTokens * rows);
      for (let t = 0; t < nTokens; t++) expected.set(referenceTernaryGemv(contract, x, t * cols), t * rows);
      const mode = layout.uniform > 0 ? `uniform ${layout.uniform}` : 'general';
      const name = `${rows}x${cols} blocks of ${blockSize} (${shape.note ?? mode}) ${weights} weights, ${shape.activations ?? 'gauss'} x, ${scales} scales, ${nTokens} tokens`;
      const batch = quantizeTokens(x, nTokens, cols, qStrideFor(layout));
      cases.push({ name, layout, batch, expected });
      if (layout.uniform === 0 && nTokens === shape.tokens[0])
        cases.push({ name: `${name}, rows at odd offsets`, layout: withPaddedRows(layout, rng), batch, expected });
    }
  }
  return cases;
}

export interface DenseKernelCase {
  name: string;
  type: DenseType;
  ggmlType: number;
  /** The row-major weights, starting at an odd byte offset so no load can assume alignment. */
  data: Uint8Array;
  rows: number;
  cols: number;
  nTokens: number;
  /** nTokens × cols activations as the kernels get them: already rounded to the type's grid. */
  x: Float32Array;
  /** nTokens × rows, from referenceDenseGemv of the activations before rounding. */
  expected: Float32Array;
}

/** Half and bfloat16 bit patterns the conversions must get exactly: ±0, subnormals, ±max, ±inf, NaNs. */
const SPECIAL_F16 = [0x0000, 0x8000, 0x0001, 0x83ff, 0x03ff, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7c01, 0x7e00, 0xffff];
const SPECIAL_BF16 = [0x0000, 0x8000, 0x0001, 0x807f, 0x7f7f, 0x7f80, 0xff80, 0x7f81, 0x7fc0, 0xffc1, 0xffff];
const SPECIAL_X = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-40, 3e38];

function denseBytes(type: DenseType, rows: number, cols: number, special: boolean, rng: Rng): Uint8Array {
  const { blockElements, blockBytes } = denseTypeInfo(type) as DenseTypeInfo;
  const data = new Uint8Array(((rows * cols) / blockElements) * blockBytes + 1).subarray(1);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const pick = (list: number[]) => list[rng.nextInt(list.length)] as number;
  for (let i = 0; i < rows * cols; i++) {
    const rare = special && rng.nextInt(20) === 0;
    if (type === 'f32')
      view.setFloat32(4 * i, rare ? pick(SPECIAL_X) : rng.gaussian() * 2 ** (rng.nextInt(30) - 20), true);
    else if (type === 'f16')
      view.setUint16(2 * i, rare ? pick(SPECIAL_F16) : floatToHalfBits(rng.gaussian() * 0.1), true);
    else if (type === 'bf16')
      view.setUint16(
        2 * i,
        rare ? pick(SPECIAL_BF16) : (rng.nextU32() & 0x8000) | ((90 + rng.nextInt(70)) << 7) | rng.nextInt(128),
        true,
      );
  }
  if (isBlockType(type)) {
    // Block scales of 2^-15 … 2^-6 (q6_k's int8 sub-scales and q4_k/q5_k's 6-bit ones multiply them).
    const ordinary = () => (rng.nextU32() & 0x8000) | ((1 + rng.nextInt(9)) << 10) | rng.nextInt(1024);
    fillBlockWeights(type, data, (rows * cols) / blockElements, rng, (b) =>
      special && b % 3 === 1 ? pick(SPECIAL_F16) : ordinary(),
    );
  }
  if (type === 'q8_0') {
    for (let b = 0; b < (rows * cols) / 32; b++) {
      const d =
        special && b % 7 === 3
          ? pick(SPECIAL_F16)
          : (rng.nextU32() & 0x8000) | ((1 + rng.nextInt(20)) << 10) | rng.nextInt(1024);
      view.setUint16(34 * b, d, true);
      for (let i = 0; i < 32; i++) view.setInt8(34 * b + 2 + i, rng.nextInt(256) - 128);
    }
  }
  return data;
}

export function denseKernelCases(seed = 2): DenseKernelCase[] {
  const rng = createRng(seed);
  const cases: DenseKernelCase[] = [];
  for (const type of ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'] as const) {
    const superBlocks = type === 'q4_k' || type === 'q5_k' || type === 'q6_k';
    const shapes = superBlocks
      ? [
          [1, 256],
          [3, 512],
          [7, 768],
          [13, 2560],
        ]
      : type === 'q8_0' || type === 'q4_0'
        ? [
            [1, 32],
            [3, 64],
            [7, 288],
            [13, 2560],
          ]
        : [
            [1, 1],
            [3, 5],
            [7, 257],
            [13, 1003],
          ];
    for (const [rows, cols] of shapes as [number, number][]) {
      for (const special of [false, true]) {
        const data = denseBytes(type, rows, cols, special, rng);
        for (const nTokens of [1, 3, 8]) {
          const raw = Float32Array.from({ length: nTokens * cols }, () =>
            special && rng.nextInt(25) === 0 ? (SPECIAL_X[rng.nextInt(SPECIAL_X.length)] as number) : rng.gaussian(),
          );
          const x = new Float32Array(nTokens * cols);
          const expected = new Float32Array(nTokens * rows);
          for (let t = 0; t < nTokens; t++) {
            x.set(referenceDenseActivations(type, raw, t * cols, cols), t * cols);
            expected.set(referenceDenseGemv(type, data, rows, cols, raw, t * cols), t * rows);
          }
          cases.push({
            name: `${type} ${rows}x${cols}${special ? ' with special values' : ''}, ${nTokens} tokens`,
            type,
            ggmlType: (denseTypeInfo(type) as DenseTypeInfo).ggmlType,
            data,
            rows,
            cols,
            nTokens,
            x,
            expected,
          });
        }
      }
    }
  }
  return cases;
}
