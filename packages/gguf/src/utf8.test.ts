import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUtf8, utf8Length } from './utf8.js';

describe('decodeUtf8', () => {
  it('equals TextDecoder on arbitrary bytes, valid or not (property)', () => {
    const reference = new TextDecoder();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(decodeUtf8(bytes, 0, bytes.length)).toBe(reference.decode(bytes));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const bytes = new TextEncoder().encode(text);
        expect(decodeUtf8(bytes, 0, bytes.length)).toBe(reference.decode(bytes));
        expect(utf8Length(text)).toBe(bytes.length);
      }),
      { numRuns: 5000 },
    );
  });

  it('handles overlong and surrogate encodings like TextDecoder', () => {
    for (const bytes of [[0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0xa6, 0x99], [0xc3]]) {
      const u = Uint8Array.from(bytes);
      expect(decodeUtf8(u, 0, u.length)).toBe(new TextDecoder().decode(u));
    }
  });
});

describe('utf8DecoderFor', () => {
  it('decodes like TextDecoder, through Buffer on Node', async () => {
    const { utf8DecoderFor } = await import('./utf8.js');
    const reference = new TextDecoder();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(), (bytes, cut) => {
        const decode = utf8DecoderFor(bytes);
        const start = bytes.length === 0 ? 0 : cut % bytes.length;
        expect(decode(start, bytes.length)).toBe(reference.decode(bytes.subarray(start)));
      }),
      { numRuns: 5000 },
    );
  });
});
