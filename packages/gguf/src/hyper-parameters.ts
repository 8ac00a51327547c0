import { ggufTensorNameFor, type ModelTensorRole } from './tensor-names.js';
import type { GgufIssue } from './validate.js';
import { type GgufMetadataValue, GgufValueType, valueTypeName } from './value-types.js';

/**
 * The longest context_length taken on trust (2^24 positions; the longest
 * published models use under 2^24). Runtimes size RoPE tables and KV caches
 * from it, so a larger value is refused rather than allocated.
 */
export const MAX_CONTEXT_LENGTH = 1 << 24;

const LAYER = /^blk\.(\d+)\./;

/**
 * Graphs with separate q/k/v/gate/up/down projections, heads of
 * embedding_length / head_count unless key_length says otherwise: their
 * widths are checked against the tensors. Other architectures fuse or split
 * projections their own ways, so only their counts are checked.
 */
const SEPARATE_PROJECTIONS = new Set(['llama', 'bitnet', 'bitnet-b1.58', 'bitnet-25']);

export interface HyperParameterCheck {
  errors: GgufIssue[];
  warnings: GgufIssue[];
}

/**
 * What the check reads: a GgufFile, or a model about to be written (the
 * quantizer checks its output before it exists). Shapes are in ggml order.
 */
export interface HyperParameterInput {
  /** The file (or model directory) named in messages. */
  readonly source: string;
  readonly metadata: { get(key: string): GgufMetadataValue | undefined };
  readonly tensors: readonly { readonly name: string; readonly shape: readonly number[] }[];
  /** Where each key sits in the file, for the issues' offsets. */
  readonly keyOffsets?: ReadonlyMap<string, number>;
}

/**
 * Checks the `[arch].*` hyper-parameters that size a runtime's loops and
 * buffers against what the model holds, before anything is allocated for
 * them: block_count against the `blk.N` tensors present, context_length
 * against MAX_CONTEXT_LENGTH, head counts against the embedding width,
 * per-layer arrays against block_count (llama.cpp demands one entry a
 * layer), the widths against each layer's projections, and epsilon and RoPE
 * base finite and positive. Keys that are absent are not checked: the
 * runtime says what it needs.
 */
export function checkHyperParameters(model: HyperParameterInput): HyperParameterCheck {
  const errors: GgufIssue[] = [];
  const warnings: GgufIssue[] = [];
  const arch = model.metadata.get('general.architecture');
  if (arch?.type !== GgufValueType.STRING) return { errors, warnings };
  const key = (name: string) => `${arch.value}.${name}`;
  const fail = (name: string, message: string) =>
    errors.push({
      code: 'hyper-parameter',
      message: `${model.source}: ${key(name)} ${message}`,
      key: key(name),
      offset: model.keyOffsets?.get(key(name)),
    });

  /** The key's values (one, or one a layer), or undefined when absent or not numbers (reported). */
  const read = (name: string): number[] | undefined => {
    const entry = model.metadata.get(key(name));
    if (entry === undefined) return undefined;
    const values = numbers(entry);
    if (!values) fail(name, `has type ${describe(entry)}; expected a number or an array of numbers`);
    return values;
  };
  const positiveIntegers = (name: string): number[] | undefined => {
    const values = read(name);
    const bad = values?.find((v) => !(Number.isSafeInteger(v) && v > 0));
    if (bad !== undefined) {
      fail(name, `= ${bad}; expected a positive integer`);
      return undefined;
    }
    return values;
  };
  const single = (name: string, values: number[] | undefined): number | undefined => {
    if (values && values.length !== 1) {
      fail(name, 'is an array; expected one number');
      return undefined;
    }
    return values?.[0];
  };
  const positiveFinite = (name: string): void => {
    const value = single(name, read(name));
    if (value !== undefined && !(Number.isFinite(value) && value > 0))
      fail(name, `= ${value}; expected a finite number above 0`);
  };

  const shapes = new Map<string, readonly number[]>();
  const layers = new Set<number>();
  for (const t of model.tensors) {
    shapes.set(t.name, t.shape);
    const m = LAYER.exec(t.name);
    if (m) layers.add(Number(m[1]));
  }
  const blockCountValue = single('block_count', positiveIntegers('block_count'));
  let blockCount: number | undefined;
  if (blockCountValue !== undefined) {
    const n = blockCountValue;
    const present = [...layers].sort((a, b) => a - b);
    // A vocabulary-only file holds no tensors at all; the validator says so separately.
    if (model.tensors.length > 0 && n > layers.size) {
      const range =
        present.length === 0
          ? ''
          : present.length === 1
            ? ` (blk.${present[0]})`
            : ` (blk.${present[0]} … blk.${present.at(-1)})`;
      fail(
        'block_count',
        `= ${n}, but the tensors cover ${present.length} layer${present.length === 1 ? '' : 's'}${range}`,
      );
    } else if (model.tensors.length > 0) {
      const missing: number[] = [];
      for (let i = 0; i < n && missing.length < 4; i++) if (!layers.has(i)) missing.push(i);
      if (missing.length > 0)
        fail('block_count', `= ${n}, but layers ${missing.map((i) => `blk.${i}`).join(', ')} have no tensors`);
      else blockCount = n;
      const extra = present.filter((i) => i >= n);
      if (extra.length > 0)
        warnings.push({
          code: 'hyper-parameter',
          message: `${model.source}: tensors of layer blk.${extra[0]} lie beyond ${key('block_count')} = ${n} and are not read`,
          key: key('block_count'),
        });
    } else blockCount = n;
  }

  /** One value for the model, or one a layer (checked against block_count). */
  const perLayer = (name: string): number[] | undefined => {
    const values = positiveIntegers(name);
    if (!values) return undefined;
    if (values.length !== 1 && blockCount !== undefined && values.length !== blockCount) {
      fail(name, `has ${values.length} per-layer entries; expected ${blockCount} (one a layer) or a single value`);
      return undefined;
    }
    return values;
  };
  const at = (values: number[], layer: number) => values[Math.min(layer, values.length - 1)] as number;

  const context = single('context_length', positiveIntegers('context_length'));
  if (context !== undefined && context > MAX_CONTEXT_LENGTH)
    fail('context_length', `= ${context}; expected at most ${MAX_CONTEXT_LENGTH}`);
  const embedding = single('embedding_length', positiveIntegers('embedding_length'));
  for (const name of [ggufTensorNameFor('token_embd'), ggufTensorNameFor('output')]) {
    const shape = shapes.get(name);
    if (!shape || embedding === undefined) continue;
    if (shape[0] !== embedding) fail('embedding_length', `= ${embedding}, but ${name} rows hold ${shape[0]} values`);
    else if (trailingOnes(shape).length !== 2)
      fail(
        'embedding_length',
        `= ${embedding}, but ${name} has the shape [${shape.join(', ')}]; expected [${embedding}, vocabulary]`,
      );
  }
  const ffn = perLayer('feed_forward_length');
  const heads = perLayer('attention.head_count');
  const kvHeads = perLayer('attention.head_count_kv');
  const keyLength = single('attention.key_length', positiveIntegers('attention.key_length'));
  const valueLength = single('attention.value_length', positiveIntegers('attention.value_length'));
  const ropeDims = single('rope.dimension_count', positiveIntegers('rope.dimension_count'));
  positiveFinite('attention.layer_norm_rms_epsilon');
  positiveFinite('attention.layer_norm_epsilon');
  positiveFinite('rope.freq_base');

  if (heads && embedding !== undefined) {
    const over = heads.find((h) => h > embedding);
    if (over !== undefined)
      fail('attention.head_count', `= ${over} is more heads than the ${embedding} embedding dimensions`);
    else if (SEPARATE_PROJECTIONS.has(arch.value) && keyLength === undefined && heads.some((h) => embedding % h !== 0))
      fail(
        'attention.head_count',
        `= ${heads.find((h) => embedding % h !== 0)} does not divide embedding_length ${embedding}`,
      );
  }
  if (heads && kvHeads) {
    for (let i = 0; i < Math.max(heads.length, kvHeads.length); i++) {
      const [h, kv] = [at(heads, i), at(kvHeads, i)];
      if (kv > h || h % kv !== 0) {
        fail('attention.head_count_kv', `= ${kv} must divide attention.head_count = ${h}`);
        break;
      }
    }
  }
  if (errors.length > 0 || embedding === undefined || !heads || !SEPARATE_PROJECTIONS.has(arch.value))
    return { errors, warnings };

  // Each head's width, as llama.cpp derives it.
  const headK = (layer: number) => keyLength ?? embedding / at(heads, layer);
  const headV = (layer: number) => valueLength ?? embedding / at(heads, layer);
  if (ropeDims !== undefined && (ropeDims % 2 !== 0 || ropeDims > headK(0)))
    fail('rope.dimension_count', `= ${ropeDims}; expected an even number of at most the head width ${headK(0)}`);

  // Each layer's projections against the shapes the keys give (ggml order: [input width, output width]).
  const layerCount = blockCount ?? 0;
  for (let layer = 0; layer < layerCount && errors.length === 0; layer++) {
    const kv = kvHeads ? at(kvHeads, layer) : at(heads, layer);
    const qWidth = at(heads, layer) * headK(layer);
    const specs: [role: ModelTensorRole, key: string, shape: [number, number]][] = [
      ['attn_q', 'attention.head_count', [embedding, qWidth]],
      ['attn_k', 'attention.head_count_kv', [embedding, kv * headK(layer)]],
      ['attn_v', 'attention.head_count_kv', [embedding, kv * headV(layer)]],
      ['attn_output', 'attention.head_count', [at(heads, layer) * headV(layer), embedding]],
    ];
    if (ffn) {
      const width = at(ffn, layer);
      specs.push(
        ['ffn_up', 'feed_forward_length', [embedding, width]],
        ['ffn_gate', 'feed_forward_length', [embedding, width]],
        ['ffn_down', 'feed_forward_length', [width, embedding]],
      );
    }
    for (const [role, name, expected] of specs) {
      const tensor = ggufTensorNameFor(role, layer);
      const shape = shapes.get(tensor);
      if (shape && trailingOnes(shape).join() !== expected.join()) {
        fail(name, `gives ${tensor} the shape [${expected.join(', ')}], but it has [${shape.join(', ')}]`);
        break;
      }
    }
  }
  return { errors, warnings };
}

/** A shape without trailing 1s beyond the second dimension (ggml pads shapes with 1s). */
function trailingOnes(shape: readonly number[]): number[] {
  const out = [...shape];
  while (out.length > 2 && out[out.length - 1] === 1) out.pop();
  return out;
}

function numbers(entry: GgufMetadataValue): number[] | undefined {
  const one = (v: unknown): number | undefined =>
    typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
  if (entry.type === GgufValueType.ARRAY) {
    if (entry.elementType === GgufValueType.ARRAY || entry.elementType === GgufValueType.STRING) return undefined;
    if (entry.value.length === 0) return undefined;
    const out: number[] = [];
    for (const v of Array.from(entry.value as ArrayLike<unknown>)) {
      const n = one(v);
      if (n === undefined) return undefined;
      out.push(entry.elementType === GgufValueType.FLOAT32 ? Math.fround(n) : n);
    }
    return out;
  }
  if (entry.type === GgufValueType.STRING || entry.type === GgufValueType.BOOL) return undefined;
  const n = one(entry.value);
  if (n === undefined) return undefined;
  // A value about to be written as f32 is checked as the file will hold it (1e308 becomes Infinity).
  return [entry.type === GgufValueType.FLOAT32 ? Math.fround(n) : n];
}

function describe(entry: GgufMetadataValue): string {
  return entry.type === GgufValueType.ARRAY ? valueTypeName(entry.type, entry.elementType) : valueTypeName(entry.type);
}
