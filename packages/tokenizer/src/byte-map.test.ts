import { describe, expect, it } from 'vitest';
import { BYTE_TO_CODE_POINT, bytesToByteLevel, CODE_POINT_TO_BYTE } from './byte-map.js';

describe('GPT-2 byte map', () => {
  it('maps printable bytes to themselves and the other 68 to U+0100 upwards', () => {
    expect(BYTE_TO_CODE_POINT[0x41]).toBe(0x41);
    expect(BYTE_TO_CODE_POINT[0xa1]).toBe(0xa1);
    expect(BYTE_TO_CODE_POINT[0x00]).toBe(0x100);
    expect(BYTE_TO_CODE_POINT[0x0a]).toBe(0x10a);
    expect(BYTE_TO_CODE_POINT[0x20]).toBe(0x120);
    expect(BYTE_TO_CODE_POINT[0x7f]).toBe(0x121);
    expect(BYTE_TO_CODE_POINT[0xad]).toBe(0x143);
    expect(bytesToByteLevel(new TextEncoder().encode(' hi\n'))).toBe('Ġhi\u010a');
  });

  it('is a bijection onto its image', () => {
    const images = new Set(BYTE_TO_CODE_POINT);
    expect(images.size).toBe(256);
    for (let b = 0; b < 256; b++) expect(CODE_POINT_TO_BYTE[BYTE_TO_CODE_POINT[b]]).toBe(b);
    expect(CODE_POINT_TO_BYTE.filter((b) => b >= 0).length).toBe(256);
  });
});
