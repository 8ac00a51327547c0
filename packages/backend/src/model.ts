import {
  discoverTensors,
  type GgufFile,
  type GgufSource,
  type GgufTensorInfo,
  ggufTensorNameFor,
  type ModelTensorRole,
  readGguf,
  type TensorDiscoveryReport,
} from '@trit/gguf';
import { DENSE_TYPES as KERNEL_DENSE_TYPES } from '@trit/tl1-kernel';
import { tokenizerFromGguf } from '@trit/tokenizer';
import { type ModelConfig, readModelConfig } from './config.js';
import { ModelLoadError, withoutSource } from './errors.js';

/** Types a projection may have: ternary ones run on the ternary kernel, the rest on its dense GEMV. */
export const DENSE_TYPES: ReadonlySet<string> = new Set(KERNEL_DENSE_TYPES.map((t) => t.name.toUpperCase()));
export const TERNARY_TYPES = new Set(['TQ1_0', 'TQ2_0', 'I2_S', 'BITNET_T158']);

/** How a tensor is used, which decides the types it may have. */
export type TensorKind = 'embedding' | 'matrix' | 'vector' | 'scale';

export interface TensorSpec {
  name: string;
  /** What the tensor does in the model (its row in @trit/gguf's tensor-name table). */
  role: ModelTensorRole;
  /** ggml order; trailing 1s are ignored when comparing. */
  shape: number[];
  kind: TensorKind;
  optional?: boolean;
}

/** Every tensor the architecture reads, with the shape llama.cpp would demand. */
export function tensorSpecs(config: ModelConfig, vocabSize: number): TensorSpec[] {
  const E = config.embeddingLength;
  const F = config.feedForwardLength;
  const qDim = config.headCount * config.headDim;
  const kvDim = config.headCountKv * config.headDim;
  const spec = (
    role: ModelTensorRole,
    block: number | undefined,
    shape: number[],
    kind: TensorKind,
    suffix = 'weight',
  ): TensorSpec => ({ name: ggufTensorNameFor(role, block, suffix), role, shape, kind });
  const specs: TensorSpec[] = [
    spec('token_embd', undefined, [E, vocabSize], 'embedding'),
    spec('output_norm', undefined, [E], 'vector'),
  ];
  // llama.cpp's bitnet graph always reuses token_embd as the output head.
  if (config.family === 'llama') specs.push({ ...spec('output', undefined, [E, vocabSize], 'matrix'), optional: true });
  for (let i = 0; i < config.blockCount; i++) {
    const matrices: [ModelTensorRole, number[]][] = [
      ['attn_q', [E, qDim]],
      ['attn_k', [E, kvDim]],
      ['attn_v', [E, kvDim]],
      ['attn_output', [qDim, E]],
      ['ffn_gate', [E, F]],
      ['ffn_up', [E, F]],
      ['ffn_down', [F, E]],
    ];
    specs.push(spec('attn_norm', i, [E], 'vector'));
    specs.push(spec('ffn_norm', i, [E], 'vector'));
    for (const [role, shape] of matrices) specs.push(spec(role, i, shape, 'matrix'));
    if (config.family === 'bitnet') {
      specs.push(spec('attn_sub_norm', i, [qDim], 'vector'));
      specs.push(spec('ffn_sub_norm', i, [F], 'vector'));
      for (const [role] of matrices) specs.push({ ...spec(role, i, [1], 'scale', 'scale'), optional: true });
    }
  }
  return specs;
}

const trimmed = (shape: readonly number[]) => {
  const out = [...shape];
  while (out.length > 1 && out[out.length - 1] === 1) out.pop();
  return out;
};

/**
 * Why a present tensor cannot be used as `spec`, or undefined when it can. `tiedHead`: the model has no
 * `output.weight`, so token_embd is also the head and must be a kernel type (default true).
 */
export function tensorProblem(tensor: GgufTensorInfo, spec: TensorSpec, tiedHead = true): string | undefined {
  const want = trimmed(spec.shape);
  const have = trimmed(tensor.shape);
  if (want.join(',') !== have.join(','))
    return `has shape [${have.join(', ')}], the architecture needs [${want.join(', ')}]`;
  const type = tensor.typeName;
  switch (spec.kind) {
    case 'matrix':
      if (!DENSE_TYPES.has(type) && !TERNARY_TYPES.has(type)) {
        return `has type ${type}; projections must be ${[...TERNARY_TYPES, ...DENSE_TYPES].join(', ')}`;
      }
      return undefined;
    case 'embedding':
      if (!tensor.typeInfo.toFloat) return `has type ${type}, which cannot be read as embedding rows`;
      // Untied, only rows are read, through the type table (llama-quantize writes Q5_0 where Q4_K does not fit).
      if (tiedHead && !DENSE_TYPES.has(type) && !TERNARY_TYPES.has(type))
        return `has type ${type}; the tied output head needs a kernel type`;
      return undefined;
    default:
      if (!['F32', 'F16', 'BF16'].includes(type)) return `has type ${type}; norms and scales must be F32, F16 or BF16`;
      return undefined;
  }
}

/** RuvLLM's ModelValidation. */
export interface ModelValidation {
  canLoad: boolean;
  configSummary: string;
  /** Required or optional tensors present and usable. */
  found: string[];
  /** Required tensors absent. */
  missing: string[];
  /** Present tensors with the wrong shape or type, and hyper-parameter problems. */
  problems: string[];
  /** Tensors in the file that the architecture does not read (llama.cpp refuses such files). */
  unused: string[];
  /** What trit runs but llama.cpp would refuse or misread. */
  warnings: string[];
}

export function vocabSizeOf(file: GgufFile): number {
  const name = ggufTensorNameFor('token_embd');
  const embedding = file.hasTensor(name) ? file.tensor(name) : undefined;
  return embedding?.shape[1] ?? 0;
}

/** Checks every tensor the architecture needs: presence, shape and type. */
export function checkModel(file: GgufFile, config: ModelConfig): ModelValidation {
  const vocabSize = vocabSizeOf(file);
  const found: string[] = [];
  const missing: string[] = [];
  const problems: string[] = [];
  const used = new Set<string>();
  const specs = tensorSpecs(config, vocabSize);
  const tiedHead = !specs.some((s) => s.role === 'output' && file.hasTensor(s.name));
  for (const spec of specs) {
    if (!file.hasTensor(spec.name)) {
      if (!spec.optional) missing.push(spec.name);
      continue;
    }
    used.add(spec.name);
    const problem = tensorProblem(file.tensor(spec.name), spec, tiedHead);
    if (problem) problems.push(`${spec.name} ${problem}`);
    else found.push(spec.name);
  }
  const unused = file.tensors.filter((t) => !used.has(t.name)).map((t) => t.name);
  const warnings: string[] = [];
  const tokenCount = file.metadata.has('tokenizer.ggml.tokens')
    ? file.metadata.getStringArray('tokenizer.ggml.tokens').length
    : vocabSize;
  if (vocabSize > 0 && tokenCount !== vocabSize)
    warnings.push(
      `tokenizer.ggml.tokens has ${tokenCount} entries but token_embd.weight has ${vocabSize} rows: llama.cpp refuses the file (check_tensor_dims)`,
    );
  const configSummary = `${config.architecture}: ${config.blockCount} layers, hidden ${config.embeddingLength}, ffn ${config.feedForwardLength}, ${config.headCount} heads (${config.headCountKv} KV) of ${config.headDim}, vocab ${vocabSize}, context ${config.contextLength}, RoPE ${config.ropeMode} θ ${config.ropeFreqBase}, ${config.activation}`;
  return {
    canLoad: missing.length === 0 && problems.length === 0,
    configSummary,
    found,
    missing,
    problems,
    unused,
    warnings,
  };
}

/** Loads the header only and checks the model; never throws for a bad model (problems are listed). */
export async function validateModel(source: GgufSource): Promise<ModelValidation> {
  const file = await readGguf(source);
  let config: ModelConfig;
  try {
    config = readModelConfig(file);
  } catch (error) {
    return {
      canLoad: false,
      configSummary: '',
      found: [],
      missing: [],
      problems: [(error as Error).message],
      unused: [],
      warnings: [],
    };
  }
  const validation = checkModel(file, config);
  // load builds the tokenizer after the tensor checks; so does this, so canLoad means load succeeds.
  if (file.metadata.has('tokenizer.ggml.model')) {
    try {
      tokenizerFromGguf(file);
    } catch (error) {
      validation.problems.push(`tokenizer: ${withoutSource((error as Error).message, file.source)}`);
      validation.canLoad = false;
    }
  }
  return validation;
}

export async function discoverModelTensors(source: GgufSource): Promise<TensorDiscoveryReport> {
  return discoverTensors(await readGguf(source));
}

export function assertLoadable(file: GgufFile, validation: ModelValidation): void {
  if (validation.canLoad) return;
  const reasons = [...validation.missing.map((n) => `missing ${n}`), ...validation.problems];
  throw new ModelLoadError(
    file.source,
    `cannot load: ${reasons.slice(0, 8).join('; ')}${reasons.length > 8 ? `; and ${reasons.length - 8} more` : ''}`,
  );
}
