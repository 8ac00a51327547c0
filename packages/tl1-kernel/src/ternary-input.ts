import { isTernaryFormatName, packedByteLength, TERNARY_FORMATS } from '@trit/ternary';
import { KernelFormatError, KernelShapeError } from './errors.js';
import { type GgufTernaryInput, layoutFromGguf, layoutFromTensor, type TernaryLayout } from './layout.js';

/*
 * Inputs are matched by their fields, never with `instanceof` (README.md,
 * "Composing your own runtime": values that cross a package boundary are
 * structural): a TernaryTensor from another copy or version of @trit/ternary
 * (its ESM and CJS builds, say) has the same fields but a different class.
 */

/**
 * A ternary matrix with the fields of @trit/ternary's `TernaryTensor`: codes in
 * its packed seed layout (flat row-major, four per byte), one scale per
 * `blockSize` flat elements (blocks may straddle rows). A TernaryTensor from any
 * copy of that package, or a plain object, fits.
 */
export interface TernaryTensorInput {
  readonly packed: Uint8Array;
  readonly scales: Float32Array;
  readonly shape: readonly [rows: number, cols: number];
  readonly blockSize: number;
}

/** What `prepare` accepts: a TernaryTensor-shaped matrix, or GGUF tensor bytes. */
export type TernaryMatrixInput = TernaryTensorInput | GgufTernaryInput;

export type { GgufTernaryInput } from './layout.js';

/** A short description of a value for errors: its class or type. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'an object';
}

function checkTensor(input: Record<string, unknown>): TernaryTensorInput {
  const { packed, scales, shape, blockSize } = input;
  if (!(packed instanceof Uint8Array)) throw new KernelShapeError('prepare: packed', 'a Uint8Array', describe(packed));
  if (!(scales instanceof Float32Array))
    throw new KernelShapeError('prepare: scales', 'a Float32Array', describe(scales));
  if (!Array.isArray(shape) || shape.length !== 2)
    throw new KernelShapeError('prepare: shape', '[rows, cols]', Array.isArray(shape) ? shape.length : describe(shape));
  const [rows, cols] = shape as unknown[];
  for (const [what, v] of [
    ['rows', rows],
    ['cols', cols],
    ['blockSize', blockSize],
  ] as const) {
    if (!Number.isSafeInteger(v) || (v as number) < 1)
      throw new KernelShapeError(`prepare: ${what}`, 'a positive integer', String(v));
  }
  const n = (rows as number) * (cols as number);
  if (packed.length < packedByteLength(n))
    throw new KernelShapeError(`prepare: packed codes for ${rows}×${cols}`, packedByteLength(n), packed.length);
  const blocks = Math.ceil(n / (blockSize as number));
  if (scales.length < blocks)
    throw new KernelShapeError(`prepare: scales for ${rows}×${cols}, block size ${blockSize}`, blocks, scales.length);
  return input as unknown as TernaryTensorInput;
}

function checkGguf(input: Record<string, unknown>): GgufTernaryInput {
  const { format, data } = input;
  if (typeof format !== 'string' || !isTernaryFormatName(format)) {
    throw new KernelFormatError(
      `prepare: unknown ternary format "${String(format)}"; known formats: ${Object.keys(TERNARY_FORMATS).join(', ')}`,
    );
  }
  if (!(data instanceof Uint8Array))
    throw new KernelShapeError(`prepare: ${format} data`, 'a Uint8Array', describe(data));
  return input as unknown as GgufTernaryInput;
}

/** Checks a ternary matrix by its fields and converts it to the kernels' layout. */
export function layoutFromInput(matrix: TernaryMatrixInput): TernaryLayout {
  const input = matrix as unknown as Record<string, unknown>;
  if (typeof input !== 'object' || input === null) {
    throw new KernelShapeError('prepare: matrix', 'a TernaryTensor or { format, data, rows, cols }', describe(input));
  }
  if ('format' in input) return layoutFromGguf(checkGguf(input));
  if ('packed' in input) return layoutFromTensor(checkTensor(input));
  throw new KernelShapeError(
    'prepare: matrix',
    'a TernaryTensor ({ packed, scales, shape, blockSize }) or { format, data, rows, cols }',
    `an object with fields ${Object.keys(input).join(', ') || '(none)'}`,
  );
}
