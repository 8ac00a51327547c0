import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SafetensorsError } from './errors.js';
import { type JsonNumber, type JsonObject, parseJson, toPlain } from './json.js';

const encode = (text: string) => new TextEncoder().encode(text);
const parse = (text: string | Uint8Array) =>
  parseJson(typeof text === 'string' ? encode(text) : text, { source: '<test>', baseOffset: 8, what: 'test' });

function rejection(text: string | Uint8Array): SafetensorsError {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SafetensorsError);
    return error as SafetensorsError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('strict JSON parser', () => {
  it('agrees with JSON.parse on any valid JSON document', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'small' }), (text) => {
        expect(toPlain(parse(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 500, seed: 1 },
    );
  });

  it('rejects whatever JSON.parse rejects, always with a SafetensorsError', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'{}[]",:0123456789-.eE \\tnrufalse'.split('')) }), (text) => {
        let accepted = true;
        try {
          JSON.parse(text);
        } catch {
          accepted = false;
        }
        try {
          parse(text);
        } catch (error) {
          if (!(error instanceof SafetensorsError)) throw error;
          // Stricter than JSON.parse only on duplicate keys and lone surrogates.
          if (accepted) expect(error.message).toMatch(/duplicate key|surrogate/);
          return;
        }
        expect(accepted).toBe(true);
      }),
      { numRuns: 3000, seed: 2 },
    );
  });

  it('refuses duplicate keys, naming the key and pointing at the second one', () => {
    const e = rejection('{"a":1,"b":2,"a":3}');
    expect(e.key).toBe('a');
    expect(e.offset).toBe(8 + 13);
    expect(e.message).toContain('first is at offset 9');
    // Keys that are equal only after unescaping are duplicates too.
    expect(rejection('{"a":1,"\\u0061":2}').key).toBe('a');
    expect(rejection('{"x":{"k":1,"k":2}}').key).toBe('k');
  });

  it('keeps key offsets, value offsets and whether numbers are integer literals', () => {
    const root = parse('{"k": [1, 2.0, 1e2, -0]}') as JsonObject;
    const member = root.get('k');
    expect(member?.keyOffset).toBe(9);
    expect(member?.valueOffset).toBe(14);
    const items = member?.value as JsonNumber[];
    expect(items.map((n) => [n.value, n.integer])).toEqual([
      [1, true],
      [2, false],
      [100, false],
      [-0, true],
    ]);
  });

  it('decodes escapes and UTF-8, and refuses what serde_json refuses', () => {
    expect(toPlain(parse('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"'))).toBe('"\\/\b\f\n\r\té😀');
    expect(toPlain(parse(encode('"é世😀"')))).toBe('é世😀');
    expect(rejection('"\\ud83d"').message).toContain('lone high surrogate');
    expect(rejection('"\\ude00"').message).toContain('lone low surrogate');
    expect(rejection('"\\ud83d\\u0041"').message).toContain('not followed by a low');
    expect(rejection('"\\x"').message).toContain('invalid escape');
    expect(rejection('"a\nb"').message).toContain('control character');
    expect(rejection('"abc').message).toContain('unterminated');
    expect(rejection('01').message).toContain('leading zero');
    expect(rejection('[1,]').message).toContain('expected a value');
    expect(rejection('{"a":1,}').message).toContain('expected a key');
    expect(rejection('{} x').offset).toBe(8 + 3);
  });

  it('points at the first invalid UTF-8 byte', () => {
    const bad = encode('{"abc":"xy?z"}');
    bad[10] = 0xff;
    const e = rejection(bad);
    expect(e.message).toContain('invalid UTF-8');
    expect(e.offset).toBe(8 + 10);
    expect(e.found).toBe('byte 0xff');
    // Overlong encodings and encoded surrogates are invalid too.
    expect(rejection(Uint8Array.of(0x22, 0xc0, 0x80, 0x22)).offset).toBe(9);
    expect(rejection(Uint8Array.of(0x22, 0x61, 0xed, 0xa0, 0x80, 0x22)).offset).toBe(10);
  });

  it('limits nesting instead of overflowing the stack', () => {
    expect(rejection(`${'['.repeat(200)}${']'.repeat(200)}`).message).toContain('nested too deeply');
    expect(rejection(`${'['.repeat(100_000)}`).message).toContain('nested too deeply');
    expect(toPlain(parse(`${'['.repeat(100)}${']'.repeat(100)}`))).toBeInstanceOf(Array);
  });
});
