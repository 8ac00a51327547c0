import { type GgmlBlockCodec, ggmlBlockCodec, halfBitsToFloat } from '@trit/ternary';
import { DENSE_TYPES, type DenseType, type DenseTypeInfo, denseTypeInfo } from './dense-types.js';
import { KernelFormatError, KernelShapeError } from './errors.js';

export type { DenseType } from './dense-types.js';

export interface DenseInput {
  type: DenseType;
  /** Row-major rows × cols, as stored in GGUF (a Float32Array is accepted for f32). */
  data: Uint8Array | Float32Array;
  rows: number;
  cols: number;
}

/** A dense matrix as the kernels hold it: the raw bytes plus a row decoder (KERNEL.md §4). */
export interface DenseLayout {
  type: DenseType;
  /** The type's row in DENSE_TYPES. */
  info: DenseTypeInfo;
  rows: number;
  cols: number;
  bytes: Uint8Array;
  rowBytes: number;
  /** Writes row r's weights as exact float32 values into out. */
  readRow(r: number, out: Float32Array): void;
}

function rowBytesOf(info: DenseTypeInfo, cols: number): number {
  if (cols % info.blockElements !== 0) {
    throw new KernelShapeError(`prepare: ${info.name} cols`, `a multiple of ${info.blockElements}`, cols);
  }
  return (cols / info.blockElements) * info.blockBytes;
}

export function denseLayout(input: DenseInput): DenseLayout {
  const { type, rows, cols } = input;
  const info = denseTypeInfo(type);
  if (!info) {
    const supported = DENSE_TYPES.map((t) => t.name).join(', ');
    throw new KernelFormatError(`unsupported dense type "${String(type)}"; supported: ${supported}`);
  }
  for (const [what, v] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new KernelShapeError(`prepare: ${what}`, 'a positive integer', v);
  }
  const data = input.data;
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const rowBytes = rowBytesOf(info, cols);
  if (bytes.length < rows * rowBytes) {
    throw new KernelShapeError(`prepare: ${type} data for ${rows}×${cols}`, `${rows * rowBytes} bytes`, bytes.length);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Typed views need aligned rows; GGUF data is aligned, arbitrary buffers may not be.
  const aligned = bytes.byteOffset % 4 === 0 && rowBytes % 4 === 0;
  const wideBits = new Uint32Array(cols);
  const wideFloats = new Float32Array(wideBits.buffer);
  const { blockElements, blockBytes } = info;
  // The block types beyond q8_0 decode as ggml's dequantize_row_* (docs/formats.md §Q4_0 … §Q6_K).
  const codec = type === 'q4_0' || type === 'q4_k' || type === 'q5_k' || type === 'q6_k' ? blockCodec(type) : undefined;
  const readRow = (r: number, out: Float32Array): void => {
    const base = r * rowBytes;
    switch (type) {
      case 'f32':
        if (aligned) out.set(new Float32Array(bytes.buffer, bytes.byteOffset + base, cols));
        else for (let j = 0; j < cols; j++) out[j] = view.getFloat32(base + 4 * j, true);
        return;
      case 'f16':
        for (let j = 0; j < cols; j++) out[j] = halfBitsToFloat(bytes[base + 2 * j] | (bytes[base + 2 * j + 1] << 8));
        return;
      case 'bf16':
        for (let j = 0; j < cols; j++) wideBits[j] = (bytes[base + 2 * j] << 16) | (bytes[base + 2 * j + 1] << 24);
        out.set(wideFloats);
        return;
      case 'q8_0':
        // Each block: fp16 d, then blockElements int8 values.
        for (let b = 0; b < cols / blockElements; b++) {
          const block = base + b * blockBytes;
          const d = halfBitsToFloat(bytes[block] | (bytes[block + 1] << 8));
          for (let i = 0; i < blockElements; i++) out[b * blockElements + i] = d * ((bytes[block + 2 + i] << 24) >> 24);
        }
        return;
      case 'q4_0':
      case 'q4_k':
      case 'q5_k':
      case 'q6_k':
        (codec as GgmlBlockCodec).decode(bytes, base, out, 0, cols / blockElements);
        return;
    }
  };
  return { type, info, rows, cols, bytes, rowBytes, readRow };
}

function blockCodec(type: DenseType): GgmlBlockCodec {
  const codec = ggmlBlockCodec(type);
  if (!codec) throw new KernelFormatError(`no ggml block codec for dense type "${type}"`);
  return codec;
}
