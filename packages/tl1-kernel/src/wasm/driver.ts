import { KernelLoadError } from '../errors.js';
import { isNode } from '../js/driver.js';
import type { KernelDriver } from '../kernel.js';
import { wasmDirectory } from '../package-files.js';
import type { WasmSimd } from '../select.js';
import { SharedHeap } from '../threads/heap.js';
import { WorkerPool } from '../threads/pool.js';
import { createSplitDriver, singleThread } from '../threads/split.js';
import { instantiateWasmKernels, runWasmJob, wasmTernaryFastPath } from './instance.js';

export interface WasmSource {
  /** Where to fetch the .wasm files from in a browser (default: ../wasm/ next to this module). */
  wasmBaseUrl?: string | URL;
  /** `auto` (default): the relaxed-SIMD build where the engine has it. */
  wasmSimd?: WasmSimd;
}

/**
 * A module whose one function returns i8x16.relaxed_swizzle (0xfd 0x100) of two
 * zero vectors: engines with relaxed SIMD validate it, others reject the opcode.
 */
const RELAXED_SIMD_PROBE = Uint8Array.of(
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
  ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b], // types: () -> v128
  ...[0x03, 0x02, 0x01, 0x00], // functions: one of type 0
  ...[0x0a, 0x2b, 0x01, 0x29, 0x00], // code (43 bytes): one body of 41 bytes, no locals
  ...[0xfd, 0x0c, ...new Array<number>(16).fill(0)], // v128.const 0
  ...[0xfd, 0x0c, ...new Array<number>(16).fill(0)], // v128.const 0
  ...[0xfd, 0x80, 0x02, 0x0b], // i8x16.relaxed_swizzle, end
);

/** Whether this engine runs relaxed-SIMD wasm. */
export function hasRelaxedSimd(): boolean {
  return typeof WebAssembly !== 'undefined' && WebAssembly.validate(RELAXED_SIMD_PROBE);
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
  const simd = source.wasmSimd ?? 'auto';
  if (simd !== 'auto' && simd !== 'relaxed' && simd !== 'simd128') {
    throw new KernelLoadError('wasm', `wasmSimd must be auto, relaxed or simd128, got ${String(simd)}`);
  }
  const relaxed = simd !== 'simd128' && hasRelaxedSimd();
  if (simd === 'relaxed' && !relaxed) {
    throw new KernelLoadError('wasm', 'this engine has no relaxed SIMD (wasmSimd: relaxed)');
  }
  const file = `tl1-${relaxed ? 'relaxed-simd' : 'simd'}${useThreads ? '-mt' : ''}.wasm`;
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
    relaxed ? 'wasm-relaxed-simd' : 'wasm-simd128',
    heap,
    scheduler,
    (words, begin, end) => runWasmJob(kernels, words, begin, end),
    wasmTernaryFastPath(kernels, heap),
    true,
  );
  return driver as KernelDriver<unknown, unknown>;
}
