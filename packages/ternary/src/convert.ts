import { TernaryValueError } from './errors.js';
import type { TernaryBlockFormat, TernaryFormatName } from './formats/format.js';
import { getTernaryFormat } from './formats/registry.js';
import { packTernary } from './pack.js';
import { TernaryTensor } from './tensor.js';

/**
 * Serializes a tensor in a block format. Block formats need the tensor's
 * block size to equal the format's; tensor-scaled formats (i2_s) need every
 * block to share one scale.
 */
export function encodeTernaryTensor(tensor: TernaryTensor, format: TernaryFormatName | TernaryBlockFormat): Uint8Array {
  const spec = typeof format === 'string' ? getTernaryFormat(format) : format;
  const subject = `encode ${tensor.rows}×${tensor.cols} tensor as ${spec.name}`;
  let scales = tensor.scales;
  if (spec.scaleScope === 'block') {
    if (tensor.blockSize !== spec.blockElements) {
      throw new TernaryValueError(
        subject,
        `tensor block size is ${tensor.blockSize}, the format needs ${spec.blockElements}`,
      );
    }
  } else {
    const first = scales[0] ?? 1;
    const odd = scales.findIndex((s) => s !== first);
    if (odd >= 0) {
      throw new TernaryValueError(
        subject,
        `the format has one scale per tensor, but block ${odd} has scale ${scales[odd]} and block 0 has ${first}`,
        odd,
      );
    }
    scales = new Float32Array([first]);
  }
  return spec.encode(tensor.codes(), scales);
}

/**
 * Reads a tensor stored in a block format. A reserved code (which the format
 * would decode as +2) is rejected: a TernaryTensor holds only -1, 0 and +1.
 */
export function decodeTernaryTensor(
  format: TernaryFormatName | TernaryBlockFormat,
  bytes: Uint8Array,
  shape: readonly [rows: number, cols: number],
): TernaryTensor {
  const spec = typeof format === 'string' ? getTernaryFormat(format) : format;
  const [rows, cols] = shape;
  const n = rows * cols;
  const { codes, scales } = spec.decode(bytes, n);
  for (let i = 0; i < n; i++) {
    if (codes[i] > 1) {
      throw new TernaryValueError(
        `decode ${rows}×${cols} ${spec.name} tensor`,
        `element ${i} has the reserved code 3, which is not ternary`,
        i,
      );
    }
  }
  const blockSize = spec.scaleScope === 'block' ? spec.blockElements : Math.max(n, 1);
  return new TernaryTensor({ packed: packTernary(codes), scales, shape, blockSize });
}
