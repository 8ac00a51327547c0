export {
  BitNetBackend,
  type BitNetBackendOptions,
  type GeneratedToken,
  type GenerateOptions,
  type GenerationStats,
  type KvCacheType,
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
export { checkModel, type ModelValidation, type TensorKind, type TensorSpec, tensorSpecs } from './model.js';
export { PROFILE_STAGES, type ProfileStage, type StageProfile } from './profile.js';
export { argmax, Sampler, type SamplingOptions } from './sampling.js';
