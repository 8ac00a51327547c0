// The forward pass's elementwise pieces against their plain definitions, bit for bit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gatedActivation } from './math.js';

/** relu²(g)·up as defined, with Math.max (the branchy form math.ts avoids). */
function relu2Plain(gate: Float32Array, up: Float32Array): Float32Array {
  return gate.map((g, i) => Math.max(g, 0) * Math.max(g, 0) * (up[i] as number));
}

const sameBits = (a: Float32Array, b: Float32Array) =>
  a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i])));

describe('gatedActivation relu2', () => {
  it('gives the bits of max(g, 0)² · up for the special values', () => {
    const specials = [
      -Infinity,
      Infinity,
      Number.NaN,
      -0,
      0,
      -1e-45,
      1e-45,
      1e-20,
      -1e-20,
      -3.4e38,
      3.4e38,
      -1.5,
      2.25,
    ];
    const gate = new Float32Array(specials.flatMap((g) => specials.map(() => g)));
    const up = new Float32Array(specials.flatMap(() => specials));
    const want = relu2Plain(gate, up);
    gatedActivation(gate, up, gate.length, 'relu2');
    expect(sameBits(gate, want)).toBe(true);
  });

  it('gives the bits of max(g, 0)² · up for any float32 bit patterns (property)', () => {
    fc.assert(
      fc.property(
        fc.uint32Array({ minLength: 1, maxLength: 64 }),
        fc.uint32Array({ minLength: 64, maxLength: 64 }),
        (g, u) => {
          const gate = new Float32Array(g.buffer.slice(0));
          const up = new Float32Array(u.buffer.slice(0, 4 * g.length));
          const want = relu2Plain(gate, up);
          gatedActivation(gate, up, gate.length, 'relu2');
          return sameBits(gate, want);
        },
      ),
    );
  });
});
