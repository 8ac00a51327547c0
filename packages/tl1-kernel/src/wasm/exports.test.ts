// The wasm kernels called directly (wasm/tl1.c, all four builds): they match
// src/reference.ts bit for bit on the stress cases of src/kernel-cases.ts, write
// nothing in memory but their y rows, and the shared-memory build splits rows
// between worker threads with the same result.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { sameFloat32 } from '@trit/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { type DenseKernelCase, denseKernelCases, type TernaryKernelCase, ternaryKernelCases } from '../kernel-cases.js';
import { wasmDirectory } from '../package-files.js';
import { instantiateWasmKernels, type WasmKernelExports } from './instance.js';

const PAGE = 65_536;
const builds = [
  { file: 'tl1-simd.wasm', shared: false },
  { file: 'tl1-simd-mt.wasm', shared: true },
  { file: 'tl1-relaxed-simd.wasm', shared: false },
  { file: 'tl1-relaxed-simd-mt.wasm', shared: true },
].map((b) => ({ ...b, module: new WebAssembly.Module(readFileSync(new URL(b.file, wasmDirectory()))) }));

/** One memory with the buffers of one call copied in, 16-byte aligned from address 16 (0 stays a null pointer). */
class Host {
  readonly memory: WebAssembly.Memory;
  readonly kernels: WasmKernelExports;
  private top = 16;

  constructor(module: WebAssembly.Module, shared: boolean, bytes: number) {
    const pages = Math.ceil((bytes + 4096) / PAGE);
    this.memory = new WebAssembly.Memory(shared ? { initial: pages, maximum: pages, shared } : { initial: pages });
    this.kernels = instantiateWasmKernels(module, this.memory);
    // Junk everywhere, so a kernel that reads what it never wrote, or writes where it should not, shows.
    new Uint8Array(this.memory.buffer).fill(0xa5);
  }

  /** Copies `data` in (at an odd address when `misalign`), returns its address. */
  put(data: ArrayBufferView | null, misalign = false): number {
    if (data === null) return 0;
    const at = this.top + (misalign ? 1 : 0);
    new Uint8Array(this.memory.buffer).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    this.top = (at + data.byteLength + 15) & ~15;
    return at;
  }

  reserve(bytes: number): number {
    const at = this.top;
    this.top = (at + bytes + 15) & ~15;
    return at;
  }

  f32(at: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer.slice(at, at + 4 * n));
  }

  /** Runs `call`, then checks that no byte outside [at, at + bytes) changed. */
  writesOnly(at: number, bytes: number, call: () => void): void {
    const before = new Uint8Array(this.memory.buffer).slice();
    call();
    const after = new Uint8Array(this.memory.buffer);
    const changed = after.findIndex((v, i) => v !== before[i] && (i < at || i >= at + bytes));
    expect(changed, `byte ${changed} outside y changed`).toBe(-1);
  }
}

const ternaryBytes = (c: TernaryKernelCase) => {
  const l = c.layout;
  const b = c.batch;
  return (
    l.codes.length +
    4 * (l.segAct.length * 3 + 2 * (l.rows + 1)) +
    b.q.length +
    4 * b.prefix.length +
    4 * b.nTokens +
    4 * l.rows * b.nTokens +
    16 * 12
  );
};

function ternaryArgs(host: Host, c: TernaryKernelCase) {
  const l = c.layout;
  const b = c.batch;
  const m = {
    codes: host.put(l.codes),
    segAct: host.put(l.segAct),
    segChunks: host.put(l.segChunks),
    segScale: host.put(l.segScale),
    rowSeg: host.put(l.rowSeg),
    rowCode: host.put(l.rowCode),
  };
  const q = host.put(b.q);
  const prefix = host.put(b.prefix);
  const actScales = host.put(b.actScales);
  const y = host.reserve(4 * l.rows * b.nTokens);
  const run = (ex: WasmKernelExports, rowBegin: number, rowEnd: number) =>
    ex.ternary_gemm(
      m.codes,
      m.segAct,
      m.segChunks,
      m.segScale,
      m.rowSeg,
      m.rowCode,
      l.uniform,
      rowBegin,
      rowEnd,
      l.rows,
      q,
      prefix,
      b.qStride,
      actScales,
      b.nTokens,
      y,
    );
  return { m, q, y, n: l.rows * b.nTokens, run };
}

const denseBytes = (c: DenseKernelCase) => c.data.length + 4 * c.x.length + 4 * c.nTokens * c.rows + 64;

function denseArgs(host: Host, c: DenseKernelCase) {
  const data = host.put(c.data, true);
  const x = host.put(c.x);
  const y = host.reserve(4 * c.nTokens * c.rows);
  const run = (ex: WasmKernelExports, rowBegin: number, rowEnd: number) =>
    ex.dense_gemm(c.ggmlType, data, c.rows, c.cols, rowBegin, rowEnd, x, c.nTokens, y);
  return { y, n: c.nTokens * c.rows, run };
}

const ternaryCases = ternaryKernelCases();
const denseCases = denseKernelCases();

describe.each(builds)('$file', ({ module, shared }) => {
  it.each(ternaryCases.map((c) => [c.name, c] as const))('ternary_gemm: %s', (_name, c) => {
    const host = new Host(module, shared, ternaryBytes(c));
    const a = ternaryArgs(host, c);
    host.writesOnly(a.y, 4 * a.n, () => a.run(host.kernels, 0, c.layout.rows));
    expect(sameFloat32(host.f32(a.y, a.n), c.expected)).toBe(true);
  });

  // The pair-lookup path the wasm driver takes for segments at multiples of 128 (wasm/README.md).
  const lookupCases = ternaryCases.filter((c) => c.layout.uniform > 0 && c.layout.segAct.every((a) => a % 128 === 0));
  it.each(lookupCases.map((c) => [c.name, c] as const))('ternary_tl_gemm: %s', (_name, c) => {
    const l = c.layout;
    const b = c.batch;
    const probe = new Host(module, shared, ternaryBytes(c));
    const tlBytes = probe.kernels.ternary_tl_bytes(l.rows, l.uniform, probe.put(l.segChunks));
    const lutStride = 16 * b.qStride + 64;
    const host = new Host(module, shared, ternaryBytes(c) + tlBytes + lutStride * b.nTokens + 64);
    const a = ternaryArgs(host, c);
    const tl = host.reserve(tlBytes);
    const lut = host.reserve(lutStride * b.nTokens);
    host.kernels.ternary_tl_repack(a.m.codes, a.m.segScale, l.rows, l.uniform, a.m.segChunks, tl);
    for (let t = 0; t < b.nTokens; t++)
      host.kernels.ternary_tl_lut(a.q + t * b.qStride, l.uniform, a.m.segAct, a.m.segChunks, lut + t * lutStride);
    const actScales = host.put(b.actScales);
    host.writesOnly(a.y, 4 * a.n, () =>
      host.kernels.ternary_tl_gemm(
        tl,
        l.uniform,
        a.m.segAct,
        a.m.segChunks,
        0,
        l.rows,
        l.rows,
        lut,
        lutStride,
        actScales,
        b.nTokens,
        a.y,
      ),
    );
    expect(sameFloat32(host.f32(a.y, a.n), c.expected)).toBe(true);
  });

  it.each(denseCases.map((c) => [c.name, c] as const))('dense_gemm: %s', (_name, c) => {
    const host = new Host(module, shared, denseBytes(c));
    const a = denseArgs(host, c);
    host.writesOnly(a.y, 4 * a.n, () => a.run(host.kernels, 0, c.rows));
    expect(sameFloat32(host.f32(a.y, a.n), c.expected)).toBe(true);
  });
});

describe('tl1-simd-mt.wasm on two worker threads sharing one memory', () => {
  const mt = builds.find((b) => b.shared)?.module as WebAssembly.Module;
  // Each worker instantiates the module on the shared memory and runs the calls it is sent.
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { exports } = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } });
    parentPort.on('message', ({ fn, args }) => { exports[fn](...args); parentPort.postMessage('done'); });`;
  let workers: Worker[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });

  /** Runs calls[i] on worker i, all at once. */
  async function onWorkers(memory: WebAssembly.Memory, calls: { fn: string; args: number[] }[]): Promise<void> {
    for (const w of workers) await w.terminate();
    workers = calls.map(() => new Worker(source, { eval: true, workerData: { module: mt, memory } }));
    await Promise.all(
      calls.map(
        (call, i) =>
          new Promise((resolve, reject) => {
            const w = workers[i] as Worker;
            w.once('message', resolve);
            w.once('error', reject);
            w.postMessage(call);
          }),
      ),
    );
  }

  /** Records the arguments `run` passes, instead of calling the kernel. */
  const recorder = (fn: string) => {
    const calls: { fn: string; args: number[] }[] = [];
    const ex = new Proxy({} as WasmKernelExports, {
      get:
        () =>
        (...args: number[]) =>
          calls.push({ fn, args }),
    });
    return { ex, calls };
  };

  const picks = [...ternaryCases.filter((c) => c.layout.rows >= 13 && c.batch.nTokens >= 3).slice(0, 4)];
  it.each(picks.map((c) => [c.name, c] as const))('ternary_gemm: %s', async (_name, c) => {
    const host = new Host(mt, true, ternaryBytes(c));
    const a = ternaryArgs(host, c);
    const { ex, calls } = recorder('ternary_gemm');
    const mid = Math.floor(c.layout.rows / 2) + 1;
    a.run(ex, 0, mid);
    a.run(ex, mid, c.layout.rows);
    await onWorkers(host.memory, calls);
    expect(sameFloat32(host.f32(a.y, a.n), c.expected)).toBe(true);
  });

  const densePicks = denseCases.filter((c) => c.rows === 13 && c.nTokens === 3);
  it.each(densePicks.map((c) => [c.name, c] as const))('dense_gemm: %s', async (_name, c) => {
    const host = new Host(mt, true, denseBytes(c));
    const a = denseArgs(host, c);
    const { ex, calls } = recorder('dense_gemm');
    a.run(ex, 0, 5);
    a.run(ex, 5, c.rows);
    await onWorkers(host.memory, calls);
    expect(sameFloat32(host.f32(a.y, a.n), c.expected)).toBe(true);
  });
});
