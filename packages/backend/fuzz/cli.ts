/**
 * `pnpm --filter @trit/backend fuzz -- [options]`: the long fuzz run, or one
 * input rerun in this process with full stacks.
 *
 *   --format gguf|safetensors|all   (default all)
 *   --count N        inputs per format (default 1000)
 *   --start N        first index (default 0)
 *   --seed N         run seed (default 1)
 *   --parallel N     children at once (default 2)
 *   --timeout MS     per-input hang limit (default 10000)
 *   --heap MB        child V8 heap cap (default 1024)
 *   --memory MB      child RSS limit (default 3072)
 *   --backend js|wasm|native   kernel (default js)
 *   --json FILE      also write the full report(s) as JSON
 *   --index N[,N…]   rerun just these inputs here, printing each stage's error and stack
 *   --save DIR       with --index: also write the inputs' files under DIR/<index>/
 *
 * Exits 1 when a run finds an untyped error, a crash or a hang.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKernel } from '@trit/tl1-kernel';
import { buildCorpus, type FuzzFormat } from './corpus.js';
import { mutateInput } from './mutate.js';
import { type FuzzReport, formatReport, runFuzz } from './run.js';
import { runInput } from './stages.js';

function parseArgs(argv: string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [key, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    args.set(key, inline ?? (argv[++i] as string));
  }
  return args;
}

function integer(args: Map<string, string>, key: string, fallback: number): number {
  const text = args.get(key);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${key} must be a non-negative integer, got ${text}`);
  return n;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const format = args.get('format') ?? 'all';
  if (!['gguf', 'safetensors', 'all'].includes(format)) throw new Error(`--format must be gguf, safetensors or all`);
  const formats: FuzzFormat[] = format === 'all' ? ['gguf', 'safetensors'] : [format as FuzzFormat];
  const seed = integer(args, 'seed', 1);
  const backend = (args.get('backend') ?? 'js') as 'js' | 'wasm' | 'native';
  const root = await mkdtemp(join(tmpdir(), 'trit-fuzz-'));
  try {
    const corpusDir = join(root, 'corpus');
    const corpus = await buildCorpus(corpusDir);

    if (args.has('index')) {
      const kernel = await loadKernel({ implementation: backend, threads: 1 });
      const indices = (args.get('index') as string).split(',').map(Number);
      for (const f of formats) {
        for (const index of indices) {
          const input = mutateInput(corpus, f, seed, index);
          console.log(`\n#${index} (${f}, seed ${seed}) from ${input.seed}:`);
          for (const m of input.mutations) console.log(`  - ${m}`);
          const save = args.get('save');
          if (save) {
            const dir = join(save, `${f}-${index}`);
            await mkdir(dir, { recursive: true });
            for (const [name, bytes] of input.files) await writeFile(join(dir, name), bytes);
            console.log(`  files written to ${dir}`);
          }
          const result = await runInput(input, {
            kernel,
            workDir: join(root, 'work'),
            onStage: (stage) => console.log(`  stage ${stage}…`),
          });
          for (const s of result.stages) {
            console.log(`  ${s.stage}: ${s.outcome}${s.error ? ` — ${s.error.name}: ${s.error.message}` : ''}`);
            if (s.outcome === 'untyped' && s.error?.stack) console.log(s.error.stack.replace(/^/gm, '      '));
          }
          console.log(`  → ${result.outcome} in ${result.ms.toFixed(0)} ms`);
        }
      }
      await kernel.dispose();
      return 0;
    }

    const count = integer(args, 'count', 1000);
    const reports: FuzzReport[] = [];
    for (const f of formats) {
      let lastPrint = 0;
      const report = await runFuzz({
        format: f,
        count,
        start: integer(args, 'start', 0),
        seed,
        parallel: integer(args, 'parallel', 2),
        timeoutMs: integer(args, 'timeout', 10_000),
        heapMb: integer(args, 'heap', 1024),
        memoryLimitMb: integer(args, 'memory', 3072),
        corpusDir,
        workRoot: root,
        backend,
        describe: (index) => mutateInput(corpus, f, seed, index),
        onRecord: (record, done) => {
          if (record.outcome !== 'ok' && record.outcome !== 'typed')
            console.log(
              `  #${record.index} ${record.outcome} in ${record.stage}: ${record.error?.message.split('\n')[0]}`,
            );
          if (performance.now() - lastPrint > 10_000 || done === count) {
            lastPrint = performance.now();
            console.log(`${f}: ${done}/${count}`);
          }
        },
      });
      console.log(`\n${formatReport(report)}\n`);
      reports.push(report);
    }
    const json = args.get('json');
    if (json) await writeFile(json, JSON.stringify(reports, null, 2));
    return reports.some((r) => r.findings.length > 0) ? 1 : 0;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
