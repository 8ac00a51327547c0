import { floatToHalfBits, TERNARY_FORMATS, type TernaryFormatName } from '@trit/ternary';
import type { KernelImplementation } from './errors.js';
import { loadNativeAddon } from './native/driver.js';
import { loadKernel } from './select.js';
import { prepareTl1, tl1Gemv } from './tl1.js';

/*
 * The kernel benchmark behind `pnpm bench` and `trit bench kernel`: every
 * implementation, weight type, shape, token count and thread count, next to two
 * baselines measured in the same run: the machine's memory read bandwidth
 * (a native streaming sum) and a plain JS float32 GEMV of the same shape.
 */

export type BenchWeightType =
  | Extract<TernaryFormatName, 'tq2_0' | 'tq1_0'>
  | 'f16'
  | 'q8_0'
  | 'q4_0'
  | 'q4_k'
  | 'q5_k'
  | 'q6_k';

/** Block types timed with random code bytes: block size in bytes, and where its fp16 scales sit. */
const RANDOM_BLOCKS: Partial<Record<BenchWeightType, { elements: number; bytes: number; halves: number[] }>> = {
  q8_0: { elements: 32, bytes: 34, halves: [0] },
  q4_0: { elements: 32, bytes: 18, halves: [0] },
  q4_k: { elements: 256, bytes: 144, halves: [0, 2] },
  q5_k: { elements: 256, bytes: 176, halves: [0, 2] },
  q6_k: { elements: 256, bytes: 210, halves: [208] },
};

export interface KernelBenchOptions {
  implementations?: KernelImplementation[];
  /** @deprecated Renamed to `implementations`; still accepted. */
  backends?: KernelImplementation[];
  threads?: number[];
  /** out × in. */
  shapes?: [number, number][];
  types?: BenchWeightType[];
  tokens?: number[];
  /** Least time per measurement. */
  minMs?: number;
  /**
   * Streamed weights: each call multiplies the next of enough copies of its matrix (COLD_BYTES in
   * all, 2–64 copies) that they come from memory, as a decode step's do, not from cache.
   */
  cold?: boolean;
  /** Called after each measurement, e.g. for progress. */
  onResult?: (result: KernelBenchResult) => void;
}

export interface KernelBenchResult {
  implementation: KernelImplementation;
  kernel: string;
  type: BenchWeightType;
  rows: number;
  cols: number;
  tokens: number;
  threads: number;
  microsPerCall: number;
  /** Prepared weight bytes streamed per call ÷ time. */
  weightGBps: number;
  /** weightGBps over the measured read bandwidth at the same thread count. */
  bandwidthFraction: number;
  /** JS float32 GEMV time of the same shape ÷ this time, per token. */
  speedupVsJsFp32: number;
  /** llama.cpp's time on the reference machine (same kind) ÷ this time, where one is known (1-token GEMV). */
  speedupVsLlamaCpp?: number;
  /** Copies of the matrix the calls cycled through: 1 (in cache after the first call), or more with `cold`. */
  copies: number;
}

export interface KernelBenchReport {
  bandwidth: { threads: number; GBps: number; method: string }[];
  jsFp32: { rows: number; cols: number; microsPerCall: number }[];
  results: KernelBenchResult[];
  skipped: { implementation: KernelImplementation; reason: string }[];
}

/** llama.cpp GEMV µs measured once on a 2-core Sapphire Rapids (the reference machine), keyed type/threads/out×in. */
export const LLAMA_CPP_REFERENCE_MICROS: Readonly<Record<string, number>> = {
  'tq2_0/1/6912x2560': 430,
  'tq2_0/1/2560x6912': 354,
  'tq2_0/1/4096x4096': 354,
  'tq2_0/1/2560x2560': 142,
  'tq2_0/2/6912x2560': 217,
  'tq2_0/2/2560x6912': 217,
  'tq2_0/2/4096x4096': 201,
  'tq2_0/2/2560x2560': 83,
  'tq1_0/1/6912x2560': 863,
  'tq1_0/1/2560x6912': 792,
  'tq1_0/1/4096x4096': 743,
  'f16/1/6912x2560': 1407,
  'f16/1/2560x6912': 1375,
  'f16/1/4096x4096': 1331,
  'f16/1/2560x2560': 497,
  'q8_0/1/6912x2560': 1116,
  'q8_0/1/2560x6912': 1062,
  'q8_0/1/4096x4096': 1118,
  'q8_0/1/2560x2560': 350,
};

/** What `cold` cycles through per matrix: well past any L3 this kind of machine has. */
export const COLD_BYTES = 256 * 1024 * 1024;

/**
 * µs per call of fn: the median over batches (each ≥ 1 ms) collected for at
 * least minMs, after a warm-up long enough for the JIT to optimize the JS
 * around the kernel. The median keeps a shared machine's hiccups out.
 */
export function timeMicros(fn: () => void, minMs: number): number {
  const warmEnd = performance.now() + Math.max(50, minMs / 3);
  let warmCalls = 0;
  for (; warmCalls < 3 || performance.now() < warmEnd; warmCalls++) fn();
  const probeStart = performance.now();
  fn();
  const batch = Math.max(1, Math.ceil(1 / Math.max(performance.now() - probeStart, 1e-3)));
  const samples: number[] = [];
  const end = performance.now() + minMs;
  while (samples.length < 3 || performance.now() < end) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) fn();
    samples.push(((performance.now() - start) * 1000) / batch);
  }
  samples.sort((x, y) => x - y);
  return samples[samples.length >> 1];
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Deterministic weights of a type, as GGUF would store them. */
export function benchWeights(type: BenchWeightType, rows: number, cols: number): Uint8Array {
  const next = xorshift(rows * 7919 + cols);
  const n = rows * cols;
  if (type === 'tq2_0' || type === 'tq1_0') {
    const codes = new Int8Array(n);
    for (let i = 0; i < n; i++) codes[i] = (next() % 3) - 1;
    return TERNARY_FORMATS[type].encode(codes, new Float32Array(n / 256).fill(0.0123));
  }
  if (type === 'f16') {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = floatToHalfBits(((next() % 2001) - 1000) * 2e-5);
    return new Uint8Array(out.buffer);
  }
  // The kernels' speed does not depend on the codes, so random bytes with small finite scales will do.
  const { elements, bytes, halves } = RANDOM_BLOCKS[type] as NonNullable<(typeof RANDOM_BLOCKS)[BenchWeightType]>;
  const out = new Uint8Array((n / elements) * bytes);
  for (let i = 0; i < out.length; i++) out[i] = next() & 0xff;
  const half = floatToHalfBits(0.001);
  for (let b = 0; b < out.length; b += bytes)
    for (const at of halves) {
      out[b + at] = half & 0xff;
      out[b + at + 1] = half >> 8;
    }
  return out;
}

/** Memory read bandwidth per thread count: a native streaming sum, or a JS lower bound without the addon. */
export async function measureMemoryBandwidth(threadCounts: number[]): Promise<KernelBenchReport['bandwidth']> {
  const buffer = new Uint8Array(256 * 1024 * 1024);
  buffer.fill(1);
  try {
    const addon = await loadNativeAddon();
    return threadCounts.map((threads) => {
      addon.setThreads(Math.max(threads, addon.getThreads()));
      const micros = timeMicros(() => addon.streamSum(buffer, threads), 300);
      return { threads, GBps: buffer.length / micros / 1000, method: 'native streaming sum' };
    });
  } catch {
    const words = new Float64Array(buffer.buffer);
    const micros = timeMicros(() => {
      let s = 0;
      for (let i = 0; i < words.length; i++) s += words[i];
      return s;
    }, 300);
    return threadCounts.map((threads) => ({
      threads,
      GBps: buffer.length / micros / 1000,
      method: 'JS Float64Array sum (no native addon; a lower bound)',
    }));
  }
}

function jsFp32Gemv(rows: number, cols: number, minMs: number): number {
  const w = new Float32Array(rows * cols);
  const next = xorshift(42);
  for (let i = 0; i < w.length; i++) w[i] = (next() % 1000) * 1e-4;
  const x = new Float32Array(cols).fill(0.5);
  const y = new Float32Array(rows);
  return timeMicros(() => {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const base = r * cols;
      for (let j = 0; j < cols; j++) s += w[base + j] * x[j];
      y[r] = s;
    }
  }, minMs);
}

export async function runKernelBench(options: KernelBenchOptions = {}): Promise<KernelBenchReport> {
  const implementations = options.implementations ?? options.backends ?? ['native', 'wasm', 'js'];
  const threadCounts = options.threads ?? [1, 2];
  const shapes = options.shapes ?? [
    [2560, 6912],
    [6912, 2560],
    [2560, 2560],
    [4096, 4096],
  ];
  const types = options.types ?? ['tq2_0', 'tq1_0', 'f16', 'q8_0'];
  const tokenCounts = options.tokens ?? [1, 8, 64];
  const minMs = options.minMs ?? 300;

  const bandwidth = await measureMemoryBandwidth(threadCounts);
  const jsFp32 = shapes.map(([rows, cols]) => ({ rows, cols, microsPerCall: jsFp32Gemv(rows, cols, minMs) }));
  const results: KernelBenchResult[] = [];
  const skipped: KernelBenchReport['skipped'] = [];

  for (const implementation of implementations) {
    for (const threads of threadCounts) {
      let kernel: Awaited<ReturnType<typeof loadKernel>>;
      try {
        kernel = await loadKernel({ implementation, threads });
      } catch (error) {
        if (threads === threadCounts[0]) skipped.push({ implementation, reason: (error as Error).message });
        continue;
      }
      const bw = bandwidth.find((b) => b.threads === threads)?.GBps ?? Number.NaN;
      for (const type of types) {
        for (const [rows, cols] of shapes) {
          const data = benchWeights(type, rows, cols);
          const prepare = (bytes: Uint8Array) =>
            type === 'tq2_0' || type === 'tq1_0'
              ? kernel.prepare({ format: type, data: bytes, rows, cols })
              : kernel.prepareDense({ type, data: bytes, rows, cols });
          const matrix = prepare(data);
          const copies = options.cold ? Math.min(64, Math.max(2, Math.ceil(COLD_BYTES / matrix.byteLength))) : 1;
          const matrices = [matrix];
          while (matrices.length < copies) matrices.push(prepare(data.slice()));
          const fp32 = jsFp32.find((f) => f.rows === rows && f.cols === cols)?.microsPerCall ?? Number.NaN;
          for (const tokens of tokenCounts) {
            const x = new Float32Array(tokens * cols);
            const next = xorshift(tokens);
            for (let i = 0; i < x.length; i++) x[i] = ((next() % 2001) - 1000) / 1000;
            const y = new Float32Array(tokens * rows);
            let copy = 0;
            const micros = timeMicros(
              () => {
                kernel.gemm(matrices[copy] as typeof matrix, x, tokens, y);
                copy = copy + 1 === copies ? 0 : copy + 1;
              },
              tokens > 8 && implementation !== 'native' ? minMs / 2 : minMs,
            );
            const weightGBps = matrix.byteLength / micros / 1000;
            const llama = tokens === 1 ? LLAMA_CPP_REFERENCE_MICROS[`${type}/${threads}/${rows}x${cols}`] : undefined;
            const result: KernelBenchResult = {
              implementation,
              kernel: kernel.name,
              type,
              rows,
              cols,
              tokens,
              threads,
              microsPerCall: micros,
              weightGBps,
              bandwidthFraction: weightGBps / bw,
              speedupVsJsFp32: (fp32 * tokens) / micros,
              ...(llama ? { speedupVsLlamaCpp: llama / micros } : {}),
              copies,
            };
            results.push(result);
            options.onResult?.(result);
          }
          if (implementation === 'js' && threads === 1 && (type === 'tq2_0' || type === 'tq1_0')) {
            // TL1 (pair lookups) beside the default JS path, one token, for comparison.
            const tl1 = prepareTl1({ format: type, data, rows, cols });
            const x = new Float32Array(cols).fill(0.25);
            const micros = timeMicros(() => tl1Gemv(tl1, x), minMs);
            const weightGBps = matrix.byteLength / micros / 1000;
            const result: KernelBenchResult = {
              implementation,
              kernel: 'js-tl1',
              type,
              rows,
              cols,
              tokens: 1,
              threads: 1,
              microsPerCall: micros,
              weightGBps,
              bandwidthFraction: weightGBps / bw,
              speedupVsJsFp32: fp32 / micros,
              copies: 1,
            };
            results.push(result);
            options.onResult?.(result);
          }
        }
      }
      await kernel.dispose();
    }
  }
  return { bandwidth, jsFp32, results, skipped };
}

/** The report as aligned text tables. */
export function formatKernelBench(report: KernelBenchReport): string {
  const lines: string[] = [];
  lines.push('Memory read bandwidth (same run):');
  for (const b of report.bandwidth) lines.push(`  ${b.threads} thread(s): ${b.GBps.toFixed(1)} GB/s (${b.method})`);
  lines.push('JS float32 GEMV baseline (same run):');
  for (const f of report.jsFp32) lines.push(`  ${f.rows}×${f.cols}: ${f.microsPerCall.toFixed(0)} µs`);
  for (const s of report.skipped) lines.push(`skipped ${s.implementation}: ${s.reason}`);
  const cold = report.results.some((r) => r.copies > 1);
  if (cold)
    lines.push(
      `Cold: calls cycle through the copies of their matrix in the copies column (about ${COLD_BYTES / 2 ** 20} MiB), so weights come from memory, as in a decode step.`,
    );
  const header = [
    'kernel',
    'type',
    'out×in',
    'tokens',
    'thr',
    ...(cold ? ['copies'] : []),
    'µs/call',
    'GB/s',
    '% bw',
    '× JS fp32',
    '× llama.cpp',
  ];
  const rows = report.results.map((r) => [
    r.kernel,
    r.type,
    `${r.rows}×${r.cols}`,
    String(r.tokens),
    String(r.threads),
    ...(cold ? [String(r.copies)] : []),
    r.microsPerCall.toFixed(0),
    r.weightGBps.toFixed(2),
    `${(r.bandwidthFraction * 100).toFixed(0)}%`,
    r.speedupVsJsFp32.toFixed(1),
    r.speedupVsLlamaCpp === undefined ? '' : r.speedupVsLlamaCpp.toFixed(2),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  lines.push('', line(header), ...rows.map(line));
  lines.push(
    '',
    '× llama.cpp: llama.cpp µs measured once on a reference machine (2-core Sapphire Rapids; LLAMA_CPP_REFERENCE_MICROS) ÷ ours; > 1 is faster.',
  );
  return lines.join('\n');
}
