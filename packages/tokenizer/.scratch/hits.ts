import { tokenizerFromGguf } from '../src/index.js';
import { mixedCorpus } from '../src/test-corpus.js';
import { llama3GgufMetadata, gpt2GgufMetadata } from '../src/test-vocabs.js';
const corpora = Array.from({ length: 8 }, (_, i) => mixedCorpus(1 << 20, 100 + i));
const meta = process.argv[2] === 'gpt2' ? gpt2GgufMetadata() : llama3GgufMetadata();
const big = tokenizerFromGguf(meta, { cacheSize: 1 << 22 });
const def = tokenizerFromGguf(meta);
const res: Record<string, number[]> = {};
for (const c of corpora) big.encode(c);
for (let round = 0; round < 6; round++) {
  for (const [name, t] of [['all hits', big], ['default cache', def]] as const) {
    const s = performance.now();
    for (const c of corpora) t.encode(c);
    (res[name] ??= []).push((performance.now() - s) / 8);
  }
}
for (const [k, v] of Object.entries(res)) console.log(k, Math.min(...v).toFixed(2), 'ms/MB');
