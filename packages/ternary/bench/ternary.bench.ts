// Throughput of packing, unpacking, sparsity and every block format, each
// against a naive per-element implementation measured in the same run.

import {
  countPackedZeros,
  floatToHalfBits,
  packTernary,
  TERNARY_FORMATS,
  type TernaryFormatName,
  unpackTernary,
} from '@trit/ternary';
import { type BenchRow, formatTable, measure, randomTernary } from '@trit/testkit';

const n = 4096 * 1024;
const codes = randomTernary(n, 1);
const packed = packTernary(codes);
const units = { units: n };

// Naive baselines: one element at a time, positions from the spec formulas.
function naivePack(values: Int8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 4));
  for (let k = 0; k < values.length; k++) {
    const v = Math.max(-1, Math.min(1, values[k]));
    out[k >> 2] |= (v + 1) << (2 * (k & 3));
  }
  return out;
}
function naiveUnpack(bytes: Uint8Array, count: number): Int8Array {
  const out = new Int8Array(count);
  for (let k = 0; k < count; k++) {
    const code = (bytes[k >> 2] >> (2 * (k & 3))) & 3;
    out[k] = code === 3 ? 0 : code - 1;
  }
  return out;
}
function naiveZeros(bytes: Uint8Array, count: number): number {
  const values = naiveUnpack(bytes, count);
  let zeros = 0;
  for (let k = 0; k < count; k++) if (values[k] === 0) zeros++;
  return zeros;
}

/**
 * Naive codecs: element by element, position from the spec formula, scale
 * through a DataView. Byte/shift of element k within its block, per format.
 */
function slot(name: TernaryFormatName, k: number): [byte: number, shift: number] {
  switch (name) {
    case 't158':
      return [k >> 2, 2 * (k & 3)];
    case 'tq2_0':
      return [32 * (k >> 7) + (k & 31), 2 * ((k & 127) >> 5)];
    case 'i2_s':
      return [k & 31, 6 - 2 * (k >> 5)];
    default:
      throw new Error('tq1_0 is base 3');
  }
}
function tq1Slot(k: number): [byte: number, trit: number] {
  if (k < 160) return [k % 32, Math.floor(k / 32)];
  if (k < 240) return [32 + ((k - 160) % 16), Math.floor((k - 160) / 16)];
  return [48 + ((k - 240) % 4), Math.floor((k - 240) / 4)];
}

function naiveEncode(name: TernaryFormatName, values: Int8Array, scales: Float32Array): Uint8Array {
  const format = TERNARY_FORMATS[name];
  const out = new Uint8Array(format.byteLength(values.length));
  const view = new DataView(out.buffer);
  const blockN = format.blockElements;
  const blocks = Math.ceil(values.length / blockN);
  for (let block = 0; block < blocks; block++) {
    const base = block * format.bytesPerBlock;
    const digits = new Array<number>(52).fill(0);
    for (let k = 0; k < blockN; k++) {
      const code = Math.max(-1, Math.min(1, values[block * blockN + k] ?? 0)) + 1;
      if (name === 'tq1_0') {
        const [byte, trit] = tq1Slot(k);
        digits[byte] += code * 3 ** (4 - trit);
      } else {
        const [byte, shift] = slot(name, k);
        out[base + byte] |= code << shift;
      }
    }
    if (name === 'tq1_0') for (let b = 0; b < 52; b++) out[base + b] = Math.floor((digits[b] * 256 + 242) / 243);
    if (format.scaleScope === 'block')
      view.setUint16(base + format.bytesPerBlock - 2, floatToHalfBits(scales[block]), true);
  }
  if (format.scaleScope === 'tensor') view.setFloat32(blocks * format.bytesPerBlock, scales[0], true);
  return out;
}

function naiveDecode(name: TernaryFormatName, bytes: Uint8Array, count: number): Int8Array {
  const format = TERNARY_FORMATS[name];
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const block = Math.floor(i / format.blockElements);
    const k = i % format.blockElements;
    const base = block * format.bytesPerBlock;
    if (name === 'tq1_0') {
      const [byte, trit] = tq1Slot(k);
      out[i] = ((((bytes[base + byte] * 3 ** trit) & 255) * 3) >> 8) - 1;
    } else {
      const [byte, shift] = slot(name, k);
      const code = (bytes[base + byte] >> shift) & 3;
      out[i] = name === 't158' && code === 3 ? 0 : code - 1;
    }
  }
  return out;
}

const rows: BenchRow[] = [];
const naivePackResult = measure('naive pack', () => naivePack(codes), units);
rows.push({ result: naivePackResult });
rows.push({ result: measure('packTernary', () => packTernary(codes), units), baseline: naivePackResult });
const naiveUnpackResult = measure('naive unpack', () => naiveUnpack(packed, n), units);
rows.push({ result: naiveUnpackResult });
const out = new Int8Array(n);
rows.push({
  result: measure('unpackTernary', () => unpackTernary(packed, n, out), units),
  baseline: naiveUnpackResult,
  goal: 300e6,
});
const naiveZerosResult = measure('naive sparsity', () => naiveZeros(packed, n), units);
rows.push({ result: naiveZerosResult });
rows.push({
  result: measure('sparsity (byte table)', () => countPackedZeros(packed, n), units),
  baseline: naiveZerosResult,
  goal: 1e9,
});

for (const name of Object.keys(TERNARY_FORMATS) as TernaryFormatName[]) {
  const format = TERNARY_FORMATS[name];
  const scales = new Float32Array(format.scaleCount(n)).fill(0.5);
  const bytes = format.encode(codes, scales);
  if (naiveDecode(name, bytes, n).some((v, i) => v !== codes[i])) throw new Error(`naive ${name} decode disagrees`);
  if (naiveEncode(name, codes, scales).some((v, i) => v !== bytes[i]))
    throw new Error(`naive ${name} encode disagrees`);
  const naiveEnc = measure(`naive ${name} encode`, () => naiveEncode(name, codes, scales), units);
  const naiveDec = measure(`naive ${name} decode`, () => naiveDecode(name, bytes, n), units);
  rows.push({ result: naiveEnc });
  rows.push({ result: measure(`${name} encode`, () => format.encode(codes, scales), units), baseline: naiveEnc });
  rows.push({ result: naiveDec });
  rows.push({
    result: measure(`${name} decode`, () => format.decode(bytes, n), units),
    baseline: naiveDec,
    goal: 300e6,
  });
  rows.push({ result: measure(`${name} dequantize`, () => format.dequantize(bytes, n), units), baseline: naiveDec });
}

console.log(formatTable(`@trit/ternary on ${n.toLocaleString('en-US')} elements, one core`, 'elements', rows));
