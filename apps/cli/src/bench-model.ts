/**
 * `trit bench model`: prefill and decode speed of one GGUF file, optionally
 * against llama.cpp (node-llama-cpp) on the same file, tokens and threads in
 * the same run. Each runtime is measured in its own child process, so peak
 * RSS is that runtime's alone and neither competes with the other's threads.
 * With several rounds the runtimes alternate (trit first in even rounds), and
 * ratios are medians of each round's ratio: on a shared machine the load
 * drifts between runs, and a pair measured back to back sees the most similar
 * conditions.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StageProfile } from '@trit/backend';
import { createRng } from '@trit/testkit';
import { UsageError } from './errors.js';

export type BenchRuntime = 'trit' | 'llama.cpp';

export interface BenchModelOptions {
  threads: number;
  /** Prompt tokens timed as one prefill. Default 512. */
  promptTokens?: number;
  /** Tokens decoded one at a time (greedy). Default 128. */
  decodeTokens?: number;
  /** trit's kernel: auto, native, wasm or js. */
  backend?: 'auto' | 'native' | 'wasm' | 'js';
  /** The KV cache type of both runtimes (default f16, the default of both). */
  kvCache?: 'f16' | 'f32';
  vsLlamaCpp?: boolean;
  /** After the timed runs, run trit's prefill and decode again with stage timing (profile.ts in @trit/backend). */
  profile?: boolean;
  /** Measurements of each runtime, alternating (default 1). */
  rounds?: number;
  /** Called before each runtime starts. */
  onStage?: (stage: string) => void;
}

export interface RuntimeMeasurement {
  runtime: BenchRuntime;
  /** Which round (0-based) of `bench model --rounds` this run belongs to. */
  round?: number;
  /** trit's kernel name, or "llama.cpp cpu". */
  engine: string;
  threads: number;
  loadMs: number;
  prefillTokens: number;
  prefillMs: number;
  prefillTokensPerSecond: number;
  decodeTokens: number;
  decodeMs: number;
  decodeTokensPerSecond: number;
  /** The child process's peak resident set (weights, caches, runtime). */
  peakRssBytes: number;
  /** Greedy tokens decoded after the prompt. */
  tokens: number[];
  /** trit with --profile: stage times of a separate, profiled prefill and decode (the timed runs above are not profiled). */
  profile?: { prefill: StageProfile; decode: StageProfile };
}

export interface ModelBenchReport {
  model: string;
  architecture: string;
  fileBytes: number;
  threads: number;
  promptTokens: number;
  decodeTokens: number;
  /** Both runtimes' KV cache type. */
  kvCache: 'f16' | 'f32';
  /** Tensor bytes one decoded token reads (every weight, plus the embedding when it is also the output). */
  bytesPerToken: number;
  bandwidth: { GBps: number; method: string };
  /** Bandwidth over bytes per token: no runtime decodes faster than this. */
  decodeCeilingTokensPerSecond: number;
  /** Rounds measured: each runtime once per round. */
  rounds: number;
  runs: RuntimeMeasurement[];
  /** Per runtime, over its rounds: median, lowest and highest speeds. */
  summary: RuntimeSummary[];
  /**
   * trit over llama.cpp (> 1 is faster for speeds; < 1 is smaller for memory): the median of
   * each round's ratio, with the lowest and highest; the greedy prefix is round 0's.
   */
  vsLlamaCpp?: {
    prefill: number;
    decode: number;
    peakRss: number;
    prefillRange: [number, number];
    decodeRange: [number, number];
    sameGreedyPrefix: number;
  };
  /** Why llama.cpp was not measured, when asked to be. */
  llamaCppUnavailable?: string;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface RuntimeSummary {
  runtime: BenchRuntime;
  engine: string;
  rounds: number;
  prefillTokensPerSecond: Spread;
  decodeTokensPerSecond: Spread;
  peakRssBytes: Spread;
}

/** Median (mean of the middle two for an even count), lowest and highest. */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN };
}

/** The prompt both runtimes see: deterministic ids spread over the vocabulary. */
export function benchTokens(count: number, vocabSize: number): number[] {
  const rng = createRng(0x2545f491);
  return Array.from({ length: count }, () => rng.nextInt(vocabSize));
}

/** What both sides need from the header: the vocabulary the prompt ids come from, and the bytes a decoded token reads. */
async function fileFacts(path: string): Promise<{
  architecture: string;
  fileBytes: number;
  bytesPerToken: number;
  vocabSize: number;
  contextLength: number;
}> {
  const { readGguf, rowMajorShape } = await import('@trit/gguf');
  const file = await readGguf(path);
  const tied = !file.hasTensor('output.weight');
  let bytesPerToken = 0;
  for (const t of file.tensors) if (t.name !== 'token_embd.weight' || tied) bytesPerToken += t.byteSize;
  const embeddingRows = rowMajorShape(file.tensor('token_embd.weight'))[0];
  const tokens = file.metadata.has('tokenizer.ggml.tokens')
    ? file.metadata.getStringArray('tokenizer.ggml.tokens').length
    : embeddingRows;
  const architecture = file.metadata.getString('general.architecture');
  return {
    architecture,
    contextLength: file.metadata.getNumber(`${architecture}.context_length`, Number.POSITIVE_INFINITY),
    fileBytes: file.byteLength,
    bytesPerToken,
    vocabSize: Math.min(tokens, embeddingRows),
  };
}

/** Where this CLI's entry script is (for the child processes): dist/cli.js beside this bundle. */
function cliScript(): string {
  for (const candidate of ['./cli.js', '../dist/cli.js']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('cannot find the trit CLI script (dist/cli.js) to measure in a child process: build the CLI first');
}

/** Runs one runtime's measurement in a child process and parses its JSON line. */
function measureInChild(path: string, runtime: BenchRuntime, options: BenchModelOptions): Promise<RuntimeMeasurement> {
  const args = [
    cliScript(),
    'bench',
    'model',
    path,
    '--child',
    runtime,
    '--threads',
    String(options.threads),
    '--prompt-tokens',
    String(options.promptTokens ?? 512),
    '--decode-tokens',
    String(options.decodeTokens ?? 128),
    '--backend',
    options.backend ?? 'auto',
    '--kv-cache',
    options.kvCache ?? 'f16',
    ...(options.profile && runtime === 'trit' ? ['--profile'] : []),
  ];
  return new Promise((resolve, reject) => {
    // The parent's Node flags too (e.g. --experimental-wasm-relaxed-simd on Node 20).
    const child = spawn(process.execPath, [...process.execArgv, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as RuntimeMeasurement);
      else
        reject(
          new Error(
            `measuring ${runtime} failed (${signal ? `signal ${signal}` : `exit ${code}`}): ${stderr.trim().split('\n').slice(-5).join('\n') || stdout.trim()}`,
          ),
        );
    });
  });
}

/** The child's side: load, warm up, then time the prefill and the greedy decode. */
export async function measureRuntime(
  path: string,
  runtime: BenchRuntime,
  options: BenchModelOptions,
): Promise<RuntimeMeasurement> {
  const P = options.promptTokens ?? 512;
  const D = options.decodeTokens ?? 128;
  const threads = options.threads;
  const started = performance.now();
  if (runtime === 'trit') {
    const { BitNetBackend } = await import('@trit/backend');
    const model = await BitNetBackend.load(path, {
      kernelImplementation: options.backend ?? 'auto',
      threads,
      contextSize: P + D + 1,
      kvCacheType: options.kvCache ?? 'f16',
    });
    try {
      const loadMs = performance.now() - started;
      const prompt = benchTokens(P + 1, model.vocabSize);
      // Warm-up, so the timed runs see compiled code, not the JIT's first passes.
      model.evaluate(prompt.slice(0, Math.min(P, 16)));
      for (let i = 0; i < 4; i++) model.forwardToken(prompt[i] as number);
      model.resetCache();
      let t = performance.now();
      model.evaluate(prompt.slice(0, P));
      const prefillMs = performance.now() - t;
      const tokens: number[] = [];
      // Greedy as `run` decodes: the kernel's argmax (no JS scan of the vocabulary).
      const argmax = (logits: Float32Array) => model.kernel.argmax(logits);
      let next = prompt[P] as number;
      t = performance.now();
      for (let i = 0; i < D; i++) {
        next = argmax(model.forwardToken(next));
        tokens.push(next);
      }
      const decodeMs = performance.now() - t;
      const result = measurement('trit', model.kernel.name, threads, loadMs, P, prefillMs, decodeMs, tokens);
      if (!options.profile) return result;
      // The same work again, timed by stage; kept apart so the clock reads never touch the numbers above.
      model.resetCache();
      model.startProfile();
      model.evaluate(prompt.slice(0, P));
      const prefill = model.stopProfile() as StageProfile;
      next = prompt[P] as number;
      model.startProfile();
      let samplingMs = 0;
      for (let i = 0; i < D; i++) {
        const logits = model.forwardToken(next);
        const s = performance.now();
        next = argmax(logits);
        samplingMs += performance.now() - s;
      }
      const decode = model.stopProfile() as StageProfile;
      decode.ms.sampling += samplingMs;
      return { ...result, profile: { prefill, decode } };
    } finally {
      await model.dispose();
    }
  }
  const { loadLlamaCpp, disposeLlamaCpp } = await import('@trit/testkit/llama-cpp');
  const loaded = await loadLlamaCpp({ strict: false, maxThreads: threads });
  if (!loaded.llama) throw new Error(loaded.unavailable);
  const llama = loaded.llama;
  try {
    const model = await llama.loadModel({ modelPath: path });
    // Its defaults otherwise (F16 KV cache, its batch size): what a llama.cpp user runs.
    const kv = options.kvCache === 'f32' ? 'F32' : 'F16';
    const context = await model.createContext({
      contextSize: P + D + 16,
      threads,
      experimentalKvCacheKeyType: kv,
      experimentalKvCacheValueType: kv,
    });
    const loadMs = performance.now() - started;
    const prompt = benchTokens(P + 1, (await fileFacts(path)).vocabSize);
    const sequence = context.getSequence();
    await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, Math.min(P, 16)) as never);
    await sequence.clearHistory();
    let t = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, P) as never);
    const prefillMs = performance.now() - t;
    const tokens: number[] = [];
    t = performance.now();
    for await (const token of sequence.evaluate([prompt[P]] as never, { temperature: 0 })) {
      tokens.push(token as number);
      if (tokens.length === D) break;
    }
    const decodeMs = performance.now() - t;
    await context.dispose();
    await model.dispose();
    return measurement('llama.cpp', 'llama.cpp cpu', threads, loadMs, P, prefillMs, decodeMs, tokens);
  } finally {
    await disposeLlamaCpp(llama);
  }
}

function measurement(
  runtime: BenchRuntime,
  engine: string,
  threads: number,
  loadMs: number,
  prefillTokens: number,
  prefillMs: number,
  decodeMs: number,
  tokens: number[],
): RuntimeMeasurement {
  return {
    runtime,
    engine,
    threads,
    loadMs,
    prefillTokens,
    prefillMs,
    prefillTokensPerSecond: (prefillTokens * 1000) / prefillMs,
    decodeTokens: tokens.length,
    decodeMs,
    decodeTokensPerSecond: (tokens.length * 1000) / decodeMs,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    tokens,
  };
}

/** The parent's side: the file's numbers, the bandwidth ceiling, then each runtime in its own process. */
export async function benchModel(path: string, options: BenchModelOptions): Promise<ModelBenchReport> {
  const { architecture, fileBytes, bytesPerToken: bytes, contextLength } = await fileFacts(path);
  const positions = (options.promptTokens ?? 512) + (options.decodeTokens ?? 128) + 1;
  if (positions > contextLength)
    throw new UsageError(
      `--prompt-tokens and --decode-tokens need ${positions} positions, more than the model's context_length ${contextLength}`,
    );
  options.onStage?.('measuring memory bandwidth');
  const { measureMemoryBandwidth } = await import('@trit/tl1-kernel');
  const bandwidth = (await measureMemoryBandwidth([options.threads]))[0] ?? { GBps: Number.NaN, method: 'unmeasured' };
  const rounds = options.rounds ?? 1;
  const runs: RuntimeMeasurement[] = [];
  let llamaCppUnavailable: string | undefined;
  for (let round = 0; round < rounds; round++) {
    const order: BenchRuntime[] = round % 2 === 0 ? ['trit', 'llama.cpp'] : ['llama.cpp', 'trit'];
    for (const runtime of order) {
      if (runtime === 'llama.cpp' && (!options.vsLlamaCpp || llamaCppUnavailable !== undefined)) continue;
      options.onStage?.(rounds > 1 ? `${runtime} (round ${round + 1} of ${rounds})` : runtime);
      // Profiling is one more, separate run: once is enough.
      const roundOptions = { ...options, profile: options.profile === true && round === 0 };
      try {
        runs.push({ ...(await measureInChild(path, runtime, roundOptions)), round });
      } catch (error) {
        if (runtime === 'trit') throw error;
        llamaCppUnavailable = (error as Error).message;
      }
    }
  }
  const summary = (['trit', 'llama.cpp'] as const).flatMap((runtime): RuntimeSummary[] => {
    const mine = runs.filter((r) => r.runtime === runtime);
    if (mine.length === 0) return [];
    return [
      {
        runtime,
        engine: mine[0]?.engine ?? '',
        rounds: mine.length,
        prefillTokensPerSecond: spread(mine.map((r) => r.prefillTokensPerSecond)),
        decodeTokensPerSecond: spread(mine.map((r) => r.decodeTokensPerSecond)),
        peakRssBytes: spread(mine.map((r) => r.peakRssBytes)),
      },
    ];
  });
  // Pairs of the same round; a round whose llama.cpp run failed has none.
  const pairs = runs.flatMap((ours) => {
    const theirs = ours.runtime === 'trit' && runs.find((r) => r.runtime === 'llama.cpp' && r.round === ours.round);
    return theirs ? [{ ours, theirs }] : [];
  });
  let vsLlamaCpp: ModelBenchReport['vsLlamaCpp'];
  const first = pairs[0];
  if (first) {
    let same = 0;
    while (same < first.ours.tokens.length && first.ours.tokens[same] === first.theirs.tokens[same]) same++;
    const prefill = spread(pairs.map((p) => p.ours.prefillTokensPerSecond / p.theirs.prefillTokensPerSecond));
    const decode = spread(pairs.map((p) => p.ours.decodeTokensPerSecond / p.theirs.decodeTokensPerSecond));
    vsLlamaCpp = {
      prefill: prefill.median,
      decode: decode.median,
      peakRss: spread(pairs.map((p) => p.ours.peakRssBytes / p.theirs.peakRssBytes)).median,
      prefillRange: [prefill.min, prefill.max],
      decodeRange: [decode.min, decode.max],
      sameGreedyPrefix: same,
    };
  }
  return {
    model: path,
    architecture,
    fileBytes,
    threads: options.threads,
    promptTokens: options.promptTokens ?? 512,
    decodeTokens: options.decodeTokens ?? 128,
    kvCache: options.kvCache ?? 'f16',
    bytesPerToken: bytes,
    bandwidth: { GBps: bandwidth.GBps, method: bandwidth.method },
    decodeCeilingTokensPerSecond: (bandwidth.GBps * 1e9) / bytes,
    rounds,
    runs,
    summary,
    ...(vsLlamaCpp ? { vsLlamaCpp } : {}),
    ...(llamaCppUnavailable ? { llamaCppUnavailable } : {}),
  };
}

const GB = 1e9;

export function formatModelBench(r: ModelBenchReport): string {
  const lines = [
    `trit bench model: ${r.model}`,
    `  ${r.architecture}, ${(r.fileBytes / GB).toFixed(2)} GB; ${r.threads} thread${r.threads === 1 ? '' : 's'}; prefill ${r.promptTokens} tokens, then ${r.decodeTokens} greedy tokens one at a time; ${r.kvCache} KV cache`,
    ...(r.rounds > 1
      ? [`  ${r.rounds} rounds, the runtimes alternating; ratios are the median of each round's ratio`]
      : []),
    `  memory bandwidth ≈ ${r.bandwidth.GBps.toFixed(1)} GB/s (${r.bandwidth.method}); a token reads ${(r.bytesPerToken / GB).toFixed(2)} GB of weights, so decode cannot beat ≈ ${r.decodeCeilingTokensPerSecond.toFixed(1)} tok/s`,
    '',
  ];
  const runName = (run: RuntimeMeasurement) =>
    (run.runtime === 'trit' ? `trit ${run.engine} ×${run.threads}` : `llama.cpp ×${run.threads}`) +
    (r.rounds > 1 ? ` #${(run.round ?? 0) + 1}` : '');
  const w = Math.max(22, ...r.runs.map((run) => runName(run).length + 2));
  const row = (label: string, load: string, prefill: string, decode: string, rss: string) =>
    `  ${label.padEnd(w)}${load.padStart(8)}${prefill.padStart(16)}${decode.padStart(15)}${rss.padStart(12)}`.trimEnd();
  lines.push(row('runtime', 'load', 'prefill tok/s', 'decode tok/s', 'peak RSS'));
  for (const run of r.runs) {
    lines.push(
      row(
        runName(run),
        `${(run.loadMs / 1000).toFixed(1)} s`,
        run.prefillTokensPerSecond.toFixed(1),
        run.decodeTokensPerSecond.toFixed(1),
        `${(run.peakRssBytes / GB).toFixed(2)} GB`,
      ),
    );
  }
  const range = (lo: number, hi: number, digits: number, unit = '') =>
    `${lo.toFixed(digits)}–${hi.toFixed(digits)}${unit}`;
  if (r.rounds > 1) {
    const cell = (x: Spread) => `${x.median.toFixed(1)} (${range(x.min, x.max, 1)})`;
    lines.push(
      '',
      `  ${'median (lowest–highest)'.padEnd(w)}${'prefill tok/s'.padStart(26)}${'decode tok/s'.padStart(26)}`,
    );
    for (const x of r.summary) {
      const name = x.runtime === 'trit' ? `trit ${x.engine}` : 'llama.cpp';
      lines.push(
        `  ${name.padEnd(w)}${cell(x.prefillTokensPerSecond).padStart(26)}${cell(x.decodeTokensPerSecond).padStart(26)}`,
      );
    }
    lines.push('');
  }
  if (r.vsLlamaCpp) {
    const v = r.vsLlamaCpp;
    lines.push(
      row('trit / llama.cpp', '', `${v.prefill.toFixed(2)}×`, `${v.decode.toFixed(2)}×`, `${v.peakRss.toFixed(2)}×`),
    );
    if (r.rounds > 1)
      lines.push(row('  per-round range', '', range(...v.prefillRange, 2, '×'), range(...v.decodeRange, 2, '×'), ''));
    lines.push(
      '',
      `  greedy decode: the first ${v.sameGreedyPrefix} of ${r.decodeTokens} tokens are the same in both runtimes` +
        ' (ternary weights: llama.cpp rounds activations per 256-block, BitNet per token, so they drift apart)',
    );
  }
  if (r.llamaCppUnavailable) lines.push('', `  llama.cpp not measured: ${r.llamaCppUnavailable}`);
  const profiled = r.runs.find((run) => run.profile);
  if (profiled?.profile) lines.push('', ...formatProfile(profiled.profile));
  return lines.join('\n');
}

/** The --profile table: ms per token and share of the total for each stage, decode and prefill side by side. */
function formatProfile(profile: { prefill: StageProfile; decode: StageProfile }): string[] {
  const { decode, prefill } = profile;
  const total = (p: StageProfile) => Object.values(p.ms).reduce((a, b) => a + b, 0);
  const [decodeTotal, prefillTotal] = [total(decode), total(prefill)];
  const cell = (p: StageProfile, all: number, stage: keyof StageProfile['ms']) =>
    `${(p.ms[stage] / Math.max(1, p.tokens)).toFixed(3).padStart(10)}${`${((100 * p.ms[stage]) / all).toFixed(1)}%`.padStart(8)}`;
  const lines = [
    `  trit by stage (a separate profiled run; kernel calls include their thread dispatch and wait):`,
    `  ${'stage'.padEnd(14)}${'decode ms/token'.padStart(18)}${'prefill ms/token'.padStart(18)}`,
  ];
  for (const stage of Object.keys(decode.ms) as (keyof StageProfile['ms'])[])
    lines.push(`  ${stage.padEnd(14)}${cell(decode, decodeTotal, stage)}${cell(prefill, prefillTotal, stage)}`);
  lines.push(
    `  ${'total'.padEnd(14)}${(decodeTotal / Math.max(1, decode.tokens)).toFixed(3).padStart(10)}${''.padStart(8)}${(prefillTotal / Math.max(1, prefill.tokens)).toFixed(3).padStart(10)}`,
  );
  return lines;
}
