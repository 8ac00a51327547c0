import { type KernelBackend, KernelLoadError } from './errors.js';
import { createJsBackend } from './js-backend.js';
import { Kernel, type TernaryKernel } from './kernel.js';
import { createNativeBackend, loadNativeAddon } from './native.js';
import { createWasmBackend } from './wasm.js';

export interface LoadKernelOptions {
  /** `auto` tries native, then wasm, then js. The TRIT_KERNEL env var overrides this. */
  backend?: 'auto' | KernelBackend;
  /** Threads to split rows across (default: the machine's available parallelism). */
  threads?: number;
  /** Directory to look for the native addon in (default: this package); for tests and custom builds. */
  nativeAddonPath?: string;
  /** Browsers: where the .wasm files are served (default: ../wasm/ relative to this module). */
  wasmBaseUrl?: string | URL;
}

/** Why `auto` passed over a backend, for diagnostics. */
export interface SkippedBackend {
  backend: KernelBackend;
  reason: string;
}

export interface LoadedKernel extends TernaryKernel {
  /** Backends `auto` tried and could not use, in order. */
  readonly skipped: readonly SkippedBackend[];
}

const BACKENDS: readonly KernelBackend[] = ['native', 'wasm', 'js'];

/** Available parallelism: os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers. */
function defaultThreads(): number {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  const os = getBuiltin?.('node:os') as { availableParallelism?: () => number } | undefined;
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const count = os?.availableParallelism?.() ?? nav?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(64, count));
}

async function create(backend: KernelBackend, threads: number, options: LoadKernelOptions): Promise<TernaryKernel> {
  switch (backend) {
    case 'native':
      return new Kernel(createNativeBackend(await loadNativeAddon(options.nativeAddonPath), threads));
    case 'wasm':
      return new Kernel(await createWasmBackend(threads, options));
    case 'js':
      return new Kernel(await createJsBackend(threads));
  }
}

/**
 * Loads a kernel. `auto` picks native (AVX2 present and the addon loads), then
 * wasm SIMD, then JS, recording why it skipped each. An explicit backend that
 * cannot load throws a KernelLoadError that says why.
 */
export async function loadKernel(options: LoadKernelOptions = {}): Promise<LoadedKernel> {
  const forced = typeof process !== 'undefined' ? process.env?.TRIT_KERNEL : undefined;
  const requested = forced && forced.length > 0 ? forced : (options.backend ?? 'auto');
  if (requested !== 'auto' && !BACKENDS.includes(requested as KernelBackend)) {
    throw new KernelLoadError(
      'js',
      `unknown backend "${requested}"${forced ? ' (from TRIT_KERNEL)' : ''}; use auto, native, wasm or js`,
    );
  }
  const threads = options.threads ?? defaultThreads();
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > 256) {
    throw new KernelLoadError(
      requested === 'auto' ? 'js' : (requested as KernelBackend),
      `threads must be 1–256, got ${threads}`,
    );
  }
  if (requested !== 'auto') {
    try {
      return Object.assign(await create(requested as KernelBackend, threads, options), { skipped: [] });
    } catch (error) {
      if (error instanceof KernelLoadError) throw error;
      throw new KernelLoadError(requested as KernelBackend, (error as Error).message);
    }
  }
  const skipped: SkippedBackend[] = [];
  for (const backend of BACKENDS) {
    try {
      const kernel = await create(backend, threads, options);
      return Object.assign(kernel, { skipped });
    } catch (error) {
      skipped.push({ backend, reason: error instanceof KernelLoadError ? error.reason : (error as Error).message });
    }
  }
  throw new KernelLoadError(
    'js',
    `no backend could load: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
  );
}
