/**
 * Test-only helpers (not exported from the package): a raw byte builder
 * written straight from the spec, independent of GgufWriter, so tests can
 * craft both valid and deliberately broken files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class RawGguf {
  private parts: number[] = [];

  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  i32(v: number): this {
    return this.u32(v >>> 0);
  }
  u64(v: number | bigint): this {
    let big = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 8; i++) {
      this.parts.push(Number(big & 0xffn));
      big >>= 8n;
    }
    return this;
  }
  f32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.parts.push(bytes[i]);
    return this;
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u64(b.length).raw(b);
  }
  header(version: number, tensors: number | bigint, kvs: number | bigint): this {
    return this.raw([0x47, 0x47, 0x55, 0x46]).u32(version).u64(tensors).u64(kvs);
  }
  kvString(key: string, value: string): this {
    return this.str(key).i32(8).str(value);
  }
  kvU32(key: string, value: number): this {
    return this.str(key).i32(4).u32(value);
  }
  tensorInfo(name: string, ne: readonly (number | bigint)[], type: number, offset: number | bigint): this {
    this.str(name).u32(ne.length);
    for (const d of ne) this.u64(d);
    return this.i32(type).u64(offset);
  }
  padTo(alignment: number): this {
    while (this.parts.length % alignment !== 0) this.parts.push(0);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'trit-gguf-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { packTernary, TernaryTensor } from '@trit/ternary';
import { randomFloats, randomTernary } from '@trit/testkit';
import type { GgufMetadataInput } from './encode.js';
import { type ExportTensor, exportBitnetModel } from './export.js';

/** A SentencePiece vocabulary llama.cpp accepts: <unk>, <s>, </s>, the 256 byte tokens, then a few pieces. */
export function tinySpmVocab(): { tokens: string[]; scores: Float32Array; types: Int32Array } {
  const pieces = ['▁', 'e', 't', 'a', '▁t', 'he', '▁the', '▁a', 'in', '▁in'];
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  tokens.push(...pieces);
  const types = Int32Array.from(tokens, (_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  const scores = Float32Array.from(tokens, (_, i) => (i < 259 ? 0 : -(i - 259)));
  return { tokens, scores, types };
}

export interface TinyLlamaOptions {
  seed?: number;
  embd?: number;
  ff?: number;
  /** Metadata that replaces (or, as undefined, removes) the defaults. */
  metadata?: Record<string, GgufMetadataInput | undefined>;
  /** GGUF types of the projection tensors, by GGUF tensor suffix. */
  types?: Partial<
    Record<
      'attn_q' | 'attn_k' | 'attn_v' | 'attn_output' | 'ffn_gate' | 'ffn_up' | 'ffn_down' | 'output' | 'token_embd',
      string
    >
  >;
}

function ternaryTensor(rows: number, cols: number, seed: number): TernaryTensor {
  const codes = randomTernary(rows * cols, seed);
  const blocks = Math.ceil((rows * cols) / 256);
  const scales = Float32Array.from({ length: blocks }, (_, i) => 0.02 + 0.001 * (i % 7));
  return new TernaryTensor({ packed: packTernary(codes), scales, shape: [rows, cols], blockSize: 256 });
}

/**
 * A one-layer llama model mixing F32, F16, Q8_0, TQ1_0 and TQ2_0 tensors,
 * written with exportBitnetModel. Ternary types get TernaryTensors, the rest
 * floats scaled like a trained model.
 */
export async function writeTinyLlama(path: string, options: TinyLlamaOptions = {}): Promise<void> {
  const seed = options.seed ?? 1;
  const embd = options.embd ?? 256;
  const ff = options.ff ?? 512;
  const vocab = tinySpmVocab();
  const nVocab = vocab.tokens.length;
  const types = {
    attn_q: 'TQ2_0',
    attn_k: 'TQ1_0',
    attn_v: 'F16',
    attn_output: 'Q8_0',
    ffn_gate: 'TQ2_0',
    ffn_up: 'TQ1_0',
    ffn_down: 'F32',
    output: 'Q8_0',
    token_embd: 'F16',
    ...options.types,
  };
  let n = 0;
  const matrix = (name: keyof typeof types, prefix: string, rows: number, cols: number): ExportTensor => {
    const type = types[name];
    const s = seed * 100 + n++;
    const ternary = type === 'TQ1_0' || type === 'TQ2_0';
    return {
      name: `${prefix}${name}.weight`,
      type,
      shape: [rows, cols],
      data: ternary ? ternaryTensor(rows, cols, s) : randomFloats(rows * cols, s, 'gaussian', 1 / Math.sqrt(cols)),
    };
  };
  const norm = (name: string, size: number): ExportTensor => ({
    name,
    type: 'F32',
    shape: [size],
    data: Float32Array.from(randomFloats(size, seed + name.length, 'uniform', 0.1), (v) => 1 + v),
  });
  await exportBitnetModel(path, {
    architecture: 'llama',
    metadata: withoutUndefined({
      'general.name': 'trit tiny llama',
      'llama.context_length': 256,
      'llama.embedding_length': embd,
      'llama.block_count': 1,
      'llama.feed_forward_length': ff,
      'llama.attention.head_count': embd / 64,
      'llama.attention.head_count_kv': embd / 128,
      'llama.rope.dimension_count': 64,
      'llama.attention.layer_norm_rms_epsilon': 1e-5,
      'llama.rope.freq_base': 10000,
      'llama.vocab_size': nVocab,
      'tokenizer.ggml.model': 'llama',
      'tokenizer.ggml.tokens': vocab.tokens,
      'tokenizer.ggml.scores': vocab.scores,
      'tokenizer.ggml.token_type': vocab.types,
      'tokenizer.ggml.bos_token_id': 1,
      'tokenizer.ggml.eos_token_id': 2,
      'tokenizer.ggml.unknown_token_id': 0,
      ...options.metadata,
    }),
    tensors: [
      matrix('token_embd', '', nVocab, embd),
      norm('output_norm.weight', embd),
      matrix('output', '', nVocab, embd),
      norm('blk.0.attn_norm.weight', embd),
      matrix('attn_q', 'blk.0.', embd, embd),
      matrix('attn_k', 'blk.0.', embd / 2, embd),
      matrix('attn_v', 'blk.0.', embd / 2, embd),
      matrix('attn_output', 'blk.0.', embd, embd),
      norm('blk.0.ffn_norm.weight', embd),
      matrix('ffn_gate', 'blk.0.', ff, embd),
      matrix('ffn_up', 'blk.0.', ff, embd),
      matrix('ffn_down', 'blk.0.', embd, ff),
    ],
    quantization: { quantizerVersion: 'test' },
  });
}

function withoutUndefined(entries: Record<string, GgufMetadataInput | undefined>): Map<string, GgufMetadataInput> {
  return new Map(Object.entries(entries).filter((e): e is [string, GgufMetadataInput] => e[1] !== undefined));
}
