import { tokenizerFromGguf } from '../src/index.js';
import { mixedCorpus } from '../src/test-corpus.js';
import { llama2GgufMetadata } from '../src/test-vocabs.js';
const text = mixedCorpus(1 << 20, 100);
const tok = tokenizerFromGguf(llama2GgufMetadata());
tok.encode(text);
let best = 1e9;
for (let i = 0; i < 8; i++) { const t = performance.now(); tok.encode(text); best = Math.min(best, performance.now() - t); }
console.log('spm MB/s', 1.05 / best * 1000);
