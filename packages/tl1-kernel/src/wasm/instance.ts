import type { SharedHeap } from '../threads/heap.js';
import { JOB_ATTENTION, JOB_TERNARY, KIND, readAttentionJob, readDenseJob, readTernaryJob } from '../threads/jobs.js';
import type { TernaryFastPath } from '../threads/split.js';

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
  ternary_tl_bytes(rows: number, uniform: number, segChunks: number): number;
  ternary_tl_repack(
    codes: number,
    segScale: number,
    rows: number,
    uniform: number,
    segChunks: number,
    out: number,
  ): void;
  ternary_tl_lut(q: number, uniform: number, segAct: number, segChunks: number, lut: number): void;
  ternary_tl_gemm(
    tl: number,
    uniform: number,
    segAct: number,
    segChunks: number,
    rowBegin: number,
    rowEnd: number,
    rows: number,
    lut: number,
    lutStride: number,
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
  /** KERNEL.md §7 for (token, head) pairs [pair0, pair1); s: start + nTokens floats of scratch. */
  attention(
    q: number,
    keys: number,
    values: number,
    out: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    start: number,
    nTokens: number,
    scale: number,
    half: number,
    pair0: number,
    pair1: number,
    s: number,
  ): void;
}

const scaleBits = new Uint32Array(1);
const scaleFloat = new Float32Array(scaleBits.buffer);

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

/**
 * The pair-lookup GEMV (wasm/tl1.c ternary_tl_*): for uniform layouts whose
 * segments start at multiples of 128 (TQ2_0, TQ1_0, I2_S), a 16-row copy of the
 * matrix is made at load time and every token runs on it (bit-identical; faster
 * than the 4-token dot-product kernel too).
 */
export function wasmTernaryFastPath(ex: WasmKernelExports, heap: SharedHeap): TernaryFastPath {
  return {
    grain: 16,
    load(layout, m) {
      if (layout.uniform <= 0) return null;
      for (const act of layout.segAct) if (act % 128 !== 0) return null;
      const size = ex.ternary_tl_bytes(m.rows, m.uniform, m.segChunks);
      if (size <= 0) return null;
      const at = heap.alloc(size);
      ex.ternary_tl_repack(m.codes, m.segScale, m.rows, m.uniform, m.segChunks, at);
      return { at, size };
    },
    lutBytes: (_m, qStride) => 16 * qStride + 64,
    buildLut(m, qAt, lutAt) {
      ex.ternary_tl_lut(qAt, m.uniform, m.segAct, m.segChunks, lutAt);
    },
  };
}

/** Runs rows [begin, end) of the job in `words` with the wasm kernels. */
export function runWasmJob(ex: WasmKernelExports, words: Uint32Array, begin: number, end: number): void {
  if (words[KIND] === JOB_ATTENTION) {
    const a = readAttentionJob(words);
    scaleBits[0] = a.scaleBits;
    // Each range has its own score rows (the first pair's), so threads never share scratch.
    ex.attention(
      a.q,
      a.keys,
      a.values,
      a.out,
      a.heads,
      a.kvHeads,
      a.headDim,
      a.start,
      a.nTokens,
      scaleFloat[0] as number,
      a.half,
      begin,
      end,
      a.scores + 4 * begin * a.scoreStride,
    );
    return;
  }
  if (words[KIND] === JOB_TERNARY) {
    const { m, b } = readTernaryJob(words);
    if (m.tl !== 0 && b.lut !== 0) {
      ex.ternary_tl_gemm(
        m.tl,
        m.uniform,
        m.segAct,
        m.segChunks,
        begin,
        end,
        m.rows,
        b.lut,
        b.lutStride,
        b.actScales,
        b.nTokens,
        b.y,
      );
      return;
    }
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
