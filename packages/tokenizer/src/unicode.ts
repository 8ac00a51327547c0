/**
 * Code point classes for the pre-tokenizers, as llama.cpp's `unicode_cpt_flags`
 * computes them: \p{L}, \p{N}, \p{P} from the Unicode tables (generated, see
 * unicode-data.ts) and whitespace from the Unicode White_Space property.
 *
 * White_Space differs from JavaScript's `\s` in two code points: it contains
 * U+0085 (NEXT LINE) and does not contain U+FEFF (BOM). llama.cpp, Hugging Face
 * tokenizers (Rust) and tiktoken all use White_Space, so we do too.
 */
import { LETTER_RANGES, NUMBER_RANGES, PUNCTUATION_RANGES } from './unicode-data.js';

export const LETTER = 1;
export const NUMBER = 2;
export const WHITESPACE = 4;
export const PUNCTUATION = 8;

/** llama.cpp's `unicode_set_whitespace` (Unicode White_Space). All in the BMP. */
export const WHITESPACE_CODE_POINTS: readonly number[] = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];

/** `[...]` body matching exactly WHITESPACE_CODE_POINTS, for building reference regexes. */
export const WHITESPACE_CLASS_BODY = '\\t-\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';

function decodeRanges(encoded: string, visit: (start: number, end: number) => void): void {
  let previousEnd = -1;
  for (const part of encoded.split(',')) {
    const dot = part.indexOf('.');
    const start = previousEnd + 1 + Number.parseInt(part.slice(0, dot), 36);
    const end = start + Number.parseInt(part.slice(dot + 1), 36);
    visit(start, end);
    previousEnd = end;
  }
}

/**
 * Two-level table: `blockIndex[cp >> 8]` selects a 256-entry block of `blocks`.
 * Identical blocks are stored once, so the whole code space costs about 80 KB.
 */
export interface ClassTable {
  blockIndex: Uint16Array;
  blocks: Uint8Array;
  /** Direct table for code units below 0x80, the common case. */
  ascii: Uint8Array;
}

let table: ClassTable | undefined;

export function classTable(): ClassTable {
  if (table) return table;
  const flat = new Uint8Array(0x110000);
  // Blocks no range touches are all "other" and share block 0, without being looked at.
  const touched = new Uint8Array(0x1100);
  const mark = (start: number, end: number, flag: number): void => {
    flat.fill(flag, start, end + 1);
    touched.fill(1, start >> 8, (end >> 8) + 1);
  };
  decodeRanges(LETTER_RANGES, (s, e) => mark(s, e, LETTER));
  decodeRanges(NUMBER_RANGES, (s, e) => mark(s, e, NUMBER));
  decodeRanges(PUNCTUATION_RANGES, (s, e) => mark(s, e, PUNCTUATION));
  for (const cp of WHITESPACE_CODE_POINTS) mark(cp, cp, WHITESPACE);

  const blockIndex = new Uint16Array(0x1100);
  // Deduplicate blocks by a hash, confirmed by comparing bytes.
  const byHash = new Map<number, number[]>();
  const stored: Uint8Array[] = [new Uint8Array(256)];
  for (let b = 0; b < 0x1100; b++) {
    if (!touched[b]) continue;
    const block = flat.subarray(b << 8, (b + 1) << 8);
    let h = 0x811c9dc5;
    for (let i = 0; i < 256; i++) h = Math.imul(h ^ block[i], 0x01000193);
    const candidates = byHash.get(h) ?? [];
    let index = candidates.find((c) => stored[c].every((v, i) => v === block[i]));
    if (index === undefined) {
      index = stored.length;
      stored.push(block);
      candidates.push(index);
      byHash.set(h, candidates);
    }
    blockIndex[b] = index;
  }
  const blocks = new Uint8Array(stored.length << 8);
  stored.forEach((block, i) => {
    blocks.set(block, i << 8);
  });
  table = { blockIndex, blocks, ascii: flat.slice(0, 0x80) };
  return table;
}

/** Class bits of one code point (0 for "other": symbols, marks, controls, unassigned, surrogates). */
export function codePointClass(cp: number): number {
  const t = classTable();
  return t.blocks[(t.blockIndex[cp >> 8] << 8) | (cp & 0xff)];
}
