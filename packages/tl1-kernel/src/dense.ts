import { halfBitsToFloat } from '@trit/ternary';
import { KernelFormatError, KernelShapeError } from './errors.js';

/** Dense weight types the kernels multiply, with their ggml type ids. */
export type DenseType = 'f32' | 'f16' | 'bf16' | 'q8_0';

export const DENSE_GGML_TYPE: Readonly<Record<DenseType, number>> = { f32: 0, f16: 1, q8_0: 8, bf16: 30 };

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
  rows: number;
  cols: number;
  bytes: Uint8Array;
  rowBytes: number;
  /** Writes row r's weights as exact float32 values into out. */
  readRow(r: number, out: Float32Array): void;
}

function rowBytesOf(type: DenseType, cols: number): number {
  switch (type) {
    case 'f32':
      return cols * 4;
    case 'f16':
    case 'bf16':
      return cols * 2;
    case 'q8_0':
      if (cols % 32 !== 0) throw new KernelShapeError('prepare: q8_0 cols', 'a multiple of 32', cols);
      return (cols / 32) * 34;
  }
}

export function denseLayout(input: DenseInput): DenseLayout {
  const { type, rows, cols } = input;
  if (!Object.hasOwn(DENSE_GGML_TYPE, type)) {
    throw new KernelFormatError(`unsupported dense type "${String(type)}"; supported: f32, f16, bf16, q8_0`);
  }
  for (const [what, v] of [
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new KernelShapeError(`prepare: ${what}`, 'a positive integer', v);
  }
  const data = input.data;
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const rowBytes = rowBytesOf(type, cols);
  if (bytes.length < rows * rowBytes) {
    throw new KernelShapeError(`prepare: ${type} data for ${rows}×${cols}`, `${rows * rowBytes} bytes`, bytes.length);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Typed views need aligned rows; GGUF data is aligned, arbitrary buffers may not be.
  const aligned = bytes.byteOffset % 4 === 0 && rowBytes % 4 === 0;
  const wideBits = new Uint32Array(cols);
  const wideFloats = new Float32Array(wideBits.buffer);
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
        for (let b = 0; b < cols / 32; b++) {
          const block = base + b * 34;
          const d = halfBitsToFloat(bytes[block] | (bytes[block + 1] << 8));
          for (let i = 0; i < 32; i++) out[b * 32 + i] = d * ((bytes[block + 2 + i] << 24) >> 24);
        }
        return;
    }
  };
  return { type, rows, cols, bytes, rowBytes, readRow };
}
