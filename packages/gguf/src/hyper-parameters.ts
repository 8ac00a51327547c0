import type { GgufFile } from './reader.js';
import type { GgufIssue } from './validate.js';
import { type GgufMetadataValue, GgufValueType, valueTypeName } from './value-types.js';

/**
 * The longest context_length taken on trust (2^24 positions; the longest
 * published models use under 2^24). Runtimes size RoPE tables and KV caches
 * from it, so a larger value is refused rather than allocated.
 */
export const MAX_CONTEXT_LENGTH = 1 << 24;

const LAYER = /^blk\.(\d+)\./;

export interface HyperParameterCheck {
  errors: GgufIssue[];
  warnings: GgufIssue[];
}

/**
 * Checks the `[arch].*` hyper-parameters that size a runtime's loops and
 * buffers against what the file holds, before anything is allocated for
 * them: block_count against the `blk.N` tensors present, context_length
 * against MAX_CONTEXT_LENGTH, head counts against the embedding width, and
 * per-layer arrays against block_count (llama.cpp demands one entry a
 * layer). Keys that are absent are not checked: the runtime says what it needs.
 */
export function checkHyperParameters(file: GgufFile): HyperParameterCheck {
  const errors: GgufIssue[] = [];
  const warnings: GgufIssue[] = [];
  const arch = file.metadata.get('general.architecture');
  if (arch?.type !== GgufValueType.STRING) return { errors, warnings };
  const key = (name: string) => `${arch.value}.${name}`;
  const fail = (name: string, message: string) =>
    errors.push({
      code: 'hyper-parameter',
      message: `${file.source}: ${key(name)} ${message}`,
      key: key(name),
      offset: file.keyOffsets.get(key(name)),
    });

  /** The key's values (one, or one a layer), or undefined when absent or not numbers (reported). */
  const read = (name: string): number[] | undefined => {
    const entry = file.metadata.get(key(name));
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

  const layers = new Set<number>();
  for (const t of file.tensors) {
    const m = LAYER.exec(t.name);
    if (m) layers.add(Number(m[1]));
  }
  const blockCountValues = positiveIntegers('block_count');
  let blockCount: number | undefined;
  if (blockCountValues && blockCountValues.length !== 1) fail('block_count', 'is an array; expected one number');
  else if (blockCountValues) {
    const n = blockCountValues[0] as number;
    // A vocabulary-only file holds no tensors at all; the validator says so separately.
    if (file.tensors.length > 0 && n > layers.size) {
      const present = [...layers].sort((a, b) => a - b);
      fail(
        'block_count',
        `= ${n}, but the file holds tensors for ${present.length} layer${present.length === 1 ? '' : 's'}${present.length === 0 ? '' : present.length === 1 ? ` (blk.${present[0]})` : ` (blk.${present[0]} … blk.${present.at(-1)})`}`,
      );
    } else if (file.tensors.length > 0) {
      const missing: number[] = [];
      for (let i = 0; i < n && missing.length < 4; i++) if (!layers.has(i)) missing.push(i);
      if (missing.length > 0)
        fail('block_count', `= ${n}, but layers ${missing.map((i) => `blk.${i}`).join(', ')} have no tensors`);
      else blockCount = n;
      const extra = [...layers].filter((i) => i >= n);
      if (extra.length > 0)
        warnings.push({
          code: 'hyper-parameter',
          message: `${file.source}: tensors of layer blk.${Math.min(...extra)} lie beyond ${key('block_count')} = ${n} and are not read`,
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

  const context = positiveIntegers('context_length');
  if (context && (context.length !== 1 || (context[0] as number) > MAX_CONTEXT_LENGTH))
    fail('context_length', `= ${context.join(', ')}; expected one integer of at most ${MAX_CONTEXT_LENGTH}`);
  const embeddingValues = positiveIntegers('embedding_length');
  let embedding: number | undefined;
  if (embeddingValues && embeddingValues.length !== 1) fail('embedding_length', 'is an array; expected one number');
  else embedding = embeddingValues?.[0];
  if (embedding !== undefined && file.hasTensor('token_embd.weight')) {
    const rows = file.tensor('token_embd.weight').shape[0];
    if (rows !== embedding) fail('embedding_length', `= ${embedding}, but token_embd.weight rows hold ${rows} values`);
  }
  perLayer('feed_forward_length');
  const heads = perLayer('attention.head_count');
  const kvHeads = perLayer('attention.head_count_kv');
  if (heads && embedding !== undefined) {
    const over = heads.find((h) => h > embedding);
    if (over !== undefined)
      fail('attention.head_count', `= ${over} is more heads than the ${embedding} embedding dimensions`);
  }
  if (heads && kvHeads) {
    for (let i = 0; i < Math.max(heads.length, kvHeads.length); i++) {
      const h = heads[Math.min(i, heads.length - 1)] as number;
      const kv = kvHeads[Math.min(i, kvHeads.length - 1)] as number;
      if (kv > h || h % kv !== 0) {
        fail('attention.head_count_kv', `= ${kv} must divide attention.head_count = ${h}`);
        break;
      }
    }
  }
  positiveIntegers('attention.key_length');
  positiveIntegers('attention.value_length');
  const rope = positiveIntegers('rope.dimension_count');
  if (rope && rope.length !== 1) fail('rope.dimension_count', 'is an array; expected one number');
  return { errors, warnings };
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
      out.push(n);
    }
    return out;
  }
  if (entry.type === GgufValueType.STRING || entry.type === GgufValueType.BOOL) return undefined;
  const n = one(entry.value);
  return n === undefined ? undefined : [n];
}

function describe(entry: GgufMetadataValue): string {
  return entry.type === GgufValueType.ARRAY ? valueTypeName(entry.type, entry.elementType) : valueTypeName(entry.type);
}
