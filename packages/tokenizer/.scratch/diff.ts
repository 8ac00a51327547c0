import fc from 'fast-check';
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
const chars = fc.constantFrom(
  'a',
  'Z',
  'é',
  'ß',
  '中',
  '文',
  '1',
  '٣',
  '½',
  ' ',
  ' ',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u00a0',
  '\u3000',
  '\u2028',
  "'",
  's',
  't',
  'S',
  'L',
  'l',
  'e',
  'v',
  'R',
  'd',
  'm',
  '.',
  '!',
  '$',
  '😀',
  '👍🏽',
  '\u200d',
  '\u0301',
  '𝑨',
  '𐍈',
  '🇺',
  '\u00ad',
  '-',
  '+',
  '<',
  '|',
  '0',
  '9',
  'the',
  ' the',
  'ing',
  'tion',
  ',',
  '>',
  '</s>',
  '<s>',
);
const arb = fc.oneof(
  fc.array(chars, { maxLength: 30 }).map((a) => a.join('')),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 20 }).map((x) => x.toWellFormed()),
);
const eq = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
const counts: Record<string, number> = {};
const examples: Record<string, string[]> = {};
function note(k: string, s: string) {
  counts[k] = (counts[k] ?? 0) + 1;
  (examples[k] ??= []).length < 4 && examples[k].push(s);
}
fc.assert(
  fc.property(arb, (s) => {
    const ours = gpt2.encode(s);
    if (!eq(ours, g3encode(s))) note('gpt3enc', s);
    if (!eq(ours, gtEncode(s))) note('gpt-tokenizer', s);
    if (!eq(ours, tk.encode(s))) note('tiktoken', s);
    if (!eq(l3.encode(s, { addSpecial: false }), llama3Tokenizer.encode(s, { bos: false, eos: false })))
      note('llama3', s);
    if (s.length > 0 && !eq(l2.encode(s), llamaTokenizer.encode(s))) note('llama2', s);
    return true;
  }),
  { numRuns: 20000, seed: 1 },
);
console.log(counts);
for (const [k, v] of Object.entries(examples))
  console.log(
    k,
    v.map((x) => JSON.stringify(x)),
  );
