import { expect, it } from 'vitest';
import { KernelDisposedError } from './errors.js';
import { loadKernel } from './select.js';
import { caseActivations, caseDense, caseTernary } from './vectors.js';

// On wasm and threaded JS a disposed pool's workers are gone: a call used to wait 120 s for them (the
// test's timeout catches that), and native silently carried on.
it('every call on a disposed kernel throws KernelDisposedError at once, on every implementation and thread count', async () => {
  for (const implementation of ['js', 'wasm', 'native'] as const) {
    for (const threads of [1, 2]) {
      let kernel: Awaited<ReturnType<typeof loadKernel>>;
      try {
        kernel = await loadKernel({ implementation, threads });
      } catch (error) {
        if (implementation === 'native' && process.arch === 'x64') throw error;
        continue;
      }
      const ternary = caseTernary({
        id: 'disposed',
        kind: 'ternary',
        rows: 8,
        cols: 256,
        source: 'tq2_0',
        seed: 1,
        activations: 'normal',
        nTokens: 1,
      }).input;
      const denseBytes = caseDense({
        id: 'disposed',
        kind: 'dense',
        rows: 4,
        cols: 256,
        type: 'f16',
        seed: 2,
        activations: 'normal',
        nTokens: 1,
      });
      const matrix = kernel.prepare(ternary);
      const x = caseActivations('normal', 1, 256, 3);
      const before = kernel.gemv(matrix, x);
      await kernel.dispose();
      await kernel.dispose(); // idempotent
      const calls: [string, () => unknown][] = [
        ['gemv', () => kernel.gemv(matrix, x)],
        ['gemm', () => kernel.gemm(matrix, x, 1)],
        ['gemmMany', () => kernel.gemmMany([matrix], x, 1, [new Float32Array(8)])],
        ['prepare', () => kernel.prepare(ternary)],
        ['prepareDense', () => kernel.prepareDense({ type: 'f16', data: denseBytes, rows: 4, cols: 256 })],
        [
          'attention',
          () =>
            kernel.attention({
              q: new Float32Array(8),
              keys: new Float32Array(8),
              values: new Float32Array(8),
              out: new Float32Array(8),
              heads: 1,
              kvHeads: 1,
              headDim: 8,
              start: 0,
              nTokens: 1,
              scale: 1,
            }),
        ],
      ];
      for (const [name, call] of calls) {
        let thrown: unknown;
        try {
          call();
        } catch (error) {
          thrown = error;
        }
        expect([implementation, threads, name, thrown instanceof KernelDisposedError]).toEqual([
          implementation,
          threads,
          name,
          true,
        ]);
        expect((thrown as Error).message).toBe(`${name}: the ${kernel.name} kernel was disposed`);
      }
      expect(before.length).toBe(8);
    }
  }
});
