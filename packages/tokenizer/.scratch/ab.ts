import * as A from './pre-old.js';
import * as B from '../src/pre-tokenizers.js';
import { mixedCorpus } from '../src/test-corpus.js';
const corpora = Array.from({ length: 4 }, (_, i) => mixedCorpus(1 << 20, 100 + i));
const b = new B.Boundaries();
const res: Record<string, number[]> = {};
for (let round = 0; round < 15; round++) {
  for (const [name, f] of [['old gpt2', A.splitGpt2], ['new gpt2', B.splitGpt2], ['old l3', A.splitLlama3], ['new l3', B.splitLlama3]] as const) {
    const t = performance.now();
    for (const c of corpora) { b.count = 0; (f as any)(c, 0, c.length, b); }
    (res[name] ??= []).push((performance.now() - t) / 4);
  }
}
for (const [k, v] of Object.entries(res)) console.log(k, Math.min(...v).toFixed(2), 'ms/MB');
