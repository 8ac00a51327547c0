export { decodeTernaryTensor, encodeTernaryTensor } from './convert.js';
export {
  computeDequantError,
  type DequantError,
  dequantizeBitnetBlock,
  dequantizeBitnetT158,
} from './dequantize.js';
export { TernaryFormatError, TernaryLengthError, TernaryValueError } from './errors.js';
export type {
  DecodedTernary,
  GgufDialect,
  TernaryBlockFormat,
  TernaryFormatName,
} from './formats/format.js';
export { getTernaryFormat, isTernaryFormatName, TERNARY_FORMATS } from './formats/registry.js';
export {
  GGML_BLOCK_CODECS,
  type GgmlBlockCodec,
  type GgmlBlockTypeName,
  ggmlBlockCodec,
} from './ggml-blocks.js';
export {
  floatToHalfBits,
  halfBitsToFloat,
  halfToFloatTable,
  readHalf,
  roundToHalf,
  writeHalf,
} from './half.js';
export { type FindNonTernaryOptions, findNonTernaryCode, type NonTernaryCode } from './non-ternary.js';
export { countPackedZeros, packedByteLength, packTernary, SEED_CODE_VALUES, unpackTernary } from './pack.js';
export { TernaryTensor, type TernaryTensorInit } from './tensor.js';
