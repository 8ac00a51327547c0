// The converter's errors are the quantizer's, re-exported so a caller catches them from the package it calls.
export { QuantizeError, QuantizerConfigError } from '@trit/quantizer';
export {
  architectureOf,
  checkHfConfig,
  ggufHyperParameters,
  ggufTensorName,
  type HfConfig,
  type ModelArchitecture,
  permuteForRope,
} from './hf.js';
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
} from './quantize-model.js';
