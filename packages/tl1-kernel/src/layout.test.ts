import { TernaryTensor } from '@trit/ternary';
import { describe, expect, it } from 'vitest';
import { CHUNK_WEIGHTS, forEachSegment, layoutFromGguf, layoutFromTensor, layoutValues } from './layout.js';
import { caseTernary, vectorCases } from './vectors.js';

describe('prepared layout', () => {
  const cases = vectorCases().filter((c) => c.kind === 'ternary' && c.rows * c.cols <= 100_000);
  it.each(cases.map((c) => [c.id, c] as const))('%s keeps every weight and the scale of its flat block', (_id, c) => {
    if (c.kind !== 'ternary') return;
    const { input, contract } = caseTernary(c);
    const layout = input instanceof TernaryTensor ? layoutFromTensor(input) : layoutFromGguf(input);
    expect(Array.from(layoutValues(layout))).toEqual(Array.from(contract.values));
    // Every real weight lies in exactly one segment, whose scale is that of the weight's flat block.
    const covered = new Uint8Array(c.rows * c.cols);
    forEachSegment(layout, (r, k, scaleIndex) => {
      const start = layout.segAct[k];
      const end = Math.min(c.cols, start + CHUNK_WEIGHTS * layout.segChunks[k]);
      for (let j = start; j < end; j++) {
        const flat = r * c.cols + j;
        if (layout.segScale[scaleIndex] !== contract.scales[Math.floor(flat / contract.blockSize)]) {
          // Padding of a segment may run past its block; those weights belong to the next segment.
          continue;
        }
        covered[flat]++;
      }
    });
    expect(covered.every((n) => n >= 1)).toBe(true);
    expect(layout.maxActEnd).toBeLessThanOrEqual(Math.ceil(c.cols / CHUNK_WEIGHTS) * CHUNK_WEIGHTS + CHUNK_WEIGHTS);
  });

  it('uses one shared segment pattern when blocks line up with rows, per-row segments otherwise', () => {
    const uniform = layoutFromTensor(
      TernaryTensor.fromCodes(new Int8Array(4 * 512), new Float32Array(8), [4, 512], 256),
    );
    expect([uniform.uniform, uniform.rowSeg]).toEqual([2, null]);
    const straddling = layoutFromTensor(TernaryTensor.fromCodes(new Int8Array(3 * 5), new Float32Array(4), [3, 5], 4));
    expect(straddling.uniform).toBe(0);
    expect(Array.from(straddling.rowSeg ?? [])).toEqual([0, 2, 4, 6]);
    expect(Array.from(straddling.segAct)).toEqual([0, 4, 0, 3, 0, 2]);
  });
});
