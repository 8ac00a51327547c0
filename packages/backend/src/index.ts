export {
  BitNetBackend,
  type BitNetBackendOptions,
  type GeneratedToken,
  type GenerateOptions,
  type GenerationStats,
} from './backend.js';
export { type ModelConfig, readModelConfig, SUPPORTED_ARCHITECTURES } from './config.js';
export {
  BackendBusyError,
  BackendDisposedError,
  BackendUsageError,
  ContextOverflowError,
  ModelLoadError,
} from './errors.js';
export type { Activation } from './math.js';
export { checkModel, type ModelValidation, type TensorSpec, tensorSpecs } from './model.js';
export { argmax, Sampler, type SamplingOptions } from './sampling.js';
export {
  type SynthArchitecture,
  type SynthOptions,
  type SynthPreset,
  type SynthResult,
  synthConfig,
  synthesizeGguf,
  synthesizeModel,
} from './synth.js';
export { type TrainedBpe, trainByteLevelBpe } from './synth-tokenizer.js';
