import { getTernaryFormat, halfBitsToFloat, type TernaryFormatName, unpackTernary } from '@trit/ternary';
import { KernelFormatError, KernelShapeError } from './errors.js';
import type { TernaryTensorInput } from './ternary-input.js';

/**
 * The one ternary layout every implementation runs on (KERNEL.md §2): 32-byte chunks of
 * 128 codes (t + 1), rows as sequences of scaled segments. `prepare` converts
 * every input format into it; TQ2_0 blocks already are two chunks plus a scale.
 */
export interface TernaryLayout {
  rows: number;
  cols: number;
  codes: Uint8Array;
  segAct: Int32Array;
  segChunks: Int32Array;
  segScale: Float32Array;
  /** Uniform mode: segments per row (all rows share segAct/segChunks); 0 for general mode. */
  uniform: number;
  /** General mode only: rows + 1 segment starts. */
  rowSeg: Int32Array | null;
  /** General mode only: rows + 1 code byte starts. */
  rowCode: Int32Array | null;
  /** Largest segAct + 128·segChunks: activations must be zero-padded this far. */
  maxActEnd: number;
}

/** A ternary matrix as stored in a GGUF tensor: `rows` rows of `cols` (= ne0) weights. */
export interface GgufTernaryInput {
  format: TernaryFormatName;
  data: Uint8Array;
  rows: number;
  cols: number;
}

export const CHUNK_WEIGHTS = 128;
export const CHUNK_BYTES = 32;

/** I2_S keeps element 32n + m in bits 7−2n…; chunks keep it in bits 2n+1…2n: reverse the four fields. */
const REVERSE_FIELDS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  REVERSE_FIELDS[b] = ((b >> 6) & 3) | (((b >> 4) & 3) << 2) | (((b >> 2) & 3) << 4) | ((b & 3) << 6);
}

function checkDims(rows: number, cols: number): void {
  for (const [what, v] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new KernelShapeError(`prepare: ${what}`, 'a positive integer', v);
  }
}

/** Any byte with a 2-bit field equal to 3 (the reserved code). */
function hasReservedCode(byte: number): boolean {
  return (byte & (byte >> 1) & 0x55) !== 0;
}

/** Packs ternary values t (-1/0/+1) of one segment into chunks at `out[offset…]`. */
function packSegment(values: Int8Array, start: number, length: number, out: Uint8Array, offset: number): void {
  const chunks = Math.ceil(length / CHUNK_WEIGHTS);
  // Padding weights are zero: code 1 in every field.
  out.fill(0x55, offset, offset + chunks * CHUNK_BYTES);
  for (let i = 0; i < length; i++) {
    const p = i & 127;
    const byte = offset + (i >> 7) * CHUNK_BYTES + (p & 31);
    const shift = 2 * (p >> 5);
    out[byte] = (out[byte] & ~(3 << shift)) | ((values[start + i] + 1) << shift);
  }
}

/**
 * Layout for flat-blocked codes: element k = r·cols + j has scale scales[⌊k / blockSize⌋].
 * Rows share one segment pattern when cols is a multiple of blockSize or blockSize of cols;
 * otherwise (blocks straddling rows at shifting offsets) each row gets its own segments.
 */
export function layoutFromFlatBlocks(
  values: Int8Array,
  scales: Float32Array,
  rows: number,
  cols: number,
  blockSize: number,
): TernaryLayout {
  checkDims(rows, cols);
  const uniformPattern = cols % blockSize === 0 || blockSize % cols === 0;
  if (uniformPattern) {
    const segLength = Math.min(blockSize, cols);
    const perRow = cols / segLength;
    const chunksPerSeg = Math.ceil(segLength / CHUNK_WEIGHTS);
    const segAct = new Int32Array(perRow);
    const segChunks = new Int32Array(perRow).fill(chunksPerSeg);
    for (let k = 0; k < perRow; k++) segAct[k] = k * segLength;
    const rowBytes = perRow * chunksPerSeg * CHUNK_BYTES;
    const codes = new Uint8Array(rows * rowBytes);
    const segScale = new Float32Array(rows * perRow);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < perRow; k++) {
        const flat = r * cols + k * segLength;
        segScale[r * perRow + k] = scales[Math.floor(flat / blockSize)];
        packSegment(values, flat, segLength, codes, r * rowBytes + k * chunksPerSeg * CHUNK_BYTES);
      }
    }
    return finish({ rows, cols, codes, segAct, segChunks, segScale, uniform: perRow, rowSeg: null, rowCode: null });
  }
  // General mode: cut each row at the flat block boundaries that fall inside it.
  const act: number[] = [];
  const chunkCounts: number[] = [];
  const segScales: number[] = [];
  const rowSeg = new Int32Array(rows + 1);
  const rowCode = new Int32Array(rows + 1);
  let totalBytes = 0;
  for (let r = 0; r < rows; r++) {
    rowSeg[r] = act.length;
    rowCode[r] = totalBytes;
    for (let j = 0; j < cols; ) {
      const flat = r * cols + j;
      const block = Math.floor(flat / blockSize);
      const end = Math.min(cols, (block + 1) * blockSize - r * cols);
      act.push(j);
      chunkCounts.push(Math.ceil((end - j) / CHUNK_WEIGHTS));
      segScales.push(scales[block]);
      totalBytes += Math.ceil((end - j) / CHUNK_WEIGHTS) * CHUNK_BYTES;
      j = end;
    }
  }
  rowSeg[rows] = act.length;
  rowCode[rows] = totalBytes;
  const codes = new Uint8Array(totalBytes);
  const segAct = Int32Array.from(act);
  const segChunks = Int32Array.from(chunkCounts);
  for (let r = 0; r < rows; r++) {
    let offset = rowCode[r];
    for (let k = rowSeg[r]; k < rowSeg[r + 1]; k++) {
      const next = k + 1 < rowSeg[r + 1] ? segAct[k + 1] : cols;
      packSegment(values, r * cols + segAct[k], next - segAct[k], codes, offset);
      offset += segChunks[k] * CHUNK_BYTES;
    }
  }
  return finish({
    rows,
    cols,
    codes,
    segAct,
    segChunks,
    segScale: Float32Array.from(segScales),
    uniform: 0,
    rowSeg,
    rowCode,
  });
}

function finish(layout: Omit<TernaryLayout, 'maxActEnd'>): TernaryLayout {
  let maxActEnd = 0;
  for (let k = 0; k < layout.segAct.length; k++) {
    maxActEnd = Math.max(maxActEnd, layout.segAct[k] + CHUNK_WEIGHTS * layout.segChunks[k]);
  }
  if (layout.codes.length > 0x7fffffff) {
    throw new KernelShapeError('prepare: prepared code bytes', '< 2 GiB per matrix', layout.codes.length);
  }
  return { ...layout, maxActEnd };
}

/** A TernaryTensor-shaped matrix (seed layout, any block size, blocks may straddle rows) → layout. */
export function layoutFromTensor(tensor: TernaryTensorInput): TernaryLayout {
  const [rows, cols] = tensor.shape;
  return layoutFromFlatBlocks(unpackTernary(tensor.packed, rows * cols), tensor.scales, rows, cols, tensor.blockSize);
}

/** TQ2_0 rows of whole 256-blocks: each block is two chunks as is, plus its fp16 scale. */
function layoutFromTq2(data: Uint8Array, rows: number, cols: number): TernaryLayout {
  const perRow = cols / 256;
  const codes = new Uint8Array(rows * perRow * 64);
  const segScale = new Float32Array(rows * perRow);
  for (let b = 0; b < rows * perRow; b++) {
    const src = b * 66;
    for (let i = 0; i < 64; i++) {
      const byte = data[src + i];
      if (hasReservedCode(byte)) {
        const r = Math.floor(b / perRow);
        throw new KernelFormatError(
          `tq2_0 row ${r}, block ${b % perRow} (byte ${src + i}): reserved code 3, which is not ternary`,
        );
      }
      codes[b * 64 + i] = byte;
    }
    segScale[b] = halfBitsToFloat(data[src + 64] | (data[src + 65] << 8));
  }
  const segAct = Int32Array.from({ length: perRow }, (_, k) => k * 256);
  const segChunks = new Int32Array(perRow).fill(2);
  return finish({ rows, cols, codes, segAct, segChunks, segScale, uniform: perRow, rowSeg: null, rowCode: null });
}

/** I2_S rows that are whole 128-blocks: reverse each byte's fields; one scale for the tensor. */
function layoutFromI2s(data: Uint8Array, rows: number, cols: number): TernaryLayout {
  const n = rows * cols;
  const packedBytes = n / 4;
  const codes = new Uint8Array(packedBytes);
  for (let i = 0; i < packedBytes; i++) {
    const byte = data[i];
    if (hasReservedCode(byte)) {
      const element = Math.floor(i / 32) * 128 + (i % 32);
      throw new KernelFormatError(
        `i2_s byte ${i} (row ${Math.floor(element / cols)}): reserved code 3, which is not ternary`,
      );
    }
    codes[i] = REVERSE_FIELDS[byte];
  }
  const scale = new DataView(data.buffer, data.byteOffset, data.length).getFloat32(packedBytes, true);
  return finish({
    rows,
    cols,
    codes,
    segAct: Int32Array.of(0),
    segChunks: Int32Array.of(cols / CHUNK_WEIGHTS),
    segScale: new Float32Array(rows).fill(scale),
    uniform: 1,
    rowSeg: null,
    rowCode: null,
  });
}

/** GGUF-style ternary tensor → layout, checking the byte length first. */
export function layoutFromGguf(input: GgufTernaryInput): TernaryLayout {
  const { format: name, data, rows, cols } = input;
  checkDims(rows, cols);
  const format = getTernaryFormat(name);
  const n = rows * cols;
  const needed = format.byteLength(n);
  if (data.length < needed) {
    throw new KernelShapeError(`prepare: ${name} data for ${rows}×${cols}`, `${needed} bytes`, `${data.length}`);
  }
  if (name === 'tq2_0' && cols % 256 === 0) return layoutFromTq2(data, rows, cols);
  if (name === 'i2_s' && cols % CHUNK_WEIGHTS === 0) return layoutFromI2s(data, rows, cols);
  const { codes, scales } = format.decode(data, n);
  for (let i = 0; i < n; i++) {
    if (codes[i] > 1)
      throw new KernelFormatError(`${name} element ${i} (row ${Math.floor(i / cols)}): reserved code 3`);
  }
  const blockSize = format.scaleScope === 'block' ? format.blockElements : n;
  return layoutFromFlatBlocks(codes, scales, rows, cols, blockSize);
}

/** The ternary value of every weight, read back from the layout (for tests). */
export function layoutValues(layout: TernaryLayout): Int8Array {
  const out = new Int8Array(layout.rows * layout.cols);
  forEachSegment(layout, (r, k, _scaleIndex, codeOffset) => {
    const start = layout.segAct[k];
    const chunks = layout.segChunks[k];
    for (let i = 0; i < chunks * CHUNK_WEIGHTS; i++) {
      const j = start + i;
      if (j >= layout.cols) break;
      const p = i & 127;
      const byte = layout.codes[codeOffset + (i >> 7) * CHUNK_BYTES + (p & 31)];
      out[r * layout.cols + j] = ((byte >> (2 * (p >> 5))) & 3) - 1;
    }
  });
  return out;
}

/** Calls fn for every segment of every row in order: (row, pattern index, scale index, code byte offset). */
export function forEachSegment(
  layout: TernaryLayout,
  fn: (row: number, segment: number, scaleIndex: number, codeOffset: number) => void,
): void {
  const { rows, uniform, segChunks } = layout;
  if (uniform > 0) {
    let rowBytes = 0;
    for (let k = 0; k < uniform; k++) rowBytes += segChunks[k] * CHUNK_BYTES;
    for (let r = 0; r < rows; r++) {
      let offset = r * rowBytes;
      for (let k = 0; k < uniform; k++) {
        fn(r, k, r * uniform + k, offset);
        offset += segChunks[k] * CHUNK_BYTES;
      }
    }
    return;
  }
  const rowSeg = layout.rowSeg as Int32Array;
  const rowCode = layout.rowCode as Int32Array;
  for (let r = 0; r < rows; r++) {
    let offset = rowCode[r];
    for (let k = rowSeg[r]; k < rowSeg[r + 1]; k++) {
      fn(r, k, k, offset);
      offset += segChunks[k] * CHUNK_BYTES;
    }
  }
}
