import { tokenizerFromGguf } from '../src/index.js';
import { mixedCorpus } from '../src/test-corpus.js';
import { gpt2GgufMetadata } from '../src/test-vocabs.js';

const text = mixedCorpus(1 << 20, 7);
const gpt2 = tokenizerFromGguf(gpt2GgufMetadata());
const t = performance.now();
for (let i = 0; i < 20; i++) gpt2.encode(text);
console.log((performance.now() - t) / 20);
const ids = gpt2.encode(text);
const t2 = performance.now();
for (let i = 0; i < 50; i++) gpt2.decode(ids);
console.log('decode', (performance.now() - t2) / 50);
