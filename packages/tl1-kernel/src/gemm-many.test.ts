import { sameFloat32 } from '@trit/testkit';
import { expect, it } from 'vitest';
import { KernelShapeError } from './errors.js';
import { loadEveryKernel } from './every-kernel.js';
import { loadKernel } from './select.js';
import { caseActivations, caseDense, caseTernary, type DenseCase, type TernaryCase } from './vectors.js';

const ternary = (rows: number, source: string, seed: number): TernaryCase => ({
  id: `${source} ${rows}`,
  kind: 'ternary',
  rows,
  cols: 512,
  source,
  seed,
  activations: 'normal',
  nTokens: 3,
});

it('gemmMany gives the same bits as one gemm per matrix, on every implementation, mixing formats and dense types', async () => {
  for (const implementation of ['js', 'wasm', 'native'] as const) {
    let kernel: Awaited<ReturnType<typeof loadKernel>>;
    try {
      kernel = await loadKernel({ implementation, threads: 2 });
    } catch (error) {
      if (implementation === 'native' && process.arch === 'x64') throw error;
      continue;
    }
    const dense: DenseCase = {
      id: 'f16',
      kind: 'dense',
      rows: 6,
      cols: 512,
      type: 'f16',
      seed: 5,
      activations: 'normal',
      nTokens: 3,
    };
    // Q, K and V of different heights; a TernaryTensor with another stride; a dense matrix between them.
    const matrices = [
      kernel.prepare(caseTernary(ternary(8, 'tq2_0', 1)).input),
      kernel.prepare(caseTernary(ternary(4, 'tq1_0', 2)).input),
      kernel.prepareDense({ type: 'f16', data: caseDense(dense), rows: 6, cols: 512 }),
      kernel.prepare(caseTernary(ternary(4, 'tensor:64', 3)).input),
      kernel.prepare(caseTernary(ternary(5, 'i2_s', 4)).input),
    ];
    const X = caseActivations('normal', 3, 512, 9);
    const separate = matrices.map((m) => kernel.gemm(m, X, 3));
    const together = matrices.map((m) => new Float32Array(3 * m.rows));
    kernel.gemmMany(matrices, X, 3, together);
    for (const [i, y] of together.entries())
      expect([implementation, i, sameFloat32(y, separate[i] as Float32Array)]).toEqual([implementation, i, true]);
    expect(() => kernel.gemmMany(matrices, X, 3, together.slice(1))).toThrow(KernelShapeError);
    expect(() => kernel.gemmMany(matrices, X.subarray(1), 3, together)).toThrow(/gemmMany\[0\]: X length/);
    await kernel.dispose();
  }
});

it('dense GEMV tiles of 8, 4 and 1 rows with column tails give the same bits on every implementation', async () => {
  const kernels = await loadEveryKernel([2]);
  for (const type of ['f32', 'f16', 'bf16'] as const)
    for (const [rows, cols] of [
      [13, 257],
      [8, 16],
      [29, 1031],
    ] as const)
      for (const nTokens of [1, 2, 3]) {
        const c: DenseCase = {
          id: '',
          kind: 'dense',
          rows,
          cols,
          type,
          seed: rows + cols,
          activations: 'normal',
          nTokens,
        };
        const data = caseDense(c);
        const X = caseActivations('normal', nTokens, cols, rows);
        const outs = kernels.map((k) => k.gemm(k.prepareDense({ type, data, rows, cols }), X, nTokens));
        for (const [i, y] of outs.entries())
          expect([type, rows, nTokens, kernels[i]?.name, sameFloat32(y, outs[0] as Float32Array)]).toEqual([
            type,
            rows,
            nTokens,
            kernels[i]?.name,
            true,
          ]);
      }
  for (const k of kernels) await k.dispose();
});
