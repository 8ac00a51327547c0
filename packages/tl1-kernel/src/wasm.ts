import type { DenseLayout } from './dense.js';
import { KernelLoadError } from './errors.js';
import type { KernelBackendImpl } from './kernel.js';

export async function createWasmBackend(_threads: number): Promise<KernelBackendImpl<unknown, DenseLayout>> {
  throw new KernelLoadError('wasm', 'the wasm build is not available yet');
}
