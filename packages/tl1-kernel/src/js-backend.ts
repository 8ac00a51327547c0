import type { TokenBatch } from './activations.js';
import type { DenseLayout } from './dense.js';
import { SharedHeap } from './heap.js';
import { createHeapBackend } from './heap-backend.js';
import { runJsJob } from './jobs.js';
import { jsDenseGemm, jsTernaryGemm } from './js-kernel.js';
import type { KernelBackendImpl } from './kernel.js';
import type { TernaryLayout } from './layout.js';
import { WorkerPool } from './pool.js';

export function isNode(): boolean {
  return typeof process !== 'undefined' && Boolean(process.versions?.node);
}

/**
 * The pure-JS backend. On one thread it runs on the prepared arrays directly;
 * on several (Node only) the matrices move to a shared heap and worker threads
 * take row ranges.
 */
export async function createJsBackend(threads: number): Promise<KernelBackendImpl<unknown, unknown>> {
  if (threads > 1 && isNode()) {
    const heap = new SharedHeap(0, true);
    const pool = await WorkerPool.create(threads, { mode: 'js', memory: heap.memory });
    return createHeapBackend('js', heap, pool, (words, begin, end) =>
      runJsJob(heap.buffer, words, begin, end),
    ) as KernelBackendImpl<unknown, unknown>;
  }
  const direct: KernelBackendImpl<TernaryLayout, DenseLayout> = {
    name: 'js',
    threads: 1,
    loadTernary: (layout) => layout,
    loadDense: (layout) => layout,
    ternaryGemm: (layout, batch: TokenBatch, y) => jsTernaryGemm(layout, batch, y, 0, layout.rows),
    denseGemm: (layout, x, nTokens, y) => jsDenseGemm(layout, x, nTokens, y, 0, layout.rows),
    dispose: async () => {},
  };
  return direct as KernelBackendImpl<unknown, unknown>;
}
