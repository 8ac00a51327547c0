import { encode as g3encode } from 'gpt-3-encoder';
import { tokenizerFromGguf } from '../src/index.js';
import { gpt2GgufMetadata } from '../src/test-vocabs.js';

const gpt2 = tokenizerFromGguf(gpt2GgufMetadata());
const parts = [
  '\u0085',
  '\ufeff',
  ' ',
  '  ',
  '.',
  '!',
  '"',
  "'",
  'a',
  'the',
  '\n',
  '-',
  '#',
  '//',
  '*',
  '1',
  'é',
  '»',
  '\u00a0',
];
const found: string[] = [];
for (const a of parts)
  for (const b of parts)
    for (const c of parts) {
      const s = a + b + c;
      if (!/[\u0085\ufeff]/.test(s)) continue;
      const x = Array.from(gpt2.encode(s)).join();
      const y = g3encode(s).join();
      if (x !== y) found.push(`${JSON.stringify(s)} ours=${x} g3=${y}`);
    }
console.log(found.length);
console.log(found.slice(0, 10).join('\n'));
