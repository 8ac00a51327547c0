import { describe, expect, it } from 'vitest';
import { codePointClass, LETTER, NUMBER, PUNCTUATION, WHITESPACE, WHITESPACE_CODE_POINTS } from './unicode.js';

describe('code point classes', () => {
  it('match the engine regexes \\p{L}, \\p{N} and \\p{P} for every code point', () => {
    const letter = /^\p{L}$/u;
    const number = /^\p{N}$/u;
    const punctuation = /^\p{P}$/u;
    const wrong: string[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      const cls = codePointClass(cp);
      const s = String.fromCodePoint(cp);
      if (((cls & LETTER) !== 0) !== letter.test(s)) wrong.push(`L U+${cp.toString(16)}`);
      if (((cls & NUMBER) !== 0) !== number.test(s)) wrong.push(`N U+${cp.toString(16)}`);
      if (((cls & PUNCTUATION) !== 0) !== punctuation.test(s)) wrong.push(`P U+${cp.toString(16)}`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
  });

  it('use White_Space, which differs from JavaScript \\s exactly in U+0085 and U+FEFF', () => {
    const ours: number[] = [];
    const js: number[] = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if (codePointClass(cp) & WHITESPACE) ours.push(cp);
      if (/^\s$/u.test(String.fromCodePoint(cp))) js.push(cp);
    }
    expect(ours).toEqual(WHITESPACE_CODE_POINTS);
    expect(ours.filter((cp) => !js.includes(cp))).toEqual([0x85]);
    expect(js.filter((cp) => !ours.includes(cp))).toEqual([0xfeff]);
  });

  it('treat surrogates, marks, symbols and controls as "other"', () => {
    for (const cp of [0xd800, 0xdfff, 0x0301, 0x1f600, 0x00, 0x7f, 0xfffd, 0x200d]) expect(codePointClass(cp)).toBe(0);
    expect(codePointClass(0x61)).toBe(LETTER);
    expect(codePointClass(0x4e2d)).toBe(LETTER);
    expect(codePointClass(0x0663)).toBe(NUMBER);
    expect(codePointClass(0x2c)).toBe(PUNCTUATION);
  });
});
