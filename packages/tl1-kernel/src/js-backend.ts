import type { TokenBatch } from './activations.js';
import type { DenseLayout } from './dense.js';
import { jsDenseGemm, jsTernaryGemm } from './js-kernel.js';
import type { KernelBackendImpl } from './kernel.js';
import type { TernaryLayout } from './layout.js';

/** The pure-JS backend, single-threaded on the calling thread. */
export function createJsBackend(): KernelBackendImpl<TernaryLayout, DenseLayout> {
  return {
    name: 'js',
    threads: 1,
    loadTernary: (layout) => layout,
    loadDense: (layout) => layout,
    ternaryGemm: (layout, _l, batch: TokenBatch, y) => jsTernaryGemm(layout, batch, y, 0, layout.rows),
    denseGemm: (layout, _l, x, nTokens, y) => jsDenseGemm(layout, x, nTokens, y, 0, layout.rows),
    dispose: async () => {},
  };
}
