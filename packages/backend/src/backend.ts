import {
  type GgmlTypeInfo,
  type GgufFile,
  type GgufSource,
  type GgufTensorInfo,
  ggufTensorNameFor,
  type ModelTensorRole,
  readGguf,
  rowMajorShape,
  type TensorDiscoveryReport,
} from '@trit/gguf';
import { halfToFloatTable } from '@trit/ternary';
import {
  type AttentionInput,
  type DenseType,
  type GatedActivation,
  type GemmGlue,
  type KvCacheArray,
  type LoadKernelOptions,
  loadKernel,
  type PreparedMatrix,
  type RmsNormInput,
  type RopeTables,
  ropeTables,
  type TernaryKernel,
} from '@trit/tl1-kernel';
import { type GgufTokenizer, tokenizerFromGguf } from '@trit/tokenizer';
import { type ModelConfig, readModelConfig } from './config.js';
import {
  BackendBusyError,
  BackendDisposedError,
  BackendUsageError,
  ContextOverflowError,
  ModelLoadError,
  withoutSource,
} from './errors.js';
import type { Activation } from './math.js';
import {
  assertLoadable,
  checkModel,
  DENSE_TYPES,
  discoverModelTensors,
  type ModelValidation,
  validateModel,
  vocabSizeOf,
} from './model.js';
import { StageClock, type StageProfile } from './profile.js';
import { Sampler, type SamplingOptions } from './sampling.js';

export interface BitNetBackendOptions {
  /** A kernel to use (shared between models); otherwise one is loaded with `kernelImplementation` and `threads`. */
  kernel?: TernaryKernel;
  /** The kernel implementation to load when `kernel` is not given (default `auto`). */
  kernelImplementation?: LoadKernelOptions['implementation'];
  /** @deprecated Renamed to `kernelImplementation`; still accepted. */
  backend?: LoadKernelOptions['implementation'];
  threads?: number;
  /** KV cache positions; default min(context_length, 4096). Going past it is a ContextOverflowError. */
  contextSize?: number;
  /** Tokens per prefill batch (GEMM); default 64. */
  batchSize?: number;
  /**
   * What the KV cache holds: `f16` (the default, as llama.cpp's cache: half the memory and half the
   * bytes read per attention step; keys and values rounded to the nearest half) or `f32`.
   */
  kvCacheType?: KvCacheType;
  /** Override the FFN activation (default: the file's `<arch>.hidden_activation`, else the architecture's own, docs/formats.md §bitnet). */
  activation?: Activation;
  /** Called after each tensor is prepared. */
  onProgress?: (loaded: number, total: number, tensor: string) => void;
}

export type KvCacheType = 'f16' | 'f32';

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most. Default 128. */
  maxTokens?: number;
  /** Stop strings (not included in the output) or token ids. EOS/EOT always stop. */
  stop?: readonly (string | number)[];
  /** Tokenize a string prompt with BOS/EOS as the model asks. Default true. */
  addSpecial?: boolean;
  /** Keep the KV cache from earlier calls and continue after it. Default false (the cache is reset). */
  continueCache?: boolean;
  signal?: AbortSignal;
}

/** RuvLLM's GenerationStats, with prefill and decode timed separately. */
export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  totalTokens: number;
  prefillMs: number;
  decodeMs: number;
  elapsedMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  /** `stop`, `eos`, `max-tokens`, `context` or `aborted`. */
  finishReason: 'stop' | 'eos' | 'max-tokens' | 'context' | 'aborted';
}

export interface GeneratedToken {
  id: number;
  /** The text this token completes (UTF-8 characters are never split across tokens). */
  text: string;
}

/** A prepared projection (the kernel rounds a dense one's inputs as llama.cpp does for its type). */
type Projection = PreparedMatrix;

interface Layer {
  attnNorm: Float32Array;
  ffnNorm: Float32Array;
  attnSubNorm?: Float32Array;
  ffnSubNorm?: Float32Array;
  wq: Projection;
  wk: Projection;
  wv: Projection;
  wo: Projection;
  wGate: Projection;
  wUp: Projection;
  wDown: Projection;
  /** Q, K, V and gate, up: projections sharing an input (built once, so the hot loop allocates nothing). */
  qkv: readonly Projection[];
  gateUp: readonly Projection[];
  /** bitnet's optional per-projection output scales (1 when absent). */
  scale: { q: number; k: number; v: number; o: number; gate: number; up: number; down: number };
  keys: KvCacheArray;
  values: KvCacheArray;
}

/** Buffers for a batch of T tokens: views of the batch-sized buffers, cached per T. */
interface Scratch {
  x: Float32Array;
  xb: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  att: Float32Array;
  o: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
  /** [q, k, v] and [gate, up]: the outputs of the grouped projections. */
  qkvOut: readonly Float32Array[];
  gateUpOut: readonly Float32Array[];
}

const EMPTY_STATS: GenerationStats = {
  promptTokens: 0,
  generatedTokens: 0,
  totalTokens: 0,
  prefillMs: 0,
  decodeMs: 0,
  elapsedMs: 0,
  prefillTokensPerSecond: 0,
  decodeTokensPerSecond: 0,
  finishReason: 'max-tokens',
};

/**
 * Runs llama and BitNet b1.58 GGUF models: ternary projections on the
 * ternary kernel, dense ones (F32/F16/BF16/Q8_0) on its dense GEMV, an f32
 * KV cache of `contextSize` positions, and scratch buffers allocated once.
 */
export class BitNetBackend {
  /** Tokens in the KV cache; the next token goes at this position. */
  private length = 0;
  private readonly layers: Layer[];
  private readonly views = new Map<number, Scratch>();
  private readonly attentionArgs: AttentionInput;
  private readonly normArgs: RmsNormInput;
  private readonly glue: ProjectionGlue;
  private readonly full: Scratch;
  private readonly logitsOne: Float32Array;
  private readonly rope: RopeTables;
  private readonly tokensInCache: Int32Array;
  /** fp16 → float for every half, for embedding rows. */
  private readonly halfTable: Float32Array;
  /** One F32 embedding row as words and as floats (the same memory). */
  private readonly word: Int32Array;
  private readonly wordFloats: Float32Array;
  private disposed = false;
  /** Stage timing of every forward pass, while a profile runs (startProfile). */
  private clock: StageClock | undefined;
  /** True while a generation holds the KV cache and position. */
  private generating = false;
  /** Statistics of the last generate() call. */
  lastStats: GenerationStats = { ...EMPTY_STATS };

  private constructor(
    readonly file: GgufFile,
    readonly config: ModelConfig,
    readonly kernel: TernaryKernel,
    private readonly ownsKernel: boolean,
    readonly contextSize: number,
    readonly batchSize: number,
    readonly kvCacheType: KvCacheType,
    private readonly embedding: { bytes: Uint8Array; info: GgmlTypeInfo; rowBytes: number },
    private readonly outputNorm: Float32Array,
    private readonly output: Projection,
    layers: Omit<Layer, 'keys' | 'values' | 'qkv' | 'gateUp'>[],
    /** Undefined when the file carries no tokenizer. */
    readonly tokenizer: GgufTokenizer | undefined,
  ) {
    const kvDim = config.headCountKv * config.headDim;
    this.layers = layers.map((l) => ({
      ...l,
      qkv: [l.wq, l.wk, l.wv],
      gateUp: [l.wGate, l.wUp],
      keys: kvCacheType === 'f16' ? new Uint16Array(contextSize * kvDim) : new Float32Array(contextSize * kvDim),
      values: kvCacheType === 'f16' ? new Uint16Array(contextSize * kvDim) : new Float32Array(contextSize * kvDim),
    }));
    this.full = this.allocate(batchSize);
    const empty = new Float32Array(0);
    this.attentionArgs = {
      q: empty,
      keys: empty,
      values: empty,
      out: empty,
      heads: config.headCount,
      kvHeads: config.headCountKv,
      headDim: config.headDim,
      start: 0,
      nTokens: 1,
      scale: 1 / Math.sqrt(config.headDim),
    };
    this.normArgs = { x: empty, out: empty, weight: empty, nTokens: 1, n: 1, eps: config.rmsEpsilon };
    this.glue = new ProjectionGlue(config.rmsEpsilon, config.activation);
    this.logitsOne = new Float32Array(config.vocabSize);
    this.rope = ropeTables(config.ropeDimensions, config.ropeFreqBase, contextSize, config.ropeMode);
    this.attentionArgs.rope = this.rope; // the kernel rotates q and k
    this.tokensInCache = new Int32Array(contextSize);
    this.halfTable = embedding.info.name === 'F16' ? halfToFloatTable() : new Float32Array(0);
    this.wordFloats = new Float32Array(config.embeddingLength);
    this.word = new Int32Array(this.wordFloats.buffer);
  }

  /** Loads a GGUF model (a path, or its bytes as a Uint8Array, ArrayBuffer or Blob in a browser): checks every tensor first, so an unsupported file fails here, not at token 50. */
  static async load(source: GgufSource, options: BitNetBackendOptions = {}): Promise<BitNetBackend> {
    const file = await readGguf(source);
    const config = readModelConfig(file, { activation: options.activation });
    config.vocabSize = vocabSizeOf(file);
    assertLoadable(file, checkModel(file, config));
    const contextSize = options.contextSize ?? Math.min(config.contextLength, 4096);
    if (!Number.isSafeInteger(contextSize) || contextSize < 1)
      throw new BackendUsageError(`contextSize must be a positive integer, got ${contextSize}`);
    // The cache and RoPE tables are sized by it: no more positions than the model was made for.
    if (contextSize > config.contextLength)
      throw new BackendUsageError(
        `contextSize ${contextSize} is more than the ${config.contextLength} positions of the model's context_length`,
      );
    const batchSize = options.batchSize ?? 64;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1)
      throw new BackendUsageError(`batchSize must be a positive integer, got ${batchSize}`);
    const kvCacheType = options.kvCacheType ?? 'f16';
    if (kvCacheType !== 'f16' && kvCacheType !== 'f32')
      throw new BackendUsageError(`kvCacheType must be 'f16' or 'f32', got ${String(kvCacheType)}`);

    let tokenizer: GgufTokenizer | undefined;
    if (file.metadata.has('tokenizer.ggml.model')) {
      try {
        tokenizer = tokenizerFromGguf(file);
      } catch (error) {
        throw new ModelLoadError(file.source, `tokenizer: ${(error as Error).message}`);
      }
    }

    const kernel =
      options.kernel ??
      (await loadKernel({
        implementation: options.kernelImplementation,
        backend: options.backend,
        threads: options.threads,
      }));
    try {
      const total = file.tensors.length;
      let loaded = 0;
      const progress = (name: string) => options.onProgress?.(++loaded, total, name);
      const vector = async (name: string): Promise<Float32Array> => {
        const values = await file.dequantizeTensor(name);
        progress(name);
        return values;
      };
      const matrix = async (name: string): Promise<Projection> => {
        const info = file.tensor(name);
        const prepared = prepareMatrix(kernel, file, info, await file.readTensorData(name));
        progress(name);
        return prepared;
      };
      const scale = async (name: string): Promise<number> => (file.hasTensor(name) ? (await vector(name))[0] : 1);

      const embeddingInfo = file.tensor(ggufTensorNameFor('token_embd'));
      const embeddingBytes = await file.readTensorData(embeddingInfo);
      progress(embeddingInfo.name);
      const outputName = ggufTensorNameFor('output');
      const output =
        config.family === 'llama' && file.hasTensor(outputName)
          ? await matrix(outputName)
          : prepareMatrix(kernel, file, embeddingInfo, embeddingBytes);
      const outputNorm = await vector(ggufTensorNameFor('output_norm'));
      const layers: Omit<Layer, 'keys' | 'values' | 'qkv' | 'gateUp'>[] = [];
      for (let i = 0; i < config.blockCount; i++) {
        const b = (role: ModelTensorRole, suffix?: string) => ggufTensorNameFor(role, i, suffix);
        const bitnet = config.family === 'bitnet';
        layers.push({
          attnNorm: await vector(b('attn_norm')),
          ffnNorm: await vector(b('ffn_norm')),
          attnSubNorm: bitnet ? await vector(b('attn_sub_norm')) : undefined,
          ffnSubNorm: bitnet ? await vector(b('ffn_sub_norm')) : undefined,
          wq: await matrix(b('attn_q')),
          wk: await matrix(b('attn_k')),
          wv: await matrix(b('attn_v')),
          wo: await matrix(b('attn_output')),
          wGate: await matrix(b('ffn_gate')),
          wUp: await matrix(b('ffn_up')),
          wDown: await matrix(b('ffn_down')),
          scale: {
            q: await scale(b('attn_q', 'scale')),
            k: await scale(b('attn_k', 'scale')),
            v: await scale(b('attn_v', 'scale')),
            o: await scale(b('attn_output', 'scale')),
            gate: await scale(b('ffn_gate', 'scale')),
            up: await scale(b('ffn_up', 'scale')),
            down: await scale(b('ffn_down', 'scale')),
          },
        });
      }
      const rowBytes = embeddingInfo.typeInfo.byteSize([config.embeddingLength]);
      return new BitNetBackend(
        file,
        config,
        kernel,
        !options.kernel,
        contextSize,
        batchSize,
        kvCacheType,
        { bytes: embeddingBytes, info: embeddingInfo.typeInfo, rowBytes },
        outputNorm,
        output,
        layers,
        tokenizer,
      );
    } catch (error) {
      if (!options.kernel) await kernel.dispose();
      if (error instanceof ModelLoadError || error instanceof BackendUsageError) throw error;
      throw new ModelLoadError(file.source, withoutSource((error as Error).message, file.source));
    }
  }

  /** Groups, sizes, bits per weight and warnings for a file's tensors (RuvLLM's name, docs/formats.md §RuvLLM). */
  static discoverTensors(source: GgufSource): Promise<TensorDiscoveryReport> {
    return discoverModelTensors(source);
  }

  /** Checks every tensor the architecture needs, without loading weights (RuvLLM's name, docs/formats.md §RuvLLM). */
  static validateModel(source: GgufSource): Promise<ModelValidation> {
    return validateModel(source);
  }

  /** Tokens currently in the KV cache. */
  get position(): number {
    return this.length;
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  resetCache(): void {
    this.enter('resetCache');
    this.length = 0;
  }

  /**
   * Releases the kernel if this backend loaded it. Every later call throws
   * BackendDisposedError; a generation in progress ends with finishReason `aborted`.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.ownsKernel) await this.kernel.dispose();
  }

  /**
   * Prefills `tokens` after what is in the cache, batched through GEMM.
   * Returns the logits after the last token, or with `all`, after every
   * token (tokens × vocab).
   */
  evaluate(tokens: ArrayLike<number>, options: { logits?: 'last' | 'all' } = {}): Float32Array {
    this.enter('evaluate');
    return this.evaluateTokens(tokens, options);
  }

  private evaluateTokens(tokens: ArrayLike<number>, options: { logits?: 'last' | 'all' } = {}): Float32Array {
    if (tokens.length === 0) throw new BackendUsageError('evaluate needs at least one token');
    this.checkTokens(tokens);
    if (this.length + tokens.length > this.contextSize)
      throw new ContextOverflowError(this.contextSize, this.length + tokens.length - 1);
    const all = options.logits === 'all';
    const out = all ? new Float32Array(tokens.length * this.config.vocabSize) : this.logitsOne;
    for (let start = 0; start < tokens.length; start += this.batchSize) {
      const count = Math.min(this.batchSize, tokens.length - start);
      const last = start + count === tokens.length;
      const logits = all
        ? out.subarray(start * this.config.vocabSize, (start + count) * this.config.vocabSize)
        : last
          ? out
          : undefined;
      this.forward(tokens, start, count, logits, all ? 'all' : 'last');
    }
    return out;
  }

  /**
   * Starts timing every forward pass by stage (profile.ts), replacing a profile already running. Costs one
   * clock read per stage while on; nothing when off.
   */
  startProfile(): void {
    this.clock = new StageClock();
  }

  /** Ends the profile and returns its stage times (undefined when none was running). */
  stopProfile(): StageProfile | undefined {
    const profile = this.clock?.profile;
    this.clock = undefined;
    return profile;
  }

  /**
   * One token at `position` (at most the current length: an earlier position
   * rewinds the cache). The returned logits are a buffer the next call reuses.
   */
  forwardToken(token: number, position: number = this.length): Float32Array {
    this.enter('forwardToken');
    return this.forwardOne(token, position);
  }

  private forwardOne(token: number, position: number = this.length): Float32Array {
    if (!Number.isInteger(position) || position < 0 || position > this.length) {
      throw new BackendUsageError(`position ${position} is not in 0…${this.length} (the tokens in the cache)`);
    }
    if (position >= this.contextSize) throw new ContextOverflowError(this.contextSize, position);
    this.checkTokens([token]);
    this.length = position;
    this.forward([token], 0, 1, this.logitsOne, 'last');
    return this.logitsOne;
  }

  /**
   * Streams generated tokens; `prompt` is text (needs the file's tokenizer) or
   * token ids. The generation holds the model until it ends (or its `return()`
   * is called, as `break` in for-await does): other calls meanwhile throw
   * BackendBusyError.
   */
  generate(
    prompt: string | ArrayLike<number>,
    options: GenerateOptions = {},
  ): AsyncGenerator<GeneratedToken, GenerationStats, void> {
    this.enter('generate');
    const ids =
      typeof prompt === 'string'
        ? Array.from(this.requireTokenizer().encode(prompt, { addSpecial: options.addSpecial ?? true }))
        : Array.from(prompt);
    const maxTokens = options.maxTokens ?? 128;
    if (!Number.isSafeInteger(maxTokens) || maxTokens < 0)
      throw new BackendUsageError(`maxTokens must be a non-negative integer, got ${maxTokens}`);
    this.checkTokens(ids);
    const sampler = new Sampler(this.config.vocabSize, options, (logits) => this.kernel.argmax(logits));
    return this.generation(ids, maxTokens, sampler, options);
  }

  private async *generation(
    ids: number[],
    maxTokens: number,
    sampler: Sampler,
    options: GenerateOptions,
  ): AsyncGenerator<GeneratedToken, GenerationStats, void> {
    // Another generation may have started between the call and this first step.
    this.enter('generate');
    this.generating = true;
    try {
      return yield* this.generateTokens(ids, maxTokens, sampler, options);
    } finally {
      this.generating = false;
    }
  }

  private async *generateTokens(
    ids: number[],
    maxTokens: number,
    sampler: Sampler,
    options: GenerateOptions,
  ): AsyncGenerator<GeneratedToken, GenerationStats, void> {
    const started = performance.now();
    const tokenizer = this.tokenizer;
    if (!options.continueCache) this.length = 0;
    if (ids.length === 0 && this.length === 0)
      throw new BackendUsageError('the prompt is empty and the cache holds nothing to continue from');
    const stopIds = new Set<number>();
    const stopStrings: string[] = [];
    for (const s of options.stop ?? []) typeof s === 'number' ? stopIds.add(s) : s.length > 0 && stopStrings.push(s);
    const special = tokenizer?.specialTokens;
    for (const id of [special?.eos, special?.eot, special?.eom]) if (id !== undefined && id !== null) stopIds.add(id);

    const stats: GenerationStats = { ...EMPTY_STATS, promptTokens: ids.length };
    const history: number[] = [...ids];
    const prefillStart = performance.now();
    let logits = ids.length > 0 ? this.evaluateTokens(ids) : this.logitsOne;
    stats.prefillMs = performance.now() - prefillStart;
    // Generated text continues the prompt: keep the leading space SentencePiece pieces carry.
    const decoder = tokenizer?.createDecoder({ stripSpacePrefix: false });
    let pending = '';
    const decodeStart = performance.now();
    let finish: GenerationStats['finishReason'] = 'max-tokens';
    try {
      for (let n = 0; n < maxTokens; n++) {
        if (options.signal?.aborted || this.disposed) {
          finish = 'aborted';
          break;
        }
        const id = sampler.sample(logits, history);
        if (stopIds.has(id)) {
          finish = stopIds.has(id) && options.stop?.includes(id) ? 'stop' : 'eos';
          break;
        }
        history.push(id);
        stats.generatedTokens++;
        let text = decoder ? decoder.push(id) : '';
        if (stopStrings.length > 0) {
          pending += text;
          const hit = stopStrings.map((s) => pending.indexOf(s)).filter((i) => i >= 0);
          if (hit.length > 0) {
            const cut = Math.min(...hit);
            if (cut > 0) yield { id, text: pending.slice(0, cut) };
            finish = 'stop';
            break;
          }
          // Hold back what could still be the start of a stop string.
          const hold = Math.max(0, ...stopStrings.map((s) => overlap(pending, s)));
          text = pending.slice(0, pending.length - hold);
          pending = pending.slice(pending.length - hold);
        }
        yield { id, text };
        // The caller may have aborted or disposed the model while this generator waited.
        if (options.signal?.aborted || this.disposed) {
          finish = 'aborted';
          break;
        }
        if (this.length >= this.contextSize) {
          finish = 'context';
          break;
        }
        logits = this.forwardOne(id);
      }
    } finally {
      stats.decodeMs = performance.now() - decodeStart;
      stats.elapsedMs = performance.now() - started;
      stats.totalTokens = stats.promptTokens + stats.generatedTokens;
      stats.prefillTokensPerSecond = stats.prefillMs > 0 ? (stats.promptTokens * 1000) / stats.prefillMs : 0;
      stats.decodeTokensPerSecond = stats.decodeMs > 0 ? (stats.generatedTokens * 1000) / stats.decodeMs : 0;
      stats.finishReason = finish;
      this.lastStats = stats;
    }
    const tail = (decoder?.flush() ?? '') + (finish === 'stop' ? '' : pending);
    if (tail.length > 0 && finish !== 'stop') yield { id: -1, text: tail };
    return stats;
  }

  /** Mean of the final (output-normed) hidden states over the text's tokens; the cache is reset. */
  getEmbeddings(text: string | ArrayLike<number>): Float32Array {
    this.enter('getEmbeddings');
    const ids = typeof text === 'string' ? this.requireTokenizer().encode(text) : Array.from(text);
    if (ids.length === 0) throw new BackendUsageError('getEmbeddings needs at least one token');
    this.length = 0;
    const E = this.config.embeddingLength;
    const sum = new Float64Array(E);
    for (let start = 0; start < ids.length; start += this.batchSize) {
      const count = Math.min(this.batchSize, ids.length - start);
      if (this.length + count > this.contextSize)
        throw new ContextOverflowError(this.contextSize, this.length + count - 1);
      this.checkTokens(ids.slice(start, start + count));
      const s = this.forward(ids, start, count, undefined, 'none');
      this.norm(s.xb, s.x, this.outputNorm, count, E);
      for (let t = 0; t < count; t++) {
        for (let i = 0; i < E; i++) sum[i] += s.xb[t * E + i];
      }
    }
    this.length = 0;
    return Float32Array.from(sum, (v) => v / ids.length);
  }

  /** Every public call that touches the cache or kernel starts here. */
  private enter(call: string): void {
    if (this.disposed) throw new BackendDisposedError(call);
    if (this.generating) throw new BackendBusyError(call);
  }

  private requireTokenizer(): GgufTokenizer {
    if (!this.tokenizer)
      throw new BackendUsageError(`${this.file.source} has no tokenizer metadata: pass token ids instead of text`);
    return this.tokenizer;
  }

  private checkTokens(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
        throw new BackendUsageError(
          `token id ${id} (at index ${i}) is outside the vocabulary of ${this.config.vocabSize}`,
        );
      }
    }
  }

  private allocate(T: number): Scratch {
    const c = this.config;
    const qDim = c.headCount * c.headDim;
    const kvDim = c.headCountKv * c.headDim;
    return withGroups({
      x: new Float32Array(T * c.embeddingLength),
      xb: new Float32Array(T * c.embeddingLength),
      q: new Float32Array(T * qDim),
      k: new Float32Array(T * kvDim),
      v: new Float32Array(T * kvDim),
      att: new Float32Array(T * qDim),
      o: new Float32Array(T * c.embeddingLength),
      gate: new Float32Array(T * c.feedForwardLength),
      up: new Float32Array(T * c.feedForwardLength),
      down: new Float32Array(T * c.embeddingLength),
    });
  }

  /** Exact-length views of the batch buffers for T tokens (the kernels check lengths), made once per T. */
  private scratch(T: number): Scratch {
    let s = this.views.get(T);
    if (!s) {
      const f = this.full;
      const view = (a: Float32Array) => a.subarray(0, (a.length / this.batchSize) * T);
      s = withGroups({
        x: view(f.x),
        xb: view(f.xb),
        q: view(f.q),
        k: view(f.k),
        v: view(f.v),
        att: view(f.att),
        o: view(f.o),
        gate: view(f.gate),
        up: view(f.up),
        down: view(f.down),
      });
      this.views.set(T, s);
    }
    return s;
  }

  /** RMSNorm of T rows of n (out may be x), in the kernel; one arguments object, refilled per call. */
  private norm(out: Float32Array, x: Float32Array, weight: Float32Array, T: number, n: number): void {
    const a = this.normArgs;
    a.out = out;
    a.x = x;
    a.weight = weight;
    a.nTokens = T;
    a.n = n;
    this.kernel.rmsNorm(a);
  }

  /** Y = X·Wᵀ for T tokens (the kernel rounds X as llama.cpp does for a dense W's type), with the glue around it. */
  private project(p: Projection, X: Float32Array, T: number, Y: Float32Array, glue?: GemmGlue): void {
    this.kernel.gemm(p, X, T, Y, glue);
  }

  /** Projections of one input: the kernel quantizes (ternary) or rounds (dense, per type) X once for them all. */
  private projectMany(
    ps: readonly Projection[],
    X: Float32Array,
    T: number,
    Ys: readonly Float32Array[],
    glue?: GemmGlue,
  ): void {
    this.kernel.gemmMany(ps, X, T, Ys, glue);
  }

  /** Decodes row `token` of the embedding into out[at…]: common types inline, others through the type table. */
  private embed(token: number, out: Float32Array, at: number): void {
    const { bytes, info, rowBytes } = this.embedding;
    const E = this.config.embeddingLength;
    const base = token * rowBytes;
    if (info.name === 'F16') {
      const table = this.halfTable;
      for (let i = 0, p = base; i < E; i++, p += 2) out[at + i] = table[bytes[p] | (bytes[p + 1] << 8)];
    } else if (info.name === 'F32') {
      for (let i = 0; i < E; i++)
        this.word[i] =
          bytes[base + 4 * i] |
          (bytes[base + 4 * i + 1] << 8) |
          (bytes[base + 4 * i + 2] << 16) |
          (bytes[base + 4 * i + 3] << 24);
      out.set(this.wordFloats, at);
    } else {
      const toFloat = info.toFloat as NonNullable<GgmlTypeInfo['toFloat']>;
      out.set(toFloat(bytes.subarray(base, base + rowBytes), E), at);
    }
  }

  /** Runs T = count tokens from tokens[start] at positions length…length+T−1 through every layer. */
  private forward(
    tokens: ArrayLike<number>,
    start: number,
    T: number,
    logits: Float32Array | undefined,
    want: 'last' | 'all' | 'none',
  ): Scratch {
    const c = this.config;
    const E = c.embeddingLength;
    const s = this.scratch(T);
    const pos0 = this.length;
    const clock = this.clock;
    clock?.start(T);

    for (let t = 0; t < T; t++) {
      const token = tokens[start + t];
      this.embed(token, s.x, t * E);
      this.tokensInCache[pos0 + t] = token;
    }
    clock?.lap('embed');

    // The norms, the gated activation and the residual adds run inside the projections' kernel
    // calls (KERNEL.md §10, the same bits as one by one): each stage's time includes its glue.
    const g = this.glue;
    for (const layer of this.layers) {
      this.projectMany(layer.qkv, s.x, T, s.qkvOut, g.with(layer.attnNorm));
      clock?.lap('qkv');
      scaleInPlace(s.q, layer.scale.q);
      scaleInPlace(s.k, layer.scale.k);
      scaleInPlace(s.v, layer.scale.v);
      clock?.lap('residual');
      // The kernel rotates q and k (RoPE), stores this batch's keys and values at pos0… (rounded to the
      // cache's type), then runs causal attention (token t sees positions 0…pos0+t).
      // One arguments object, refilled per layer: the hot loop allocates nothing.
      const a = this.attentionArgs;
      a.q = s.q;
      a.keys = layer.keys;
      a.values = layer.values;
      a.newKeys = s.k;
      a.newValues = s.v;
      a.out = s.att;
      a.start = pos0;
      a.nTokens = T;
      this.kernel.attention(a);
      clock?.lap('attention');
      this.project(layer.wo, s.att, T, s.o, g.with(layer.attnSubNorm, s.x, layer.scale.o));
      clock?.lap('attn_output');

      this.projectMany(layer.gateUp, s.x, T, s.gateUpOut, g.with(layer.ffnNorm));
      clock?.lap('gate+up');
      scaleInPlace(s.gate, layer.scale.gate);
      scaleInPlace(s.up, layer.scale.up);
      clock?.lap('residual');
      this.project(layer.wDown, s.gate, T, s.down, g.with(layer.ffnSubNorm, s.x, layer.scale.down, s.up));
      clock?.lap('ffn_down');
    }
    this.length = pos0 + T;

    if (logits && want !== 'none') {
      if (want === 'all') this.project(this.output, s.x, T, logits, g.with(this.outputNorm));
      else this.project(this.output, T === 1 ? s.x : s.x.subarray((T - 1) * E), 1, logits, g.with(this.outputNorm));
      clock?.lap('head');
    }
    return s;
  }
}

/**
 * The glue the forward pass hands the kernel with each projection (KERNEL.md §10): one object
 * per combination of parts, refilled per call, so the decode step allocates nothing.
 */
class ProjectionGlue {
  private readonly norm: { weight: Float32Array; eps: number };
  private readonly gate: { up: Float32Array; activation: GatedActivation };
  private readonly residual: { into: Float32Array; scale: number } = { into: new Float32Array(0), scale: 1 };
  /** Index: 1 norm + 2 residual + 4 gate. */
  private readonly variants: GemmGlue[] = [];

  constructor(eps: number, activation: GatedActivation) {
    this.norm = { weight: new Float32Array(0), eps };
    this.gate = { up: new Float32Array(0), activation };
    for (let v = 0; v < 8; v++)
      this.variants.push({
        ...(v & 1 ? { norm: this.norm } : {}),
        ...(v & 2 ? { residual: this.residual } : {}),
        ...(v & 4 ? { gate: this.gate } : {}),
      });
  }

  /** RMSNorm with `norm` (if any) before; into += Y·scale after (if into); input act(X)⊙up first (if up). */
  with(norm: Float32Array | undefined, into?: Float32Array, scale = 1, up?: Float32Array): GemmGlue {
    if (norm) this.norm.weight = norm;
    if (into) {
      this.residual.into = into;
      this.residual.scale = scale;
    }
    if (up) this.gate.up = up;
    return this.variants[(norm ? 1 : 0) + (into ? 2 : 0) + (up ? 4 : 0)] as GemmGlue;
  }
}

/** Adds the grouped-output lists to a scratch set. */
function withGroups(s: Omit<Scratch, 'qkvOut' | 'gateUpOut'>): Scratch {
  return { ...s, qkvOut: [s.q, s.k, s.v], gateUpOut: [s.gate, s.up] };
}

function scaleInPlace(x: Float32Array, scale: number): void {
  if (scale !== 1) for (let i = 0; i < x.length; i++) x[i] *= scale;
}

/** Longest suffix of `text` that is a proper prefix of `stop`. */
function overlap(text: string, stop: string): number {
  for (let n = Math.min(text.length, stop.length - 1); n > 0; n--) if (text.endsWith(stop.slice(0, n))) return n;
  return 0;
}

/** Ternary tensors go to the ternary kernel, F32/F16/BF16/Q8_0 to its dense path. */
function prepareMatrix(
  kernel: TernaryKernel,
  file: GgufFile,
  tensor: GgufTensorInfo,
  data: Uint8Array,
): PreparedMatrix {
  const [rows, cols] = rowMajorShape(tensor);
  try {
    const format = tensor.typeInfo.ternaryFormat;
    if (format) return kernel.prepare({ format, data, rows, cols });
    if (DENSE_TYPES.has(tensor.typeName)) {
      return kernel.prepareDense({
        type: tensor.typeName.toLowerCase() as DenseType,
        data,
        rows,
        cols,
      });
    }
  } catch (error) {
    throw new ModelLoadError(
      file.source,
      `cannot prepare ${tensor.typeName} ${rows}×${cols}: ${(error as Error).message}`,
      tensor.name,
    );
  }
  throw new ModelLoadError(file.source, `type ${tensor.typeName} is not supported for projections`, tensor.name);
}
