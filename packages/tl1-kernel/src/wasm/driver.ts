import { KernelLoadError } from '../errors.js';
import { isNode } from '../js/driver.js';
import type { KernelDriver } from '../kernel.js';
import { wasmDirectory } from '../package-files.js';
import { SharedHeap } from '../threads/heap.js';
import { WorkerPool } from '../threads/pool.js';
import { createSplitDriver, singleThread } from '../threads/split.js';
import { instantiateWasmKernels, runWasmJob, wasmTernaryFastPath } from './instance.js';

export interface WasmSource {
  /** Where to fetch the .wasm files from in a browser (default: ../wasm/ next to this module). */
  wasmBaseUrl?: string | URL;
}

/** Address 0 stays unused so a zero pointer is never a real buffer. */
const HEAP_BASE = 1024;

async function wasmBytes(file: string, source: WasmSource): Promise<ArrayBuffer> {
  if (isNode() && source.wasmBaseUrl === undefined) {
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(new URL(file, wasmDirectory()));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  const url = new URL(file, source.wasmBaseUrl ?? wasmDirectory());
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url} gave HTTP ${response.status}`);
  return response.arrayBuffer();
}

/**
 * The wasm SIMD128 driver. Several threads need Node worker_threads and
 * SharedArrayBuffer; elsewhere (e.g. a browser page without cross-origin
 * isolation) it runs on one thread and says so in `threads`.
 */
export async function createWasmDriver(
  threads: number,
  source: WasmSource = {},
): Promise<KernelDriver<unknown, unknown>> {
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
  const driver = createSplitDriver(
    'wasm-simd128',
    heap,
    scheduler,
    (words, begin, end) => runWasmJob(kernels, words, begin, end),
    wasmTernaryFastPath(kernels, heap),
    true,
  );
  return driver as KernelDriver<unknown, unknown>;
}
