export { absmeanTernary, ABSMEAN_EPSILON, type AbsmeanResult } from './absmean.js';
export { quantizeTensor, type QuantizeOptions } from './quantize.js';
export {
  ptBitnetConfig,
  DEFAULT_PT_BITNET_CONFIG,
  type PtBitnetConfig,
  type Precision,
  type TernaryFormat,
} from './config.js';
export {
  shouldQuantize,
  classifyTensor,
  compileGlob,
  NEVER_TERNARY_ROLES,
  type LayerMask,
  type TensorRole,
} from './layer-mask.js';
export { tensorStorage, type TensorStorage } from './storage.js';
export { QuantizeError, QuantizerConfigError } from './errors.js';
