import fc from 'fast-check';
import { expect, it } from 'vitest';
import { splitGpt2, splitLlama3, splitDefault, splitToStrings } from '/work/main/packages/tokenizer/src/pre-tokenizers.js';
import { WHITESPACE_CLASS_BODY as W } from '/work/main/packages/tokenizer/src/unicode.js';
const gpt2 = new RegExp(`'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${W}\\p{L}\\p{N}]+|[${W}]+(?![^${W}])|[${W}]+`, 'gu');
const llama3 = new RegExp(`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^${W}\\p{L}\\p{N}]+[\\r\\n]*|[${W}]*[\\r\\n]+|[${W}]+(?![^${W}])|[${W}]+`, 'gu');
function rx(re: RegExp, s: string) { const out: string[] = []; let prev = 0; for (const m of s.matchAll(re)) { if (m.index! > prev) out.push(s.slice(prev, m.index)); out.push(m[0]); prev = m.index! + m[0].length; } if (prev < s.length) out.push(s.slice(prev)); return out; }
const chars = fc.constantFrom('a','Z','é','ß','中','文','1','٣','½',' ',' ',' ','\t','\n','\r','\u00a0','\u3000','\u0085','\u2028',"'",'s','t','S','L','l','e','v','R','d','m','.','!','$','😀','👍🏽','\u200d','\u0301','\ud800','\udc00','𝑨','𐍈','🇺','\u00ad','-','+','<','|','0','9');
const str = fc.array(chars, {maxLength: 40}).map(a => a.join('').toWellFormed());
it('gpt2', () => { fc.assert(fc.property(str, s => { expect(splitToStrings(splitGpt2, s)).toEqual(rx(gpt2, s)); }), {numRuns: 20000}); });
it('llama3', () => { fc.assert(fc.property(str, s => { expect(splitToStrings(splitLlama3, s)).toEqual(rx(llama3, s)); }), {numRuns: 20000}); });
