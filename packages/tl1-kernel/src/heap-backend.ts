import type { TokenBatch } from './activations.js';
import { DENSE_GGML_TYPE, type DenseLayout } from './dense.js';
import type { SharedHeap } from './heap.js';
import { DENSE_TYPE_CODES, type TernaryAddresses, writeDenseJob, writeTernaryJob } from './jobs.js';
import type { KernelBackendImpl } from './kernel.js';
import type { TernaryLayout } from './layout.js';

/** Runs rows [begin, end) of the job in `words` on the calling thread. */
export type JobRunner = (words: Uint32Array, begin: number, end: number) => void;

/** Splits a job's rows between the calling thread and, optionally, a worker pool. */
export interface RowScheduler {
  readonly threads: number;
  readonly words: Uint32Array;
  run(rows: number, runOwn: (begin: number, end: number) => void): void;
  dispose(): Promise<void>;
}

interface DenseAddressesHandle {
  data: number;
  dataLength: number;
  type: DenseLayout['type'];
  rows: number;
  cols: number;
}

/**
 * A backend whose matrices and per-call buffers live in a SharedHeap, so the
 * wasm kernels and worker threads can reach them: the wasm backend, and the
 * JS backend when it runs on several threads.
 */
export function createHeapBackend(
  name: string,
  heap: SharedHeap,
  scheduler: RowScheduler,
  runner: JobRunner,
): KernelBackendImpl<TernaryAddresses, DenseAddressesHandle> {
  let scratch = { at: 0, size: 0 };
  const scratchFor = (bytes: number): number => {
    if (scratch.size < bytes) {
      if (scratch.size > 0) heap.release(scratch.at, scratch.size);
      scratch = { at: heap.alloc(bytes), size: bytes };
    }
    return scratch.at;
  };
  const run = (rows: number) => scheduler.run(rows, (begin, end) => runner(scheduler.words, begin, end));

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
      };
      const regions: [number, number][] = [
        [handle.codes, l.codes.byteLength],
        [handle.segAct, l.segAct.byteLength],
        [handle.segChunks, l.segChunks.byteLength],
        [handle.segScale, l.segScale.byteLength],
      ];
      if (l.rowSeg && l.rowCode)
        regions.push([handle.rowSeg, l.rowSeg.byteLength], [handle.rowCode, l.rowCode.byteLength]);
      for (const [at, size] of regions) heap.releaseWith(handle, at, size);
      return handle;
    },
    loadDense(layout: DenseLayout): DenseAddressesHandle {
      const bytes = layout.bytes.subarray(0, layout.rows * layout.rowBytes);
      const handle = {
        data: heap.put(bytes),
        dataLength: bytes.length,
        type: layout.type,
        rows: layout.rows,
        cols: layout.cols,
      };
      heap.releaseWith(handle, handle.data, bytes.length);
      return handle;
    },
    ternaryGemm(m: TernaryAddresses, batch: TokenBatch, y: Float32Array): void {
      const { q, prefix, actScales, nTokens, qStride } = batch;
      const yBytes = 4 * nTokens * m.rows;
      const base = scratchFor(q.byteLength + prefix.byteLength + actScales.byteLength + yBytes + 256);
      const qAt = base;
      const prefixAt = align(qAt + q.byteLength);
      const scalesAt = align(prefixAt + prefix.byteLength);
      const yAt = align(scalesAt + actScales.byteLength);
      const memory = heap.buffer;
      new Int8Array(memory, qAt, q.length).set(q);
      new Int32Array(memory, prefixAt, prefix.length).set(prefix);
      new Float32Array(memory, scalesAt, nTokens).set(actScales);
      writeTernaryJob(scheduler.words, m, { q: qAt, prefix: prefixAt, qStride, actScales: scalesAt, nTokens, y: yAt });
      run(m.rows);
      y.set(new Float32Array(heap.buffer, yAt, nTokens * m.rows));
    },
    denseGemm(d: DenseAddressesHandle, x: Float32Array, nTokens: number, y: Float32Array): void {
      const base = scratchFor(x.byteLength + 4 * nTokens * d.rows + 128);
      const xAt = base;
      const yAt = align(xAt + x.byteLength);
      new Float32Array(heap.buffer, xAt, x.length).set(x);
      writeDenseJob(scheduler.words, {
        type: DENSE_TYPE_CODES.indexOf(d.type),
        ggmlType: DENSE_GGML_TYPE[d.type],
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
    dispose: () => scheduler.dispose(),
  };
}

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
