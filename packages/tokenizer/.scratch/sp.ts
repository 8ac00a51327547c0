import { encode as g3encode } from 'gpt-3-encoder';
import { encode as gtEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { getEncoding } from 'js-tiktoken';

const tk = getEncoding('r50k_base');
const s = 'a<|endoftext|>b';
try {
  console.log('gt default', gtEncode(s));
} catch (e) {
  console.log('gt default throws', (e as Error).message);
}
console.log('gt all', gtEncode(s, { allowedSpecial: 'all' }));
console.log('gt none', gtEncode(s, { disallowedSpecial: new Set() }));
try {
  console.log('tk default', tk.encode(s));
} catch (e) {
  console.log('tk default throws', (e as Error).message);
}
console.log('tk all', tk.encode(s, 'all'));
console.log('tk none', tk.encode(s, [], []));
console.log('g3', g3encode(s));
console.log('gt set', gtEncode(s, { allowedSpecial: new Set(['<|endoftext|>']) }));

import gpt2enc from 'gpt-tokenizer/encoding/gpt2';

console.log('gt gpt2 enc', (gpt2enc as any).encode(s, { allowedSpecial: 'all' }));
