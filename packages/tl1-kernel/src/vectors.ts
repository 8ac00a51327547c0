// The shared known-answer cases: inputs are rebuilt from seeds (so the fixture
// stays small), expected outputs are stored in fixtures/vectors.json. Used by
// scripts/generate-vectors.ts and by every implementation's tests. Not part of the public API.
import { createHash } from 'node:crypto';
import { floatToHalfBits, packTernary, roundToHalf, TERNARY_FORMATS, TernaryTensor } from '@trit/ternary';
import { createRng, randomTernary } from '@trit/testkit';
import { fillBlockWeights, isBlockType } from './block-weights.js';
import { type DenseType, type DenseTypeInfo, denseTypeInfo } from './dense-types.js';
import type { GgufTernaryInput } from './layout.js';
import type { ContractTernary } from './reference.js';

export type ActivationKind = 'normal' | 'zeros' | 'nan' | 'huge' | 'tiny' | 'mixed' | 'saturate';

export interface TernaryCase {
  id: string;
  kind: 'ternary';
  rows: number;
  cols: number;
  /** A GGUF format, or `tensor:B` for a TernaryTensor with flat blocks of B. */
  source: string;
  seed: number;
  activations: ActivationKind;
  nTokens: number;
}

export interface DenseCase {
  id: string;
  kind: 'dense';
  rows: number;
  cols: number;
  type: DenseType;
  seed: number;
  activations: ActivationKind;
  nTokens: number;
}

export type VectorCase = TernaryCase | DenseCase;

/**
 * What fixtures/vectors.json means: the cases below, how their inputs are built
 * from seeds, and src/reference.ts. Bump it with any change to an input or an
 * expected output, and regenerate the fixture (scripts/generate-vectors.ts).
 *   1: the first fixture;
 *   2: dense inputs rounded to the weight type's activation grid (KERNEL.md §4);
 *      each case records its shape, seed and the SHA-256 of its inputs;
 *   3: no i2_s cases of partial blocks (I2_S is written in whole blocks only); cases for the q4_0, q4_k, q5_k and q6_k weight types (q8_k activations for the k-quants).
 */
export const VECTORS_VERSION = 3;

export function vectorCases(): VectorCase[] {
  const cases: VectorCase[] = [];
  let seed = 100;
  const ternary = (rows: number, cols: number, source: string, activations: ActivationKind, nTokens = 1) =>
    cases.push({
      id: `${source} ${rows}x${cols} ${activations} t${nTokens}`,
      kind: 'ternary',
      rows,
      cols,
      source,
      seed: seed++,
      activations,
      nTokens,
    });
  for (const source of ['tensor:256', 'tensor:64', 'tensor:3', 'tensor:1000', 't158', 'tq1_0', 'i2_s']) {
    if (source === 'i2_s') {
      // I2_S is written in whole 128-element blocks only (docs/formats.md §I2_S): these shapes
      // cannot be encoded. Their seeds stay reserved, so the other cases keep theirs.
      seed += 3;
      continue;
    }
    ternary(1, 1, source, 'normal');
    ternary(3, 5, source, 'mixed', 2);
    ternary(7, 257, source, 'normal', 3);
  }
  for (const source of ['tq2_0', 'tq1_0', 'i2_s', 'tensor:256']) {
    ternary(4, 256, source, 'normal');
    ternary(9, 768, source, 'saturate', 2);
    ternary(5, 512, source, 'nan');
    ternary(5, 512, source, 'zeros');
    ternary(5, 512, source, 'huge');
    ternary(5, 512, source, 'tiny');
    ternary(33, 1280, source, 'mixed', 8);
  }
  ternary(2560, 6912, 'tq2_0', 'normal');
  ternary(6912, 2560, 'tq2_0', 'normal', 2);
  ternary(2560, 6912, 'tq1_0', 'mixed');
  ternary(300, 1000, 'tensor:256', 'normal', 4);
  const dense = (rows: number, cols: number, type: DenseType, activations: ActivationKind, nTokens = 1) =>
    cases.push({
      id: `${type} ${rows}x${cols} ${activations} t${nTokens}`,
      kind: 'dense',
      rows,
      cols,
      type,
      seed: seed++,
      activations,
      nTokens,
    });
  for (const type of ['f32', 'f16', 'bf16', 'q8_0'] as const) {
    const cols = type === 'q8_0' ? 32 : 1;
    dense(1, cols, type, 'normal');
    dense(3, type === 'q8_0' ? 64 : 5, type, 'mixed', 2);
    dense(7, type === 'q8_0' ? 256 : 257, type, 'normal', 3);
    dense(64, 2560, type, 'nan');
    dense(17, 96, type, 'huge', 2);
  }
  for (const type of ['q4_0', 'q4_k', 'q5_k', 'q6_k'] as const) {
    const block = type === 'q4_0' ? 32 : 256;
    dense(1, block, type, 'normal');
    dense(3, 2 * block, type, 'mixed', 2);
    dense(7, 3 * block, type, 'normal', 3);
    dense(64, 2560, type, 'nan');
    dense(17, block, type, 'huge', 2);
  }
  return cases;
}

/** Activations for a case: nTokens × cols float32 with the requested special values. */
export function caseActivations(kind: ActivationKind, nTokens: number, cols: number, seed: number): Float32Array {
  const rng = createRng(seed ^ 0x5eed);
  const x = new Float32Array(nTokens * cols);
  for (let i = 0; i < x.length; i++) {
    const g = rng.gaussian();
    switch (kind) {
      case 'normal':
        x[i] = g;
        break;
      case 'zeros':
        x[i] = 0;
        break;
      case 'nan':
        x[i] = i % 7 === 3 ? Number.NaN : g;
        break;
      case 'huge':
        x[i] = g * 1e30;
        break;
      case 'tiny':
        x[i] = g * 1e-12;
        break;
      case 'saturate':
        x[i] = rng.nextU32() & 1 ? 4 : -4;
        break;
      case 'mixed': {
        const pick = rng.nextInt(6);
        x[i] = pick === 0 ? 0 : pick === 1 ? -0 : pick === 2 ? g * 1e-3 : pick === 3 ? g * 50 : g;
        break;
      }
    }
  }
  return x;
}

/** Ternary weights of a case as the kernel input and as contract terms. */
export function caseTernary(c: TernaryCase): { input: TernaryTensor | GgufTernaryInput; contract: ContractTernary } {
  const n = c.rows * c.cols;
  const values = randomTernary(n, c.seed, 0.35);
  const rng = createRng(c.seed + 1);
  const halfScale = () => {
    // f16-representable positive scales around 0.01–0.1, with a few subnormal and large ones.
    const pick = rng.nextInt(20);
    const v = pick === 0 ? 3e-6 : pick === 1 ? 600 : 0.01 + rng.nextFloat() * 0.09;
    return roundToHalf(v);
  };
  if (c.source.startsWith('tensor:')) {
    const blockSize = Number(c.source.slice(7));
    const scales = Float32Array.from({ length: Math.ceil(n / blockSize) }, () =>
      Math.fround(0.005 + rng.nextFloat() * 0.1),
    );
    const tensor = new TernaryTensor({ packed: packTernary(values), scales, shape: [c.rows, c.cols], blockSize });
    return { input: tensor, contract: { rows: c.rows, cols: c.cols, values, scales, blockSize } };
  }
  const format = TERNARY_FORMATS[c.source as keyof typeof TERNARY_FORMATS];
  const scales = Float32Array.from({ length: format.scaleCount(n) }, halfScale);
  const data = format.encode(values, scales);
  const blockSize = format.scaleScope === 'block' ? format.blockElements : n;
  return {
    input: { format: c.source as GgufTernaryInput['format'], data, rows: c.rows, cols: c.cols },
    contract: { rows: c.rows, cols: c.cols, values, scales, blockSize },
  };
}

/** Dense weight bytes of a case, covering subnormals, infinities and NaN for f16/bf16. */
export function caseDense(c: DenseCase): Uint8Array {
  const rng = createRng(c.seed + 2);
  const n = c.rows * c.cols;
  if (isBlockType(c.type)) {
    const { blockElements, blockBytes } = denseTypeInfo(c.type) as DenseTypeInfo;
    const out = new Uint8Array((n / blockElements) * blockBytes);
    // fp16 scales around 0.0005–0.005, a few subnormal; infinite ones in the `huge` cases.
    fillBlockWeights(c.type, out, n / blockElements, rng, (b) =>
      floatToHalfBits(
        b % 11 === 5 ? 3e-6 : b % 13 === 7 && c.activations === 'huge' ? Infinity : 0.0005 + rng.nextFloat() * 0.0045,
      ),
    );
    return out;
  }
  if (c.type === 'q8_0') {
    const out = new Uint8Array((n / 32) * 34);
    const view = new DataView(out.buffer);
    for (let b = 0; b < n / 32; b++) {
      view.setUint16(b * 34, floatToHalfBits(b % 11 === 0 ? 3e-6 : 0.001 + rng.nextFloat() * 0.02), true);
      for (let i = 0; i < 32; i++) view.setInt8(b * 34 + 2 + i, rng.nextInt(255) - 127);
    }
    return out;
  }
  const width = c.type === 'f32' ? 4 : 2;
  const out = new Uint8Array(n * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const special = rng.nextInt(50);
    const g = rng.gaussian() * 0.05;
    const v =
      special === 0
        ? 1e-7
        : special === 1
          ? -0
          : special === 2 && c.activations === 'huge'
            ? Number.POSITIVE_INFINITY
            : g;
    if (c.type === 'f32') view.setFloat32(4 * i, v, true);
    else if (c.type === 'f16') view.setUint16(2 * i, floatToHalfBits(v), true);
    else view.setUint16(2 * i, new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16, true);
  }
  return out;
}

/**
 * SHA-256 of everything a case's expected output is computed from: the weights as
 * the kernel receives them, their contract values and scales, and the activations.
 * The fixture stores it, so a change to a generator (a seeded RNG, an encoder) that
 * would silently give the expectations other inputs fails the vectors test instead.
 */
export function caseInputsSha256(c: VectorCase): string {
  const hash = createHash('sha256');
  const add = (label: string, data: ArrayBufferView) => {
    hash.update(`${label} ${data.byteLength}\n`);
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  };
  if (c.kind === 'ternary') {
    const { input, contract } = caseTernary(c);
    if (input instanceof TernaryTensor) add(`tensor blocks of ${input.blockSize}`, input.packed);
    else add(input.format, input.data);
    add(`values, blocks of ${contract.blockSize}`, contract.values);
    add('scales', contract.scales);
  } else {
    add(c.type, caseDense(c));
  }
  add('activations', caseActivations(c.activations, c.nTokens, c.cols, c.seed));
  return hash.digest('hex');
}
