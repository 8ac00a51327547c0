import type { TokenBatch } from '../activations.js';
import { type AttentionInput, rotateAndStoreKv } from '../attention.js';
import type { DenseLayout } from '../dense.js';
import { type DenseTypeInfo, denseTypeCode } from '../dense-types.js';
import type { KernelDriver } from '../kernel.js';
import type { TernaryLayout } from '../layout.js';
import type { SharedHeap } from './heap.js';
import { type TernaryAddresses, writeAttentionJob, writeDenseJob, writeTernaryJob } from './jobs.js';

/** Runs rows [begin, end) of the job in `words` on the calling thread. */
export type JobRunner = (words: Uint32Array, begin: number, end: number) => void;

/** Splits a job's rows between the calling thread and, optionally, a worker pool. */
export interface RowScheduler {
  readonly threads: number;
  readonly words: Uint32Array;
  /** Thread row ranges are cut at multiples of `grain` (default 1). */
  run(rows: number, runOwn: (begin: number, end: number) => void, grain?: number): void;
  dispose(): Promise<void>;
}

/**
 * An optional ternary fast path (the wasm pair-lookup kernel): a second copy
 * of suitable matrices in the heap, plus per-token tables built on the
 * calling thread before the rows are split (in multiples of `grain`).
 */
export interface TernaryFastPath {
  readonly grain: number;
  /** Makes the copy for a loaded matrix; returns its heap region, or null if the layout does not qualify. */
  load(layout: TernaryLayout, m: TernaryAddresses): { at: number; size: number } | null;
  /** Scratch bytes the tables of one token need. */
  lutBytes(m: TernaryAddresses, qStride: number): number;
  /** Builds the tables of the token whose q is at `qAt` into `lutAt`. */
  buildLut(m: TernaryAddresses, qAt: number, lutAt: number): void;
}

interface DenseAddressesHandle {
  data: number;
  dataLength: number;
  info: DenseTypeInfo;
  rows: number;
  cols: number;
}

/**
 * A driver whose matrices and per-call buffers live in a SharedHeap, so the
 * wasm kernels and worker threads can reach them: the wasm driver, and the
 * JS driver when it runs on several threads.
 */
export function createSplitDriver(
  name: string,
  heap: SharedHeap,
  scheduler: RowScheduler,
  runner: JobRunner,
  fastPath?: TernaryFastPath,
  /** The runner handles attention jobs too (the wasm one does). */
  withAttention = false,
): KernelDriver<TernaryAddresses, DenseAddressesHandle> {
  let scratch = { at: 0, size: 0 };
  const scratchFor = (bytes: number): number => {
    if (scratch.size < bytes) {
      if (scratch.size > 0) heap.release(scratch.at, scratch.size);
      scratch = { at: heap.alloc(bytes), size: bytes };
    }
    return scratch.at;
  };
  const run = (rows: number, grain = 1) =>
    scheduler.run(rows, (begin, end) => runner(scheduler.words, begin, end), grain);

  return {
    name,
    threads: scheduler.threads,
    loadTernary(l: TernaryLayout): TernaryAddresses {
      const handle: TernaryAddresses = {
        codes: heap.put(l.codes),
        codesLength: l.codes.length,
        segAct: heap.put(l.segAct),
        segChunks: heap.put(l.segChunks),
        patternLength: l.segAct.length,
        segScale: heap.put(l.segScale),
        scaleLength: l.segScale.length,
        rowSeg: l.rowSeg ? heap.put(l.rowSeg) : 0,
        rowCode: l.rowCode ? heap.put(l.rowCode) : 0,
        uniform: l.uniform,
        rows: l.rows,
        cols: l.cols,
        maxActEnd: l.maxActEnd,
        tl: 0,
      };
      const regions: [number, number][] = [
        [handle.codes, l.codes.byteLength],
        [handle.segAct, l.segAct.byteLength],
        [handle.segChunks, l.segChunks.byteLength],
        [handle.segScale, l.segScale.byteLength],
      ];
      if (l.rowSeg && l.rowCode)
        regions.push([handle.rowSeg, l.rowSeg.byteLength], [handle.rowCode, l.rowCode.byteLength]);
      const tl = fastPath?.load(l, handle);
      if (tl) {
        handle.tl = tl.at;
        regions.push([tl.at, tl.size]);
        // The pair-lookup copy replaces the chunk codes: give their space back now
        // rather than holding the matrix twice.
        regions.shift();
        heap.release(handle.codes, l.codes.byteLength);
        handle.codes = 0;
        handle.codesLength = 0;
      }
      for (const [at, size] of regions) heap.releaseWith(handle, at, size);
      return handle;
    },
    loadDense(layout: DenseLayout): DenseAddressesHandle {
      const bytes = layout.bytes.subarray(0, layout.rows * layout.rowBytes);
      const handle = {
        data: heap.put(bytes),
        dataLength: bytes.length,
        info: layout.info,
        rows: layout.rows,
        cols: layout.cols,
      };
      heap.releaseWith(handle, handle.data, bytes.length);
      return handle;
    },
    ternaryGemm(m: TernaryAddresses, batch: TokenBatch, y: Float32Array): void {
      const { q, prefix, actScales, nTokens, qStride } = batch;
      const yBytes = 4 * nTokens * m.rows;
      const tl = fastPath !== undefined && m.tl !== 0 ? fastPath : undefined;
      const chunk = tl ? Math.min(nTokens, TL_TOKENS) : 0;
      const lutStride = tl ? align(tl.lutBytes(m, qStride)) : 0;
      const prefixBytes = tl ? 0 : prefix.byteLength; // the table path needs no prefix sums
      const base = scratchFor(q.byteLength + prefixBytes + actScales.byteLength + yBytes + chunk * lutStride + 320);
      const qAt = base;
      const prefixAt = align(qAt + q.byteLength);
      const scalesAt = align(prefixAt + prefixBytes);
      const yAt = align(scalesAt + actScales.byteLength);
      const memory = heap.buffer;
      new Int8Array(memory, qAt, q.length).set(q);
      if (!tl) new Int32Array(memory, prefixAt, prefix.length).set(prefix);
      new Float32Array(memory, scalesAt, nTokens).set(actScales);
      if (tl) {
        // Tokens in chunks: build their tables on this thread, then split the rows.
        const lutAt = align(yAt + yBytes);
        for (let t0 = 0; t0 < nTokens; t0 += chunk) {
          const n = Math.min(chunk, nTokens - t0);
          for (let t = 0; t < n; t++) tl.buildLut(m, qAt + (t0 + t) * qStride, lutAt + t * lutStride);
          writeTernaryJob(scheduler.words, m, {
            q: qAt + t0 * qStride,
            prefix: 0,
            qStride,
            actScales: scalesAt + 4 * t0,
            nTokens: n,
            y: yAt + 4 * t0 * m.rows,
            lut: lutAt,
            lutStride,
          });
          run(m.rows, tl.grain);
        }
      } else {
        writeTernaryJob(scheduler.words, m, {
          q: qAt,
          prefix: prefixAt,
          qStride,
          actScales: scalesAt,
          nTokens,
          y: yAt,
          lut: 0,
          lutStride: 0,
        });
        run(m.rows);
      }
      y.set(new Float32Array(heap.buffer, yAt, nTokens * m.rows));
    },
    denseGemm(d: DenseAddressesHandle, x: Float32Array, nTokens: number, y: Float32Array): void {
      const base = scratchFor(x.byteLength + 4 * nTokens * d.rows + 128);
      const xAt = base;
      const yAt = align(xAt + x.byteLength);
      new Float32Array(heap.buffer, xAt, x.length).set(x);
      writeDenseJob(scheduler.words, {
        type: denseTypeCode(d.info.name),
        ggmlType: d.info.ggmlType,
        data: d.data,
        dataLength: d.dataLength,
        rows: d.rows,
        cols: d.cols,
        x: xAt,
        nTokens,
        y: yAt,
      });
      run(d.rows);
      y.set(new Float32Array(heap.buffer, yAt, nTokens * d.rows));
    },
    // The cache lives in JS memory: its first start + nTokens positions are copied into the heap
    // for each call (the same bytes the attention reads anyway), the scores and outputs back.
    ...(withAttention
      ? {
          attention(a: AttentionInput): void {
            rotateAndStoreKv(a);
            const kvLength = (a.start + a.nTokens) * a.kvHeads * a.headDim;
            const half = a.keys instanceof Uint16Array;
            const kvBytes = kvLength * (half ? 2 : 4);
            const pairs = a.nTokens * a.heads;
            const scoreStride = Math.ceil((a.start + a.nTokens) / 16) * 16;
            const qBytes = 4 * a.q.length;
            const outBytes = 4 * pairs * a.headDim;
            const base = scratchFor(qBytes + 2 * kvBytes + outBytes + 4 * pairs * scoreStride + 320);
            const qAt = base;
            const keysAt = align(qAt + qBytes);
            const valuesAt = align(keysAt + kvBytes);
            const outAt = align(valuesAt + kvBytes);
            const scoresAt = align(outAt + outBytes);
            const memory = heap.buffer;
            new Float32Array(memory, qAt, a.q.length).set(a.q);
            new Uint8Array(memory, keysAt, kvBytes).set(new Uint8Array(a.keys.buffer, a.keys.byteOffset, kvBytes));
            new Uint8Array(memory, valuesAt, kvBytes).set(
              new Uint8Array(a.values.buffer, a.values.byteOffset, kvBytes),
            );
            scaleFloat[0] = a.scale;
            writeAttentionJob(scheduler.words, {
              q: qAt,
              keys: keysAt,
              values: valuesAt,
              out: outAt,
              heads: a.heads,
              kvHeads: a.kvHeads,
              headDim: a.headDim,
              start: a.start,
              nTokens: a.nTokens,
              scaleBits: scaleBits[0] as number,
              half: half ? 1 : 0,
              scores: scoresAt,
              scoreStride,
            });
            run(pairs);
            a.out.set(new Float32Array(heap.buffer, outAt, pairs * a.headDim));
          },
        }
      : {}),
    dispose: () => scheduler.dispose(),
  };
}

const scaleBits = new Uint32Array(1);
const scaleFloat = new Float32Array(scaleBits.buffer);

/** Tokens per table-path job: their tables (16·qStride bytes each) stay in L2. */
const TL_TOKENS = 4;

function align(at: number): number {
  return Math.ceil(at / 64) * 64;
}

/** A scheduler that runs every row on the calling thread. */
export function singleThread(): RowScheduler {
  return {
    threads: 1,
    words: new Uint32Array(64),
    run: (rows, runOwn) => runOwn(0, rows),
    dispose: async () => {},
  };
}
