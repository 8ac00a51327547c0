import { encode as g3encode } from 'gpt-3-encoder';
import { encode as gtEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { getEncoding } from 'js-tiktoken';
import llamaTokenizer from 'llama-tokenizer-js';
import llama3Tokenizer from 'llama3-tokenizer-js';
import { tokenizerFromGguf } from '../src/index.js';
import { gpt2GgufMetadata, llama2GgufMetadata, llama3GgufMetadata } from '../src/test-vocabs.js';

const gpt2 = tokenizerFromGguf(gpt2GgufMetadata());
const l3 = tokenizerFromGguf(llama3GgufMetadata());
const l2 = tokenizerFromGguf(llama2GgufMetadata());
const tk = getEncoding('r50k_base');
const eq = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
for (const s of ['a\u0085b', 'a \u0085 b', 'x\ufeffy', ' \ufeff hi', '\u0085\u0085x', 'don\u0085t']) {
  console.log(
    JSON.stringify(s),
    'g3',
    eq(gpt2.encode(s), g3encode(s)),
    'gt',
    eq(gpt2.encode(s), gtEncode(s)),
    'tk',
    eq(gpt2.encode(s), tk.encode(s)),
    'l3',
    eq(l3.encode(s, { addSpecial: false }), llama3Tokenizer.encode(s, { bos: false, eos: false })),
    'l2',
    eq(l2.encode(s), llamaTokenizer.encode(s)),
  );
}
// tiktoken whole-word shortcut: tokens whose text is a single pre-token, BPE'd differently
let diffs = 0;
const ex: string[] = [];
const t0 = performance.now();
for (let id = 0; id < 50256; id++) {
  const text = gpt2.decode([id]);
  if (text.includes('\ufffd')) continue;
  const a = gpt2.encode(text);
  const b = tk.encode(text);
  if (!eq(a, b)) {
    diffs++;
    if (ex.length < 10) ex.push(`${id} ${JSON.stringify(text)} ours=${Array.from(a)} tiktoken=${b}`);
  }
}
console.log('gpt2 vocab scan diffs', diffs, (performance.now() - t0).toFixed(0), 'ms');
console.log(ex.join('\n'));
let d3 = 0;
const ex3: string[] = [];
for (let id = 0; id < 128000; id++) {
  const text = l3.decode([id]);
  if (text.includes('\ufffd')) continue;
  const a = l3.encode(text, { addSpecial: false });
  const b = llama3Tokenizer.encode(text, { bos: false, eos: false });
  if (!eq(a, b)) {
    d3++;
    if (ex3.length < 10) ex3.push(`${id} ${JSON.stringify(text)} ours=${Array.from(a)} ref=${b}`);
  }
}
console.log('llama3 vocab scan diffs', d3);
console.log(ex3.join('\n'));
let d2 = 0;
const ex2: string[] = [];
for (let id = 3; id < 32000; id++) {
  const text = l2.decode([id], { stripSpacePrefix: false });
  if (text.includes('\ufffd') || text.length === 0) continue;
  const a = l2.encode(text, { addSpecial: false });
  const b = llamaTokenizer.encode(text, false, true);
  if (!eq(a, b)) {
    d2++;
    if (ex2.length < 10) ex2.push(`${id} ${JSON.stringify(text)} ours=${Array.from(a)} ref=${b}`);
  }
}
console.log('llama2 vocab scan diffs', d2);
console.log(ex2.join('\n'));
