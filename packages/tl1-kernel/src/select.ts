import { type KernelImplementation, KernelLoadError } from './errors.js';
import { createJsDriver } from './js/driver.js';
import { Kernel, type TernaryKernel } from './kernel.js';
import { createNativeDriver, loadNativeAddon } from './native/driver.js';
import { createWasmDriver } from './wasm/driver.js';

/** Which wasm build `loadKernel` uses: see {@link LoadKernelOptions.wasmSimd}. */
export type WasmSimd = 'auto' | 'relaxed' | 'simd128';

export interface LoadKernelOptions {
  /** `auto` tries native, then wasm, then js. The TRIT_KERNEL env var overrides this. */
  implementation?: 'auto' | KernelImplementation;
  /** @deprecated Renamed to `implementation`; still accepted. */
  backend?: 'auto' | KernelImplementation;
  /** Threads to split rows across (default: the machine's available parallelism). */
  threads?: number;
  /** Directory to look for the native addon in (default: this package); for tests and custom builds. */
  nativeAddonPath?: string;
  /** Browsers: where the .wasm files are served (default: ../wasm/ relative to this module). */
  wasmBaseUrl?: string | URL;
  /**
   * wasm: `auto` (default) uses the relaxed-SIMD build where the engine validates it
   * (Node ≥ 22, Chromium-based browsers since 114), else plain SIMD128; `relaxed` requires it;
   * `simd128` never uses it. Both give the same bits.
   */
  wasmSimd?: WasmSimd;
}

/** Why `auto` passed over an implementation, for diagnostics. */
export interface SkippedImplementation {
  implementation: KernelImplementation;
  reason: string;
}

/** @deprecated Renamed to {@link SkippedImplementation}. */
export type SkippedBackend = SkippedImplementation;

export interface LoadedKernel extends TernaryKernel {
  /** Implementations `auto` tried and could not use, in order. */
  readonly skipped: readonly SkippedImplementation[];
}

const IMPLEMENTATIONS: readonly KernelImplementation[] = ['native', 'wasm', 'js'];

/** Available parallelism: os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers. */
function defaultThreads(): number {
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  const os = getBuiltin?.('node:os') as { availableParallelism?: () => number } | undefined;
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const count = os?.availableParallelism?.() ?? nav?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(64, count));
}

async function create(
  implementation: KernelImplementation,
  threads: number,
  options: LoadKernelOptions,
): Promise<TernaryKernel> {
  switch (implementation) {
    case 'native':
      return new Kernel(createNativeDriver(await loadNativeAddon(options.nativeAddonPath), threads));
    case 'wasm':
      return new Kernel(await createWasmDriver(threads, options));
    case 'js':
      return new Kernel(await createJsDriver(threads));
  }
}

/** Set on globalThis, so two copies of this package (ESM and CJS) still warn once per process. */
const WARNED = Symbol.for('@trit/tl1-kernel native fallback warned');

/**
 * In Node, says in one line, once per process, why `auto` passed over the native
 * addon (no binary for this platform, no AVX2, a load error): the fallback is
 * several times slower, and `kernel.skipped` is easy to miss. Browsers never have
 * the addon, so they are not told. Forcing an implementation (TRIT_KERNEL) silences it.
 */
function warnNativeSkipped(skipped: readonly SkippedImplementation[], chosen: string): void {
  const native = skipped.find((s) => s.implementation === 'native');
  const global = globalThis as { [WARNED]?: boolean };
  if (!native || global[WARNED] || typeof process === 'undefined' || !process.versions?.node) return;
  global[WARNED] = true;
  console.warn(`@trit/tl1-kernel: native addon unavailable (${native.reason}); using ${chosen}`);
}

/**
 * Loads a kernel. `auto` picks native (AVX2 present and the addon loads), then
 * wasm SIMD, then JS, recording why it skipped each (and warning once when it
 * skips native in Node). An explicit implementation that cannot load throws a
 * KernelLoadError that says why.
 */
export async function loadKernel(options: LoadKernelOptions = {}): Promise<LoadedKernel> {
  const forced = typeof process !== 'undefined' ? process.env?.TRIT_KERNEL : undefined;
  if (
    options.implementation !== undefined &&
    options.backend !== undefined &&
    options.implementation !== options.backend
  ) {
    throw new KernelLoadError(
      'js',
      `implementation "${options.implementation}" and backend "${options.backend}" (its deprecated alias) disagree`,
    );
  }
  const chosen = options.implementation ?? options.backend ?? 'auto';
  const requested = forced && forced.length > 0 ? forced : chosen;
  if (requested !== 'auto' && !IMPLEMENTATIONS.includes(requested as KernelImplementation)) {
    throw new KernelLoadError(
      'js',
      `unknown implementation "${requested}"${forced ? ' (from TRIT_KERNEL)' : ''}; use auto, native, wasm or js`,
    );
  }
  const threads = options.threads ?? defaultThreads();
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > 256) {
    throw new KernelLoadError(
      requested === 'auto' ? 'js' : (requested as KernelImplementation),
      `threads must be 1–256, got ${threads}`,
    );
  }
  if (requested !== 'auto') {
    try {
      return Object.assign(await create(requested as KernelImplementation, threads, options), { skipped: [] });
    } catch (error) {
      if (error instanceof KernelLoadError) throw error;
      throw new KernelLoadError(requested as KernelImplementation, (error as Error).message);
    }
  }
  const skipped: SkippedImplementation[] = [];
  for (const implementation of IMPLEMENTATIONS) {
    try {
      const kernel = await create(implementation, threads, options);
      warnNativeSkipped(skipped, kernel.name);
      return Object.assign(kernel, { skipped });
    } catch (error) {
      const reason = error instanceof KernelLoadError ? error.reason : (error as Error).message;
      skipped.push({ implementation, reason });
    }
  }
  throw new KernelLoadError(
    'js',
    `no implementation could load: ${skipped.map((s) => `${s.implementation}: ${s.reason}`).join('; ')}`,
  );
}
