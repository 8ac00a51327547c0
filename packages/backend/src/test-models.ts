/**
 * Test-only model builders (not exported): small llama and bitnet models
 * written with @trit/gguf's exportBitnetModel, scaled like trained models.
 */
import { type ExportTensor, exportBitnetModel } from '@trit/gguf';
import { quantizeTensor } from '@trit/quantizer';
import { packTernary, TernaryTensor } from '@trit/ternary';
import { createRng, randomFloats, randomTernary } from '@trit/testkit';

/** A SentencePiece vocabulary llama.cpp accepts: <unk>, <s>, </s>, 256 byte tokens, then pieces. */
export function tinyVocab(extra = 64): { tokens: string[]; scores: Float32Array; types: Int32Array } {
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; tokens.length < 259 + extra; i++)
    tokens.push(`▁${letters[i % 26]}${letters[Math.floor(i / 26) % 26]}`);
  const types = Int32Array.from(tokens, (_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  const scores = Float32Array.from(tokens, (_, i) => (i < 259 ? 0 : -(i - 259)));
  return { tokens, scores, types };
}

/** Trained models have peaked next-token distributions; a wider output head gives that. */
const OUTPUT_GAIN = 4;

export interface TestModelOptions {
  arch: 'llama' | 'bitnet';
  /** Storage type of the projections: F32, F16, BF16, Q8_0, TQ2_0 or TQ1_0. */
  type: string;
  seed?: number;
  embd?: number;
  ff?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  context?: number;
  activation?: string;
  tied?: boolean;
  /** Metadata written over the defaults (to make bad files). */
  metadata?: Record<string, unknown>;
}

/**
 * Projections of a `bitnet` model are ternary × a per-tensor scale, as a real
 * BitNet checkpoint is, so TQ storage is lossless apart from fp16 rounding.
 */
export async function writeTestModel(path: string, options: TestModelOptions): Promise<void> {
  const { arch, type } = options;
  const seed = options.seed ?? 1;
  const E = options.embd ?? 256;
  const F = options.ff ?? 512;
  const L = options.layers ?? 2;
  const H = options.heads ?? 4;
  const Hkv = options.kvHeads ?? 2;
  const hd = E / H;
  const vocab = tinyVocab();
  const V = vocab.tokens.length;
  const rng = createRng(seed);
  let n = 0;
  const ternaryFloats = (rows: number, cols: number): Float32Array => {
    const codes = randomTernary(rows * cols, seed * 1000 + n++);
    const s = 1 / Math.sqrt(cols) / 0.8;
    return Float32Array.from(codes, (c) => c * s);
  };
  const gaussian = (rows: number, cols: number): Float32Array =>
    randomFloats(rows * cols, seed * 1000 + n++, 'gaussian', 1 / Math.sqrt(cols));
  const matrix = (name: string, rows: number, cols: number): ExportTensor => {
    const values = arch === 'bitnet' ? ternaryFloats(rows, cols) : gaussian(rows, cols);
    if ((type === 'TQ2_0' || type === 'TQ1_0') && arch === 'llama') {
      // A float model quantized the way `trit quantize` does it: absmean per 256-block.
      return { name, type, data: quantizeTensor(values, [rows, cols], { blockSize: 256 }) };
    }
    if ((type === 'TQ2_0' || type === 'TQ1_0') && arch === 'bitnet') {
      // Exactly ternary: hand the codes over as a TernaryTensor (one scale per 256-block).
      const s = Math.max(
        ...values
          .slice(0, 64)
          .map(Math.abs)
          .filter((v) => v > 0),
      );
      const codes = Int8Array.from(values, (v) => Math.sign(v));
      const scales = new Float32Array(Math.ceil((rows * cols) / 256)).fill(s);
      return {
        name,
        type,
        data: new TernaryTensor({ packed: packTernary(codes), scales, shape: [rows, cols], blockSize: 256 }),
      };
    }
    return { name, type, shape: [rows, cols], data: values };
  };
  const norm = (name: string, size: number): ExportTensor => ({
    name,
    type: 'F32',
    shape: [size],
    data: Float32Array.from({ length: size }, () => 1 + 0.1 * (rng.nextFloat() * 2 - 1)),
  });
  const tensors: ExportTensor[] = [
    { name: 'token_embd.weight', type: 'F16', shape: [V, E], data: randomFloats(V * E, seed * 7, 'gaussian', 0.5) },
    norm('output_norm.weight', E),
  ];
  if (!(options.tied ?? arch === 'bitnet'))
    tensors.push({
      name: 'output.weight',
      type: type === 'TQ1_0' || type === 'TQ2_0' ? 'Q8_0' : type,
      shape: [V, E],
      data: Float32Array.from(gaussian(V, E), (v) => v * OUTPUT_GAIN),
    });
  for (let l = 0; l < L; l++) {
    const b = `blk.${l}.`;
    tensors.push(norm(`${b}attn_norm.weight`, E), norm(`${b}ffn_norm.weight`, E));
    tensors.push(
      matrix(`${b}attn_q.weight`, E, E),
      matrix(`${b}attn_k.weight`, Hkv * hd, E),
      matrix(`${b}attn_v.weight`, Hkv * hd, E),
    );
    tensors.push(matrix(`${b}attn_output.weight`, E, E));
    tensors.push(
      matrix(`${b}ffn_gate.weight`, F, E),
      matrix(`${b}ffn_up.weight`, F, E),
      matrix(`${b}ffn_down.weight`, E, F),
    );
    if (arch === 'bitnet') tensors.push(norm(`${b}attn_sub_norm.weight`, E), norm(`${b}ffn_sub_norm.weight`, F));
  }
  const metadata: Record<string, unknown> = {
    [`${arch}.context_length`]: options.context ?? 256,
    [`${arch}.embedding_length`]: E,
    [`${arch}.block_count`]: L,
    [`${arch}.feed_forward_length`]: F,
    [`${arch}.attention.head_count`]: H,
    [`${arch}.attention.head_count_kv`]: Hkv,
    [`${arch}.rope.dimension_count`]: hd,
    [`${arch}.attention.layer_norm_rms_epsilon`]: 1e-5,
    [`${arch}.rope.freq_base`]: 10000,
    [`${arch}.vocab_size`]: V,
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': vocab.tokens,
    'tokenizer.ggml.scores': vocab.scores,
    'tokenizer.ggml.token_type': vocab.types,
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.unknown_token_id': 0,
  };
  if (options.activation) metadata[`${arch}.hidden_activation`] = options.activation;
  Object.assign(metadata, options.metadata);
  await exportBitnetModel(path, { architecture: arch, metadata: metadata as never, tensors, order: 'given' });
}
