import { BYTE_TO_CODE_POINT } from '@trit/tokenizer';

/** A deterministic xorshift stream for the synthetic corpus and vocabulary. */
export function seededRandom(seed: number): () => number {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const WORDS = (
  'the of and to a in is it you that he was for on are with as his they be at one have this from or had by word ' +
  'but what some we can out other were all there when up use your how said an each she which do their time if will ' +
  'way about many then them write would like so these her long make thing see him two has look more day could go ' +
  'come did number sound no most people my over know water than call first who may down side been now find ternary ' +
  'llama model token weight quantize kernel bitnet matrix vector scale block layer attention'
).split(' ');

/** Deterministic English-like text with numbers, punctuation and a little multilingual text. */
export function synthCorpus(seed: number, words: number): string {
  const rand = seededRandom(seed);
  const parts: string[] = [];
  for (let i = 0; i < words; i++) {
    const r = rand();
    let w = WORDS[Math.floor(rand() * WORDS.length)] as string;
    if (r < 0.05) w = w[0]?.toUpperCase() + w.slice(1);
    parts.push(w);
    if (r > 0.9) parts.push(rand() < 0.5 ? '.' : ',');
    if (r > 0.97) parts.push(String(Math.floor(rand() * 10000)));
    if (r > 0.995) parts.push('ternäre Gewichte 三值 веса');
  }
  return parts.join(' ').replace(/ ([.,])/g, '$1');
}

const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function byteLevel(text: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(text)) out += String.fromCharCode(BYTE_TO_CODE_POINT[b] as number);
  return out;
}

export interface TrainedBpe {
  /** Token text (byte-level) by id. */
  vocab: string[];
  merges: [string, string][];
}

/**
 * Byte-level BPE: the 256 byte symbols, merges learned from `corpus` (most
 * frequent adjacent pair first, ties to the smaller pair), and, when the
 * corpus runs out before `vocabSize`, merges of random existing tokens, so a
 * vocabulary of any size is a real, consistent BPE.
 */
export function trainByteLevelBpe(corpus: string, vocabSize: number, seed: number, learnedMerges = 2000): TrainedBpe {
  const vocab: string[] = [];
  for (let b = 0; b < 256; b++) vocab.push(String.fromCharCode(BYTE_TO_CODE_POINT[b] as number));
  const known = new Set(vocab);
  const merges: [string, string][] = [];
  const counts = new Map<string, number>();
  for (const m of corpus.matchAll(GPT2_SPLIT)) {
    const w = byteLevel(m[0]);
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const words = [...counts].map(([w, n]) => ({ symbols: [...w], n }));
  while (vocab.length < vocabSize && merges.length < learnedMerges) {
    const pairs = new Map<string, number>();
    for (const { symbols, n } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    }
    let best: string | undefined;
    let bestCount = 1;
    for (const [key, n] of pairs)
      if (n > bestCount || (n === bestCount && best !== undefined && key < best)) [best, bestCount] = [key, n];
    if (best === undefined) break;
    const [a, b] = best.split('\u0000') as [string, string];
    merges.push([a, b]);
    if (!known.has(a + b)) {
      vocab.push(a + b);
      known.add(a + b);
    }
    for (const word of words) {
      const s = word.symbols;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) s.splice(i, 2, a + b);
    }
  }
  const rand = seededRandom(seed * 31 + 7);
  // Extend random tokens by short ones (bytes and early merges), so candidates stay short and rarely repeat.
  const short = vocab.length;
  for (let attempts = 0; vocab.length < vocabSize && attempts < vocabSize * 20; attempts++) {
    const a = vocab[Math.floor(rand() * vocab.length)] as string;
    const b = vocab[Math.floor(rand() * short)] as string;
    if (a.length + b.length > 16 || known.has(a + b)) continue;
    merges.push([a, b]);
    vocab.push(a + b);
    known.add(a + b);
  }
  if (vocab.length < vocabSize)
    throw new Error(`could not build a ${vocabSize}-token vocabulary (stopped at ${vocab.length}); use fewer tokens`);
  return { vocab, merges };
}

export const LLAMA3_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** tokenizer.json for a trained BPE, with the Llama-3 pre-tokenizer and special tokens appended after the vocabulary. */
export function tokenizerJson(bpe: TrainedBpe, specials: readonly string[]): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  bpe.vocab.forEach((t, id) => {
    vocab[t] = id;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, i) => ({
      id: bpe.vocab.length + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_SPLIT_REGEX }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: true,
      vocab,
      merges: bpe.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
