import {
  checkHyperParameters,
  defaultHiddenActivation,
  type GgufFile,
  GgufValueType,
  hiddenActivation,
} from '@trit/gguf';
import { ModelLoadError, withoutSource } from './errors.js';
import type { Activation } from './math.js';

/** Architectures the runtime runs, by `general.architecture`. bitnet.cpp's names run as `bitnet`. */
export const SUPPORTED_ARCHITECTURES = ['llama', 'bitnet', 'bitnet-b1.58', 'bitnet-25'] as const;

export interface ModelConfig {
  /** `general.architecture` as written. */
  architecture: string;
  /** The graph that runs: `llama` (dense, NORMAL RoPE) or `bitnet` (sub-norms, NEOX RoPE). */
  family: 'llama' | 'bitnet';
  contextLength: number;
  embeddingLength: number;
  blockCount: number;
  feedForwardLength: number;
  headCount: number;
  headCountKv: number;
  headDim: number;
  ropeDimensions: number;
  ropeFreqBase: number;
  ropeMode: 'normal' | 'neox';
  rmsEpsilon: number;
  activation: Activation;
  vocabSize: number;
}

function perLayer(file: GgufFile, key: string, fallback?: number): number {
  const entry = file.metadata.get(key);
  if (entry?.type === GgufValueType.ARRAY) {
    const values = Array.from(entry.value as ArrayLike<number>);
    if (values.length === 0 || values.some((v) => v !== values[0])) {
      throw new ModelLoadError(
        file.source,
        `${key} varies by layer (${values.join(', ')}); only uniform layers are supported`,
      );
    }
    return values[0];
  }
  try {
    return file.metadata.getNumber(key, fallback);
  } catch (error) {
    throw new ModelLoadError(file.source, withoutSource((error as Error).message, file.source));
  }
}

/** Reads and checks the hyper-parameters llama.cpp reads for this architecture. */
export function readModelConfig(file: GgufFile, overrides: { activation?: Activation } = {}): ModelConfig {
  const architecture = file.architecture;
  if (!architecture) throw new ModelLoadError(file.source, 'general.architecture is missing');
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw new ModelLoadError(
      file.source,
      `architecture "${architecture}" is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`,
    );
  }
  // Sizes from the file drive loops and buffers: check them against what it holds before using any.
  const { errors } = checkHyperParameters(file);
  if (errors.length > 0) {
    const reasons = errors.map((e) => withoutSource(e.message, file.source));
    throw new ModelLoadError(file.source, `bad hyper-parameters: ${reasons.join('; ')}`);
  }
  const family = architecture === 'llama' ? 'llama' : 'bitnet';
  const k = (name: string) => `${architecture}.${name}`;
  const embeddingLength = perLayer(file, k('embedding_length'));
  const headCount = perLayer(file, k('attention.head_count'));
  const headCountKv = perLayer(file, k('attention.head_count_kv'), headCount);
  const headDim = perLayer(file, k('attention.key_length'), embeddingLength / headCount);
  const config: ModelConfig = {
    architecture,
    family,
    contextLength: perLayer(file, k('context_length')),
    embeddingLength,
    blockCount: perLayer(file, k('block_count')),
    feedForwardLength: perLayer(file, k('feed_forward_length')),
    headCount,
    headCountKv,
    headDim,
    ropeDimensions: perLayer(file, k('rope.dimension_count'), headDim),
    ropeFreqBase: perLayer(file, k('rope.freq_base'), 10000),
    ropeMode: family === 'llama' ? 'normal' : 'neox',
    rmsEpsilon: perLayer(file, k('attention.layer_norm_rms_epsilon'), family === 'bitnet' ? undefined : 1e-5),
    // Without a `hidden_activation` key, the activation the architecture's own graph runs.
    activation: defaultHiddenActivation(architecture),
    vocabSize: 0,
  };
  const activationKey = file.metadata.get(k('hidden_activation'));
  if (activationKey) {
    const name = activationKey.type === GgufValueType.STRING ? activationKey.value : '';
    const activation = hiddenActivation(name);
    if (!activation)
      throw new ModelLoadError(
        file.source,
        `${k('hidden_activation')} = "${name}" is not a known activation (silu, relu2, gelu)`,
      );
    config.activation = activation;
  }
  if (overrides.activation) config.activation = overrides.activation;
  const problems: string[] = [];
  for (const [name, value] of Object.entries(config)) {
    if (typeof value === 'number' && name !== 'vocabSize' && !(value > 0 && Number.isFinite(value)))
      problems.push(`${name} = ${value}`);
  }
  for (const name of [
    'embeddingLength',
    'blockCount',
    'feedForwardLength',
    'headCount',
    'headCountKv',
    'headDim',
    'ropeDimensions',
    'contextLength',
  ] as const) {
    if (!Number.isInteger(config[name])) problems.push(`${name} = ${config[name]} is not an integer`);
  }
  if (config.headCount % config.headCountKv !== 0)
    problems.push(`head_count ${config.headCount} is not a multiple of head_count_kv ${config.headCountKv}`);
  if (config.ropeDimensions > config.headDim || config.ropeDimensions % 2 !== 0)
    problems.push(
      `rope.dimension_count ${config.ropeDimensions} must be even and at most the head size ${config.headDim}`,
    );
  if (problems.length > 0) throw new ModelLoadError(file.source, `bad hyper-parameters: ${problems.join('; ')}`);
  return config;
}
