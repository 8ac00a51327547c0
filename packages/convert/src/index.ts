// The converter's errors are the quantizer's, re-exported so a caller catches them from the package it calls.
export { QuantizeError, QuantizerConfigError } from '@trit/quantizer';
export {
  type BitnetQuantization,
  bitnetQuantizationOf,
  gammaFromWeightScale,
  type LinearClass,
  type QuantizationMode,
  unpackBitnetWeights,
} from './bitnet-checkpoint.js';
export {
  architectureOf,
  checkHfConfig,
  ggufHyperParameters,
  ggufTensorName,
  type HfConfig,
  type ModelArchitecture,
  permuteForRope,
  projectionShape,
} from './hf.js';
export {
  type DefaultDenseType,
  type LlamaQuantizeDefaultsInput,
  type LlamaQuantizeDefaultTypes,
  llamaQuantizeDefaultTypes,
  type TernaryFtype,
} from './llama-quantize-defaults.js';
export {
  ggufModelSource,
  hfModelSource,
  type ModelSource,
  openModelSource,
  QUANTIZATION_METHODS,
  type QuantizeModelOptions,
  type QuantizeProgress,
  type QuantizeReport,
  quantizeModel,
  type SourceTensor,
  type TensorReport,
} from './quantize-model.js';
