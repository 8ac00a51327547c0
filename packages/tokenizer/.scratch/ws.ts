import { encode as g3encode } from 'gpt-3-encoder';
import llama3Tokenizer from 'llama3-tokenizer-js';
import { tokenizerFromGguf } from '../src/index.js';
import { gpt2GgufMetadata, llama3GgufMetadata } from '../src/test-vocabs.js';

const gpt2 = tokenizerFromGguf(gpt2GgufMetadata());
const l3 = tokenizerFromGguf(llama3GgufMetadata());
for (const s of [
  '\ufeff//',
  '!\u0085',
  '\u0085\u0085x',
  'a.\u0085',
  '\ufeff\ufeff',
  ' \ufeff',
  'x \u0085\u0085 y',
  '\n\u0085\n',
]) {
  console.log(
    JSON.stringify(s),
    Array.from(gpt2.encode(s)),
    g3encode(s),
    Array.from(l3.encode(s, { addSpecial: false })),
    llama3Tokenizer.encode(s, { bos: false, eos: false }),
  );
}
