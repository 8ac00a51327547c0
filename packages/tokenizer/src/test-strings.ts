/**
 * fast-check arbitraries for tokenizer tests: strings biased toward the
 * classes where pre-tokenizers go wrong. Not part of the public surface.
 */
import fc from 'fast-check';

const TRICKY = [
  'a', 'Z', 'é', 'ß', 'ſ', 'İ', 'K', '中', '文', 'ー', '1', '9', '٣', '½', '²', 'Ⅻ',
  ' ', ' ', ' ', '  ', '\t', '\n', '\r', '\r\n', '\v', '\f', '\u00a0', '\u1680', '\u2003', '\u3000', '\u2028', '\u0085', '\ufeff',
  "'", "'s", "'S", "'t", "'re", "'RE", "'ve", "'m", "'ll", "'LL", "'d", "'x", 's', 't', 'e', 'l', 'L', 'v', 'r', 'd', 'm',
  '.', ',', '!', '?', '$', '+', '<', '=', '>', '^', '~', '|', '`', '-', '_', '(', ')', '"', '…', '«', '»', '¿',
  '😀', '👍🏽', '👨‍👩‍👧', '🏳️‍🌈', '🇺🇸', '\u200d', '\ufe0f', '\u0301', '\u0308', 'e\u0301', '𝑨', '𐍈', '🦙',
  '\ud800', '\udc00', '\udbff', '\u00ad', '\u0000', '\u007f', '\ufffd', 'ا', 'ب', 'क', '्', 'ह',
  'the', ' the', 'ing', 'tion', 'Hello', ' world', '123', '4567',
];

/** Strings built from tricky pieces; `wellFormed` replaces lone surrogates with U+FFFD. */
export function trickyString(maxPieces = 24, wellFormed = false): fc.Arbitrary<string> {
  const pieces = fc.array(fc.constantFrom(...TRICKY), { maxLength: maxPieces }).map((a) => a.join(''));
  const any = fc.oneof(
    { weight: 4, arbitrary: pieces },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: maxPieces }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: maxPieces }) },
  );
  return wellFormed ? any.map((s) => s.toWellFormed()) : any;
}
