export { SynthUsageError } from './errors.js';
export {
  type SynthArchitecture,
  type SynthOptions,
  type SynthPreset,
  type SynthResult,
  synthConfig,
  synthesizeGguf,
  synthesizeModel,
} from './synth.js';
export { synthCorpus, type TrainedBpe, tokenizerJson, trainByteLevelBpe } from './synth-tokenizer.js';
