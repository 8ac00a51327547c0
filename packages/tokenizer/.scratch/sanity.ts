import { encode as g3encode } from 'gpt-3-encoder';
import llamaTokenizer from 'llama-tokenizer-js';
import llama3Tokenizer from 'llama3-tokenizer-js';
import { tokenizerFromGguf, tokenizerFromHf } from '../src/index.js';
import {
  gpt2GgufMetadata,
  gpt2HfJson,
  llama2GgufMetadata,
  llama2HfJson,
  llama3GgufMetadata,
  llama3HfJson,
} from '../src/test-vocabs.js';

let t0 = performance.now();
const gpt2 = tokenizerFromGguf(gpt2GgufMetadata());
console.log('gpt2 build ms', (performance.now() - t0).toFixed(0), gpt2.warnings);
t0 = performance.now();
const gpt2hf = tokenizerFromHf(gpt2HfJson());
console.log('gpt2 hf build ms', (performance.now() - t0).toFixed(0));
t0 = performance.now();
const l3 = tokenizerFromGguf(llama3GgufMetadata());
console.log('llama3 build ms', (performance.now() - t0).toFixed(0), l3.addBos, l3.specialTokens);
t0 = performance.now();
const l3hf = tokenizerFromHf(llama3HfJson());
console.log('llama3 hf build ms', (performance.now() - t0).toFixed(0), l3hf.addBos, l3hf.pre);
t0 = performance.now();
const l2 = tokenizerFromGguf(llama2GgufMetadata());
console.log('llama2 build ms', (performance.now() - t0).toFixed(0));
const l2hf = tokenizerFromHf(llama2HfJson());

const samples = [
  "Hello world! I'M here, don't THEY'LL   go?\n\n  x = 12345678;\r\n\tend  ",
  '中文 العربية हिन्दी 👍🏽 👨‍👩‍👧 é',
  'The llama (/ˈlɑːmə/; 🦙Spanish pronunciation: [ˈʎama]) (Lama glama)',
  '    grabbed',
  'ax\n####\nboo',
];
for (const s of samples) {
  const a = Array.from(gpt2.encode(s));
  const b = g3encode(s);
  console.log(
    'gpt2',
    JSON.stringify(a) === JSON.stringify(b),
    JSON.stringify(Array.from(gpt2hf.encode(s))) === JSON.stringify(b),
    gpt2.decode(a) === s,
  );
  const c = Array.from(l3.encode(s));
  const d = llama3Tokenizer.encode(s, { bos: true, eos: false });
  console.log(
    'llama3',
    JSON.stringify(c) === JSON.stringify(d),
    JSON.stringify(Array.from(l3hf.encode(s))) === JSON.stringify(d),
    l3.decode(c, { skipSpecial: true }) === s,
  );
  if (JSON.stringify(c) !== JSON.stringify(d)) console.log(c, d);
  const e = Array.from(l2.encode(s));
  const f = llamaTokenizer.encode(s);
  console.log(
    'llama2',
    JSON.stringify(e) === JSON.stringify(f),
    JSON.stringify(Array.from(l2hf.encode(s))) === JSON.stringify(f),
    l2.decode(e, { skipSpecial: true }) === s,
  );
  if (JSON.stringify(e) !== JSON.stringify(f)) console.log(e, f);
}
