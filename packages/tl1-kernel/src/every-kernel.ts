// Test helper (not an entry point, so never bundled): every implementation at each
// thread count. On x86-64 the native addon must load; elsewhere it may be missing.
import { afterAll, beforeAll } from 'vitest';
import type { TernaryKernel } from './kernel.js';
import { loadKernel } from './select.js';

export async function loadEveryKernel(threadCounts: readonly number[]): Promise<TernaryKernel[]> {
  const kernels: TernaryKernel[] = [];
  for (const implementation of ['js', 'wasm', 'native'] as const)
    for (const threads of threadCounts) {
      try {
        kernels.push(await loadKernel({ implementation, threads }));
      } catch (error) {
        if (implementation === 'native' && process.arch === 'x64') throw error;
      }
    }
  return kernels;
}

/** The kernels, loaded before the enclosing suite's tests and disposed after them. */
export function useEveryKernel(threadCounts: readonly number[] = [1, 2]): TernaryKernel[] {
  const kernels: TernaryKernel[] = [];
  beforeAll(async () => {
    kernels.push(...(await loadEveryKernel(threadCounts)));
  });
  afterAll(async () => {
    for (const k of kernels) await k.dispose();
  });
  return kernels;
}
