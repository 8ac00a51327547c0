import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ABSMEAN_EPSILON, absmeanTernary, absmeanThreshold, ternaryCode } from './absmean.js';

interface Vector {
  weights: string[];
  codes: number[];
  scale: string;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/absmean-vectors.json', import.meta.url), 'utf8')) as {
  blocks: Vector[];
};

const bitsToFloat = (hex: string) => new Float32Array(new Uint32Array([Number.parseInt(hex, 16)]).buffer)[0];
const floatToBits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];

describe('absmeanTernary', () => {
  it('matches the Rust f32 reference bit for bit', () => {
    expect(fixture.blocks.length).toBeGreaterThan(30);
    for (const { weights, codes, scale } of fixture.blocks) {
      const block = Float32Array.from(weights, bitsToFloat);
      const result = absmeanTernary(block);
      expect(Array.from(result.codes)).toEqual(codes);
      expect(floatToBits(result.scale).toString(16).padStart(8, '0')).toBe(scale);
    }
  });

  it('rounds halves away from zero, unlike Math.round', () => {
    // gamma = 2 (1e-8 is below half an ulp of 2), so -1 / gamma is exactly -0.5.
    expect(Array.from(absmeanTernary(Float32Array.of(-1, 3)).codes)).toEqual([-1, 1]);
    expect(Math.round(-0.5)).not.toBe(-1);
  });

  it('gives scale 1e-8 for an empty block and keeps zeros zero', () => {
    expect(absmeanTernary(new Float32Array(0)).scale).toBe(ABSMEAN_EPSILON);
    expect(ABSMEAN_EPSILON).toBe(Math.fround(1e-8));
    expect(Array.from(absmeanTernary(new Float32Array(3)).codes)).toEqual([0, 0, 0]);
  });

  it('agrees with an f32 emulation through typed-array stores', () => {
    // Independent of Math.fround: a Float32Array cell rounds on every store.
    const cell = new Float32Array(1);
    const epsilon = Float32Array.of(1e-8)[0]; // Rust's 1e-8 literal is an f32
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), {
          minLength: 1,
          maxLength: 300,
        }),
        (xs) => {
          cell[0] = 0;
          for (const x of xs) cell[0] = cell[0] + Math.abs(x);
          cell[0] = cell[0] / xs.length;
          cell[0] = cell[0] + epsilon;
          const gamma = cell[0];
          const expected = xs.map((x) => {
            cell[0] = x / gamma;
            const q = cell[0];
            return Math.abs(q) >= 0.5 ? Math.sign(q) : 0;
          });
          const result = absmeanTernary(Float32Array.from(xs));
          expect(result.scale).toBe(gamma);
          expect(Array.from(result.codes)).toEqual(expected);
        },
      ),
    );
  });
});

describe('absmeanThreshold', () => {
  it('splits codes exactly where f32 division does', () => {
    fc.assert(
      fc.property(
        fc.float({ min: Math.fround(1e-8), max: Math.fround(1e30), noNaN: true }),
        fc.array(fc.integer({ min: -40, max: 40 })),
        (gamma, steps) => {
          const threshold = absmeanThreshold(gamma);
          expect(ternaryCode(threshold, gamma)).toBe(1);
          expect(ternaryCode(-threshold, gamma)).toBe(-1);
          // Floats around the threshold, a few ulps either side.
          const cell = new Float32Array([threshold]);
          const bits = new Uint32Array(cell.buffer);
          const base = bits[0];
          for (const step of steps) {
            bits[0] = base + step;
            const w = cell[0];
            expect(w >= threshold ? 1 : 0).toBe(ternaryCode(w, gamma));
          }
        },
      ),
    );
  });
});
