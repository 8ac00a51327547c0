export { ABSMEAN_EPSILON, type AbsmeanResult, absmeanTernary } from './absmean.js';
export {
  DEFAULT_PT_BITNET_CONFIG,
  type Precision,
  type PtBitnetConfig,
  ptBitnetConfig,
  type TernaryFormat,
} from './config.js';
export { QuantizeError, QuantizerConfigError } from './errors.js';
export {
  classifyTensor,
  compileGlob,
  type LayerMask,
  NEVER_TERNARY_ROLES,
  type QuantizationRole,
  shouldQuantize,
  type TensorRole,
  validateLayerMask,
} from './layer-mask.js';
export { PER_TENSOR_EPSILON, type PerTensorAbsmeanResult, perTensorAbsmean } from './per-tensor.js';
export { type QuantizeOptions, quantizeTensor } from './quantize.js';
export { type TensorStorage, tensorStorage } from './storage.js';
