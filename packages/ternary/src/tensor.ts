import { dequantizeBitnetT158 } from './dequantize.js';
import { assertCount, assertPositiveInteger, TernaryLengthError, TernaryValueError } from './errors.js';
import { countPackedZeros, packedByteLength, packTernary, unpackTernary } from './pack.js';

export interface TernaryTensorInit {
  /** Codes in the seed layout, flattened row-major with no padding at row ends. */
  packed: Uint8Array;
  /** One scale per `blockSize` flat elements; the last block may be short. */
  scales: Float32Array;
  shape: readonly [rows: number, cols: number];
  blockSize: number;
}

/**
 * A ternary weight matrix: 2-bit codes plus one float scale per block of
 * `blockSize` flat elements. Blocks follow the flat row-major order, so a block
 * straddles rows when `cols` is not a multiple of `blockSize`.
 */
export class TernaryTensor {
  readonly packed: Uint8Array;
  readonly scales: Float32Array;
  readonly shape: readonly [rows: number, cols: number];
  readonly blockSize: number;

  constructor({ packed, scales, shape, blockSize }: TernaryTensorInit) {
    const [rows, cols] = shape;
    assertCount('TernaryTensor', 'rows', rows);
    assertCount('TernaryTensor', 'cols', cols);
    assertPositiveInteger('TernaryTensor', 'blockSize', blockSize);
    const elements = rows * cols;
    if (!Number.isSafeInteger(elements)) {
      throw new TernaryValueError('TernaryTensor', `${rows}×${cols} elements overflow a safe integer`);
    }
    if (packed.length !== packedByteLength(elements)) {
      throw new TernaryLengthError(
        'TernaryTensor: packed bytes',
        packedByteLength(elements),
        packed.length,
        `shape ${rows}×${cols}`,
      );
    }
    const blocks = Math.ceil(elements / blockSize);
    if (scales.length !== blocks) {
      throw new TernaryLengthError(
        'TernaryTensor: scales',
        blocks,
        scales.length,
        `shape ${rows}×${cols}, block size ${blockSize}`,
      );
    }
    this.packed = packed;
    this.scales = scales;
    this.shape = [rows, cols];
    this.blockSize = blockSize;
  }

  /** Builds a tensor from ternary values (clamped to ±1) and block scales. */
  static fromCodes(
    codes: Int8Array,
    scales: Float32Array,
    shape: readonly [number, number],
    blockSize: number,
  ): TernaryTensor {
    const elements = shape[0] * shape[1];
    if (codes.length !== elements) {
      throw new TernaryLengthError(
        'TernaryTensor.fromCodes: codes',
        elements,
        codes.length,
        `shape ${shape[0]}×${shape[1]}`,
      );
    }
    return new TernaryTensor({ packed: packTernary(codes), scales, shape, blockSize });
  }

  get rows(): number {
    return this.shape[0];
  }

  get cols(): number {
    return this.shape[1];
  }

  /** rows × cols. */
  get elementCount(): number {
    return this.shape[0] * this.shape[1];
  }

  /** Fraction of weights that are exactly zero (0 for an empty tensor). */
  sparsity(): number {
    const n = this.elementCount;
    return n === 0 ? 0 : countPackedZeros(this.packed, n) / n;
  }

  /** Bytes held: packed codes plus 4 per float32 scale. */
  memoryBytes(): number {
    return this.packed.length + 4 * this.scales.length;
  }

  numBlocks(): number {
    return this.scales.length;
  }

  /** The ternary values, one int8 per weight. */
  codes(out?: Int8Array): Int8Array {
    return unpackTernary(this.packed, this.elementCount, out);
  }

  /** Weights as floats: code × block scale. */
  dequantize(): Float32Array {
    return dequantizeBitnetT158(this.packed, this.scales, this.elementCount, this.blockSize);
  }
}
