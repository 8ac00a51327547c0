/**
 * Seeded mutators. Input `index` of a run with seed `seed` is always the same
 * bytes: the generator is seeded by (seed, index) alone, and the seed corpus
 * is deterministic, so any input can be rebuilt and rerun by its index.
 *
 * An input is one seed model, changed by one to four mutations: byte-level
 * ones (aimed at the header three times in four) and structure-aware ones
 * that edit a GGUF header field, a safetensors JSON header, config.json, the
 * shard index or tokenizer.json and rewrite the file consistently around it,
 * so the change gets past the first length check.
 */
import { createRng, type Rng } from '@trit/testkit';
import type { Corpus, FuzzFormat, Seed } from './corpus.js';
import {
  BLOCKS,
  encodeArray,
  encodeScalar,
  encodeString,
  GGUF_TYPE,
  type GgufLayout,
  parseLayout,
  type SerializeOptions,
  serializeLayout,
  splitArray,
  tensorRange,
} from './gguf-layout.js';
import { deleteSlot, type Json, JsonObject, JsonRaw, parseTree, setSlot, slots, stringify } from './json-tree.js';

export interface FuzzInput {
  format: FuzzFormat;
  index: number;
  /** The seed model it started from. */
  seed: string;
  /** File name → bytes; a file absent here is absent from the input directory. */
  files: Map<string, Uint8Array>;
  /** What was done, in order. */
  mutations: string[];
}

/** The generator for input `index` of a run seeded with `seed`. */
export function inputRng(seed: number, index: number): Rng {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ (index >>> 0), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ Math.floor(index / 2 ** 32), 0xc2b2ae35) >>> 0;
  return createRng(h ^ (h >>> 16));
}

class Pick {
  constructor(private readonly rng: Rng) {}
  int(n: number): number {
    return this.rng.nextInt(n);
  }
  chance(p: number): boolean {
    return this.rng.nextFloat() < p;
  }
  one<T>(items: readonly T[]): T {
    return items[this.rng.nextInt(items.length)] as T;
  }
  /** One of the choices, with probability proportional to its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((s, [w]) => s + w, 0);
    let r = this.rng.nextFloat() * total;
    for (const [w, value] of choices) {
      r -= w;
      if (r < 0) return value;
    }
    return (choices.at(-1) as readonly [number, T])[1];
  }
}

// ————— interesting values —————

const BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x5c];
const U32 = [0, 1, 2, 3, 7, 8, 31, 32, 33, 255, 256, 257, 4096, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];
const U64 = [
  0n,
  1n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];
const FLOATS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, -1, 1e-45, 3.4e38, 65504, 1e-8];
/** Names that are also Object.prototype members, and other names a lookup table must not trip over. */
const HOSTILE_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  '__defineGetter__',
  '',
  ' ',
  '\u0000',
  'a'.repeat(300),
];

function scalarFor(pick: Pick, width: number, current: bigint): bigint {
  const max = (1n << BigInt(8 * width)) - 1n;
  const relative = [current + 1n, current - 1n, current * 2n, current / 2n, current * 256n, max - current];
  const fixed = width === 8 ? U64 : U32.map(BigInt);
  const v = pick.chance(0.3) ? pick.one(relative) : pick.one(fixed);
  return BigInt.asUintN(8 * width, v);
}

function readLe(bytes: Uint8Array, at: number, width: number): bigint {
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i] ?? 0);
  return v;
}

function writeLe(bytes: Uint8Array, at: number, width: number, value: bigint): void {
  let v = BigInt.asUintN(8 * width, value);
  for (let i = 0; i < width && at + i < bytes.length; i++) {
    bytes[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function floatBits(v: number): bigint {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, v, true);
  return BigInt(b.getUint32(0, true));
}

function halfBits(pick: Pick): number {
  // NaN, +Inf, −Inf, −0, largest finite, smallest subnormal.
  return pick.one([0x7e00, 0x7c00, 0xfc00, 0x8000, 0x7bff, 0x0001, 0xffff]);
}

// ————— byte-level mutations (any file) —————

type ByteMutation = (pick: Pick, bytes: Uint8Array, focusEnd: number, donor: Uint8Array) => [Uint8Array, string];

function position(pick: Pick, length: number, focusEnd: number): number {
  if (length === 0) return 0;
  return pick.chance(0.75) && focusEnd > 0 ? pick.int(Math.min(focusEnd, length)) : pick.int(length);
}

const BYTE_MUTATIONS: readonly (readonly [number, ByteMutation])[] = [
  [
    4,
    (pick, bytes, focus) => {
      const out = bytes.slice();
      const at: number[] = [];
      for (let n = 1 + pick.int(8); n > 0; n--) {
        const p = position(pick, out.length, focus);
        out[p] = (out[p] as number) ^ (1 << pick.int(8));
        at.push(p);
      }
      return [out, `flip bits @ ${at.join(',')}`];
    },
  ],
  [
    3,
    (pick, bytes, focus) => {
      const out = bytes.slice();
      const p = position(pick, out.length, focus);
      const v = pick.one(BYTES);
      const n = 1 + pick.int(4);
      out.fill(v, p, p + n);
      return [out, `set ${n} bytes @ ${p} to 0x${v.toString(16)}`];
    },
  ],
  [
    4,
    (pick, bytes, focus) => {
      const out = bytes.slice();
      const width = pick.one([2, 4, 4, 8, 8]);
      const p = position(pick, out.length, focus);
      const v = scalarFor(pick, width, readLe(out, p, width));
      writeLe(out, p, width, v);
      return [out, `write u${8 * width} ${v} @ ${p}`];
    },
  ],
  [
    3,
    (pick, bytes, focus) => {
      const at = pick.weighted([
        [3, () => position(pick, bytes.length, focus)],
        [1, () => Math.max(0, bytes.length - 1 - pick.int(64))],
        [1, () => pick.int(24)],
      ])();
      return [bytes.slice(0, at), `truncate to ${at} of ${bytes.length} bytes`];
    },
  ],
  [
    2,
    (pick, bytes, focus) => {
      const p = position(pick, bytes.length, focus);
      const n = 1 + pick.int(pick.chance(0.8) ? 16 : 512);
      const fill = pick.chance(0.5)
        ? new Uint8Array(n).fill(pick.one(BYTES))
        : Uint8Array.from({ length: n }, () => pick.int(256));
      return [concat(bytes.subarray(0, p), fill, bytes.subarray(p)), `insert ${n} bytes @ ${p}`];
    },
  ],
  [
    2,
    (pick, bytes, focus) => {
      const p = position(pick, bytes.length, focus);
      const n = 1 + pick.int(pick.chance(0.8) ? 16 : 4096);
      return [concat(bytes.subarray(0, p), bytes.subarray(p + n)), `delete ${n} bytes @ ${p}`];
    },
  ],
  [
    1,
    (pick, bytes, focus) => {
      const from = position(pick, bytes.length, focus);
      const n = 1 + pick.int(64);
      const to = position(pick, bytes.length, focus);
      return [
        concat(bytes.subarray(0, to), bytes.slice(from, from + n), bytes.subarray(to)),
        `duplicate ${n} bytes from ${from} to ${to}`,
      ];
    },
  ],
  [
    2,
    (pick, bytes, focus, donor) => {
      // Splice: this file's head, another seed's tail (or a patch of it in place).
      const at = position(pick, Math.min(bytes.length, donor.length), focus);
      if (pick.chance(0.5)) return [concat(bytes.subarray(0, at), donor.subarray(at)), `splice donor tail @ ${at}`];
      const n = 1 + pick.int(256);
      const out = bytes.slice();
      out.set(donor.subarray(at, Math.min(at + n, out.length)), at);
      return [out, `patch ${n} donor bytes @ ${at}`];
    },
  ],
  [
    1,
    (pick, bytes) => {
      const n = 1 + pick.int(4096);
      return [concat(bytes, new Uint8Array(n).fill(pick.one(BYTES))), `append ${n} bytes`];
    },
  ],
];

function byteMutation(pick: Pick, bytes: Uint8Array, focusEnd: number, donor: Uint8Array): [Uint8Array, string] {
  return pick.weighted(BYTE_MUTATIONS)(pick, bytes, focusEnd, donor);
}

// ————— GGUF structure —————

const HYPER = [
  'context_length',
  'embedding_length',
  'block_count',
  'feed_forward_length',
  'attention.head_count',
  'attention.head_count_kv',
  'rope.dimension_count',
  'vocab_size',
  'attention.layer_norm_rms_epsilon',
  'rope.freq_base',
];
const HUGE_U32 = [0x10000, 0x1000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const ARCHES = ['llama', 'bitnet', 'bitnet-b1.58', 'bitnet-25', 'craftsman', 'gpt2', 'falcon', ...HOSTILE_NAMES];
/** Type ids: the real ones the seeds use, their neighbours, the bitnet.cpp ids, and out-of-range ones. */
const TYPE_IDS = [
  0, 1, 2, 8, 9, 12, 24, 28, 30, 31, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 64, 0x7fffffff, 0xffffffff,
];

type LayoutMutation = (pick: Pick, layout: GgufLayout, bytes: Uint8Array) => [Uint8Array, string] | undefined;

function arch(layout: GgufLayout): string {
  const kv = layout.kvs.find((k) => k.key === 'general.architecture');
  return kv ? new TextDecoder().decode(kv.value.subarray(8)) : 'llama';
}

/** Rewrites the file from the (edited) layout; sometimes with header counts that are off by one. */
function rebuild(pick: Pick, layout: GgufLayout, bytes: Uint8Array, what: string): [Uint8Array, string] {
  const options: SerializeOptions = {};
  let lie = '';
  if (pick.chance(0.05)) {
    const field = pick.chance(0.5) ? 'tensorCount' : 'kvCount';
    const real = BigInt(field === 'tensorCount' ? layout.tensors.length : layout.kvs.length);
    options[field] = real + (pick.chance(0.5) ? 1n : -1n);
    lie = `, header ${field} ${options[field]}`;
  }
  return [serializeLayout(layout, bytes.subarray(layout.dataOffset), options), `${what}${lie}`];
}

function newValue(pick: Pick, type: number, current?: Uint8Array): [number, Uint8Array, string] {
  switch (type) {
    case GGUF_TYPE.STRING: {
      const s = pick.weighted<string | Uint8Array>([
        [4, pick.one(ARCHES)],
        [1, Uint8Array.of(0xff, 0xfe, 0xc0, 0x80)],
        [1, 'x'.repeat(1 + pick.int(100_000))],
      ]);
      return [type, encodeString(s), typeof s === 'string' ? JSON.stringify(s.slice(0, 40)) : 'invalid UTF-8'];
    }
    case GGUF_TYPE.F32:
    case GGUF_TYPE.F64: {
      const v = pick.one(FLOATS);
      return [type, encodeScalar(type, v), `${v}`];
    }
    case GGUF_TYPE.ARRAY: {
      const elementType = pick.one([GGUF_TYPE.U32, GGUF_TYPE.STRING, GGUF_TYPE.ARRAY, GGUF_TYPE.F32, 13, 0xffffffff]);
      const n = pick.one([0, 1, 3]);
      const elements = Array.from({ length: n }, () =>
        elementType === GGUF_TYPE.STRING ? encodeString('a') : encodeScalar(GGUF_TYPE.U32, 7),
      );
      return [type, encodeArray(elementType, elements), `array of ${n} (element type ${elementType})`];
    }
    default: {
      const width = ({ 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 7: 1, 10: 8, 11: 8 } as Record<number, number>)[type] ?? 4;
      const v = scalarFor(pick, width, current ? readLe(current, 0, width) : 0n);
      return [type, encodeScalar(type, v), `${v}`];
    }
  }
}

const GGUF_MUTATIONS: readonly (readonly [number, LayoutMutation])[] = [
  // One integer field in place: counts, string and array lengths, value types, dims, type ids, offsets, values.
  [
    6,
    (pick, layout, bytes) => {
      const kinds = [...new Set(layout.fields.map((f) => f.kind))];
      const kind = pick.one(kinds);
      const field = pick.one(layout.fields.filter((f) => f.kind === kind));
      const out = bytes.slice();
      const current = readLe(out, field.offset, field.width);
      const v =
        field.kind === 'tensor-type' || field.kind === 'value-type' || field.kind === 'array-header'
          ? pick.chance(0.6) && field.kind === 'tensor-type'
            ? BigInt(pick.one(TYPE_IDS))
            : scalarFor(pick, field.width, current)
          : field.kind === 'value' && field.width === 4 && pick.chance(0.3)
            ? floatBits(pick.one(FLOATS))
            : scalarFor(pick, field.width, current);
      writeLe(out, field.offset, field.width, v);
      return [out, `field ${field.label} (${field.kind}) ${current} → ${v}`];
    },
  ],
  // A hyper-parameter: an extreme value of its own type, or another type.
  [
    6,
    (pick, layout, bytes) => {
      const a = arch(layout);
      const candidates = layout.kvs.filter((kv) => HYPER.some((h) => kv.key === `${a}.${h}`));
      // The layer count twice over: it sizes the most (layers, caches, tensor lookups).
      candidates.push(...candidates.filter((kv) => kv.key.endsWith('.block_count')));
      if (candidates.length === 0) return undefined;
      const kv = pick.one(candidates);
      const type = pick.chance(0.75)
        ? kv.type
        : pick.one([
            GGUF_TYPE.U64,
            GGUF_TYPE.I32,
            GGUF_TYPE.F32,
            GGUF_TYPE.STRING,
            GGUF_TYPE.BOOL,
            GGUF_TYPE.ARRAY,
            13,
          ]);
      // Counts that size loops and buffers get a huge value half the time: a reader must check before it allocates.
      const sizing = /(length|count|count_kv|vocab_size)$/.test(kv.key);
      const [t, value, text] =
        sizing && type === GGUF_TYPE.U32 && pick.chance(0.5)
          ? ((v) => [type, encodeScalar(type, v), `${v}`] as const)(pick.one(HUGE_U32))
          : newValue(pick, type, kv.value);
      kv.type = t;
      kv.value = value;
      return rebuild(pick, layout, bytes, `metadata ${kv.key} = ${text} (type ${t})`);
    },
  ],
  // Any key: new value, renamed, removed, duplicated.
  [
    4,
    (pick, layout, bytes) => {
      const i = pick.int(layout.kvs.length);
      const kv = layout.kvs[i];
      if (!kv) return undefined;
      const action = pick.one(['value', 'rename', 'remove', 'duplicate', 'move'] as const);
      if (action === 'value') {
        const [t, value, text] = newValue(pick, pick.chance(0.7) ? kv.type : pick.int(14));
        kv.type = t;
        kv.value = value;
        return rebuild(pick, layout, bytes, `metadata ${kv.key} = ${text} (type ${t})`);
      }
      if (action === 'rename') {
        const other = pick.one(layout.kvs).key;
        const name = pick.chance(0.3)
          ? other
          : pick.chance(0.5)
            ? pick.one(HOSTILE_NAMES)
            : kv.key.replace(/^[a-z]+/, pick.one(ARCHES));
        kv.keyBytes = new TextEncoder().encode(name);
        return rebuild(pick, layout, bytes, `rename key ${kv.key} → ${JSON.stringify(name.slice(0, 40))}`);
      }
      if (action === 'remove') {
        layout.kvs.splice(i, 1);
        return rebuild(pick, layout, bytes, `remove key ${kv.key}`);
      }
      if (action === 'duplicate') {
        const [t, value, text] = newValue(pick, kv.type, kv.value);
        layout.kvs.push({ ...kv, type: t, value });
        return rebuild(pick, layout, bytes, `duplicate key ${kv.key} = ${text}`);
      }
      layout.kvs.splice(i, 1);
      layout.kvs.splice(pick.int(layout.kvs.length + 1), 0, kv);
      return rebuild(pick, layout, bytes, `move key ${kv.key}`);
    },
  ],
  // A key the seeds do not have: alignment, a prototype name, expert counts, rope scaling, tokenizer kinds.
  [
    2,
    (pick, layout, bytes) => {
      const a = arch(layout);
      const [key, type, value, text] = pick.one<[string, number, Uint8Array, string]>([
        [
          'general.alignment',
          GGUF_TYPE.U32,
          encodeScalar(GGUF_TYPE.U32, pick.one([0, 1, 3, 8, 64, 4096, 0x80000000])),
          'u32',
        ],
        ['general.alignment', GGUF_TYPE.U64, encodeScalar(GGUF_TYPE.U64, 32), 'u64 32'],
        [pick.one(HOSTILE_NAMES), GGUF_TYPE.U32, encodeScalar(GGUF_TYPE.U32, 1), 'u32 1'],
        [`${a}.expert_count`, GGUF_TYPE.U32, encodeScalar(GGUF_TYPE.U32, pick.one([0, 8, 0xffffffff])), 'u32'],
        [`${a}.rope.scaling.type`, GGUF_TYPE.STRING, encodeString(pick.one(['yarn', 'linear', '__proto__'])), 'string'],
        [
          `${a}.hidden_activation`,
          GGUF_TYPE.STRING,
          encodeString(pick.one(['gelu', 'relu2', 'constructor', ''])),
          'string',
        ],
        [
          `${a}.attention.key_length`,
          GGUF_TYPE.U32,
          encodeScalar(GGUF_TYPE.U32, pick.one([0, 7, 128, 0xffffffff])),
          'u32',
        ],
        [
          'tokenizer.ggml.pre',
          GGUF_TYPE.STRING,
          encodeString(pick.one(['llama-bpe', 'gpt2', 'default', 'constructor', 'x'])),
          'string',
        ],
        ['tokenizer.ggml.add_bos_token', GGUF_TYPE.U32, encodeScalar(GGUF_TYPE.U32, 5), 'u32 5'],
        [
          'tokenizer.ggml.merges',
          GGUF_TYPE.ARRAY,
          encodeArray(GGUF_TYPE.STRING, [encodeString('a b'), encodeString('x')]),
          'array',
        ],
        [
          'tokenizer.ggml.padding_token_id',
          GGUF_TYPE.U32,
          encodeScalar(GGUF_TYPE.U32, pick.one([3, 1e6, 0xffffffff])),
          'u32',
        ],
      ]);
      layout.kvs.splice(pick.int(layout.kvs.length + 1), 0, {
        keyBytes: new TextEncoder().encode(key),
        key,
        type,
        value,
      });
      return rebuild(pick, layout, bytes, `add key ${JSON.stringify(key.slice(0, 40))} (${text})`);
    },
  ],
  // The tokenizer's arrays: shorter, longer, an element changed, another element type.
  [
    3,
    (pick, layout, bytes) => {
      const arrays = layout.kvs.filter((kv) => kv.type === GGUF_TYPE.ARRAY);
      if (arrays.length === 0) return undefined;
      const kv = pick.one(arrays);
      const split = splitArray(kv.value);
      if (!split) return undefined;
      const { elementType, elements } = split;
      const n = elements.length;
      const action = pick.one(['shorten', 'extend', 'element', 'element', 'length-lie', 'element-type'] as const);
      let text: string;
      if (action === 'shorten') {
        const keep = pick.one([0, 1, Math.max(0, n - 1), n >> 1]);
        elements.length = keep;
        text = `${n} → ${keep} elements`;
      } else if (action === 'extend') {
        const extra = pick.one([1, 100, 10_000]);
        for (let i = 0; i < extra; i++) elements.push(elements[i % Math.max(1, n)] ?? encodeScalar(GGUF_TYPE.U32, 0));
        text = `${n} → ${elements.length} elements`;
      } else if (action === 'element') {
        const at = pick.chance(0.5) ? pick.int(Math.min(n, 8)) : pick.int(Math.max(1, n));
        const [, value, vText] =
          elementType === GGUF_TYPE.STRING
            ? newValue(pick, GGUF_TYPE.STRING)
            : pick.chance(0.5) && (elementType === GGUF_TYPE.I32 || elementType === GGUF_TYPE.U32)
              ? [0, encodeScalar(elementType, pick.one([-1, 0, 7, 99, 0x7fffffff])), 'token type']
              : newValue(pick, elementType, elements[at]);
        if (elementType === GGUF_TYPE.STRING && pick.chance(0.3) && n > 1) {
          elements[at] = elements[(at + 1) % n] as Uint8Array;
          text = `element ${at} = element ${(at + 1) % n}`;
        } else {
          elements[at] = value;
          text = `element ${at} = ${vText}`;
        }
      } else if (action === 'length-lie') {
        const length = pick.one([0, n + 1, n - 1, 2 ** 31, 2 ** 40]);
        kv.value = encodeArray(elementType, elements, length);
        return rebuild(pick, layout, bytes, `metadata ${kv.key}: length field ${n} → ${length}`);
      } else {
        const t = pick.one([GGUF_TYPE.U8, GGUF_TYPE.I32, GGUF_TYPE.F32, GGUF_TYPE.STRING, GGUF_TYPE.U64]);
        kv.value = encodeArray(t, elements);
        return rebuild(pick, layout, bytes, `metadata ${kv.key}: element type ${elementType} → ${t}`);
      }
      kv.value = encodeArray(elementType, elements);
      return rebuild(pick, layout, bytes, `metadata ${kv.key}: ${text}`);
    },
  ],
  // general.architecture, which picks the key prefix and the type-id dialect.
  [
    2,
    (pick, layout, bytes) => {
      const kv = layout.kvs.find((k) => k.key === 'general.architecture');
      if (!kv) return undefined;
      const name = pick.one(ARCHES);
      kv.value = encodeString(name);
      return rebuild(pick, layout, bytes, `general.architecture = ${JSON.stringify(name.slice(0, 40))}`);
    },
  ],
  // A tensor info: type, dims, offset, name; removed, duplicated or swapped.
  [
    7,
    (pick, layout, bytes) => {
      const i = pick.int(layout.tensors.length);
      const t = layout.tensors[i];
      if (!t) return undefined;
      const action = pick.weighted([
        [3, 'type'],
        [3, 'dims'],
        [2, 'offset'],
        [2, 'name'],
        [1, 'remove'],
        [1, 'duplicate'],
        [1, 'swap'],
      ] as const);
      if (action === 'type') {
        const from = t.type;
        t.type = pick.one(TYPE_IDS);
        return rebuild(pick, layout, bytes, `tensor ${t.name} type ${from} → ${t.type}`);
      }
      if (action === 'dims') {
        const from = t.dims.join('×');
        const op = pick.one(['value', 'value', 'swap', 'add', 'drop'] as const);
        if (op === 'value' && t.dims.length > 0) {
          const d = pick.int(t.dims.length);
          t.dims[d] = BigInt.asUintN(64, pick.chance(0.4) ? pick.one(U64) : scalarFor(pick, 8, t.dims[d] as bigint));
        } else if (op === 'swap') t.dims.reverse();
        else if (op === 'add') t.dims.push(pick.one([1n, 2n, 0n, 2n ** 32n]));
        else t.dims.pop();
        return rebuild(pick, layout, bytes, `tensor ${t.name} dims ${from} → ${t.dims.join('×')}`);
      }
      if (action === 'offset') {
        const from = t.offset;
        const other = pick.one(layout.tensors).offset;
        const dataSize = BigInt(bytes.length - layout.dataOffset);
        t.offset = BigInt.asUintN(
          64,
          pick.one([0n, from + 1n, from + 32n, from - 32n, other, dataSize, dataSize - 32n, ...U64.slice(2)]),
        );
        return rebuild(pick, layout, bytes, `tensor ${t.name} offset ${from} → ${t.offset}`);
      }
      if (action === 'name') {
        const other = pick.one(layout.tensors).name;
        const name = pick.weighted([
          [3, pick.one(HOSTILE_NAMES)],
          [2, other],
          [2, t.name.replace(/^blk\.\d+/, `blk.${pick.one([1, 2, 99, 4294967296, -1])}`)],
          [1, t.name.replace(/weight$/, 'scale')],
          [1, 'output.weight'],
        ]);
        t.nameBytes = new TextEncoder().encode(name);
        return rebuild(pick, layout, bytes, `rename tensor ${t.name} → ${JSON.stringify(name.slice(0, 40))}`);
      }
      if (action === 'remove') {
        layout.tensors.splice(i, 1);
        return rebuild(pick, layout, bytes, `remove tensor ${t.name}`);
      }
      if (action === 'duplicate') {
        layout.tensors.splice(pick.int(layout.tensors.length + 1), 0, { ...t, dims: [...t.dims] });
        return rebuild(pick, layout, bytes, `duplicate tensor info ${t.name}`);
      }
      const j = pick.int(layout.tensors.length);
      const u = layout.tensors[j] as (typeof layout.tensors)[number];
      [t.offset, u.offset] = [u.offset, t.offset];
      return rebuild(pick, layout, bytes, `swap offsets of ${t.name} and ${u.name}`);
    },
  ],
  // Tensor data: ternary code 3 (TQ2_0's unused code), bad block scales, non-finite floats.
  [
    4,
    (pick, layout, bytes) => {
      // Mostly the block-quantized tensors, whose codes and scales the kernels decode.
      const quantized = layout.tensors.filter((x) => BLOCKS[x.type]?.scaleAt !== undefined);
      const t = pick.one(quantized.length > 0 && pick.chance(0.75) ? quantized : layout.tensors);
      if (!t) return undefined;
      const range = tensorRange(layout, t, bytes.length);
      const block = BLOCKS[t.type];
      if (!range || !block) return undefined;
      const out = bytes.slice();
      const blocks = Math.floor(range.bytes / block.bytes);
      const b = pick.chance(0.5) ? 0 : pick.int(Math.max(1, blocks));
      const base = range.start + b * block.bytes;
      if (block.scaleAt !== undefined && pick.chance(0.5)) {
        const h = halfBits(pick);
        writeLe(out, base + block.scaleAt, 2, BigInt(h));
        return [out, `tensor ${t.name} (${block.name}) block ${b} scale = 0x${h.toString(16)}`];
      }
      if (block.scaleAt !== undefined) {
        const n = block.scaleAt === 0 ? block.bytes - 2 : block.scaleAt;
        const start = block.scaleAt === 0 ? base + 2 : base;
        // 0xff is four TQ2_0 codes 3 (a code no writer produces) and five TQ1_0 trits past 242.
        const v = pick.one([0xff, 0xff, 0xfe, 0xf3, 0x80]);
        out.fill(v, start, start + (pick.chance(0.5) ? n : 1));
        return [out, `tensor ${t.name} (${block.name}) block ${b} quants = 0x${v.toString(16)}`];
      }
      const e = pick.int(Math.max(1, range.bytes / block.bytes));
      const bits = block.bytes === 4 ? floatBits(pick.one(FLOATS)) : BigInt(halfBits(pick));
      writeLe(out, range.start + e * block.bytes, block.bytes, bits);
      return [out, `tensor ${t.name} (${block.name}) element ${e} = 0x${bits.toString(16)}`];
    },
  ],
];

function mutateGguf(pick: Pick, bytes: Uint8Array, donor: Uint8Array): [Uint8Array, string] {
  let layout: GgufLayout | undefined;
  try {
    layout = parseLayout(bytes);
  } catch {
    layout = undefined;
  }
  if (layout && pick.chance(0.7)) {
    const result = pick.weighted(GGUF_MUTATIONS)(pick, layout, bytes);
    if (result) return result;
  }
  return byteMutation(pick, bytes, layout?.infosEnd ?? 4096, donor);
}

// ————— safetensors and JSON structure —————

interface SafetensorsParts {
  header: Json;
  data: Uint8Array;
}

function splitSafetensors(bytes: Uint8Array): SafetensorsParts | undefined {
  if (bytes.length < 8) return undefined;
  const n = Number(readLe(bytes, 0, 8));
  if (n > bytes.length - 8) return undefined;
  try {
    const header = parseTree(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
    return { header, data: bytes.subarray(8 + n) };
  } catch {
    return undefined;
  }
}

/** A header padded with spaces to a multiple of 8, as writers do, then the data. */
function joinSafetensors(parts: SafetensorsParts, lengthDelta = 0): Uint8Array {
  let text = stringify(parts.header);
  while (new TextEncoder().encode(text).length % 8 !== 0) text += ' ';
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + parts.data.length);
  writeLe(out, 0, 8, BigInt(json.length + lengthDelta));
  out.set(json, 8);
  out.set(parts.data, 8 + json.length);
  return out;
}

const DTYPES = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U64',
  'U32',
  'U16',
  'U8',
  'BOOL',
  'F8_E4M3',
  'F8_E5M2',
  'F8_E8M0',
  'F6_E2M3',
  'F4',
  'C64',
  'I4',
  'f32',
  ...HOSTILE_NAMES.slice(0, 4),
];

function interestingJson(pick: Pick): [Json, string] {
  const v = pick.weighted<() => Json>([
    [3, () => pick.one<Json>([null, true, false, 0, -1, 1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, 1e308, -(2 ** 53)])],
    [
      2,
      () => new JsonRaw(pick.one(['1e400', '-0', '18446744073709551616', '1e-400', '0.0000001', '9007199254740993'])),
    ],
    [2, () => pick.one<Json>(['', 'constructor', '__proto__', 'toString', 'F32', '../x', '64'])],
    [2, () => pick.one<Json>([[], [0], [[]], new JsonObject(), new JsonObject([['__proto__', 1]])])],
    [1, () => 'x'.repeat(1 + pick.int(200_000))],
    [1, () => new JsonRaw(`${'['.repeat(20_000)}${']'.repeat(20_000)}`)],
  ])();
  const text = v instanceof JsonRaw ? v.text.slice(0, 24) : stringify(v).slice(0, 40);
  return [v, text];
}

/** A generic JSON edit: a value replaced, a key renamed, deleted, duplicated or added. */
function mutateJsonTree(pick: Pick, root: Json): string {
  const all = slots(root);
  if (all.length === 0 || pick.chance(0.05)) {
    const [v, text] = interestingJson(pick);
    if (root instanceof JsonObject) root.entries.push([pick.one(HOSTILE_NAMES), v]);
    return `add member = ${text}`;
  }
  const slot = pick.one(all);
  const action = pick.weighted([
    [5, 'value'],
    [2, 'rename'],
    [2, 'delete'],
    [1, 'duplicate'],
  ] as const);
  if (action === 'value') {
    const [v, text] = interestingJson(pick);
    setSlot(slot, v);
    return `${slot.path} = ${text}`;
  }
  if (action === 'rename' && slot.container instanceof JsonObject) {
    const entry = slot.container.entries[slot.index] as [string, Json];
    const siblings = slot.container.entries.map(([k]) => k);
    const name = pick.chance(0.3) ? pick.one(siblings) : pick.one(HOSTILE_NAMES);
    entry[0] = name;
    return `rename ${slot.path} → ${JSON.stringify(name.slice(0, 40))}`;
  }
  if (action === 'duplicate' && slot.container instanceof JsonObject) {
    const entry = slot.container.entries[slot.index] as [string, Json];
    const [v, text] = interestingJson(pick);
    slot.container.entries.push([entry[0], v]);
    return `duplicate ${slot.path} = ${text}`;
  }
  deleteSlot(slot);
  return `delete ${slot.path}`;
}

/** Safetensors header edits aimed at its rules: names, dtypes, shapes, data_offsets, __metadata__. */
function mutateSafetensorsHeader(pick: Pick, header: Json): string {
  if (!(header instanceof JsonObject)) return mutateJsonTree(pick, header);
  const tensors = header.entries.filter(([k, v]) => k !== '__metadata__' && v instanceof JsonObject);
  const entry = tensors.length > 0 ? pick.one(tensors) : undefined;
  const action = pick.weighted([
    [3, 'name'],
    [3, 'dtype'],
    [4, 'shape'],
    [4, 'offsets'],
    [1, 'metadata'],
    [1, 'remove'],
    [1, 'copy'],
    [3, 'generic'],
  ] as const);
  if (!entry || action === 'generic') return mutateJsonTree(pick, header);
  const [name, info] = entry as [string, JsonObject];
  const offsets = info.get('data_offsets');
  const [begin, end] = Array.isArray(offsets) ? (offsets as number[]) : [0, 0];
  const shape = info.get('shape');
  switch (action) {
    case 'name': {
      const others = tensors.map(([k]) => k);
      const to = pick.chance(0.7) ? pick.one(HOSTILE_NAMES) : pick.one([...others, '__metadata__']);
      entry[0] = to;
      return `header: rename tensor ${name} → ${JSON.stringify(to.slice(0, 40))}`;
    }
    case 'dtype': {
      const dtype = pick.one<Json>([...DTYPES, 5, null]);
      info.set('dtype', dtype);
      return `header: tensor ${name} dtype = ${JSON.stringify(dtype)}`;
    }
    case 'shape': {
      const dims = Array.isArray(shape) ? (shape as number[]) : [];
      const next = pick.one<Json>([
        [],
        [0],
        [-1],
        [1.5],
        [2 ** 53],
        [2 ** 31, 2 ** 31],
        [new JsonRaw('18446744073709551616')],
        ['4'],
        null,
        new JsonObject(),
        [[4]],
        [...dims].reverse(),
        dims.map((d, i) => (i === 0 ? d * 2 : d)),
        [1, ...dims],
        dims.slice(1),
        [dims.reduce((a, b) => a * b, 1)],
      ]);
      info.set('shape', next);
      return `header: tensor ${name} shape ${stringify(shape ?? null)} → ${stringify(next).slice(0, 60)}`;
    }
    case 'offsets': {
      const other = pick.one(tensors)[1] as JsonObject;
      const next = pick.one<Json>([
        [0, 0],
        [end, begin],
        [begin, end + 1],
        [begin - 1, end - 1],
        [begin + 1, end + 1],
        [0, 2 ** 53],
        [begin, new JsonRaw('1e400')],
        [-1, end],
        [begin],
        [begin, end, 1],
        null,
        other.get('data_offsets') ?? null,
        [begin + 0.5, end],
        [begin, 2 ** 64],
      ]);
      info.set('data_offsets', next);
      return `header: tensor ${name} data_offsets [${begin}, ${end}] → ${stringify(next).slice(0, 60)}`;
    }
    case 'metadata': {
      const next = pick.one<Json>([
        null,
        [],
        new JsonObject([['format', 1]]),
        new JsonObject([['__proto__', 'x']]),
        new JsonObject([['constructor', 'x']]),
        new JsonObject([
          ['format', 'pt'],
          ['format', 'np'],
        ]),
        'pt',
      ]);
      header.set('__metadata__', next);
      return `header: __metadata__ = ${stringify(next)}`;
    }
    case 'remove':
      header.delete(name);
      return `header: remove tensor ${name}`;
    default: {
      const to = pick.chance(0.5) ? pick.one(HOSTILE_NAMES) : `${name}.copy`;
      header.entries.push([to, new JsonObject(info.entries.map(([k, v]) => [k, v]))]);
      return `header: copy tensor ${name} as ${JSON.stringify(to.slice(0, 40))}`;
    }
  }
}

const CONFIG_FIELDS: Record<string, () => Json[]> = {
  architectures: () => [
    ['constructor'],
    ['__proto__'],
    ['toString'],
    ['hasOwnProperty'],
    [],
    'LlamaForCausalLM',
    [1],
    null,
    ['MistralForCausalLM'],
  ],
  model_type: () => ['constructor', '__proto__', 'mistral', 5, null, 'bitnet', 'llama'],
  hidden_act: () => ['__proto__', 'constructor', 'gelu', 'relu2', 'RELU_SQUARED', 5, null],
  rope_scaling: () => [
    new JsonObject([
      ['type', 'linear'],
      ['factor', 2],
    ]),
    null,
    'yarn',
  ],
  tie_word_embeddings: () => [true, false, 'yes', null],
  eos_token_id: () => [[1, 2], -1, 2 ** 31, 1e9, '2', null],
  bos_token_id: () => [-1, 2 ** 31, 1e9, '1', null],
};
const CONFIG_NUMBERS = [
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'max_position_embeddings',
  'rms_norm_eps',
  'rope_theta',
  'vocab_size',
];

function mutateConfig(pick: Pick, root: Json): string {
  if (!(root instanceof JsonObject) || pick.chance(0.2)) return mutateJsonTree(pick, root);
  if (pick.chance(0.35)) {
    const key = pick.one(Object.keys(CONFIG_FIELDS));
    const v = pick.one((CONFIG_FIELDS[key] as () => Json[])());
    root.set(key, v);
    return `config ${key} = ${stringify(v).slice(0, 60)}`;
  }
  const key = pick.one(CONFIG_NUMBERS);
  const current = root.get(key);
  const c = typeof current === 'number' ? current : 64;
  const v = pick.one<Json>([
    0,
    -1,
    1,
    1.5,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    1e308,
    1e9,
    c + 1,
    c - 1,
    c * 2,
    c / 2,
    c * 1024,
    '64',
    null,
    new JsonRaw('1e400'),
  ]);
  if (pick.chance(0.1)) {
    root.delete(key);
    return `config: delete ${key}`;
  }
  root.set(key, v);
  return `config ${key} = ${stringify(v)}`;
}

function mutateIndex(pick: Pick, root: Json, shards: string[]): string {
  if (!(root instanceof JsonObject) || pick.chance(0.2)) return mutateJsonTree(pick, root);
  const map = root.get('weight_map');
  const action = pick.one(['empty', 'target', 'key', 'delete', 'map', 'metadata', 'add'] as const);
  if (action === 'empty' || !(map instanceof JsonObject) || map.entries.length === 0) {
    root.set('weight_map', new JsonObject());
    return 'index weight_map = {}';
  }
  const entry = pick.one(map.entries);
  switch (action) {
    case 'target': {
      const to = pick.one<Json>([
        '../model.safetensors',
        '/etc/hostname',
        'missing.safetensors',
        'model.safetensors.index.json',
        'config.json',
        '',
        '.',
        5,
        null,
        pick.one(shards),
      ]);
      entry[1] = to;
      return `index weight_map[${entry[0]}] = ${JSON.stringify(to)}`;
    }
    case 'key': {
      const from = entry[0];
      entry[0] = pick.chance(0.7) ? pick.one(HOSTILE_NAMES) : pick.one(map.entries)[0];
      return `index weight_map key ${from} → ${JSON.stringify(entry[0].slice(0, 40))}`;
    }
    case 'delete':
      map.entries.splice(map.entries.indexOf(entry), 1);
      return `index weight_map: remove ${entry[0]}`;
    case 'map': {
      const v = pick.one<Json>([[], null, 'x', new JsonObject([['__proto__', pick.one(shards)]])]);
      root.set('weight_map', v);
      return `index weight_map = ${stringify(v)}`;
    }
    case 'metadata': {
      const v = pick.one<Json>([
        null,
        [],
        new JsonObject([['total_size', -1]]),
        new JsonObject([['total_size', new JsonRaw('18446744073709551616')]]),
        new JsonObject([['__proto__', new JsonObject([['polluted', true]])]]),
      ]);
      root.set('metadata', v);
      return `index metadata = ${stringify(v)}`;
    }
    default: {
      const name = pick.one(HOSTILE_NAMES);
      map.entries.push([name, pick.one(shards)]);
      return `index weight_map add ${JSON.stringify(name.slice(0, 40))}`;
    }
  }
}

function mutateTokenizer(pick: Pick, root: Json): string {
  const model = root instanceof JsonObject ? root.get('model') : undefined;
  if (!(root instanceof JsonObject) || !(model instanceof JsonObject) || pick.chance(0.3))
    return mutateJsonTree(pick, root);
  const vocab = model.get('vocab');
  const action = pick.one(['type', 'vocab-key', 'vocab-id', 'merges', 'added', 'pre', 'byte_fallback'] as const);
  switch (action) {
    case 'type': {
      const v = pick.one<Json>(['WordPiece', 'Unigram', 'WordLevel', 'constructor', '__proto__', '', null]);
      model.set('type', v);
      return `tokenizer model.type = ${JSON.stringify(v)}`;
    }
    case 'vocab-key':
    case 'vocab-id': {
      if (!(vocab instanceof JsonObject) || vocab.entries.length === 0) return mutateJsonTree(pick, root);
      const entry = pick.one(vocab.entries);
      if (action === 'vocab-key') {
        const from = entry[0];
        entry[0] = pick.chance(0.7) ? pick.one(HOSTILE_NAMES) : pick.one(vocab.entries)[0];
        return `tokenizer vocab key ${JSON.stringify(from)} → ${JSON.stringify(entry[0].slice(0, 40))}`;
      }
      const v = pick.one<Json>([
        -1,
        2 ** 31,
        2 ** 53,
        1e9,
        1.5,
        '3',
        null,
        pick.one(vocab.entries)[1],
        vocab.entries.length,
      ]);
      entry[1] = v;
      return `tokenizer vocab[${JSON.stringify(entry[0])}] = ${JSON.stringify(v)}`;
    }
    case 'merges': {
      const merges = model.get('merges');
      if (!Array.isArray(merges) || merges.length === 0 || pick.chance(0.2)) {
        const v = pick.one<Json>([null, 'a b', [], [['Ġ', 't']], new JsonObject()]);
        model.set('merges', v);
        return `tokenizer merges = ${stringify(v)}`;
      }
      const at = pick.int(merges.length);
      const v = pick.one<Json>(['', 'a', 'a b c', 5, ['a', 'b'], null, 'zz qq', '__proto__ constructor']);
      merges[at] = v;
      return `tokenizer merges[${at}] = ${JSON.stringify(v)}`;
    }
    case 'added': {
      const added = root.get('added_tokens');
      if (!Array.isArray(added) || added.length === 0) return mutateJsonTree(pick, root);
      const token = pick.one(added);
      if (!(token instanceof JsonObject)) return mutateJsonTree(pick, root);
      const field = pick.one(['id', 'content', 'special'] as const);
      const v =
        field === 'id'
          ? pick.one<Json>([-1, 2 ** 31, 1e9, 1.5, 0, 300, null])
          : field === 'content'
            ? pick.one<Json>(['', '__proto__', 'a', null])
            : pick.one<Json>(['yes', null]);
      token.set(field, v);
      return `tokenizer added_tokens ${field} = ${JSON.stringify(v)}`;
    }
    case 'pre': {
      const v = pick.one<Json>([
        null,
        new JsonObject([['type', 'Unknown']]),
        new JsonObject([['type', 'constructor']]),
        new JsonObject([
          ['type', 'Split'],
          ['pattern', new JsonObject([['Regex', pick.one(['(', '(a+)+$', '', '\\p{Foo}', '[^]'])]])],
          ['behavior', 'Isolated'],
        ]),
        new JsonObject([
          ['type', 'Sequence'],
          ['pretokenizers', null],
        ]),
      ]);
      root.set('pre_tokenizer', v);
      return `tokenizer pre_tokenizer = ${stringify(v).slice(0, 80)}`;
    }
    default: {
      const v = pick.one<Json>([true, 'yes', null]);
      model.set('byte_fallback', v);
      return `tokenizer model.byte_fallback = ${JSON.stringify(v)}`;
    }
  }
}

function isSafetensorsFile(name: string): boolean {
  return name.endsWith('.safetensors');
}

function mutateJsonFile(bytes: Uint8Array, edit: (root: Json) => string): [Uint8Array, string] | undefined {
  let root: Json;
  try {
    root = parseTree(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  const what = edit(root);
  return [new TextEncoder().encode(stringify(root)), what];
}

function mutateSafetensorsDir(pick: Pick, files: Map<string, Uint8Array>, donor: Seed): string {
  const names = [...files.keys()];
  const tensorFiles = names.filter(isSafetensorsFile);
  const target = pick.weighted<string>([
    [8, tensorFiles.length > 0 ? pick.one(tensorFiles) : 'config.json'],
    [3, 'config.json'],
    [names.includes('model.safetensors.index.json') ? 3 : 0, 'model.safetensors.index.json'],
    [2, 'tokenizer.json'],
    [1, 'tokenizer_config.json'],
    [1, '(files)'],
  ]);
  if (target === '(files)' || !files.has(target)) {
    const name = pick.one(names);
    const action = pick.one(['remove', 'empty', 'swap'] as const);
    if (action === 'remove') {
      files.delete(name);
      return `remove ${name}`;
    }
    if (action === 'empty') {
      files.set(name, new Uint8Array(0));
      return `empty ${name}`;
    }
    const other = pick.one(names);
    files.set(name, files.get(other) as Uint8Array);
    return `${name} = copy of ${other}`;
  }
  const bytes = files.get(target) as Uint8Array;
  const set = ([out, what]: [Uint8Array, string]) => {
    files.set(target, out);
    return `${target}: ${what}`;
  };
  const donorFile = donor.files.get(target) ?? pick.one([...donor.files.values()]);
  if (isSafetensorsFile(target)) {
    const headerEnd = 8 + Math.min(bytes.length, Number(readLe(bytes, 0, 8)));
    const action = pick.weighted([
      [5, 'header'],
      [1, 'length'],
      [3, 'bytes'],
    ] as const);
    const parts = action !== 'bytes' ? splitSafetensors(bytes) : undefined;
    if (action === 'length') {
      const out = bytes.slice();
      const real = BigInt(headerEnd - 8);
      const v = pick.one([0n, 1n, real - 1n, real + 1n, real + 8n, BigInt(bytes.length), 2n ** 32n, ...U64.slice(5)]);
      writeLe(out, 0, 8, v);
      return set([out, `header length ${real} → ${v}`]);
    }
    if (parts) {
      const what = mutateSafetensorsHeader(pick, parts.header);
      // A header whose length field is wrong, now and then.
      const delta = pick.chance(0.05) ? pick.one([-8, 8, 1]) : 0;
      return set([joinSafetensors(parts, delta), `${what}${delta ? `, length field off by ${delta}` : ''}`]);
    }
    return set(byteMutation(pick, bytes, headerEnd, donorFile));
  }
  if (pick.chance(0.15)) return set(byteMutation(pick, bytes, bytes.length, donorFile));
  const edit =
    target === 'config.json'
      ? (root: Json) => mutateConfig(pick, root)
      : target === 'model.safetensors.index.json'
        ? (root: Json) => mutateIndex(pick, root, tensorFiles)
        : target === 'tokenizer.json'
          ? (root: Json) => mutateTokenizer(pick, root)
          : (root: Json) => mutateJsonTree(pick, root);
  return set(mutateJsonFile(bytes, edit) ?? byteMutation(pick, bytes, bytes.length, donorFile));
}

/** Builds input `index` of the run seeded with `seed`: deterministic in (corpus, format, seed, index). */
export function mutateInput(corpus: Corpus, format: FuzzFormat, seed: number, index: number): FuzzInput {
  const rng = inputRng(seed, index);
  const pick = new Pick(rng);
  const seeds = corpus[format];
  const base = pick.one(seeds);
  const donor = pick.one(seeds);
  const files = new Map(base.files);
  const mutations: string[] = [];
  const count = pick.weighted([
    [60, 1],
    [25, 2],
    [10, 3],
    [5, 4],
  ] as const);
  for (let m = 0; m < count; m++) {
    if (format === 'gguf') {
      const [file] = [...files.keys()];
      if (!file) break;
      const [out, what] = mutateGguf(pick, files.get(file) as Uint8Array, donor.files.get(file) ?? new Uint8Array());
      files.set(file, out);
      mutations.push(what);
    } else mutations.push(mutateSafetensorsDir(pick, files, donor));
  }
  return { format, index, seed: base.name, files, mutations };
}
