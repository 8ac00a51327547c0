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
  shouldQuantize,
  type TensorRole,
} from './layer-mask.js';
export {
  architectureOf,
  checkHfConfig,
  ggufHyperParameters,
  ggufTensorName,
  type HfConfig,
  type HiddenActivation,
  hiddenActivation,
  type ModelArchitecture,
  permuteForRope,
} from './model/hf.js';
export {
  ggufModelSource,
  hfModelSource,
  type ModelSource,
  openModelSource,
  type QuantizeModelOptions,
  type QuantizeProgress,
  type QuantizeReport,
  quantizeModel,
  type SourceTensor,
  type TensorReport,
} from './model/quantize-model.js';
export { type QuantizeOptions, quantizeTensor } from './quantize.js';
export { type TensorStorage, tensorStorage } from './storage.js';
