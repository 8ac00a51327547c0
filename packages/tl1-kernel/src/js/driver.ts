import type { TokenBatch } from '../activations.js';
import type { DenseLayout } from '../dense.js';
import type { KernelDriver } from '../kernel.js';
import type { TernaryLayout } from '../layout.js';
import { SharedHeap } from '../threads/heap.js';
import { runJsJob } from '../threads/jobs.js';
import { WorkerPool } from '../threads/pool.js';
import { createSplitDriver } from '../threads/split.js';
import { jsDenseGemm, jsTernaryGemm } from './kernels.js';

export function isNode(): boolean {
  return typeof process !== 'undefined' && Boolean(process.versions?.node);
}

/**
 * The pure-JS driver. On one thread it runs on the prepared arrays directly;
 * on several (Node only) the matrices move to a shared heap and worker threads
 * take row ranges.
 */
export async function createJsDriver(threads: number): Promise<KernelDriver<unknown, unknown>> {
  if (threads > 1 && isNode()) {
    const heap = new SharedHeap(0, true);
    const pool = await WorkerPool.create(threads, { mode: 'js', memory: heap.memory });
    return createSplitDriver('js', heap, pool, (words, begin, end) =>
      runJsJob(heap.buffer, words, begin, end),
    ) as KernelDriver<unknown, unknown>;
  }
  const direct: KernelDriver<TernaryLayout, DenseLayout> = {
    name: 'js',
    threads: 1,
    loadTernary: (layout) => layout,
    loadDense: (layout) => layout,
    ternaryGemm: (layout, batch: TokenBatch, y) => jsTernaryGemm(layout, batch, y, 0, layout.rows),
    denseGemm: (layout, x, nTokens, y) => jsDenseGemm(layout, x, nTokens, y, 0, layout.rows),
    dispose: async () => {},
  };
  return direct as KernelDriver<unknown, unknown>;
}
