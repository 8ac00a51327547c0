/**
 * The fuzz orchestrator: hands input indices to at most `parallel` worker
 * children, one index at a time, and turns what comes back (or does not) into
 * a record per input: ok, typed or untyped error (from the child's report),
 * crash (the child died: a signal, a non-zero exit, the V8 heap limit, or the
 * RSS watch below), or hang (no answer within the time limit; the child is
 * killed). A new child takes over at the next index after a crash or hang.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FuzzFormat } from './corpus.js';
import type { ErrorInfo, StageOutcome, StageResult } from './stages.js';
import type { FromWorker, ToWorker, WorkerConfig } from './worker.js';

export type Outcome = StageOutcome | 'crash' | 'hang';
export const OUTCOMES: readonly Outcome[] = ['ok', 'typed', 'untyped', 'crash', 'hang'];

export interface InputRecord {
  index: number;
  outcome: Outcome;
  seed?: string;
  mutations?: string[];
  /** The stage that failed worst, or the one running at a crash or hang. */
  stage?: string;
  error?: ErrorInfo;
  stages?: StageResult[];
  canLoad?: boolean;
  ms?: number;
}

export interface FuzzOptions {
  format: FuzzFormat | 'probe';
  /** Inputs start…start+count−1. */
  count: number;
  start?: number;
  /** Run seed: with the index, it fixes an input's bytes. Default 1. */
  seed?: number;
  /** Children at once; default 2. */
  parallel?: number;
  /** Per-input limit before the child is killed as hung; default 10 s. */
  timeoutMs?: number;
  /** The child's V8 heap cap (--max-old-space-size); default 1024 MiB. */
  heapMb?: number;
  /** A child whose resident memory passes this is killed and the input counted a crash; default 3072 MiB. */
  memoryLimitMb?: number;
  /** Inputs per child before a fresh one takes over (bounds what a leak can add up to); default 250. */
  recycleAfter?: number;
  /** A corpus written by buildCorpus (not needed for `probe`). */
  corpusDir?: string;
  /** Where children make their work directories. */
  workRoot: string;
  backend?: WorkerConfig['backend'];
  /** Rebuilds an input's description for a crash or hang (the child could not send it). */
  describe?: (index: number) => { seed: string; mutations: string[] };
  onRecord?: (record: InputRecord, done: number) => void;
}

export interface FuzzReport {
  format: FuzzFormat | 'probe';
  seed: number;
  start: number;
  count: number;
  elapsedMs: number;
  counts: Record<Outcome, number>;
  /** Per stage: how often it ended ok, typed, untyped. */
  stages: Record<string, Record<StageOutcome, number>>;
  /** `stage: ErrorName` → count, over every stage that failed. */
  errorClasses: Record<string, number>;
  /** Inputs whose header(s) parsed: GGUF validateModel answered, safetensors openSafetensorsModel succeeded. */
  pastHeader: number;
  /** Inputs BitNetBackend.load accepted (the GGUF, or the GGUF the safetensors model was quantized to). */
  loaded: number;
  /**
   * Inputs where two stages disagree about the same model: GGUF, validateModel's
   * canLoad against load; safetensors, quantizeModel wrote a GGUF that load refuses.
   */
  disagreements: number[];
  peakRssKb: number;
  peakRssIndex: number;
  /** Every input, by index. */
  records: InputRecord[];
  /** The untyped errors, crashes and hangs. */
  findings: InputRecord[];
}

const here = dirname(fileURLToPath(import.meta.url));
const WORKER = join(here, 'worker.ts');
const TSCONFIG = join(here, '..', 'tsconfig.json');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface ChildOptions {
  config: WorkerConfig;
  heapMb: number;
  memoryLimitMb: number;
  timeoutMs: number;
}

/** Resident and peak resident memory of a process, in KiB (Linux; zeros elsewhere). */
async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

class Child {
  dead = false;
  peakKb = 0;
  private stage: string | undefined;
  private stderr = '';
  private killedFor: 'hang' | 'memory' | undefined;
  private closing = false;
  private pending: ((record: InputRecord & { maxRssKb?: number }) => void) | undefined;
  private index = -1;
  private readonly watch: NodeJS.Timeout;
  /** The last record this child produced, for a crash that comes after its answer. */
  last: InputRecord | undefined;
  readonly exited: Promise<void>;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly options: ChildOptions,
  ) {
    // A send to a child that just died emits 'error'; its exit is what gets reported.
    proc.on('error', () => undefined);
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.watch = setInterval(async () => {
      if (this.dead || proc.pid === undefined) return;
      const { rss, hwm } = await memoryOf(proc.pid);
      this.peakKb = Math.max(this.peakKb, hwm, rss);
      if (rss > this.options.memoryLimitMb * 1024 && !this.killedFor) {
        this.killedFor = 'memory';
        proc.kill('SIGKILL');
      }
    }, 100);
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        this.dead = true;
        clearInterval(this.watch);
        this.exit(code, signal);
        resolve();
      }),
    );
    proc.on('message', (message: FromWorker) => {
      if (message.type === 'stage' && message.index === this.index) this.stage = message.stage;
      else if (message.type === 'result' && message.result.index === this.index && this.pending) {
        const { result } = message;
        const failed = result.stages.find((s) => s.outcome === result.outcome && s.outcome !== 'ok');
        const resolve = this.pending;
        this.pending = undefined;
        resolve({
          index: result.index,
          outcome: result.outcome,
          seed: result.seed,
          mutations: result.mutations,
          stage: failed?.stage,
          error: failed?.error,
          stages: result.stages,
          canLoad: result.canLoad,
          ms: result.ms,
          maxRssKb: message.maxRssKb,
        });
      }
    });
  }

  static start(options: ChildOptions): Promise<Child> {
    const proc = fork(WORKER, [JSON.stringify(options.config)], {
      execArgv: ['--import', TSX, `--max-old-space-size=${options.heapMb}`],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // In the work root: a core dump or stray file from a dying child lands there and is removed with it.
      cwd: options.config.workRoot,
      env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG },
    });
    const child = new Child(proc, options);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error('fuzz worker did not start within 120 s'));
      }, 120_000);
      proc.once('message', (message: FromWorker) => {
        clearTimeout(timer);
        if (message.type === 'ready') resolve(child);
        else reject(new Error(`fuzz worker sent ${message.type} before ready`));
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`fuzz worker exited before ready (${signal ?? code}): ${child.stderr}`));
      });
    });
  }

  private exit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closing && !this.pending) return;
    const how = this.killedFor === 'hang' ? 'hang' : 'crash';
    const error: ErrorInfo = {
      name:
        this.killedFor === 'hang'
          ? 'Timeout'
          : this.killedFor === 'memory'
            ? 'MemoryLimit'
            : signal
              ? `Signal ${signal}`
              : `Exit ${code}`,
      message:
        this.killedFor === 'hang'
          ? `no answer within ${this.options.timeoutMs} ms`
          : this.killedFor === 'memory'
            ? `resident memory passed ${this.options.memoryLimitMb} MiB`
            : this.stderr.trim().split('\n').slice(-12).join('\n') || '(nothing on stderr)',
    };
    if (this.pending) {
      const resolve = this.pending;
      this.pending = undefined;
      resolve({ index: this.index, outcome: how, stage: this.stage, error });
    } else if (this.last) {
      // Died between inputs: something the last input left running (a timer, a rejected promise) killed it.
      Object.assign(this.last, { outcome: 'crash', stage: `after ${this.last.stage ?? 'the last stage'}`, error });
    }
  }

  run(index: number): Promise<InputRecord & { maxRssKb?: number }> {
    this.index = index;
    this.stage = undefined;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.killedFor = 'hang';
        this.proc.kill('SIGKILL');
      }, this.options.timeoutMs);
      this.pending = (record) => {
        clearTimeout(timer);
        resolve(record);
      };
      this.proc.send({ type: 'input', index } satisfies ToWorker);
    });
  }

  close(): void {
    if (this.dead || this.closing) return;
    this.closing = true;
    this.proc.send({ type: 'exit' } satisfies ToWorker);
    setTimeout(() => this.proc.kill('SIGKILL'), 10_000).unref();
  }
}

function emptyCounts(): Record<Outcome, number> {
  return { ok: 0, typed: 0, untyped: 0, crash: 0, hang: 0 };
}

/** Runs inputs start…start+count−1 of one format and reports every one. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const start = options.start ?? 0;
  const seed = options.seed ?? 1;
  const childOptions: ChildOptions = {
    config: {
      format: options.format,
      seed,
      corpusDir: options.corpusDir,
      workRoot: options.workRoot,
      backend: options.backend ?? 'js',
    },
    heapMb: options.heapMb ?? 1024,
    memoryLimitMb: options.memoryLimitMb ?? 3072,
    timeoutMs: options.timeoutMs ?? 10_000,
  };
  const recycleAfter = options.recycleAfter ?? 250;
  const records: InputRecord[] = [];
  const children: Child[] = [];
  let peakRssKb = 0;
  let peakRssIndex = -1;
  let next = 0;

  const slot = async () => {
    let child: Child | undefined;
    let served = 0;
    try {
      while (next < options.count) {
        const index = start + next++;
        if (!child || child.dead || served >= recycleAfter) {
          child?.close();
          child = await Child.start(childOptions);
          children.push(child);
          served = 0;
        }
        const { maxRssKb = 0, ...record } = await child.run(index);
        served++;
        const described =
          record.outcome === 'crash' || record.outcome === 'hang' ? options.describe?.(index) : undefined;
        if (described) [record.seed, record.mutations] = [described.seed, described.mutations];
        const rss = Math.max(maxRssKb, child.peakKb);
        if (rss > peakRssKb) [peakRssKb, peakRssIndex] = [rss, index];
        child.last = record;
        records.push(record);
        options.onRecord?.(record, records.length);
      }
    } finally {
      child?.close();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 2) }, slot));
  await Promise.all(children.map((c) => c.exited));
  for (const c of children) if (c.peakKb > peakRssKb) peakRssKb = c.peakKb;

  records.sort((a, b) => a.index - b.index);
  const counts = emptyCounts();
  const stages: FuzzReport['stages'] = {};
  const errorClasses: Record<string, number> = {};
  let pastHeader = 0;
  let loaded = 0;
  const disagreements: number[] = [];
  for (const r of records) {
    counts[r.outcome]++;
    for (const s of r.stages ?? []) {
      stages[s.stage] ??= { ok: 0, typed: 0, untyped: 0 };
      (stages[s.stage] as Record<StageOutcome, number>)[s.outcome]++;
      if (s.error) errorClasses[`${s.stage}: ${s.error.name}`] = (errorClasses[`${s.stage}: ${s.error.name}`] ?? 0) + 1;
    }
    const ok = (stage: string) => r.stages?.some((s) => s.stage === stage && s.outcome === 'ok') ?? false;
    if (ok(options.format === 'gguf' ? 'validateModel' : 'open')) pastHeader++;
    if (ok('load')) loaded++;
    if (options.format === 'gguf' && r.canLoad !== undefined && r.canLoad !== ok('load')) disagreements.push(r.index);
    if (options.format === 'safetensors' && ok('quantize') && !ok('load')) disagreements.push(r.index);
  }
  return {
    format: options.format,
    seed,
    start,
    count: options.count,
    elapsedMs: performance.now() - started,
    counts,
    stages,
    errorClasses,
    pastHeader,
    loaded,
    disagreements,
    peakRssKb,
    peakRssIndex,
    records,
    findings: records.filter((r) => r.outcome === 'untyped' || r.outcome === 'crash' || r.outcome === 'hang'),
  };
}

/** A finding's message with numbers and paths blanked, so one defect hit many times reads as one line. */
function signature(r: InputRecord): string {
  const message = (r.error?.message ?? '')
    .split('\n')[0]
    ?.replace(/\/[^\s,:"')]+/g, '<path>')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
  return `${r.outcome} in ${r.stage ?? '?'}: ${r.error?.name ?? '?'}: ${message}`;
}

const pct = (n: number, of: number) => `${of ? ((100 * n) / of).toFixed(1) : '0.0'}%`;

/** The summary: counts per class and stage, peak memory, and each distinct finding with its indices. */
export function formatReport(report: FuzzReport, rerun = 'pnpm --filter @trit/backend fuzz --'): string {
  const { counts, count } = report;
  const lines = [
    `fuzz ${report.format}: ${count} inputs (seed ${report.seed}, indices ${report.start}–${report.start + count - 1}) in ${(report.elapsedMs / 1000).toFixed(1)} s`,
    `  ${OUTCOMES.map((o) => `${o} ${counts[o]}`).join(', ')}`,
    `  past the header ${report.pastHeader} (${pct(report.pastHeader, count)}), loaded ${report.loaded} (${pct(report.loaded, count)})`,
    `  ${report.format === 'gguf' ? 'validateModel and load disagree' : 'quantized but not loadable'}: ${report.disagreements.length}${report.disagreements.length ? ` (#${report.disagreements.slice(0, 10).join(', #')})` : ''}`,
    `  peak RSS ${(report.peakRssKb / 1024).toFixed(0)} MiB (input ${report.peakRssIndex})`,
    '  stages:',
    ...Object.entries(report.stages).map(
      ([stage, c]) => `    ${stage.padEnd(14)} ok ${c.ok}, typed ${c.typed}, untyped ${c.untyped}`,
    ),
    '  errors:',
    ...Object.entries(report.errorClasses)
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `    ${String(n).padStart(6)}  ${name}`),
  ];
  const groups = new Map<string, InputRecord[]>();
  for (const r of report.findings) groups.set(signature(r), [...(groups.get(signature(r)) ?? []), r]);
  if (groups.size > 0) lines.push(`  findings (${report.findings.length}, ${groups.size} distinct):`);
  for (const [sig, rs] of groups) {
    const first = rs[0] as InputRecord;
    lines.push(`    ${rs.length}× ${sig}`);
    lines.push(
      `       e.g. #${rs
        .map((r) => r.index)
        .slice(0, 8)
        .join(', #')}`,
    );
    lines.push(`       #${first.index}: seed ${first.seed}; ${first.mutations?.join('; ').slice(0, 300)}`);
    lines.push(`       ${first.error?.message.split('\n')[0]?.slice(0, 300)}`);
    lines.push(`       rerun: ${rerun} --format ${report.format} --seed ${report.seed} --index ${first.index}`);
  }
  return lines.join('\n');
}
