import { tokenizerFromGguf, tokenizerFromHf } from '../src/index.js';
import { llama3GgufMetadata, llama3HfJson, llama2GgufMetadata, gpt2GgufMetadata } from '../src/test-vocabs.js';
const m = llama3GgufMetadata(); const h = llama3HfJson(); const m2 = llama2GgufMetadata(); const g = gpt2GgufMetadata();
for (let i = 0; i < 3; i++) {
  let t = performance.now(); tokenizerFromGguf(m); const a = performance.now() - t;
  t = performance.now(); tokenizerFromHf(h); const b = performance.now() - t;
  t = performance.now(); tokenizerFromGguf(m2); const c = performance.now() - t;
  t = performance.now(); tokenizerFromGguf(g); const d = performance.now() - t;
  console.log('llama3 gguf', a.toFixed(0), 'llama3 hf', b.toFixed(0), 'llama2', c.toFixed(0), 'gpt2', d.toFixed(0));
}
