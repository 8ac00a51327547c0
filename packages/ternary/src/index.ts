export { TernaryTensor, type TernaryTensorInit } from './tensor.js';
export { packTernary, unpackTernary, countPackedZeros, packedByteLength, SEED_CODE_VALUES } from './pack.js';
export {
  dequantizeBitnetT158,
  dequantizeBitnetBlock,
  computeDequantError,
  type DequantError,
} from './dequantize.js';
export type {
  TernaryBlockFormat,
  TernaryFormatName,
  DecodedTernary,
  GgufDialect,
} from './formats/format.js';
export { TERNARY_FORMATS, getTernaryFormat, isTernaryFormatName } from './formats/registry.js';
export { encodeTernaryTensor, decodeTernaryTensor } from './convert.js';
export { halfBitsToFloat, floatToHalfBits, readHalf, writeHalf, roundToHalf } from './half.js';
export { TernaryLengthError, TernaryValueError, TernaryFormatError } from './errors.js';
