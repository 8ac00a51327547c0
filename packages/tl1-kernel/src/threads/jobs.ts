import type { TokenBatch } from '../activations.js';
import { denseLayout } from '../dense.js';
import { DENSE_TYPES, type DenseTypeInfo } from '../dense-types.js';
import { jsDenseGemm, jsTernaryGemm } from '../js/kernels.js';
import type { TernaryLayout } from '../layout.js';

/*
 * A job is a row range of one GEMM, described by heap addresses in a small
 * shared control block, so the calling thread and the workers can each take
 * rows without messages. Words (Uint32) of the control block:
 */
export const CONTROL_WORDS = 64;
export const GENERATION = 0; // bumped to start a job (Int32 view, for Atomics.wait)
export const PENDING = 1; // workers still running
export const FAILED = 2; // set by a worker that threw
export const KIND = 3;
export const THREADS = 4;
/** Row ranges are cut at multiples of this (1 if 0). */
export const GRAIN = 6;
export const ARGS = 8;

export const JOB_TERNARY = 1;
export const JOB_DENSE = 2;
/** Attention (wasm only): "rows" are (token, head) pairs. */
export const JOB_ATTENTION = 3;

/** Heap addresses of a prepared ternary layout. */
export interface TernaryAddresses {
  codes: number;
  codesLength: number;
  segAct: number;
  segChunks: number;
  patternLength: number;
  segScale: number;
  scaleLength: number;
  rowSeg: number;
  rowCode: number;
  uniform: number;
  rows: number;
  cols: number;
  maxActEnd: number;
  /** wasm only: address of the 16-row pair-lookup copy (wasm/tl1.c ternary_tl_repack), 0 if none. */
  tl: number;
}

export interface BatchAddresses {
  q: number;
  prefix: number;
  qStride: number;
  actScales: number;
  nTokens: number;
  y: number;
  /** Per-token pair tables (ternary_tl_lut) for the `tl` path, 0 if not used; token t's at lut + t·lutStride. */
  lut: number;
  lutStride: number;
}

const TERNARY_FIELDS = [
  'codes',
  'codesLength',
  'segAct',
  'segChunks',
  'patternLength',
  'segScale',
  'scaleLength',
  'rowSeg',
  'rowCode',
  'uniform',
  'rows',
  'cols',
  'maxActEnd',
  'tl',
] as const;
const BATCH_FIELDS = ['q', 'prefix', 'qStride', 'actScales', 'nTokens', 'y', 'lut', 'lutStride'] as const;

export function writeTernaryJob(words: Uint32Array, m: TernaryAddresses, b: BatchAddresses): void {
  words[KIND] = JOB_TERNARY;
  TERNARY_FIELDS.forEach((f, i) => {
    words[ARGS + i] = m[f];
  });
  BATCH_FIELDS.forEach((f, i) => {
    words[ARGS + TERNARY_FIELDS.length + i] = b[f];
  });
}

export function readTernaryJob(words: Uint32Array): { m: TernaryAddresses; b: BatchAddresses } {
  const m = Object.fromEntries(TERNARY_FIELDS.map((f, i) => [f, words[ARGS + i]])) as unknown as TernaryAddresses;
  const b = Object.fromEntries(
    BATCH_FIELDS.map((f, i) => [f, words[ARGS + TERNARY_FIELDS.length + i]]),
  ) as unknown as BatchAddresses;
  return { m, b };
}

export interface DenseAddresses {
  /** Index into DENSE_TYPES (denseTypeCode). */
  type: number;
  ggmlType: number;
  data: number;
  dataLength: number;
  rows: number;
  cols: number;
  x: number;
  nTokens: number;
  y: number;
}
const DENSE_FIELDS = ['type', 'ggmlType', 'data', 'dataLength', 'rows', 'cols', 'x', 'nTokens', 'y'] as const;

export function writeDenseJob(words: Uint32Array, d: DenseAddresses): void {
  words[KIND] = JOB_DENSE;
  DENSE_FIELDS.forEach((f, i) => {
    words[ARGS + i] = d[f];
  });
}

export function readDenseJob(words: Uint32Array): DenseAddresses {
  return Object.fromEntries(DENSE_FIELDS.map((f, i) => [f, words[ARGS + i]])) as unknown as DenseAddresses;
}

/** Heap addresses and shape of an attention job; `scores` holds one row of `scoreStride` floats per pair. */
export interface AttentionAddresses {
  q: number;
  keys: number;
  values: number;
  out: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  start: number;
  nTokens: number;
  /** The float32 scale's bits. */
  scaleBits: number;
  /** 1 when the cache holds half bits. */
  half: number;
  scores: number;
  scoreStride: number;
}
const ATTENTION_FIELDS = [
  'q',
  'keys',
  'values',
  'out',
  'heads',
  'kvHeads',
  'headDim',
  'start',
  'nTokens',
  'scaleBits',
  'half',
  'scores',
  'scoreStride',
] as const;

export function writeAttentionJob(words: Uint32Array, a: AttentionAddresses): void {
  words[KIND] = JOB_ATTENTION;
  ATTENTION_FIELDS.forEach((f, i) => {
    words[ARGS + i] = a[f];
  });
}

export function readAttentionJob(words: Uint32Array): AttentionAddresses {
  return Object.fromEntries(ATTENTION_FIELDS.map((f, i) => [f, words[ARGS + i]])) as unknown as AttentionAddresses;
}

/** Row range of thread `index` out of `threads`, cut at multiples of `grain` (except at `rows`). */
export function rowRange(rows: number, index: number, threads: number, grain = 1): [number, number] {
  const g = Math.max(1, grain);
  const units = Math.ceil(rows / g);
  return [
    Math.min(rows, Math.floor((units * index) / threads) * g),
    Math.min(rows, Math.floor((units * (index + 1)) / threads) * g),
  ];
}

/** Runs the JS kernel on rows [begin, end) of a job, reading everything from the heap. */
export function runJsJob(buffer: ArrayBufferLike, words: Uint32Array, begin: number, end: number): void {
  if (words[KIND] === JOB_TERNARY) {
    const { m, b } = readTernaryJob(words);
    const general = m.uniform === 0;
    const layout: TernaryLayout = {
      rows: m.rows,
      cols: m.cols,
      codes: new Uint8Array(buffer, m.codes, m.codesLength),
      segAct: new Int32Array(buffer, m.segAct, m.patternLength),
      segChunks: new Int32Array(buffer, m.segChunks, m.patternLength),
      segScale: new Float32Array(buffer, m.segScale, m.scaleLength),
      uniform: m.uniform,
      rowSeg: general ? new Int32Array(buffer, m.rowSeg, m.rows + 1) : null,
      rowCode: general ? new Int32Array(buffer, m.rowCode, m.rows + 1) : null,
      maxActEnd: m.maxActEnd,
    };
    const batch: TokenBatch = {
      nTokens: b.nTokens,
      qStride: b.qStride,
      q: new Int8Array(buffer, b.q, b.nTokens * b.qStride),
      prefix: new Int32Array(buffer, b.prefix, b.nTokens * (b.qStride + 1)),
      actScales: new Float32Array(buffer, b.actScales, b.nTokens),
    };
    jsTernaryGemm(layout, batch, new Float32Array(buffer, b.y, b.nTokens * m.rows), begin, end);
    return;
  }
  const d = readDenseJob(words);
  const layout = denseLayout({
    type: (DENSE_TYPES[d.type] as DenseTypeInfo).name,
    data: new Uint8Array(buffer, d.data, d.dataLength),
    rows: d.rows,
    cols: d.cols,
  });
  jsDenseGemm(
    layout,
    new Float32Array(buffer, d.x, d.nTokens * d.cols),
    d.nTokens,
    new Float32Array(buffer, d.y, d.nTokens * d.rows),
    begin,
    end,
  );
}
