/**
 * What one fuzz input goes through, and how each stage's failure is judged.
 * Runs in a worker child (worker.ts) or, to reproduce one input with full
 * stacks, in the CLI's own process.
 *
 * A stage ends `ok`, `typed` (it threw one of the packages' error classes:
 * the caller can tell what was wrong with the file) or `untyped` (anything
 * else: a TypeError from a name that reached a prototype, a RangeError from
 * an allocation sized by the file, …). A typed error whose message is a
 * JavaScript engine error (ModelLoadError wraps whatever load hits) counts as
 * untyped: the wrapper hides the bug, it does not make it a diagnosis.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantizeError, QuantizerConfigError, quantizeModel } from '@trit/convert';
import { GgufError, readGguf, validateGguf } from '@trit/gguf';
import { FLOAT32_READABLE_DTYPES, openSafetensorsModel, readSafetensors, SafetensorsError } from '@trit/safetensors';
import { TernaryFormatError, TernaryLengthError, TernaryValueError } from '@trit/ternary';
import { KernelFormatError, KernelLoadError, KernelShapeError, type TernaryKernel } from '@trit/tl1-kernel';
import {
  TokenIdError,
  TokenizerMetadataError,
  UnknownPreTokenizerError,
  UnsupportedTokenizerError,
} from '@trit/tokenizer';
import { BackendUsageError, BitNetBackend, ContextOverflowError, ModelLoadError } from '../src/index.js';
import type { FuzzInput } from './mutate.js';

export type StageOutcome = 'ok' | 'typed' | 'untyped';

export interface ErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

export interface StageResult {
  stage: string;
  outcome: StageOutcome;
  error?: ErrorInfo;
}

export interface InputResult {
  index: number;
  seed: string;
  mutations: string[];
  stages: StageResult[];
  /** The worst stage outcome. */
  outcome: StageOutcome;
  /** validateModel's verdict, when it ran to completion. */
  canLoad?: boolean;
  ms: number;
}

/** The packages' error classes. GgufError and SafetensorsError cover their subclasses. */
const TYPED_ERRORS: readonly (abstract new (...args: never[]) => Error)[] = [
  GgufError,
  SafetensorsError,
  ModelLoadError,
  BackendUsageError,
  ContextOverflowError,
  QuantizeError,
  QuantizerConfigError,
  TokenizerMetadataError,
  UnknownPreTokenizerError,
  UnsupportedTokenizerError,
  TokenIdError,
  TernaryLengthError,
  TernaryValueError,
  TernaryFormatError,
  KernelLoadError,
  KernelShapeError,
  KernelFormatError,
];

/** Messages V8 writes: a typed error carrying one of these is wrapping a bug. */
const ENGINE_MESSAGE =
  /Cannot read properties of|Cannot set properties of|is not a function|is not iterable|is not a constructor|Invalid array length|Invalid typed array length|Array buffer allocation failed|Maximum call stack size exceeded|Invalid string length|Cannot convert .* to a BigInt|Cannot mix BigInt|Cannot create property|out of memory|Start offset .* is outside the bounds|offset is out of bounds/;

/** Whether `error` is one of ours: by class, or by file-io's LocatedError base (not a dependency here, so by name). */
export function isTypedError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (TYPED_ERRORS.some((Class) => error instanceof Class)) return true;
  for (let p = Object.getPrototypeOf(error); p && p !== Error.prototype; p = Object.getPrototypeOf(p))
    if (p.constructor?.name === 'LocatedError') return true;
  return false;
}

export function classifyError(error: unknown): StageOutcome {
  if (!isTypedError(error)) return 'untyped';
  return ENGINE_MESSAGE.test((error as Error).message) ? 'untyped' : 'typed';
}

export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: typeof error, message: String(error) };
}

const RANK: Record<StageOutcome, number> = { ok: 0, typed: 1, untyped: 2 };

export function worst(outcomes: Iterable<StageOutcome>): StageOutcome {
  let w: StageOutcome = 'ok';
  for (const o of outcomes) if (RANK[o] > RANK[w]) w = o;
  return w;
}

export interface StageContext {
  kernel: TernaryKernel;
  /** A directory of its own, emptied before each input. */
  workDir: string;
  /** Told the stage's name before it starts, so a crash or hang can be placed. */
  onStage?: (stage: string) => void;
}

/** Runs `fn`, keeping the worst failure; later failures in one stage are sub-steps (one tensor of many). */
class Stages {
  readonly results: StageResult[] = [];
  constructor(private readonly context: StageContext) {}

  async run<T>(stage: string, fn: (note: (error: unknown) => void) => Promise<T>): Promise<T | undefined> {
    this.context.onStage?.(stage);
    const result: StageResult = { stage, outcome: 'ok' };
    this.results.push(result);
    // Sub-steps report errors they recover from through `note`, so one bad tensor does not hide another.
    const note = (error: unknown) => {
      const outcome = classifyError(error);
      if (RANK[outcome] > RANK[result.outcome]) {
        result.outcome = outcome;
        result.error = errorInfo(error);
      }
    };
    try {
      return await fn(note);
    } catch (error) {
      note(error);
      return undefined;
    }
  }
}

async function writeInput(input: FuzzInput, dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of input.files) await writeFile(join(dir, name), bytes);
}

/** Evaluates two tokens, generates two greedily and round-trips text through the tokenizer. */
async function exercise(backend: BitNetBackend): Promise<void> {
  const vocab = backend.vocabSize;
  backend.evaluate([1 % vocab, 2 % vocab]);
  for await (const _ of backend.generate([1 % vocab], { maxTokens: 2, temperature: 0 })) {
    // Only that it runs.
  }
  const tokenizer = backend.tokenizer;
  // Names a vocabulary kept in a plain object would find on its prototype.
  if (tokenizer) tokenizer.decode(tokenizer.encode('Hello world, ternary 123 __proto__ constructor toString'));
}

const PROTOTYPES: readonly [string, object][] = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
];
const PRISTINE = new Map(PROTOTYPES.map(([name, proto]) => [name, new Set(Reflect.ownKeys(proto))]));

/** Members an input added to a built-in prototype (removed again, so the next input starts clean). */
function pollution(): string[] {
  const added: string[] = [];
  for (const [name, proto] of PROTOTYPES) {
    for (const key of Reflect.ownKeys(proto)) {
      if (PRISTINE.get(name)?.has(key)) continue;
      added.push(`${name}.${String(key)}`);
      Reflect.deleteProperty(proto, key);
    }
  }
  return added;
}

async function runGguf(input: FuzzInput, context: StageContext, stages: Stages): Promise<boolean | undefined> {
  const path = join(context.workDir, 'model.gguf');
  const bytes = input.files.get('model.gguf') ?? new Uint8Array();
  await stages.run('read', async (note) => {
    const file = await readGguf(path);
    for (const t of file.tensors) {
      try {
        await file.readTensorData(t.name);
        if (t.elementCount <= 1 << 22) await file.dequantizeTensor(t.name);
      } catch (error) {
        note(error);
      }
    }
  });
  // From bytes, not the path: the reader's other source.
  await stages.run('validate', () => validateGguf(bytes, { checkTensorData: true }));
  const verdict = await stages.run('validateModel', () => BitNetBackend.validateModel(path));
  await stages.run('discover', () => BitNetBackend.discoverTensors(path));
  await loadAndExercise(path, context, stages);
  // The converter reads a GGUF too (dequantizing whatever it holds) and copies its metadata.
  const output = join(context.workDir, 'requantized.gguf');
  await stages.run('quantize', () =>
    quantizeModel(path, output, { format: input.index % 2 === 0 ? 'tq2_0' : 'tq1_0' }),
  );
  return verdict?.canLoad;
}

/** The `load` stage, then (when it loaded) the `evaluate` stage on the model. */
async function loadAndExercise(path: string, context: StageContext, stages: Stages): Promise<void> {
  const backend = await stages.run('load', () => BitNetBackend.load(path, { kernel: context.kernel }));
  if (!backend) return;
  await stages.run('evaluate', async () => {
    try {
      await exercise(backend);
    } finally {
      await backend.dispose();
    }
  });
}

async function runSafetensors(input: FuzzInput, context: StageContext, stages: Stages): Promise<void> {
  const dir = context.workDir;
  const readable = new Set<string>(FLOAT32_READABLE_DTYPES);
  await stages.run('read', async (note) => {
    for (const name of [...input.files.keys()].filter((n) => n.endsWith('.safetensors'))) {
      try {
        const file = await readSafetensors(join(dir, name));
        for (const t of file.tensors) {
          try {
            await file.readTensorData(t);
            if (readable.has(t.dtype)) await file.readTensorFloat32(t);
          } catch (error) {
            note(error);
          }
        }
      } catch (error) {
        note(error);
      }
    }
  });
  await stages.run('open', async (note) => {
    const model = await openSafetensorsModel(dir);
    for (const t of model.tensors) {
      try {
        if (readable.has(t.dtype)) await model.readTensorFloat32(t.name);
        else await model.readTensorData(t.name);
      } catch (error) {
        note(error);
      }
    }
  });
  const output = join(dir, 'quantized.gguf');
  const quantized = await stages.run('quantize', () =>
    quantizeModel(dir, output, { format: input.index % 2 === 0 ? 'tq2_0' : 'tq1_0' }),
  );
  if (quantized) await loadAndExercise(output, context, stages);
}

/**
 * Known-bad behaviours, one per index (mod the list), so a test can check the
 * harness counts each class: a probe that crashes must be reported as a crash.
 */
export const PROBES = {
  ok: () => undefined,
  typed: () => {
    throw new GgufError('probe: a typed error');
  },
  untyped: () => {
    throw new TypeError('probe: an untyped error');
  },
  wrapped: () => {
    throw new ModelLoadError('probe', "Cannot read properties of undefined (reading 'weight')");
  },
  abort: () => process.abort(),
  exit: () => process.exit(3),
  hang: () => {
    for (;;);
  },
  'heap-limit': () => {
    const hoard: number[][] = [];
    for (;;) hoard.push(Array.from({ length: 1 << 16 }, (_, i) => i + 0.5));
  },
  'memory-limit': () => {
    // Outside the JS heap, so only the parent's RSS watch (Linux) can stop it; capped at 1.5 GiB, then it spins.
    const hoard: Uint8Array[] = [];
    for (let i = 0; i < 48; i++) hoard.push(new Uint8Array(32 << 20).fill(1));
    for (;;);
  },
} as const;

export type ProbeName = keyof typeof PROBES;
export const PROBE_NAMES = Object.keys(PROBES) as ProbeName[];

export async function runProbe(index: number, context: StageContext): Promise<InputResult> {
  const name = PROBE_NAMES[index % PROBE_NAMES.length] as ProbeName;
  const stages = new Stages(context);
  await stages.run(`probe-${name}`, async () => PROBES[name]());
  return {
    index,
    seed: 'probe',
    mutations: [name],
    stages: stages.results,
    outcome: worst(stages.results.map((s) => s.outcome)),
    ms: 0,
  };
}

/** Runs one input through every stage of its format. */
export async function runInput(input: FuzzInput, context: StageContext): Promise<InputResult> {
  const started = performance.now();
  const stages = new Stages(context);
  await writeInput(input, context.workDir);
  let canLoad: boolean | undefined;
  if (input.format === 'gguf') canLoad = await runGguf(input, context, stages);
  else await runSafetensors(input, context, stages);
  const polluted = pollution();
  if (polluted.length > 0)
    stages.results.push({
      stage: 'prototypes',
      outcome: 'untyped',
      error: { name: 'PrototypePollution', message: `the input added ${polluted.join(', ')}` },
    });
  return {
    index: input.index,
    seed: input.seed,
    mutations: input.mutations,
    stages: stages.results,
    outcome: worst(stages.results.map((s) => s.outcome)),
    canLoad,
    ms: performance.now() - started,
  };
}
