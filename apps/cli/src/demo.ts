import { quantizeTensor } from '@trit/quantizer';
import {
  computeDequantError,
  decodeTernaryTensor,
  encodeTernaryTensor,
  packTernary,
  roundToHalf,
  TERNARY_FORMATS,
  type TernaryFormatName,
  type TernaryTensor,
  unpackTernary,
} from '@trit/ternary';
import { randomFloats, sameFloat32 as sameBits } from '@trit/testkit';
import type { DistributionAgreement } from '@trit/testkit/llama-cpp';
import { loadKernel } from '@trit/tl1-kernel';

export interface DemoOptions {
  rows?: number;
  cols?: number;
  seed?: number;
  /** Timed repetitions per step; the fastest is reported. */
  repeats?: number;
  /** Least total time per timed step, so the JIT has optimized what is timed. */
  minTimeMs?: number;
  /** Run the whole-model stage (synthesize, quantize, validate, generate). Default true. */
  model?: boolean;
}

export interface ModelTourRow {
  kernel: string;
  decodeTokensPerSecond: number;
  prefillTokensPerSecond: number;
  /** The same greedy tokens as the first kernel. */
  identical: boolean;
}

/** Teacher-forced next-token distributions of llama.cpp and trit on the tour's tokens. */
export type LlamaCppComparison = (DistributionAgreement & { unavailable?: undefined }) | { unavailable: string };

export interface ModelTour {
  architecture: string;
  parameters: number;
  /** The synthesized checkpoint's size (BF16 safetensors). */
  sourceBytes: number;
  ggufBytes: number;
  bitsPerWeight: number;
  ternaryTensors: number;
  /** ggml type of the token embeddings (the tied head), as llama-quantize's default picks it. */
  embeddingType: string;
  /** ‖w − ŵ‖ / ‖w‖ over the ternary projections: mean and worst. */
  relativeError: { mean: number; max: number };
  quantizeSeconds: number;
  valid: boolean;
  prompt: string;
  text: string;
  tokens: number[];
  kernels: ModelTourRow[];
  llamaCpp: LlamaCppComparison;
}

export interface QuantizeRow {
  method: 'absmean' | 'absmean+optimizeScales';
  sparsity: number;
  mse: number;
  /** RMS error over RMS weight. */
  relativeRmse: number;
  maxAbsError: number;
  weightsPerSecond: number;
}

export interface FormatRow {
  format: TernaryFormatName;
  ggmlType: number;
  dialect: string;
  bytes: number;
  bitsPerWeight: number;
  /** Reconstruction MSE of the stored tensor against the original weights. */
  mse: number;
  codesRoundTrip: boolean;
  /** Stored scales equal the tensor's after the format's own rounding (fp16, or exact f32). */
  scalesRoundTrip: boolean;
  encodeWeightsPerSecond: number;
  decodeWeightsPerSecond: number;
}

export interface DemoReport {
  tensor: { rows: number; cols: number; seed: number; distribution: string; std: number };
  quantize: QuantizeRow[];
  packing: {
    unpackCodesPerSecond: number;
    repackIdentical: boolean;
    dequantizeWeightsPerSecond: number;
  };
  formats: FormatRow[];
  float32Bytes: number;
  /** GEMV with the ternary tensor on every kernel that loads here. */
  kernels: KernelRow[];
  /** RMS of (y − y_float64) over RMS of y_float64: W1.58A8's int8 activation rounding. */
  gemvRelativeError: number;
  /** A whole synthetic BitNet model, end to end (absent with `model: false`). */
  model?: ModelTour;
}

async function directoryBytes(dir: string): Promise<number> {
  const { readdir, stat } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

/** synth → quantize → validate → generate on every kernel → compare with llama.cpp, in a temporary directory. */
export async function runModelTour(seed: number): Promise<ModelTour> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { BitNetBackend } = await import('@trit/backend');
  const { quantizeModel } = await import('@trit/convert');
  const { synthesizeModel } = await import('@trit/synth');
  const { validateGguf } = await import('@trit/gguf');
  const dir = await mkdtemp(join(tmpdir(), 'trit-demo-'));
  try {
    const synth = await synthesizeModel({ arch: 'bitnet', preset: 'tiny', seed, output: join(dir, 'hf') });
    const path = join(dir, 'tiny-tq2_0.gguf');
    // Block scales: the synthetic weights are ternary × s, and a block's least-squares scale recovers s exactly.
    const report = await quantizeModel(join(dir, 'hf'), path, { format: 'tq2_0', scales: 'block' });
    const validation = await validateGguf(path, { checkTensorData: true });
    const prompt = 'The ternary model';
    const kernels: ModelTourRow[] = [];
    let first: number[] | undefined;
    let promptIds: number[] = [];
    let text = '';
    for (const backend of ['native', 'wasm', 'js'] as const) {
      let model: Awaited<ReturnType<typeof BitNetBackend.load>>;
      try {
        model = await BitNetBackend.load(path, { kernelImplementation: backend, threads: 1, contextSize: 64 });
      } catch {
        continue;
      }
      const ids: number[] = [];
      let out = '';
      for await (const t of model.generate(prompt, { maxTokens: 24, temperature: 0, repeatPenalty: 1.3 })) {
        if (t.id >= 0) ids.push(t.id);
        out += t.text;
      }
      if (!first) {
        first = ids;
        promptIds = Array.from(model.tokenizer?.encode(prompt, { addSpecial: true }) ?? []);
      }
      if (!text) text = out;
      kernels.push({
        kernel: model.kernel.name,
        decodeTokensPerSecond: model.lastStats.decodeTokensPerSecond,
        prefillTokensPerSecond: model.lastStats.prefillTokensPerSecond,
        identical: ids.length === first.length && ids.every((id, i) => id === first?.[i]),
      });
      await model.dispose();
    }
    const ternary = report.tensors.filter((t) => t.format.startsWith('TQ'));
    const errors = ternary.map((t) => t.relativeError);
    return {
      architecture: 'bitnet',
      parameters: synth.parameters,
      sourceBytes: await directoryBytes(join(dir, 'hf')),
      ggufBytes: report.totals.fileBytes,
      bitsPerWeight: report.totals.bitsPerWeight,
      ternaryTensors: report.totals.ternaryTensors,
      embeddingType: report.denseTypes.tokenEmbd ?? 'none',
      relativeError: {
        mean: errors.reduce((a, b) => a + b, 0) / Math.max(1, errors.length),
        max: Math.max(0, ...errors),
      },
      quantizeSeconds: report.totals.seconds,
      valid: validation.ok,
      prompt,
      text,
      tokens: first ?? [],
      kernels,
      llamaCpp: await compareWithLlamaCpp(path, [...promptIds, ...(first ?? [])]),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Both runtimes read the same file and tokens; at every position, do they
 * predict the same next token, and how close are the distributions? The model
 * runs with SiLU here, which is what llama.cpp's bitnet graph uses whatever
 * the file says.
 */
async function compareWithLlamaCpp(path: string, tokens: readonly number[]): Promise<LlamaCppComparison> {
  const { compareDistributions, disposeLlamaCpp, llamaCppDistributions, loadLlamaCpp } = await import(
    '@trit/testkit/llama-cpp'
  );
  let loaded: Awaited<ReturnType<typeof loadLlamaCpp>>;
  try {
    loaded = await loadLlamaCpp({ strict: false, maxThreads: 1 });
  } catch (error) {
    return { unavailable: (error as Error).message };
  }
  if (!loaded.llama) return { unavailable: loaded.unavailable };
  const llama = loaded.llama;
  try {
    const theirs = await llamaCppDistributions(llama, path, tokens, { contextSize: 64, threads: 1 });
    const { BitNetBackend } = await import('@trit/backend');
    const ours = await BitNetBackend.load(path, {
      kernelImplementation: 'js',
      threads: 1,
      contextSize: 64,
      activation: 'silu',
    });
    try {
      return compareDistributions(ours.evaluate(tokens, { logits: 'all' }), ours.vocabSize, theirs);
    } finally {
      await ours.dispose();
    }
  } catch (error) {
    return { unavailable: `llama.cpp failed: ${(error as Error).message}` };
  } finally {
    await disposeLlamaCpp(llama);
  }
}

export interface KernelRow {
  kernel: string;
  microsPerGemv: number;
  /** Output bit-identical to the first kernel's. */
  identical: boolean;
}

/** Fastest run of fn, in seconds, and its last result: at least `repeats` runs and `minTimeMs` in all. */
function time<T>(fn: () => T, repeats: number, minTimeMs: number): { seconds: number; result: T } {
  let best = Number.POSITIVE_INFINITY;
  let result = fn();
  const until = performance.now() + minTimeMs;
  for (let i = 0; i < repeats || performance.now() < until; i++) {
    const start = performance.now();
    result = fn();
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  return { seconds: Math.max(best, 1e-9), result };
}

function rms(x: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return Math.sqrt(sum / x.length);
}

/**
 * The demo tour: quantize a built-in deterministic weight matrix, then pack,
 * unpack, dequantize and store it in every block format, measuring as it goes.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const rows = options.rows ?? 1024;
  const cols = options.cols ?? 2560;
  const seed = options.seed ?? 2026;
  const repeats = options.repeats ?? 3;
  const minTimeMs = options.minTimeMs ?? 150;
  const timed = <T>(fn: () => T) => time(fn, repeats, minTimeMs);
  const n = rows * cols;
  // A projection-like matrix: N(0, 1/fan_in), as a trained model's weights roughly are.
  const std = 1 / Math.sqrt(cols);
  const weights = randomFloats(n, seed, 'gaussian', std);
  const weightRms = rms(weights);

  const tensors: Record<QuantizeRow['method'], TernaryTensor> = {} as never;
  const quantize: QuantizeRow[] = [];
  for (const method of ['absmean', 'absmean+optimizeScales'] as const) {
    const optimizeScales = method !== 'absmean';
    const run = timed(() => quantizeTensor(weights, [rows, cols], { optimizeScales }));
    const tensor = run.result;
    tensors[method] = tensor;
    const error = computeDequantError(weights, tensor.dequantize());
    quantize.push({
      method,
      sparsity: tensor.sparsity(),
      mse: error.mse,
      relativeRmse: Math.sqrt(error.mse) / weightRms,
      maxAbsError: error.maxAbs,
      weightsPerSecond: n / run.seconds,
    });
  }

  const tensor = tensors['absmean+optimizeScales'];
  const codes = new Int8Array(n);
  const unpack = timed(() => unpackTernary(tensor.packed, n, codes));
  const repacked = packTernary(codes);
  const dequantize = timed(() => tensor.dequantize());

  const formats: FormatRow[] = [];
  for (const name of Object.keys(TERNARY_FORMATS) as TernaryFormatName[]) {
    const format = TERNARY_FORMATS[name];
    // I2_S keeps one scale per tensor, so it gets its own per-tensor quantization.
    const source =
      format.scaleScope === 'block'
        ? tensor
        : quantizeTensor(weights, [rows, cols], { blockSize: n, optimizeScales: true });
    const encode = timed(() => encodeTernaryTensor(source, name));
    const bytes = encode.result;
    const decode = timed(() => decodeTernaryTensor(name, bytes, [rows, cols]));
    const decoded = decode.result;
    // Block formats store fp16 scales; I2_S stores the float32 scale as is.
    const storedScales = format.scaleScope === 'block' ? source.scales.map(roundToHalf) : source.scales;
    formats.push({
      format: name,
      ggmlType: format.ggmlType,
      dialect: format.dialect,
      bytes: bytes.length,
      bitsPerWeight: (bytes.length * 8) / n,
      mse: computeDequantError(weights, format.dequantize(bytes, n)).mse,
      codesRoundTrip: decoded.packed.every((b, i) => b === source.packed[i]),
      scalesRoundTrip: decoded.scales.every((s, i) => s === storedScales[i]),
      encodeWeightsPerSecond: n / encode.seconds,
      decodeWeightsPerSecond: n / decode.seconds,
    });
  }

  // 4. Multiply: y = W·x on each kernel, W1.58A8 (x quantized to int8 per token).
  const x = randomFloats(cols, seed + 1, 'gaussian', 1);
  const kernels: KernelRow[] = [];
  let first: Float32Array | undefined;
  for (const backend of ['native', 'wasm', 'js'] as const) {
    let kernel: Awaited<ReturnType<typeof loadKernel>>;
    try {
      kernel = await loadKernel({ implementation: backend, threads: 1 });
    } catch {
      continue; // not available here; `trit bench kernel` says why
    }
    const matrix = kernel.prepare(tensor);
    const y = new Float32Array(rows);
    const run = timed(() => kernel.gemv(matrix, x, y));
    first ??= Float32Array.from(y);
    kernels.push({ kernel: kernel.name, microsPerGemv: run.seconds * 1e6, identical: sameBits(first, y) });
    await kernel.dispose();
  }
  const dequantized = tensor.dequantize();
  let errorSquares = 0;
  let referenceSquares = 0;
  for (let r = 0; r < rows; r++) {
    let exact = 0;
    for (let j = 0; j < cols; j++) exact += dequantized[r * cols + j] * x[j];
    errorSquares += ((first?.[r] ?? 0) - exact) ** 2;
    referenceSquares += exact ** 2;
  }

  return {
    kernels,
    model: options.model === false ? undefined : await runModelTour(seed),
    gemvRelativeError: Math.sqrt(errorSquares / referenceSquares),
    tensor: { rows, cols, seed, distribution: 'gaussian', std },
    quantize,
    packing: {
      unpackCodesPerSecond: n / unpack.seconds,
      repackIdentical: repacked.every((b, i) => b === tensor.packed[i]),
      dequantizeWeightsPerSecond: n / dequantize.seconds,
    },
    formats,
    float32Bytes: n * 4,
  };
}
