import { scaleCodes } from '../dequantize.js';
import { assertCount, TernaryLengthError, TernaryValueError } from '../errors.js';
import { readHalf, writeHalf } from '../half.js';
import type { TernaryFormatName } from './registry.js';

export type { TernaryFormatName };

/** Which GGUF reading a type id belongs to (ids 30 and 36 mean different things in each). */
export type GgufDialect = 'ggml' | 'bitnet.cpp' | 'ruvllm';

export interface DecodedTernary {
  /** One value per element: -1, 0 or +1 (and +2 where a format's reserved code decodes so). */
  codes: Int8Array;
  /** One scale per block, or a single scale for tensor-scaled formats. */
  scales: Float32Array;
}

/**
 * One row of the ternary format table, in the spirit of ggml's type traits.
 * Codes are ternary values (-1, 0, +1); values beyond ±1 are clamped on encode.
 * Lengths that are not a whole number of blocks follow `partialBlock`.
 */
export interface TernaryBlockFormat {
  readonly name: TernaryFormatName;
  readonly description: string;
  /** The type id this format has in GGUF files of `dialect`. */
  readonly ggmlType: number;
  readonly dialect: GgufDialect;
  /** Elements covered by one block of codes. */
  readonly blockElements: number;
  /** Bytes of one block, including its scale when scales are per block. */
  readonly bytesPerBlock: number;
  /** `block`: one scale per block; `tensor`: a single scale for the whole tensor. */
  readonly scaleScope: 'block' | 'tensor';
  /**
   * The elements after the last whole block. `padded`: stored as a zero-padded
   * block. `dropped`: not stored (bitnet.cpp's I2_S, docs/formats.md §I2_S): they
   * decode to 0, and encode refuses lengths that are not whole blocks.
   */
  readonly partialBlock: 'padded' | 'dropped';
  /** Bytes the format needs for n elements. */
  byteLength(n: number): number;
  /** Scales the format stores for n elements. */
  scaleCount(n: number): number;
  /** Storage cost in bits per weight for n elements. */
  bitsPerWeight(n: number): number;
  encode(codes: Int8Array, scales: Float32Array): Uint8Array;
  decode(bytes: Uint8Array, n: number): DecodedTernary;
  /** decode, then code × scale, as float32. */
  dequantize(bytes: Uint8Array, n: number): Float32Array;
}

/*
 * The per-format loops run over many blocks per call: a shared loop calling a
 * different packer per format would make its call site polymorphic and slow
 * every format after the first.
 */

/**
 * Packs `blocks` whole blocks of codes (ternary values, clamped) from
 * src[srcOffset…] into dst, block b's codes at dstOffset + b·stride.
 */
export type PackBlocks = (
  src: Int8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  blocks: number,
  stride: number,
) => void;

/**
 * Unpacks `blocks` whole blocks, block b's codes at srcOffset + b·stride, into
 * int8 lanes of `dst`, a word view of the output starting at word `dstWord`.
 */
export type UnpackBlocks = (
  src: Uint8Array,
  srcOffset: number,
  dst: Int32Array,
  dstWord: number,
  blocks: number,
  stride: number,
) => void;

export interface BlockCodecSpec {
  name: TernaryFormatName;
  description: string;
  ggmlType: number;
  dialect: GgufDialect;
  blockElements: number;
  /** Bytes of packed codes per block. */
  codeBytesPerBlock: number;
  /**
   * `block-f16`: an fp16 scale follows each block's codes.
   * `tensor-f32-tail`: one float32 scale after all blocks, then zero padding to `tailBytes`.
   */
  scale: { kind: 'block-f16' } | { kind: 'tensor-f32-tail'; tailBytes: number };
  /**
   * `padded` (default): a short last block is zero-padded and stored whole.
   * `dropped` (tensor scales only): codes take `n · codeBytesPerBlock / blockElements`
   * bytes, rounded down, the scale tail follows them, and the elements past the
   * last whole block have no codes.
   */
  partialBlock?: 'padded' | 'dropped';
  packBlocks: PackBlocks;
  unpackBlocks: UnpackBlocks;
}

/**
 * Builds a format from its per-block code packer: the shared part handles
 * scales, padding of a short last block, length checks and errors.
 */
export function defineBlockFormat(spec: BlockCodecSpec): TernaryBlockFormat {
  const { name, blockElements: blockN, codeBytesPerBlock, packBlocks, unpackBlocks } = spec;
  const perBlockScale = spec.scale.kind === 'block-f16';
  const bytesPerBlock = codeBytesPerBlock + (perBlockScale ? 2 : 0);
  const tailBytes = spec.scale.kind === 'tensor-f32-tail' ? spec.scale.tailBytes : 0;
  const partialBlock = spec.partialBlock ?? 'padded';
  const dropped = partialBlock === 'dropped';
  if (dropped && perBlockScale) throw new TypeError(`${name}: a dropped partial block needs a tensor scale`);

  // Blocks that hold codes: a dropped partial block holds none.
  const blocksFor = (n: number) => (dropped ? Math.floor(n / blockN) : Math.ceil(n / blockN));
  // Bytes before the tensor scale: a dropped partial block still counts here (I2_S's ⌊n/4⌋).
  const codeBytesFor = (n: number) =>
    dropped ? Math.floor((n * codeBytesPerBlock) / blockN) : blocksFor(n) * bytesPerBlock;
  const byteLength = (n: number) => codeBytesFor(n) + tailBytes;
  const scaleCount = (n: number) => (perBlockScale ? blocksFor(n) : 1);

  const checkScale = (scale: number, block: number): void => {
    if (!Number.isFinite(scale)) {
      throw new TernaryValueError(`${name} encode`, `scale ${scale} of block ${block} is not finite`, block);
    }
  };

  const encode = (codes: Int8Array, scales: Float32Array): Uint8Array => {
    const n = codes.length;
    if (dropped && n % blockN !== 0) {
      throw new TernaryValueError(
        `${name} encode`,
        `${n} elements is not a multiple of ${blockN}: the format stores only whole ${blockN}-element blocks, and ${spec.dialect}'s kernels would drop the last ${n % blockN} elements`,
        n - (n % blockN),
      );
    }
    const expectedScales = scaleCount(n);
    if (scales.length !== expectedScales) {
      throw new TernaryLengthError(`${name} encode: scales`, expectedScales, scales.length, `${n} codes`);
    }
    const out = new Uint8Array(byteLength(n));
    const blocks = blocksFor(n);
    const whole = Math.floor(n / blockN);
    packBlocks(codes, 0, out, 0, whole, bytesPerBlock);
    if (whole < blocks) {
      const padded = new Int8Array(blockN);
      padded.set(codes.subarray(whole * blockN));
      packBlocks(padded, 0, out, whole * bytesPerBlock, 1, bytesPerBlock);
    }
    if (perBlockScale) {
      for (let block = 0; block < blocks; block++) {
        const scale = scales[block];
        checkScale(scale, block);
        const stored = writeHalf(out, block * bytesPerBlock + codeBytesPerBlock, scale);
        if (!Number.isFinite(stored)) {
          throw new TernaryValueError(`${name} encode`, `scale ${scale} of block ${block} overflows fp16`, block);
        }
      }
    }
    if (!perBlockScale) {
      const scale = scales[0];
      checkScale(scale, 0);
      new DataView(out.buffer).setFloat32(codeBytesFor(n), scale, true);
    }
    return out;
  };

  const decode = (bytes: Uint8Array, n: number): DecodedTernary => {
    assertCount(`${name} decode`, 'n', n);
    const needed = byteLength(n);
    if (bytes.length < needed) {
      throw new TernaryLengthError(`${name} decode: bytes`, needed, bytes.length, `${n} elements`);
    }
    const blocks = blocksFor(n);
    // Whole blocks are unpacked in place; the output is rounded up so the last block needs no copy.
    // A dropped partial block stays 0.
    const padded = new Int8Array(Math.ceil(n / blockN) * blockN);
    const words = new Int32Array(padded.buffer);
    const scales = new Float32Array(scaleCount(n));
    unpackBlocks(bytes, 0, words, 0, blocks, bytesPerBlock);
    if (perBlockScale) {
      for (let block = 0; block < blocks; block++)
        scales[block] = readHalf(bytes, block * bytesPerBlock + codeBytesPerBlock);
    } else {
      scales[0] = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getFloat32(codeBytesFor(n), true);
    }
    return { codes: padded.length === n ? padded : padded.slice(0, n), scales };
  };

  const dequantize = (bytes: Uint8Array, n: number): Float32Array => {
    const { codes, scales } = decode(bytes, n);
    const out = new Float32Array(n);
    scaleCodes(codes, scales, perBlockScale ? blockN : Math.max(n, 1), out);
    return out;
  };

  return {
    name,
    description: spec.description,
    ggmlType: spec.ggmlType,
    dialect: spec.dialect,
    blockElements: blockN,
    bytesPerBlock,
    scaleScope: perBlockScale ? 'block' : 'tensor',
    partialBlock,
    byteLength,
    scaleCount,
    bitsPerWeight: (n) => (n === 0 ? 0 : (byteLength(n) * 8) / n),
    encode,
    decode,
    dequantize,
  };
}
