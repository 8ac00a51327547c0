/**
 * llama.cpp as an independent reference, through the binaries node-llama-cpp
 * ships on npm. Where they cannot run (a platform without prebuilt binaries)
 * the caller gets a reason to skip with; on linux-x64, where CI runs, a
 * failure is an error, never a skip.
 */
type GetLlama = typeof import('node-llama-cpp').getLlama;
export type LlamaCpp = Awaited<ReturnType<GetLlama>>;

/** getLlama forks a child to test the binary first; under heavy load that takes seconds, never minutes. */
const START_TIMEOUT_MS = 120_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface LoadLlamaCppOptions {
  /**
   * Throw when node-llama-cpp cannot run on linux-x64, where CI runs and it
   * must (default true, for tests). The CLI passes false: there llama.cpp is
   * an optional comparison, and "unavailable" is an answer.
   */
  strict?: boolean;
  /** llama.cpp's thread pool size (default: its own choice). */
  maxThreads?: number;
}

export async function loadLlamaCpp(
  options: LoadLlamaCppOptions = {},
): Promise<{ llama: LlamaCpp; unavailable?: undefined } | { llama?: undefined; unavailable: string }> {
  let getLlama: GetLlama;
  try {
    ({ getLlama } = await import('node-llama-cpp'));
  } catch (error) {
    if (options.strict ?? true) throw error;
    return {
      unavailable: `node-llama-cpp is not installed (npm i node-llama-cpp@3.21.1): ${(error as Error).message}`,
    };
  }
  try {
    const llama = await withTimeout(
      getLlama({
        gpu: false,
        build: 'never',
        progressLogs: false,
        logLevel: 'error' as never,
        ...(options.maxThreads ? { maxThreads: options.maxThreads } : {}),
      }),
      START_TIMEOUT_MS,
      'node-llama-cpp getLlama()',
    );
    return { llama };
  } catch (error) {
    if ((options.strict ?? true) && process.platform === 'linux' && process.arch === 'x64') throw error;
    return {
      unavailable: `node-llama-cpp cannot run on ${process.platform}-${process.arch}: ${(error as Error).message}`,
    };
  }
}

/**
 * Releases llama.cpp's native resources. Test files call this in afterAll so
 * the worker process has nothing left that could keep it from exiting.
 */
export async function disposeLlamaCpp(llama: LlamaCpp | undefined): Promise<void> {
  if (llama) await withTimeout(llama.dispose(), 30_000, 'node-llama-cpp dispose()');
}

/**
 * Context options that make llama.cpp compute like trit with `kvCacheType: 'f32'`: an f32 KV cache
 * (F16, the default of both, moves logits by ~1e-3 and flips near-ties) and no flash attention.
 */
export const LIKE_TRIT_CONTEXT = {
  experimentalKvCacheKeyType: 'F32',
  experimentalKvCacheValueType: 'F32',
  flashAttention: false,
} as const;

/** The same with llama.cpp's default F16 KV cache, to compare with trit's default `kvCacheType: 'f16'`. */
export const LIKE_TRIT_F16_CONTEXT = {
  experimentalKvCacheKeyType: 'F16',
  experimentalKvCacheValueType: 'F16',
  flashAttention: false,
} as const;

/**
 * llama.cpp's next-token distribution after each of `tokens`, teacher-forced.
 * The context is LIKE_TRIT_CONTEXT, or LIKE_TRIT_F16_CONTEXT with `kvCache: 'F16'`.
 */
export async function llamaCppDistributions(
  llama: LlamaCpp,
  path: string,
  tokens: readonly number[],
  options: { contextSize: number; threads?: number; kvCache?: 'F32' | 'F16' },
): Promise<(ReadonlyMap<number, number> | undefined)[]> {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const context = await model.createContext({
      contextSize: options.contextSize,
      ...(options.threads ? { threads: options.threads } : {}),
      ...(options.kvCache === 'F16' ? LIKE_TRIT_F16_CONTEXT : LIKE_TRIT_CONTEXT),
    });
    try {
      const evaluated = await context
        .getSequence()
        .controlledEvaluate(
          tokens.map((t) => [
            t as never,
            { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } },
          ]),
        );
      return evaluated.map((e) => e?.next?.probabilities as ReadonlyMap<number, number> | undefined);
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

export interface DistributionAgreement {
  positions: number;
  /** Fraction of positions where both put the most probability on the same token. */
  top1Agreement: number;
  /** Cosine similarity of the two probability vectors: mean and worst over positions. */
  meanCosine: number;
  minCosine: number;
}

/** Compares trit's logits (positions × vocab) with llama.cpp's probabilities, position by position. */
export function compareDistributions(
  logits: Float32Array,
  vocabSize: number,
  theirs: readonly (ReadonlyMap<number, number> | undefined)[],
): DistributionAgreement {
  const positions = theirs.length;
  if (logits.length !== positions * vocabSize)
    throw new RangeError(`logits hold ${logits.length} values, expected ${positions} × ${vocabSize}`);
  let agree = 0;
  let sum = 0;
  let min = 1;
  const mine = new Float64Array(vocabSize);
  const other = new Float64Array(vocabSize);
  for (let t = 0; t < positions; t++) {
    const probabilities = theirs[t];
    if (probabilities?.size !== vocabSize)
      throw new RangeError(
        `llama.cpp gave ${probabilities?.size ?? 0} probabilities at position ${t}, expected ${vocabSize}`,
      );
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < vocabSize; i++) max = Math.max(max, logits[t * vocabSize + i]);
    let total = 0;
    for (let i = 0; i < vocabSize; i++) total += mine[i] = Math.exp(logits[t * vocabSize + i] - max);
    other.fill(0);
    for (const [id, p] of probabilities) other[id] = p;
    let dot = 0;
    let a = 0;
    let b = 0;
    let bestMine = 0;
    let bestOther = 0;
    for (let i = 0; i < vocabSize; i++) {
      mine[i] /= total;
      dot += mine[i] * other[i];
      a += mine[i] * mine[i];
      b += other[i] * other[i];
      if (mine[i] > mine[bestMine]) bestMine = i;
      if (other[i] > other[bestOther]) bestOther = i;
    }
    const cosine = dot / Math.sqrt(a * b);
    sum += cosine;
    min = Math.min(min, cosine);
    if (bestMine === bestOther) agree++;
  }
  return { positions, top1Agreement: agree / positions, meanCosine: sum / positions, minCosine: min };
}
