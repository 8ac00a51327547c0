import packageJson from '../package.json' with { type: 'json' };
import { checkInputFile, parseCommand } from './args.js';
import { runDemo } from './demo.js';
import { InputError, UsageError } from './errors.js';
import { formatDemoReport } from './format-report.js';
import { formatInspectReport, formatValidateReport, inspectFile, validateFile } from './inspect.js';
import {
  abortOnInterrupt,
  formatQuantizeReport,
  formatStats,
  parseLayers,
  parseQuantizeChoices,
  progressBar,
} from './model-commands.js';
import { formatTokenizeReport, loadTokenizer, tokenize } from './tokenize.js';

export const VERSION: string = packageJson.version;

const USAGE = `Usage: trit <command> [options]

Commands:
  demo [--json] [--seed N]   the tour: quantize, pack, store and multiply a built-in tensor, then
                             synthesize, quantize, validate and run a whole tiny model
  inspect <file.gguf> [--json] list metadata and tensors by group (embedding/output, norms,
                             attention, FFN/experts), with types, shapes, sizes, bits/weight
  validate <file.gguf> [--json] [--check-data] [--vocab-only]
                             check a GGUF the way llama.cpp loads it, and, for the architectures
                             trit runs, that every tensor and the tokenizer load; exit 0 if valid,
                             1 if not; --check-data also scans every tensor for non-finite values
                             and scales and non-ternary codes; --vocab-only expects no tensors
  tokenize <model.gguf | tokenizer.json> [--text T | --file F] [--json] [--no-special] [--parse-special]
                             print the token ids and pieces of a text (default: standard input);
                             --no-special leaves out BOS/EOS, --parse-special matches "<|…|>" text
  synth --arch llama|bitnet --preset tiny|small|bitnet-2b [--seed N] -o DIR [--gguf [--f32]]
                             write a deterministic synthetic model in Hugging Face layout
                             (config.json, safetensors, tokenizer.json), or as a float GGUF
  quantize <hf-dir | model.safetensors | model.gguf> -o out.gguf [--format tq2_0|tq1_0|i2_s|t158]
           [--layers all|experts|<globs>] [--scales tensor|block] [--no-optimize-scales]
           [--output-type f16|q8_0|…] [--embedding-type f16|q8_0|…] [--json]
                             quantize projections to ternary, tensor by tensor; llama.cpp loads
                             the result (i2_s is bitnet.cpp's, t158 RuvLLM's). BitNet checkpoints
                             keep their trained codes: packed ones as published, master weights
                             by per-tensor absmean; float models get per-block absmean + scale search
  run <model.gguf> [-p|--prompt T] [-n|--max-tokens 128] [--temp|--temperature X] [--top-k K]
      [--top-p P] [--min-p P] [--repeat-penalty R] [--seed N] [--context N] [--kv-cache f16|f32]
      [--kernel|--backend auto|native|wasm|js] [--threads N] [--json]
                             generate text, streaming, then print prefill/decode speed;
                             the KV cache holds halves unless --kv-cache f32 (as llama.cpp)
  bench kernel [--json] [--quick] [--cold] [--backend B] [--threads N] [--type T] [--shape OUTxIN] [--tokens N]
                             time the ternary and dense GEMV/GEMM kernels against memory
                             bandwidth and a JS float32 GEMV, measured in the same run;
                             --cold cycles each call through copies of its matrix (256 MiB), so
                             weights stream from memory as in decoding, not from cache;
                             each option may repeat (B: native|wasm|js, T: tq2_0|tq1_0|f16|q8_0|q4_0|q4_k|q5_k|q6_k)
  bench model <model.gguf> [--threads N] [--prompt-tokens 512] [--decode-tokens 128]
              [--kernel|--backend auto|native|wasm|js] [--kv-cache f16|f32] [--vs-llama-cpp]
              [--profile] [--rounds N] [--json]
                             prefill and decode tokens/s and peak RSS, each runtime in its own
                             process; --vs-llama-cpp runs llama.cpp (node-llama-cpp) on the same
                             file, tokens, threads and KV cache type, and prints the ratios; --profile reruns
                             trit's prefill and decode timing each stage (GEMV groups with their
                             norms and residual adds, attention, glue, head, sampling) per token; --rounds N measures each runtime
                             N times, alternating, and gives medians, ranges and per-round ratios

Options:
  -h, --help                 show this help
  -v, --version              print the version

Set TRIT_DEBUG=1 to print stack traces.`;

export { UsageError } from './errors.js';

/** Runs the trit command line; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`trit: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

async function dispatch(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    console.log(VERSION);
    return 0;
  }
  if (command === 'demo') return demo(rest);
  if (command === 'bench') return bench(rest);
  if (command === 'inspect') return inspect(rest);
  if (command === 'validate') return validate(rest);
  if (command === 'tokenize') return tokenizeCommand(rest);
  if (command === 'synth') return synth(rest);
  if (command === 'quantize') return quantize(rest);
  if (command === 'run') return runModel(rest);
  throw new UsageError(`unknown command "${command}"`);
}

async function demo(args: readonly string[]): Promise<number> {
  const { values } = parseCommand({
    args: [...args],
    options: { json: { type: 'boolean', default: false }, seed: { type: 'string' } },
    strict: true,
  });
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new UsageError(`--seed must be a non-negative integer, got "${values.seed}"`);
  }
  const report = await runDemo({ seed });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatDemoReport(report));
  return 0;
}

function singleFile(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one file, got ${positionals.length}`);
  return positionals[0] as string;
}

async function inspect(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand({
    args: [...args],
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const path = singleFile('inspect', positionals);
  await checkInputFile(path, 'a .gguf file');
  const { file, report } = await inspectFile(path);
  console.log(values.json ? JSON.stringify(report, null, 2) : formatInspectReport(file, report));
  return 0;
}

async function validate(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand({
    args: [...args],
    options: {
      json: { type: 'boolean', default: false },
      'check-data': { type: 'boolean', default: false },
      'vocab-only': { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const path = singleFile('validate', positionals);
  await checkInputFile(path, 'a .gguf file');
  const tty = process.stderr.isTTY && !values.json;
  const report = await validateFile(path, {
    checkTensorData: values['check-data'],
    vocabOnly: values['vocab-only'],
    onProgress: tty
      ? (done, total) =>
          process.stderr.write(`\r\x1b[Kchecking tensor data: ${((100 * done) / Math.max(total, 1)).toFixed(0)}%`)
      : undefined,
  });
  if (tty && values['check-data']) process.stderr.write('\r\x1b[K');
  console.log(values.json ? JSON.stringify(report, null, 2) : formatValidateReport(report));
  return report.ok ? 0 : 1;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function tokenizeCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand({
    args: [...args],
    options: {
      json: { type: 'boolean', default: false },
      text: { type: 'string' },
      file: { type: 'string' },
      'no-special': { type: 'boolean', default: false },
      'parse-special': { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const source = singleFile('tokenize', positionals);
  if (values.text !== undefined && values.file !== undefined) throw new UsageError('give --text or --file, not both');
  await checkInputFile(source, 'a .gguf or tokenizer.json');
  if (values.file !== undefined) await checkInputFile(values.file, 'a text file');
  const { readFile } = await import('node:fs/promises');
  const text =
    values.text ??
    (values.file !== undefined
      ? await readFile(values.file, 'utf8')
      : process.stdin.isTTY
        ? (() => {
            throw new UsageError('tokenize needs --text, --file, or text on standard input');
          })()
        : await readStdin());
  const tokenizer = await loadTokenizer(source);
  const report = tokenize(tokenizer, source, text, {
    addSpecial: !values['no-special'],
    parseSpecial: values['parse-special'],
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatTokenizeReport(report));
  return 0;
}

function integerOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer in ${min}–${max}, got "${value}"`);
  return n;
}

function numberOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number in ${min}–${max}, got "${value}"`);
  return n;
}

/** Tells the user about each temporary of an earlier, killed run that was removed (or directory restored). */
function reportCleanup(notice: { message: string }): void {
  console.error(`trit: ${notice.message}`);
}

/** An output file path that is an existing directory would fail at the final rename, after all the work. */
async function checkOutputFile(path: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  const stats = await stat(path).catch(() => undefined);
  if (stats?.isDirectory()) throw new InputError(path, 'is a directory; give the path of the .gguf file to write');
}

/**
 * Runs a job that writes `output` under Ctrl-C handling (abortOnInterrupt):
 * an interrupted job exits 130 saying nothing was written, since the
 * writers remove their temporaries and leave any old output as it was.
 */
async function interruptible<T>(
  command: string,
  output: string,
  job: (signal: AbortSignal) => Promise<T>,
  report: (result: T) => void,
): Promise<number> {
  const interrupt = abortOnInterrupt();
  try {
    const result = await job(interrupt.signal);
    if (interrupt.signal.aborted) {
      // Ctrl-C during the final renames: the new output is complete and in place.
      console.error(`trit: ${command} interrupted after ${output} was complete; it was kept`);
      return 130;
    }
    report(result);
    return 0;
  } catch (error) {
    if (interrupt.signal.aborted) {
      console.error(`trit: ${command} interrupted; no output was written`);
      return 130;
    }
    throw error;
  } finally {
    interrupt.dispose();
  }
}

async function synth(args: readonly string[]): Promise<number> {
  const { values } = parseCommand({
    args: [...args],
    options: {
      arch: { type: 'string' },
      preset: { type: 'string', default: 'tiny' },
      seed: { type: 'string' },
      output: { type: 'string', short: 'o' },
      gguf: { type: 'boolean', default: false },
      f32: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const arch = values.arch;
  if (arch !== 'llama' && arch !== 'bitnet')
    throw new UsageError(`--arch must be llama or bitnet, got "${arch ?? ''}"`);
  const preset = values.preset;
  if (preset !== 'tiny' && preset !== 'small' && preset !== 'bitnet-2b')
    throw new UsageError(`--preset must be tiny, small or bitnet-2b, got "${preset}"`);
  const output = values.output;
  if (!output) throw new UsageError('synth needs -o DIR (or -o FILE.gguf with --gguf)');
  const seed = integerOption('seed', values.seed, 0, 2 ** 31) ?? 0;
  if (values.gguf) await checkOutputFile(output);
  const { synthesizeGguf, synthesizeModel } = await import('@trit/synth');
  const bar = progressBar('synth');
  try {
    return await interruptible(
      'synth',
      output,
      (signal) => {
        const options = {
          arch,
          preset,
          seed,
          output,
          signal,
          onProgress: (d: number, t: number, name: string) => bar.update(d, t, name),
          onCleanup: reportCleanup,
        } as const;
        return values.gguf
          ? synthesizeGguf({ ...options, ggufPath: output, floatType: values.f32 ? 'f32' : 'f16' })
          : synthesizeModel(options);
      },
      (result) => {
        bar.end();
        if (values.json) console.log(JSON.stringify(result, null, 2));
        else
          console.log(
            `${arch} ${preset} (seed ${seed}): ${result.parameters.toLocaleString('en-US')} parameters\n${result.files.map((f) => `  ${f}`).join('\n')}`,
          );
      },
    );
  } finally {
    bar.end();
  }
}

async function quantize(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand({
    args: [...args],
    options: {
      output: { type: 'string', short: 'o' },
      format: { type: 'string', default: 'tq2_0' },
      layers: { type: 'string' },
      scales: { type: 'string' },
      'no-optimize-scales': { type: 'boolean', default: false },
      'output-type': { type: 'string' },
      'embedding-type': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const input = singleFile('quantize', positionals);
  const output = values.output;
  if (!output) throw new UsageError('quantize needs -o out.gguf');
  const { format, scales } = parseQuantizeChoices(values.format, values.scales);
  await checkOutputFile(output);
  const { cleanStaleTemporaries } = await import('@trit/file-io');
  const { dirname, resolve } = await import('node:path');
  await cleanStaleTemporaries(dirname(resolve(output)), { onCleanup: reportCleanup });
  const { quantizeModel } = await import('@trit/convert');
  const bar = progressBar('quantize');
  try {
    return await interruptible(
      'quantize',
      output,
      (signal) =>
        quantizeModel(input, output, {
          format,
          layers: parseLayers(values.layers),
          scales,
          ...(values['no-optimize-scales'] ? { optimizeScales: false } : {}),
          outputType: values['output-type'],
          embeddingType: values['embedding-type'],
          signal,
          onProgress: (p) => bar.update(p.bytesWritten, p.totalBytes, `${p.index}/${p.count} ${p.tensor}`),
        }),
      (report) => {
        bar.end();
        console.log(values.json ? JSON.stringify(report, null, 2) : formatQuantizeReport(report));
      },
    );
  } finally {
    bar.end();
  }
}

/** An option with two spellings (`--kernel` for `--backend`, `--temp` for `--temperature`): either, not two different values. */
function alias(
  value: string | undefined,
  other: string | undefined,
  name: string,
  otherName: string,
): string | undefined {
  if (value !== undefined && other !== undefined && value !== other)
    throw new UsageError(`${name} and ${otherName} are the same option; got "${value}" and "${other}"`);
  return value ?? other;
}

async function runModel(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand({
    args: [...args],
    options: {
      prompt: { type: 'string', short: 'p', default: 'The' },
      'max-tokens': { type: 'string', short: 'n' },
      temperature: { type: 'string' },
      temp: { type: 'string' },
      kernel: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'min-p': { type: 'string' },
      'repeat-penalty': { type: 'string' },
      seed: { type: 'string' },
      context: { type: 'string' },
      'kv-cache': { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const path = singleFile('run', positionals);
  const backendName = alias(values.backend, values.kernel, '--backend', '--kernel');
  const temperature = alias(values.temperature, values.temp, '--temperature', '--temp');
  if (backendName !== undefined && !['auto', 'native', 'wasm', 'js'].includes(backendName))
    throw new UsageError(`--backend must be auto, native, wasm or js, got "${backendName}"`);
  const sampling = {
    maxTokens: integerOption('max-tokens', values['max-tokens'], 0, 1 << 20) ?? 128,
    temperature: numberOption('temperature', temperature, 0, 100),
    topK: integerOption('top-k', values['top-k'], 0, 1 << 24),
    topP: numberOption('top-p', values['top-p'], 0, 1),
    minP: numberOption('min-p', values['min-p'], 0, 1),
    repeatPenalty: numberOption('repeat-penalty', values['repeat-penalty'], 0, 100),
    seed: integerOption('seed', values.seed, 0, 2 ** 32 - 1),
  };
  const loadOptions = {
    contextSize: integerOption('context', values.context, 1, 1 << 20),
    kvCacheType: kvCacheOption(values['kv-cache']),
    kernelImplementation: backendName as 'auto' | 'native' | 'wasm' | 'js' | undefined,
    threads: integerOption('threads', values.threads, 1, 256),
  };
  await checkInputFile(path, 'a .gguf file');
  const { BitNetBackend } = await import('@trit/backend');
  const model = await BitNetBackend.load(path, loadOptions);
  const interrupt = abortOnInterrupt();
  try {
    const tokens: { id: number; text: string }[] = [];
    const generator = model.generate(values.prompt, { ...sampling, signal: interrupt.signal });
    if (!values.json) process.stdout.write(values.prompt);
    for await (const token of generator) {
      tokens.push(token);
      if (!values.json) process.stdout.write(token.text);
    }
    const stats = model.lastStats;
    if (values.json)
      console.log(
        JSON.stringify(
          {
            model: path,
            kernel: model.kernel.name,
            prompt: values.prompt,
            text: tokens.map((t) => t.text).join(''),
            tokens: tokens.filter((t) => t.id >= 0).map((t) => t.id),
            stats,
          },
          null,
          2,
        ),
      );
    else console.error(`\n[${model.kernel.name}] ${formatStats(stats)}`);
    return 0;
  } finally {
    interrupt.dispose();
    await model.dispose();
  }
}

/** --kv-cache f16|f32 (default f16, as llama.cpp). */
function kvCacheOption(value: string | undefined): 'f16' | 'f32' {
  if (value === undefined) return 'f16';
  if (value !== 'f16' && value !== 'f32') throw new UsageError(`--kv-cache must be f16 or f32, got "${value}"`);
  return value;
}

async function benchModelCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommand({
    args: [...args],
    options: {
      json: { type: 'boolean', default: false },
      threads: { type: 'string' },
      'prompt-tokens': { type: 'string' },
      'decode-tokens': { type: 'string' },
      backend: { type: 'string' },
      kernel: { type: 'string' },
      'vs-llama-cpp': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'kv-cache': { type: 'string' },
      rounds: { type: 'string' },
      /** Internal: measure one runtime and print its JSON (the parent runs each runtime in a child). */
      child: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [path, ...extra] = positionals;
  if (!path || extra.length > 0) throw new UsageError('bench model takes one GGUF file');
  const backend = alias(values.backend, values.kernel, '--backend', '--kernel') ?? 'auto';
  if (backend !== 'auto' && backend !== 'native' && backend !== 'wasm' && backend !== 'js')
    throw new UsageError(`--backend must be auto, native, wasm or js, got "${backend}"`);
  const { availableParallelism } = await import('node:os');
  const options = {
    threads: integerOption('threads', values.threads, 1, 256) ?? Math.min(availableParallelism(), 8),
    promptTokens: integerOption('prompt-tokens', values['prompt-tokens'], 1, 8192) ?? 512,
    decodeTokens: integerOption('decode-tokens', values['decode-tokens'], 1, 8192) ?? 128,
    backend: backend as 'auto' | 'native' | 'wasm' | 'js',
    vsLlamaCpp: values['vs-llama-cpp'],
    profile: values.profile,
    kvCache: kvCacheOption(values['kv-cache']),
    rounds: integerOption('rounds', values.rounds, 1, 50) ?? 1,
  } as const;
  await checkInputFile(path, 'a .gguf file');
  const { benchModel, formatModelBench, measureRuntime } = await import('./bench-model.js');
  if (values.child !== undefined) {
    if (values.child !== 'trit' && values.child !== 'llama.cpp')
      throw new UsageError(`unknown runtime "${values.child}"`);
    console.log(JSON.stringify(await measureRuntime(path, values.child, options)));
    return 0;
  }
  const report = await benchModel(path, {
    ...options,
    onStage: process.stderr.isTTY ? (stage) => process.stderr.write(`\r\x1b[Kmeasuring ${stage}…`) : undefined,
  });
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  console.log(values.json ? JSON.stringify(report, null, 2) : formatModelBench(report));
  return 0;
}

async function bench(args: readonly string[]): Promise<number> {
  const [what, ...rest] = args;
  if (what === 'model') return benchModelCommand(rest);
  if (what !== 'kernel')
    throw new UsageError(`bench: unknown target "${what ?? ''}"; try "trit bench kernel" or "trit bench model"`);
  const { values } = parseCommand({
    args: [...rest],
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      cold: { type: 'boolean', default: false },
      backend: { type: 'string', multiple: true },
      threads: { type: 'string', multiple: true },
      type: { type: 'string', multiple: true },
      shape: { type: 'string', multiple: true },
      tokens: { type: 'string', multiple: true },
    },
    strict: true,
  });
  const backends = values.backend?.map((b) => {
    if (b !== 'native' && b !== 'wasm' && b !== 'js')
      throw new UsageError(`--backend must be native, wasm or js, got "${b}"`);
    return b;
  });
  const threads = values.threads?.map((t) => {
    const n = Number(t);
    if (!Number.isSafeInteger(n) || n < 1 || n > 256) throw new UsageError(`--threads must be 1–256, got "${t}"`);
    return n;
  });
  const types = values.type?.map((t) => {
    const known = ['tq2_0', 'tq1_0', 'f16', 'q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'] as const;
    const type = known.find((k) => k === t);
    if (!type) throw new UsageError(`--type must be ${known.join(', ')}, got "${t}"`);
    return type;
  });
  const shapes = values.shape?.map((text): [number, number] => {
    const match = /^(\d+)x(\d+)$/.exec(text);
    const rows = Number(match?.[1]);
    const cols = Number(match?.[2]);
    if (!match || rows < 1 || cols < 256 || cols % 256 !== 0) {
      throw new UsageError(`--shape must be OUTxIN with IN a multiple of 256, got "${text}"`);
    }
    return [rows, cols];
  });
  const tokens = values.tokens?.map((t) => {
    const n = Number(t);
    if (!Number.isSafeInteger(n) || n < 1 || n > 4096) throw new UsageError(`--tokens must be 1–4096, got "${t}"`);
    return n;
  });
  const { formatKernelBench, runKernelBench } = await import('@trit/tl1-kernel');
  const report = await runKernelBench({
    ...(backends ? { implementations: backends } : {}),
    ...(threads ? { threads } : {}),
    ...(types ? { types } : {}),
    ...(shapes ? { shapes } : {}),
    ...(tokens ? { tokens } : {}),
    ...(values.cold ? { cold: true } : {}),
    ...(values.quick
      ? {
          minMs: 100,
          shapes: [
            [2560, 6912],
            [6912, 2560],
          ],
          tokens: [1, 8],
        }
      : {}),
    onResult: process.stderr.isTTY
      ? (r) =>
          process.stderr.write(
            `\r\x1b[K${r.kernel} ${r.type} ${r.rows}×${r.cols} t${r.tokens} ×${r.threads}: ${r.microsPerCall.toFixed(0)} µs`,
          )
      : undefined,
  });
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  console.log(values.json ? JSON.stringify(report, null, 2) : formatKernelBench(report));
  return 0;
}
