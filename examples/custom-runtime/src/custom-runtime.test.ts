import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExportTensor, exportBitnetModel, readGguf } from '@trit/gguf';
import { decodeTernaryTensor, halfBitsToFloat, type TernaryFormatName } from '@trit/ternary';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryProjection } from './custom-runtime.js';

const EMBD = 256;
const LAYERS = 1;
const EPSILON = 1e-5;

/** A SentencePiece vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then pieces that merge into "▁ab" and "▁ba". */
const PIECES = ['▁', 'a', 'b', '▁a', '▁b', '▁ab', '▁ba'];
const TOKENS = ['<unk>', '<s>', '</s>'];
for (let b = 0; b < 256; b++) TOKENS.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
TOKENS.push(...PIECES);
const idOf = (piece: string) => TOKENS.indexOf(piece);

/** Deterministic values in [-1, 1) (a small LCG; the test needs no statistics). */
function seeded(n: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

/** A one-layer bitnet model whose attn_q is stored as `type` (only what queryProjection reads, plus the keys llama.cpp needs). */
async function writeModel(path: string, type: string): Promise<void> {
  const V = TOKENS.length;
  // BitNet weights: ternary × one scale, so TQ storage is exact apart from the fp16 scale.
  const attnQ = Float32Array.from(seeded(EMBD * EMBD, 7), (v) => (v < -0.35 ? -1 : v > 0.35 ? 1 : 0) * 0.0625);
  const weights = type === 'TQ2_0' || type === 'TQ1_0' ? attnQ : seeded(EMBD * EMBD, 8).map((v) => v * 0.0625);
  const tensors: ExportTensor[] = [
    { name: 'token_embd.weight', type: 'F16', shape: [V, EMBD], data: seeded(V * EMBD, 1) },
    { name: 'output_norm.weight', shape: [EMBD], data: new Float32Array(EMBD).fill(1) },
    { name: 'blk.0.attn_norm.weight', shape: [EMBD], data: seeded(EMBD, 2).map((v) => 1 + 0.25 * v) },
    { name: 'blk.0.attn_q.weight', type, shape: [EMBD, EMBD], data: weights },
  ];
  await exportBitnetModel(path, {
    architecture: 'bitnet',
    tensors,
    order: 'given',
    metadata: {
      'bitnet.context_length': 64,
      'bitnet.embedding_length': EMBD,
      'bitnet.block_count': LAYERS,
      'bitnet.feed_forward_length': 2 * EMBD,
      'bitnet.attention.head_count': 4,
      'bitnet.attention.head_count_kv': 4,
      'bitnet.attention.layer_norm_rms_epsilon': EPSILON,
      'bitnet.vocab_size': V,
      'tokenizer.ggml.model': 'llama',
      'tokenizer.ggml.tokens': TOKENS,
      'tokenizer.ggml.scores': Float32Array.from(TOKENS, (piece) => piece.length),
      'tokenizer.ggml.token_type': Int32Array.from(TOKENS, (_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)),
      'tokenizer.ggml.bos_token_id': 1,
      'tokenizer.ggml.eos_token_id': 2,
      'tokenizer.ggml.unknown_token_id': 0,
    },
  });
}

/** attn_q as float64 weights, decoded here (not through the reader's or the kernel's code). */
async function referenceWeights(path: string): Promise<{ rows: number; cols: number; w: Float64Array }> {
  const file = await readGguf(path);
  const info = file.tensor('blk.0.attn_q.weight');
  const [cols, rows] = info.shape as [number, number];
  const bytes = await file.readTensorData(info);
  const w = new Float64Array(rows * cols);
  if (info.typeName === 'TQ2_0' || info.typeName === 'TQ1_0') {
    w.set(decodeTernaryTensor(info.typeName.toLowerCase() as TernaryFormatName, bytes, [rows, cols]).dequantize());
  } else if (info.typeName === 'F16') {
    for (let i = 0; i < w.length; i++) w[i] = halfBitsToFloat(bytes[2 * i] | (bytes[2 * i + 1] << 8));
  } else if (info.typeName === 'Q8_0') {
    // 34-byte blocks of 32: fp16 d, then 32 int8 (docs/formats.md §Q8_0).
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let block = 0; block < w.length / 32; block++) {
      const d = halfBitsToFloat(view.getUint16(34 * block, true));
      for (let i = 0; i < 32; i++) w[32 * block + i] = d * view.getInt8(34 * block + 2 + i);
    }
  } else {
    throw new Error(`no reference decoder for ${info.typeName}`);
  }
  return { rows, cols, w };
}

describe('custom runtime: gguf + tokenizer + tl1-kernel, no backend', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trit-custom-runtime-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['TQ2_0', 'TQ1_0', 'F16', 'Q8_0'])(
    '%s attn_q: the query projection matches float64 within the 8-bit activation error',
    async (type) => {
      const path = join(dir, `${type}.gguf`);
      await writeModel(path, type);
      const prompt = 'ab ba';
      const result = await queryProjection(path, prompt, { implementation: 'js', threads: 1 });

      // The file's vocabulary: BOS, then "▁ab" and "▁ba" (SentencePiece merges by score).
      expect(Array.from(result.tokens)).toEqual([1, idOf('▁ab'), idOf('▁ba')]);

      // Independent float64: decode the embedding rows, RMSNorm, then W·x.
      const file = await readGguf(path);
      const embd = await file.readTensorData('token_embd.weight');
      const normWeight = await file.dequantizeTensor('blk.0.attn_norm.weight');
      const { rows, cols, w } = await referenceWeights(path);
      const T = result.tokens.length;
      expect(result.query.length).toBe(T * rows);
      for (let t = 0; t < T; t++) {
        const id = result.tokens[t];
        const x = Float64Array.from({ length: cols }, (_, j) =>
          halfBitsToFloat(embd[2 * (id * cols + j)] | (embd[2 * (id * cols + j) + 1] << 8)),
        );
        const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / cols + EPSILON);
        const normed = x.map((v, j) => (v / rms) * normWeight[j]);
        const maxAbs = normed.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        for (let r = 0; r < rows; r++) {
          let exact = 0;
          let sumAbsW = 0;
          let sumAbsProducts = 0;
          for (let j = 0; j < cols; j++) {
            exact += w[r * cols + j] * normed[j];
            sumAbsW += Math.abs(w[r * cols + j]);
            sumAbsProducts += Math.abs(w[r * cols + j] * normed[j]);
          }
          // Rounding each activation to int8 (per token, or per 32-block for Q8_0) moves it by at most
          // maxAbs/254, plus the fp16 rounding of a Q8_0 block scale; float32 arithmetic adds the rest.
          const bound = sumAbsW * maxAbs * (1 / 254 + 1 / 2048) + sumAbsProducts * 1e-5 + 1e-6;
          expect(Math.abs(result.query[t * rows + r] - exact)).toBeLessThanOrEqual(bound);
        }
      }
    },
  );

  it('every kernel implementation returns the same bits', async () => {
    const path = join(dir, 'kernels.gguf');
    await writeModel(path, 'TQ2_0');
    const js = await queryProjection(path, 'ab ba ab', { implementation: 'js', threads: 1 });
    const wasm = await queryProjection(path, 'ab ba ab', { implementation: 'wasm', threads: 1 });
    const auto = await queryProjection(path, 'ab ba ab');
    expect(Array.from(wasm.query)).toEqual(Array.from(js.query));
    expect(Array.from(auto.query)).toEqual(Array.from(js.query));
    expect(js.query.some((v) => v !== 0)).toBe(true);
  });
});
