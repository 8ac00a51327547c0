import { encode as gtEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { getEncoding } from 'js-tiktoken';
import llama3Tokenizer from 'llama3-tokenizer-js';
import { tokenizerFromGguf } from '../src/index.js';
import { mixedCorpus } from '../src/test-corpus.js';
import { gpt2GgufMetadata, llama3GgufMetadata } from '../src/test-vocabs.js';

const text = mixedCorpus(1 << 20, 7);
const mb = new TextEncoder().encode(text).length / 1e6;
const gpt2 = tokenizerFromGguf(gpt2GgufMetadata());
const l3 = tokenizerFromGguf(llama3GgufMetadata());
const tk = getEncoding('r50k_base');
function time(name: string, f: () => unknown, reps = 5) {
  f();
  const t = performance.now();
  for (let i = 0; i < reps; i++) f();
  const s = (performance.now() - t) / reps / 1000;
  console.log(name, (mb / s).toFixed(1), 'MB/s');
}
time('ours gpt2', () => gpt2.encode(text));
time('gpt-tokenizer', () => gtEncode(text));
time('tiktoken', () => tk.encode(text));
time('ours llama3', () => l3.encode(text));
time('llama3-tokenizer-js', () => llama3Tokenizer.encode(text, { bos: false, eos: false }), 2);
const ids = gpt2.encode(text);
time('ours gpt2 decode', () => gpt2.decode(ids));
console.log('same as gpt-tokenizer', JSON.stringify(Array.from(ids)) === JSON.stringify(gtEncode(text)));
