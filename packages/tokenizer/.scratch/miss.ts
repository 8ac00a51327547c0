import { ByteLevelBpe } from '../src/byte-level-bpe.js';
import { tokenizerFromGguf } from '../src/index.js';
import { mixedCorpus } from '../src/test-corpus.js';
import { gpt2GgufMetadata, llama3GgufMetadata } from '../src/test-vocabs.js';
const corpora = Array.from({ length: 8 }, (_, i) => mixedCorpus(1 << 20, 100 + i));
for (const which of ['gpt2', 'llama3']) {
  const tok = tokenizerFromGguf(which === 'gpt2' ? gpt2GgufMetadata() : llama3GgufMetadata(), { cacheSize: Number(process.argv[2] ?? 16384) }) as any;
  const bpe = tok.byteLevel as ByteLevelBpe;
  const orig = bpe.encodeWord.bind(bpe);
  let misses = 0, bytes = 0; const lens = new Map<number, number>();
  (bpe as any).encodeWord = (w: string) => { misses++; const b = new TextEncoder().encode(w).length; bytes += b; lens.set(Math.min(b, 64), (lens.get(Math.min(b, 64)) ?? 0) + 1); return orig(w); };
  for (let i = 0; i < 8; i++) tok.encode(corpora[i]);
  misses = 0; bytes = 0; lens.clear();
  for (let i = 0; i < 8; i++) tok.encode(corpora[i]);
  console.log(which, 'misses per MB', misses / 8, 'avg bytes', bytes / misses, [...lens.entries()].sort((a, b) => a[0] - b[0]).map(([l, c]) => `${l}:${c}`).join(' '));
}
