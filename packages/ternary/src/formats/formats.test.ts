import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TernaryFormatError, TernaryLengthError, TernaryValueError } from '../errors.js';
import { halfBitsToFloat } from '../half.js';
import type { TernaryFormatName } from './format.js';
import { getTernaryFormat, TERNARY_FORMATS } from './registry.js';

// An independent, per-element reading of docs/formats.md §TQ2_0, §I2_S, §T158: where element k of a
// block lives. The codecs under test are written block-wise with word tricks;
// these are written from the spec formulas only.
type Slot = { byte: number; shift: number };
const slotOf: Record<'t158' | 'tq2_0' | 'i2_s', (k: number) => Slot> = {
  t158: (k) => ({ byte: k >> 2, shift: 2 * (k & 3) }),
  tq2_0: (k) => {
    const c = k >> 7;
    const r = k & 127;
    return { byte: 32 * c + (r & 31), shift: 2 * (r >> 5) };
  },
  i2_s: (j) => ({ byte: j % 32, shift: 6 - 2 * Math.floor(j / 32) }),
};

/** TQ1_0: element k → (byte, trit position). */
function tq1Slot(k: number): { byte: number; trit: number } {
  if (k < 160) return { byte: k % 32, trit: Math.floor(k / 32) };
  if (k < 240) return { byte: 32 + ((k - 160) % 16), trit: Math.floor((k - 160) / 16) };
  return { byte: 48 + ((k - 240) % 4), trit: Math.floor((k - 240) / 4) };
}

function tritAt(byte: number, n: number): number {
  const q = (byte * 3 ** n) % 256;
  return Math.floor((q * 3) / 256);
}

/** I2_S stores whole 128-element blocks only: cut a generated length down to one. */
function wholeBlocksFor(name: TernaryFormatName, codes: Int8Array): Int8Array {
  return TERNARY_FORMATS[name].partialBlock === 'dropped'
    ? codes.subarray(0, codes.length - (codes.length % 128))
    : codes;
}

/** Reference encoder for one block's code bytes, element by element. */
function referenceCodeBytes(name: TernaryFormatName, codes: number[]): number[] {
  if (name === 'tq1_0') {
    const v = new Array<number>(52).fill(0);
    for (let k = 0; k < 256; k++) {
      const { byte, trit } = tq1Slot(k);
      v[byte] += ((codes[k] ?? 0) + 1) * 3 ** (4 - trit);
    }
    return v.map((value) => Math.floor((value * 256 + 242) / 243));
  }
  const size = name === 'i2_s' ? 32 : 64;
  const out = new Array<number>(size).fill(0);
  const n = name === 'i2_s' ? 128 : 256;
  for (let k = 0; k < n; k++) {
    const { byte, shift } = slotOf[name](k);
    out[byte] |= ((codes[k] ?? 0) + 1) << shift;
  }
  return out;
}

const names = Object.keys(TERNARY_FORMATS) as TernaryFormatName[];

function oneHot(n: number, k: number, value: number): Int8Array {
  const codes = new Int8Array(n);
  codes[k] = value;
  return codes;
}

describe('format table', () => {
  it('keys every row by its own name, so the name union is the table', () => {
    expect(names).toEqual(['t158', 'tq2_0', 'tq1_0', 'i2_s']);
    for (const name of names) expect(TERNARY_FORMATS[name].name).toBe(name);
  });

  it('has the ggml sizes and ids', () => {
    expect(TERNARY_FORMATS.tq2_0).toMatchObject({
      ggmlType: 35,
      dialect: 'ggml',
      blockElements: 256,
      bytesPerBlock: 66,
    });
    expect(TERNARY_FORMATS.tq1_0).toMatchObject({
      ggmlType: 34,
      dialect: 'ggml',
      blockElements: 256,
      bytesPerBlock: 54,
    });
    expect(TERNARY_FORMATS.t158).toMatchObject({
      ggmlType: 30,
      dialect: 'ruvllm',
      blockElements: 256,
      bytesPerBlock: 66,
    });
    expect(TERNARY_FORMATS.i2_s).toMatchObject({
      ggmlType: 36,
      dialect: 'bitnet.cpp',
      blockElements: 128,
      bytesPerBlock: 32,
    });
    expect(TERNARY_FORMATS.tq2_0.byteLength(2560)).toBe(660);
    expect(TERNARY_FORMATS.tq2_0.bitsPerWeight(2560)).toBe(2.0625);
    expect(TERNARY_FORMATS.tq1_0.bitsPerWeight(2560)).toBe(1.6875);
    expect(TERNARY_FORMATS.i2_s.byteLength(2560 * 6912)).toBe((2560 * 6912) / 4 + 32);
    // bitnet.cpp's ggml_nbytes: ⌊n/4⌋ + 32, whole blocks or not.
    expect([200, 130, 3, 0].map((n) => TERNARY_FORMATS.i2_s.byteLength(n))).toEqual([82, 64, 32, 32]);
    expect(names.filter((name) => TERNARY_FORMATS[name].partialBlock === 'dropped')).toEqual(['i2_s']);
  });

  it('looks formats up by name and rejects unknown names', () => {
    expect(getTernaryFormat('tq1_0')).toBe(TERNARY_FORMATS.tq1_0);
    expect(() => getTernaryFormat('iq1_s')).toThrow(TernaryFormatError);
    expect(() => getTernaryFormat('toString')).toThrow(/known formats: t158, tq2_0, tq1_0, i2_s/);
  });
});

describe('worked element positions (docs/formats.md)', () => {
  it('TQ2_0 puts element k at byte 32·(k>>7) + (k&31), shift 2·((k&127)>>5)', () => {
    const cases: [number, number, number][] = [
      [0, 0, 0],
      [32, 0, 2],
      [100, 4, 6],
      [128, 32, 0],
      [200, 40, 4],
      [255, 63, 6],
    ];
    for (const [k, byte, shift] of cases) {
      const bytes = TERNARY_FORMATS.tq2_0.encode(oneHot(256, k, 1), Float32Array.of(1));
      expect((bytes[byte] >> shift) & 3).toBe(2);
      // Every other slot holds the zero code 01.
      const others = Array.from(bytes.subarray(0, 64)).reduce((sum, b, i) => sum + (i === byte ? 0 : b), 0);
      expect(others).toBe(0x55 * 63);
    }
  });

  it('I2_S puts element 200 at byte 40, shift 2, and elements 0–31 in bits 7:6', () => {
    const bytes = TERNARY_FORMATS.i2_s.encode(oneHot(256, 200, -1), Float32Array.of(1));
    expect(bytes[40]).toBe(0b01_01_00_01);
    const first = TERNARY_FORMATS.i2_s.encode(oneHot(128, 5, 1), Float32Array.of(1));
    expect(first[5]).toBe(0b10_01_01_01);
  });

  it('TQ1_0 packs trits (2,1,0,1,2) into byte 205 and finds elements 100, 200, 255', () => {
    const codes = new Int8Array(256);
    [1, 0, -1, 0, 1].forEach((t, n) => {
      codes[32 * n] = t; // qs[0] holds elements 0, 32, 64, 96, 128
    });
    expect(TERNARY_FORMATS.tq1_0.encode(codes, Float32Array.of(1))[0]).toBe(205);
    expect(tritAt(205, 0)).toBe(2);

    for (const [k, byte, trit] of [
      [200, 40, 2],
      [100, 4, 3],
      [255, 51, 3],
    ] as const) {
      const plus = TERNARY_FORMATS.tq1_0.encode(oneHot(256, k, 1), Float32Array.of(1));
      const minus = TERNARY_FORMATS.tq1_0.encode(oneHot(256, k, -1), Float32Array.of(1));
      expect(tritAt(plus[byte], trit)).toBe(2);
      expect(tritAt(minus[byte], trit)).toBe(0);
    }
  });

  it('stores the fp16 scale after the codes, little-endian', () => {
    const scale = Float32Array.of(0.1);
    expect(Array.from(TERNARY_FORMATS.tq2_0.encode(new Int8Array(256), scale).subarray(64))).toEqual([0x66, 0x2e]);
    expect(Array.from(TERNARY_FORMATS.tq1_0.encode(new Int8Array(256), scale).subarray(52))).toEqual([0x66, 0x2e]);
    expect(Array.from(TERNARY_FORMATS.t158.encode(new Int8Array(256), scale).subarray(64))).toEqual([0x66, 0x2e]);
    const i2 = TERNARY_FORMATS.i2_s.encode(new Int8Array(256), Float32Array.of(0.1));
    expect(i2.length).toBe(64 + 32);
    expect(new DataView(i2.buffer).getFloat32(64, true)).toBe(Math.fround(0.1));
    expect(Array.from(i2.subarray(68))).toEqual(new Array(28).fill(0));
  });
});

describe('codecs against the per-element reference', () => {
  for (const name of names) {
    it(`${name} encodes every block byte for byte like the reference`, () => {
      const format = TERNARY_FORMATS[name];
      fc.assert(
        fc.property(fc.int8Array({ minLength: 1, maxLength: 600, min: -1, max: 1 }), (generated) => {
          const codes = wholeBlocksFor(name, generated);
          const n = codes.length;
          const scales = new Float32Array(format.scaleCount(n)).fill(1);
          const bytes = format.encode(codes, scales);
          expect(bytes.length).toBe(format.byteLength(n));
          const blockN = format.blockElements;
          const codeBytes = name === 'tq1_0' ? 52 : name === 'i2_s' ? 32 : 64;
          for (let b = 0; b * blockN < n; b++) {
            const block = Array.from(codes.subarray(b * blockN, (b + 1) * blockN));
            const expected = referenceCodeBytes(name, block);
            const offset = b * format.bytesPerBlock;
            expect(Array.from(bytes.subarray(offset, offset + codeBytes))).toEqual(expected);
          }
        }),
        { numRuns: 60 },
      );
    });
  }
});

const halfScale = fc
  .integer({ min: 0, max: 0xffff })
  .filter((bits) => (bits & 0x7c00) !== 0x7c00)
  .map(halfBitsToFloat);

describe('decode ∘ encode is the identity', () => {
  for (const name of names) {
    it(`${name}: codes and ${name === 'i2_s' ? 'float32' : 'f16-representable'} scales survive, at any length it stores`, () => {
      const format = TERNARY_FORMATS[name];
      fc.assert(
        fc.property(
          fc.int8Array({ maxLength: 1100, min: -1, max: 1 }),
          fc.array(name === 'i2_s' ? fc.float({ noNaN: true, noDefaultInfinity: true }) : halfScale, {
            minLength: 5,
            maxLength: 5,
          }),
          (generated, pool) => {
            const codes = wholeBlocksFor(name, generated);
            const n = codes.length;
            const scales = Float32Array.from({ length: format.scaleCount(n) }, (_, i) => pool[i % pool.length]);
            const bytes = format.encode(codes, scales);
            const decoded = format.decode(bytes, n);
            expect(Array.from(decoded.codes)).toEqual(Array.from(codes));
            expect(Array.from(decoded.scales)).toEqual(Array.from(scales));
            const floats = format.dequantize(bytes, n);
            const perBlock = format.scaleScope === 'block' ? format.blockElements : Math.max(n, 1);
            for (let i = 0; i < n; i++) {
              expect(floats[i]).toBe(Math.fround(codes[i] * scales[Math.floor(i / perBlock)]));
            }
          },
        ),
        { numRuns: 80 },
      );
    });
  }

  it('decodes from a subarray at an odd byte offset', () => {
    for (const name of names) {
      const format = TERNARY_FORMATS[name];
      const codes = wholeBlocksFor(
        name,
        Int8Array.from({ length: 300 }, (_, i) => ((i * 7) % 3) - 1),
      );
      const n = codes.length;
      const bytes = format.encode(codes, new Float32Array(format.scaleCount(n)).fill(0.5));
      const shifted = new Uint8Array(bytes.length + 3);
      shifted.set(bytes, 3);
      expect(Array.from(format.decode(shifted.subarray(3), n).codes)).toEqual(Array.from(codes));
    }
  });
});

describe('reserved code 3', () => {
  it('decodes as +2 in tq2_0 and i2_s (as ggml and bitnet.cpp compute it) and as 0 in t158', () => {
    const tq2 = TERNARY_FORMATS.tq2_0.encode(new Int8Array(256), Float32Array.of(1));
    tq2[0] |= 0b11; // element 0
    expect(TERNARY_FORMATS.tq2_0.decode(tq2, 256).codes[0]).toBe(2);
    const i2 = TERNARY_FORMATS.i2_s.encode(new Int8Array(128), Float32Array.of(1));
    i2[0] |= 0b11 << 6; // element 0
    expect(TERNARY_FORMATS.i2_s.decode(i2, 128).codes[0]).toBe(2);
    const t158 = TERNARY_FORMATS.t158.encode(new Int8Array(256), Float32Array.of(1));
    t158[0] |= 0b11;
    expect(TERNARY_FORMATS.t158.decode(t158, 256).codes[0]).toBe(0);
  });
});

describe('errors', () => {
  it('rejects non-finite and fp16-overflowing scales, naming the block', () => {
    const codes = new Int8Array(512);
    expect(() => TERNARY_FORMATS.tq2_0.encode(codes, Float32Array.of(1, Number.NaN))).toThrow(
      /scale NaN of block 1 is not finite/,
    );
    expect(() => TERNARY_FORMATS.tq1_0.encode(codes, Float32Array.of(1e6, 1))).toThrow(TernaryValueError);
    expect(() => TERNARY_FORMATS.tq1_0.encode(codes, Float32Array.of(1e6, 1))).toThrow(/overflows fp16/);
    expect(() => TERNARY_FORMATS.i2_s.encode(codes, Float32Array.of(Number.POSITIVE_INFINITY))).toThrow(
      TernaryValueError,
    );
  });

  it('rejects a wrong scale count and short input', () => {
    expect(() => TERNARY_FORMATS.tq2_0.encode(new Int8Array(257), Float32Array.of(1))).toThrow(
      /tq2_0 encode: scales: expected 2, found 1/,
    );
    expect(() => TERNARY_FORMATS.i2_s.encode(new Int8Array(256), Float32Array.of(1, 1))).toThrow(TernaryLengthError);
    expect(() => TERNARY_FORMATS.tq1_0.decode(new Uint8Array(53), 256)).toThrow(
      /tq1_0 decode: bytes: expected 54, found 53/,
    );
    expect(() => TERNARY_FORMATS.i2_s.decode(new Uint8Array(63), 128)).toThrow(TernaryLengthError);
    expect(() => TERNARY_FORMATS.t158.decode(new Uint8Array(66), -4)).toThrow(TernaryValueError);
  });
});

describe('I2_S lengths that are not whole 128-element blocks (docs/formats.md §I2_S)', () => {
  it("reads bitnet.cpp's size: codes of the whole blocks, then the scale at byte ⌊n/4⌋; the tail decodes to 0", () => {
    // 200 elements as bitnet.cpp's quantizer writes them: block 0 packed, bytes 32–49 left as its memset
    // leaves them (0; here 0xff, to show they are not read), scale 0.5 at byte 50, zeros to byte 82.
    const bytes = new Uint8Array(82);
    bytes.fill(0x55, 0, 32); // every field 01: code 0
    bytes[0] = 0b10_01_01_01; // element 0 (bits 7:6) = +1
    bytes[5] = 0b01_00_01_01; // element 32 + 5 (bits 5:4) = −1
    bytes[31] = 0b01_01_01_10; // element 96 + 31 (bits 1:0) = +1
    bytes.fill(0xff, 32, 50);
    bytes.set([0x00, 0x00, 0x00, 0x3f], 50);
    const { codes, scales } = TERNARY_FORMATS.i2_s.decode(bytes, 200);
    const expected = new Int8Array(200);
    expected[0] = 1;
    expected[37] = -1;
    expected[127] = 1;
    expect(Array.from(codes)).toEqual(Array.from(expected));
    expect(Array.from(scales)).toEqual([0.5]);
    const floats = TERNARY_FORMATS.i2_s.dequantize(bytes, 200);
    expect([floats[0], floats[37], floats[127], floats[128], floats[199]]).toEqual([0.5, -0.5, 0.5, 0, 0]);
    expect(() => TERNARY_FORMATS.i2_s.decode(bytes.subarray(0, 81), 200)).toThrow(
      /i2_s decode: bytes: expected 82, found 81/,
    );
    // Fewer than 128 elements: no codes at all, the scale at byte ⌊n/4⌋.
    const tiny = new Uint8Array(32);
    new DataView(tiny.buffer).setFloat32(0, 2, true);
    expect(TERNARY_FORMATS.i2_s.decode(tiny, 3)).toEqual({ codes: new Int8Array(3), scales: Float32Array.of(2) });
  });

  it('refuses to write them, saying the count and that bitnet.cpp would drop the tail', () => {
    for (const [n, tail] of [
      [200, 72],
      [129, 1],
      [3, 3],
    ]) {
      const encode = () => TERNARY_FORMATS.i2_s.encode(new Int8Array(n), Float32Array.of(1));
      expect(encode).toThrow(TernaryValueError);
      expect(encode).toThrow(
        new RegExp(
          `^i2_s encode: ${n} elements is not a multiple of 128: .*bitnet\\.cpp's kernels would drop the last ${tail} elements$`,
        ),
      );
    }
  });
});
