/**
 * A small BitNet b1.58 GGUF written the way bitnet.cpp makes its files
 * (docs/formats.md §bitnet, §I2_S): `utils/convert-ms-to-gguf-bitnet.py`
 * writes the keys and an f32 file, then its `llama-quantize … I2_S` packs the
 * projections. Everything here is written from those descriptions, not with
 * trit's own writer or codecs, so a test that loads the file checks trit
 * against an independent producer.
 *
 * What such a file has: `general.architecture` = `bitnet-b1.58`; the
 * hyper-parameter keys in the converter's order; a byte-level BPE vocabulary
 * (`tokenizer.ggml.model` = `gpt2`) with scores, token types and merges but no
 * `tokenizer.ggml.pre`; a chat template; no `<arch>.hidden_activation` (the graph decides);
 * `general.file_type` 40 (bitnet.cpp's MOSTLY_I2_S) and
 * `general.quantization_version` 2 from llama-quantize. Tensors: `token_embd`
 * F16 (also the output head: no `output.weight`), norms F32, projections I2_S
 * with one f32 scale per tensor, data aligned to 32 bytes.
 */
import { createRng, randomTernary } from './rng.js';

export interface BitnetCppModelOptions {
  seed?: number;
  /** `general.architecture`; default `bitnet-b1.58`. */
  architecture?: string;
  /** How the projections are stored: bitnet.cpp's I2_S (default), or F32 (the converter's output before llama-quantize). */
  projections?: 'I2_S' | 'F32';
  /** Writes `<arch>.hidden_activation`, which bitnet.cpp never writes; for reference copies only. */
  hiddenActivation?: string;
  embd?: number;
  ff?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  context?: number;
}

export interface BitnetCppTensor {
  name: string;
  /** NumPy order (`[rows, cols]`); the file holds it reversed, as ggml does. */
  shape: number[];
  type: 'F32' | 'F16' | 'I2_S';
  /** What the file holds, as float32: code × scale for I2_S, the rounded value for F16. */
  values: Float32Array;
}

export interface BitnetCppModel {
  /** The whole GGUF file. */
  bytes: Uint8Array;
  /** Metadata keys in file order. */
  keys: string[];
  /** Tensors in file order. */
  tensors: BitnetCppTensor[];
  vocabulary: { tokens: string[]; merges: string[]; bos: number; eos: number };
}

// GGUF value types (ggml docs/gguf.md).
const UINT32 = 4;
const INT32 = 5;
const FLOAT32 = 6;
const BOOL = 7;
const STRING = 8;
const ARRAY = 9;
const ALIGNMENT = 32;
/** ggml type ids in bitnet.cpp's fork: F32, F16, and I2_S (36). */
const TYPE_IDS = { F32: 0, F16: 1, I2_S: 36 } as const;
/** A chat template (the converter writes its own for bitnet architectures; this one only fills the key). */
const CHAT_TEMPLATE = "{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}";
/** llama_ftype MOSTLY_I2_S in bitnet.cpp's fork. */
const FILE_TYPE_I2_S = 40;

type Value =
  | { type: typeof UINT32 | typeof INT32 | typeof FLOAT32 | typeof BOOL; value: number | boolean }
  | { type: typeof STRING; value: string }
  | { type: typeof ARRAY; elementType: number; values: readonly (number | string)[] };

/** Little-endian byte sink. */
class Bytes {
  private chunks: Uint8Array[] = [];
  length = 0;
  push(bytes: Uint8Array): this {
    this.chunks.push(bytes);
    this.length += bytes.length;
    return this;
  }
  number(width: 1 | 4 | 8, value: number, kind: 'u' | 'i' | 'f' = 'u'): this {
    const out = new Uint8Array(width);
    const view = new DataView(out.buffer);
    if (width === 1) view.setUint8(0, value);
    else if (width === 8) view.setBigUint64(0, BigInt(value), true);
    else if (kind === 'f') view.setFloat32(0, value, true);
    else if (kind === 'i') view.setInt32(0, value, true);
    else view.setUint32(0, value, true);
    return this.push(out);
  }
  string(text: string): this {
    const utf8 = new TextEncoder().encode(text);
    return this.number(8, utf8.length).push(utf8);
  }
  padTo(alignment: number): this {
    return this.push(new Uint8Array((alignment - (this.length % alignment)) % alignment));
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

function scalar(out: Bytes, type: number, value: number | string | boolean): void {
  if (type === STRING) out.string(value as string);
  else if (type === BOOL) out.number(1, value ? 1 : 0);
  else out.number(4, value as number, type === FLOAT32 ? 'f' : type === INT32 ? 'i' : 'u');
}

/** float32 → IEEE half bits, rounding to nearest even (inputs below 65504 in magnitude, as here). */
function halfBits(value: number): number {
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  // The significand with its implicit bit, and how many of its bits the half drops (more when subnormal).
  const significand = (bits & 0x7fffff) | 0x800000;
  const shift = exponent > 0 ? 13 : 14 - exponent;
  if (shift > 24) return sign;
  let half = significand >>> shift;
  const rest = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rest > halfway || (rest === halfway && half & 1)) half++;
  // A normal half keeps its exponent above the 10 stored bits; a carry out of them moves it up by one.
  return sign | (exponent > 0 ? ((exponent - 1) << 10) + half : half);
}

function halfValue(bits: number): number {
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = (bits & 0x3ff) / 1024;
  const magnitude = exponent === 0 ? 2 ** -14 * fraction : 2 ** (exponent - 15) * (1 + fraction);
  return bits & 0x8000 ? -magnitude : magnitude;
}

/** GPT-2's byte → printable character map (each byte stands for itself in the vocabulary). */
function byteCharacters(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

/**
 * I2_S (docs/formats.md §I2_S): code (−1 → 0, 0 → 1, +1 → 2) of element j of
 * each 128-element block in byte j mod 32, bits 7−2⌊j/32⌋…6−2⌊j/32⌋, then the
 * f32 scale at byte n/4 and zeros to n/4 + 32.
 */
function i2sBytes(codes: Int8Array, scale: number): Uint8Array {
  const n = codes.length;
  if (n % 128 !== 0) throw new RangeError(`I2_S needs whole 128-element blocks, got ${n} elements`);
  const out = new Uint8Array(n / 4 + 32);
  for (let k = 0; k < n; k++) {
    const j = k % 128;
    out[32 * Math.floor(k / 128) + (j % 32)] |= (codes[k] + 1) << (6 - 2 * Math.floor(j / 32));
  }
  new DataView(out.buffer).setFloat32(n / 4, scale, true);
  return out;
}

/** Writes a model as bitnet.cpp would, from seeded ternary weights; see the module comment. */
export function buildBitnetCppModel(options: BitnetCppModelOptions = {}): BitnetCppModel {
  const seed = options.seed ?? 1;
  const arch = options.architecture ?? 'bitnet-b1.58';
  const projectionType = options.projections ?? 'I2_S';
  const E = options.embd ?? 128;
  const F = options.ff ?? 256;
  const L = options.layers ?? 2;
  const H = options.heads ?? 4;
  const Hkv = options.kvHeads ?? 2;
  const hd = E / H;

  // Byte-level BPE: the 256 byte characters, a few merges, then Llama-3's two control tokens.
  const bytes = byteCharacters();
  const merges = ['Ġ t', 'h e', 'Ġt he', 'i n', 'Ġ a', 'e r', 'o n', 'Ġ m', 'Ġm o', 'Ġmo d', 'e l'];
  const tokens = [...bytes, ...merges.map((m) => m.replace(' ', '')), '<|begin_of_text|>', '<|end_of_text|>'];
  const bos = tokens.length - 2;
  const eos = tokens.length - 1;
  const V = tokens.length;

  // Tensors in the order of the checkpoint's (sorted) Hugging Face names, which the converter keeps.
  const rng = createRng(seed);
  let stream = seed * 1000;
  const tensors: BitnetCppTensor[] = [];
  const norm = (name: string, size: number) =>
    tensors.push({
      name,
      shape: [size],
      type: 'F32',
      values: Float32Array.from({ length: size }, () => 1 + 0.1 * (rng.nextFloat() * 2 - 1)),
    });
  const scales = new Map<string, number>();
  const codesOf = new Map<string, Int8Array>();
  const projection = (name: string, rows: number, cols: number) => {
    const codes = randomTernary(rows * cols, stream++);
    const scale = Math.fround(1 / Math.sqrt(cols) / 0.8);
    codesOf.set(name, codes);
    scales.set(name, scale);
    tensors.push({
      name,
      shape: [rows, cols],
      type: projectionType,
      values: Float32Array.from(codes, (c) => c * scale),
    });
  };
  const embedding = Float32Array.from({ length: V * E }, () => halfValue(halfBits(rng.gaussian() * 0.5)));
  tensors.push({ name: 'token_embd.weight', shape: [V, E], type: 'F16', values: embedding });
  const layerOrder = Array.from({ length: L }, (_, l) => l).sort((a, b) => String(a).localeCompare(String(b)));
  for (const l of layerOrder) {
    const b = `blk.${l}.`;
    norm(`${b}attn_norm.weight`, E); // input_layernorm
    projection(`${b}ffn_down.weight`, E, F); // mlp.down_proj
    norm(`${b}ffn_sub_norm.weight`, F); // mlp.ffn_sub_norm
    projection(`${b}ffn_gate.weight`, F, E); // mlp.gate_proj
    projection(`${b}ffn_up.weight`, F, E); // mlp.up_proj
    norm(`${b}ffn_norm.weight`, E); // post_attention_layernorm
    norm(`${b}attn_sub_norm.weight`, E); // self_attn.attn_sub_norm
    projection(`${b}attn_k.weight`, Hkv * hd, E);
    projection(`${b}attn_output.weight`, E, E);
    projection(`${b}attn_q.weight`, E, E);
    projection(`${b}attn_v.weight`, Hkv * hd, E);
  }
  norm('output_norm.weight', E); // model.norm

  const k = (name: string) => `${arch}.${name}`;
  const u32 = (value: number): Value => ({ type: UINT32, value });
  const f32 = (value: number): Value => ({ type: FLOAT32, value });
  const metadata: [string, Value][] = [
    ['general.architecture', { type: STRING, value: arch }],
    ['general.name', { type: STRING, value: 'bitnet2b' }],
    [k('vocab_size'), u32(V)],
    [k('context_length'), u32(options.context ?? 128)],
    [k('embedding_length'), u32(E)],
    [k('block_count'), u32(L)],
    [k('feed_forward_length'), u32(F)],
    [k('rope.dimension_count'), u32(hd)],
    [k('attention.head_count'), u32(H)],
    [k('attention.head_count_kv'), u32(Hkv)],
    ['tokenizer.ggml.add_bos_token', { type: BOOL, value: true }],
    [k('attention.layer_norm_rms_epsilon'), f32(1e-5)],
    [k('rope.freq_base'), f32(500000)],
    ['general.file_type', u32(projectionType === 'I2_S' ? FILE_TYPE_I2_S : 0)],
  ];
  if (options.hiddenActivation !== undefined)
    metadata.push([k('hidden_activation'), { type: STRING, value: options.hiddenActivation }]);
  metadata.push(
    ['tokenizer.ggml.model', { type: STRING, value: 'gpt2' }],
    ['tokenizer.ggml.tokens', { type: ARRAY, elementType: STRING, values: tokens }],
    [
      'tokenizer.ggml.scores',
      { type: ARRAY, elementType: FLOAT32, values: tokens.map((_, i) => (i >= bos ? -1000 : 0)) },
    ],
    [
      'tokenizer.ggml.token_type',
      { type: ARRAY, elementType: INT32, values: tokens.map((_, i) => (i >= bos ? 3 : 1)) },
    ],
    ['tokenizer.ggml.merges', { type: ARRAY, elementType: STRING, values: merges }],
    ['tokenizer.ggml.bos_token_id', u32(bos)],
    ['tokenizer.ggml.eos_token_id', u32(eos)],
    ['tokenizer.ggml.padding_token_id', u32(eos)],
    ['tokenizer.chat_template', { type: STRING, value: CHAT_TEMPLATE }],
    ['general.quantization_version', u32(2)],
  );

  const data = tensors.map((t) => {
    if (t.type === 'I2_S') return i2sBytes(codesOf.get(t.name) as Int8Array, scales.get(t.name) as number);
    if (t.type === 'F16') {
      const out = new Uint8Array(t.values.length * 2);
      const view = new DataView(out.buffer);
      for (let i = 0; i < t.values.length; i++) view.setUint16(2 * i, halfBits(t.values[i]), true);
      return out;
    }
    return new Uint8Array(Float32Array.from(t.values).buffer);
  });

  const out = new Bytes();
  out.push(new TextEncoder().encode('GGUF')).number(4, 3).number(8, tensors.length).number(8, metadata.length);
  for (const [key, value] of metadata) {
    out.string(key).number(4, value.type);
    if (value.type === ARRAY) {
      out.number(4, value.elementType).number(8, value.values.length);
      for (const element of value.values) scalar(out, value.elementType, element);
    } else scalar(out, value.type, value.value);
  }
  let offset = 0;
  tensors.forEach((t, i) => {
    out.string(t.name).number(4, t.shape.length);
    for (const dimension of [...t.shape].reverse()) out.number(8, dimension);
    out.number(4, TYPE_IDS[t.type]).number(8, offset);
    offset += Math.ceil(data[i].length / ALIGNMENT) * ALIGNMENT;
  });
  out.padTo(ALIGNMENT);
  for (const chunk of data) out.push(chunk).padTo(ALIGNMENT);

  return {
    bytes: out.bytes(),
    keys: metadata.map(([key]) => key),
    tensors,
    vocabulary: { tokens, merges, bos, eos },
  };
}
