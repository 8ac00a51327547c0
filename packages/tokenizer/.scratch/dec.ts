import { decode as gtDecode, encode as gtEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { getEncoding } from 'js-tiktoken';
import llama3Tokenizer from 'llama3-tokenizer-js';
import { mixedCorpus } from '../src/test-corpus.js';

const text = mixedCorpus(1 << 20, 7);
const mb = new TextEncoder().encode(text).length / 1e6;
const tk = getEncoding('r50k_base');
const ids = gtEncode(text);
const l3ids = llama3Tokenizer.encode(text, { bos: false, eos: false });
function time(name: string, f: () => unknown, reps = 10) {
  f();
  let best = 1e9;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    best = Math.min(best, performance.now() - t);
  }
  console.log(name, ((mb / best) * 1000).toFixed(1), 'MB/s');
}
time('gpt-tokenizer decode', () => gtDecode(ids));
time('tiktoken decode', () => tk.decode(ids));
time('llama3 decode', () => llama3Tokenizer.decode(l3ids), 3);
