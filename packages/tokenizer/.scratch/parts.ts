import { Boundaries, splitGpt2, splitLlama3 } from '../src/pre-tokenizers.js';
import { WordCache } from '../src/word-cache.js';
import { mixedCorpus } from '../src/test-corpus.js';
const corpora = Array.from({ length: 8 }, (_, i) => mixedCorpus(1 << 20, 100 + i));
const b = new Boundaries();
function time(name: string, f: (t: string) => void) {
  for (const c of corpora) f(c);
  let best = 1e9;
  for (let r = 0; r < 5; r++) { const t = performance.now(); for (const c of corpora) f(c); best = Math.min(best, (performance.now() - t) / 8); }
  console.log(name, best.toFixed(2), 'ms/MB');
}
time('split gpt2', (t) => { b.count = 0; splitGpt2(t, 0, t.length, b); });
time('split llama3', (t) => { b.count = 0; splitLlama3(t, 0, t.length, b); });
let x = 0;
time('split llama3 + hash', (t) => { b.count = 0; splitLlama3(t, 0, t.length, b); let s = 0; for (let i = 0; i < b.count; i++) { x ^= WordCache.hash(t, s, b.ends[i]); s = b.ends[i]; } });
time('scan charCodeAt', (t) => { for (let i = 0; i < t.length; i++) x ^= t.charCodeAt(i); });
console.log(b.count, x);
