import { KernelLoadError } from './errors.js';
import { SharedHeap } from './heap.js';
import { createHeapBackend, singleThread } from './heap-backend.js';
import { isNode } from './js-backend.js';
import type { KernelBackendImpl } from './kernel.js';
import { WorkerPool } from './pool.js';
import { instantiateWasmKernels, runWasmJob, wasmTernaryFastPath } from './wasm-runtime.js';

export interface WasmSource {
  /** Where to fetch the .wasm files from in a browser (default: ../wasm/ next to this module). */
  wasmBaseUrl?: string | URL;
}

/** Address 0 stays unused so a zero pointer is never a real buffer. */
const HEAP_BASE = 1024;

async function wasmBytes(file: string, source: WasmSource): Promise<ArrayBuffer> {
  if (isNode() && source.wasmBaseUrl === undefined) {
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(new URL(`../wasm/${file}`, import.meta.url));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  const url = new URL(file, source.wasmBaseUrl ?? new URL('../wasm/', import.meta.url));
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url} gave HTTP ${response.status}`);
  return response.arrayBuffer();
}

/**
 * The wasm SIMD128 backend. Several threads need Node worker_threads and
 * SharedArrayBuffer; elsewhere (e.g. a browser page without cross-origin
 * isolation) it runs on one thread and says so in `threads`.
 */
export async function createWasmBackend(
  threads: number,
  source: WasmSource = {},
): Promise<KernelBackendImpl<unknown, unknown>> {
  if (typeof WebAssembly === 'undefined') throw new KernelLoadError('wasm', 'WebAssembly is not available');
  const useThreads = threads > 1 && isNode() && typeof SharedArrayBuffer !== 'undefined';
  const file = useThreads ? 'tl1-simd-mt.wasm' : 'tl1-simd.wasm';
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(await wasmBytes(file, source));
  } catch (error) {
    throw new KernelLoadError(
      'wasm',
      `${file} did not compile (${(error as Error).message}); SIMD128 may be unsupported`,
    );
  }
  const heap = new SharedHeap(HEAP_BASE, useThreads);
  const kernels = instantiateWasmKernels(module, heap.memory);
  const scheduler = useThreads
    ? await WorkerPool.create(threads, { mode: 'wasm', memory: heap.memory, wasmModule: module })
    : singleThread();
  const backend = createHeapBackend(
    'wasm-simd128',
    heap,
    scheduler,
    (words, begin, end) => runWasmJob(kernels, words, begin, end),
    wasmTernaryFastPath(kernels, heap),
  );
  return backend as KernelBackendImpl<unknown, unknown>;
}
