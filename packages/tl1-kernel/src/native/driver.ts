import type { TokenBatch } from '../activations.js';
import type { DenseLayout } from '../dense.js';
import { KernelLoadError } from '../errors.js';
import type { KernelDriver } from '../kernel.js';
import type { TernaryLayout } from '../layout.js';
import { packageRoot } from '../package-files.js';

/** quantizeTokens' arguments: nTokens rows of cols floats into q, prefix and actScales (KERNEL.md §1). */
type QuantizeArgs = [
  X: Float32Array,
  nTokens: number,
  cols: number,
  qStride: number,
  q: Int8Array,
  prefix: Int32Array,
  actScales: Float32Array,
];

/** The N-API addon's surface (native/tl1.c). */
export interface NativeAddon {
  cpuFeatures(): { avx2: boolean; avxVnni: boolean; avx512Vnni: boolean; gfni: boolean; isa: string };
  setIsa(name: string): void;
  setThreads(n: number): number;
  getThreads(): number;
  ternaryPrepare(
    codes: Uint8Array,
    segAct: Int32Array,
    segChunks: Int32Array,
    segScale: Float32Array,
    rowSeg: Int32Array | null,
    rowCode: Int32Array | null,
    uniform: number,
    rows: number,
    maxActEnd: number,
  ): object;
  ternaryGemm(
    handle: object,
    q: Int8Array,
    prefix: Int32Array,
    qStride: number,
    actScales: Float32Array,
    nTokens: number,
    y: Float32Array,
  ): void;
  /** Several prepared matrices over one batch in one pool dispatch (absent from older addons). */
  ternaryGemmMany?(
    handles: readonly object[],
    q: Int8Array,
    prefix: Int32Array,
    qStride: number,
    actScales: Float32Array,
    nTokens: number,
    ys: readonly Float32Array[],
  ): void;
  /** KERNEL.md §1 for nTokens rows of X; absent from addons built before it existed (the kernel then quantizes in JS). */
  quantizeTokens?(...args: QuantizeArgs): void;
  /**
   * quantizeTokens of each row's glued input (KERNEL.md §10): relu²(X)·up (activation 1; null and 0 for none),
   * then RMSNorm with weight (none when null). Absent from older addons (the kernel then glues first).
   */
  quantizeGlued?(
    ...args: [...QuantizeArgs, up: Float32Array | null, activation: number, weight: Float32Array | null, eps: number]
  ): void;
  /** KERNEL.md §8; absent from older addons (the kernel then runs src/norm.ts). */
  rmsNorm?(x: Float32Array, out: Float32Array, weight: Float32Array, nTokens: number, n: number, eps: number): void;
  /** KERNEL.md §9; absent from older addons (the kernel then runs src/argmax.ts). */
  argmax?(values: Float32Array, count: number): number;
  denseGemm(
    type: number,
    data: Uint8Array,
    rows: number,
    cols: number,
    x: Float32Array,
    nTokens: number,
    y: Float32Array,
  ): void;
  streamSum(data: Uint8Array, threads: number): number;
  /** SHA-256 (hex) of the sources the binary was built from (scripts/source-hash.mjs); absent from older builds. */
  sourceHash?(): string;
  /** Absent from addons built before attention existed; the kernel then uses the JS version. */
  attention?(
    q: Float32Array,
    keys: Float32Array | Uint16Array,
    values: Float32Array | Uint16Array,
    out: Float32Array,
    heads: number,
    kvHeads: number,
    headDim: number,
    start: number,
    nTokens: number,
    scale: number,
    newKeys?: Float32Array | null,
    newValues?: Float32Array | null,
    /** Rotary tables (src/rope.ts): q and newKeys rotated in place first; ropeMode 0 normal, 1 neox. */
    ropeCos?: Float32Array | null,
    ropeSin?: Float32Array | null,
    ropeMode?: number,
    ropeDims?: number,
  ): void;
}

/**
 * Loads the addon: a prebuild for this platform or a local node-gyp build,
 * found by node-gyp-build. `path` overrides the directory searched.
 */
export async function loadNativeAddon(path?: string): Promise<NativeAddon> {
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new KernelLoadError('native', 'not running in Node.js');
  }
  if (process.arch !== 'x64')
    throw new KernelLoadError('native', `the addon is built for x64, this is ${process.arch}`);
  // Imported lazily so the package also loads in browsers.
  const { createRequire } = await import('node:module');
  const { fileURLToPath } = await import('node:url');
  const require = createRequire(import.meta.url);
  let addon: NativeAddon;
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeAddon;
    addon = nodeGypBuild(path ?? fileURLToPath(packageRoot()));
  } catch (error) {
    throw new KernelLoadError('native', `no usable addon binary (${(error as Error).message.split('\n')[0]})`);
  }
  const features = addon.cpuFeatures();
  if (!features.avx2) throw new KernelLoadError('native', 'this CPU has no AVX2');
  return addon;
}

/** Hands a ternary layout to the addon, in the argument order of native/tl1.c's ternaryPrepare. */
export function prepareOnAddon(addon: NativeAddon, l: TernaryLayout): object {
  return addon.ternaryPrepare(
    l.codes,
    l.segAct,
    l.segChunks,
    l.segScale,
    l.rowSeg,
    l.rowCode,
    l.uniform,
    l.rows,
    l.maxActEnd,
  );
}

export function createNativeDriver(addon: NativeAddon, threads: number): KernelDriver<object, DenseLayout> {
  const ensureThreads = () => {
    if (addon.getThreads() !== threads) addon.setThreads(threads);
  };
  ensureThreads();
  return {
    name: `native-${addon.cpuFeatures().isa}`,
    threads,
    loadTernary: (l: TernaryLayout) => prepareOnAddon(addon, l),
    loadDense: (layout) => layout,
    ternaryGemm: (handle, b: TokenBatch, y) => {
      ensureThreads();
      addon.ternaryGemm(handle, b.q, b.prefix, b.qStride, b.actScales, b.nTokens, y);
    },
    ternaryGemmMany: addon.ternaryGemmMany
      ? (handles, b: TokenBatch, ys) => {
          ensureThreads();
          addon.ternaryGemmMany?.(handles, b.q, b.prefix, b.qStride, b.actScales, b.nTokens, ys);
        }
      : undefined,
    quantizeTokens: addon.quantizeTokens
      ? (X, cols, b) => {
          ensureThreads();
          addon.quantizeTokens?.(X, b.nTokens, cols, b.qStride, b.q, b.prefix, b.actScales);
        }
      : undefined,
    quantizeGlued: addon.quantizeGlued
      ? (X, cols, b, glue) => {
          if (glue.gate && glue.gate.activation !== 'relu2') return false;
          ensureThreads();
          addon.quantizeGlued?.(
            X,
            b.nTokens,
            cols,
            b.qStride,
            b.q,
            b.prefix,
            b.actScales,
            glue.gate?.up ?? null,
            glue.gate ? 1 : 0,
            glue.norm?.weight ?? null,
            glue.norm?.eps ?? 0,
          );
          return true;
        }
      : undefined,
    rmsNorm: addon.rmsNorm
      ? (a) => {
          ensureThreads();
          addon.rmsNorm?.(a.x, a.out, a.weight, a.nTokens, a.n, a.eps);
        }
      : undefined,
    // One thread: the caller's, no pool dispatch (a vocabulary's logits take microseconds).
    argmax: addon.argmax?.bind(addon),
    denseGemm: (layout, x, nTokens, y) => {
      ensureThreads();
      addon.denseGemm(layout.info.ggmlType, layout.bytes, layout.rows, layout.cols, x, nTokens, y);
    },
    attention: addon.attention
      ? (a) => {
          ensureThreads();
          addon.attention?.(
            a.q,
            a.keys,
            a.values,
            a.out,
            a.heads,
            a.kvHeads,
            a.headDim,
            a.start,
            a.nTokens,
            a.scale,
            a.newKeys ?? null,
            a.newValues ?? null,
            a.rope?.cos ?? null,
            a.rope?.sin ?? null,
            a.rope?.mode === 'neox' ? 1 : 0,
            a.rope?.dims ?? 2,
          );
        }
      : undefined,
    dispose: async () => {},
  };
}
