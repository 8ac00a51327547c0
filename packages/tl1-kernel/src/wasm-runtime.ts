import { JOB_TERNARY, KIND, readDenseJob, readTernaryJob } from './jobs.js';

/** The exports of wasm/tl1.c (all pointers are byte addresses in the shared memory). */
export interface WasmKernelExports {
  ternary_gemm(
    codes: number,
    segAct: number,
    segChunks: number,
    segScale: number,
    rowSeg: number,
    rowCode: number,
    uniform: number,
    rowBegin: number,
    rowEnd: number,
    rows: number,
    q: number,
    prefix: number,
    qStride: number,
    actScales: number,
    nTokens: number,
    y: number,
  ): void;
  dense_gemm(
    type: number,
    data: number,
    rows: number,
    cols: number,
    rowBegin: number,
    rowEnd: number,
    x: number,
    nTokens: number,
    y: number,
  ): void;
}

/**
 * Instantiates the kernels on `memory`. The kernels use no linear-memory
 * stack or data of their own (wasm/build.sh checks), so instances on several
 * threads can share one memory without a per-thread stack.
 */
export function instantiateWasmKernels(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  _stackTop?: number,
): WasmKernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as WasmKernelExports;
}

/** Runs rows [begin, end) of the job in `words` with the wasm kernels. */
export function runWasmJob(ex: WasmKernelExports, words: Uint32Array, begin: number, end: number): void {
  if (words[KIND] === JOB_TERNARY) {
    const { m, b } = readTernaryJob(words);
    ex.ternary_gemm(
      m.codes,
      m.segAct,
      m.segChunks,
      m.segScale,
      m.rowSeg,
      m.rowCode,
      m.uniform,
      begin,
      end,
      m.rows,
      b.q,
      b.prefix,
      b.qStride,
      b.actScales,
      b.nTokens,
      b.y,
    );
    return;
  }
  const d = readDenseJob(words);
  ex.dense_gemm(d.ggmlType, d.data, d.rows, d.cols, begin, end, d.x, d.nTokens, d.y);
}
