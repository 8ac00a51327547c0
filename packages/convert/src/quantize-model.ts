import {
  checkHyperParameters,
  encodeMetadataValue,
  GgmlType,
  type GgufMetadataInput,
  type GgufMetadataValue,
  GgufValue,
  GgufValueType,
  GgufWriter,
  ggufTensorNameFor,
  type ModelTensorRole,
  readGguf,
  TENSOR_NAMES,
  tensorRolesOf,
} from '@trit/gguf';
import {
  type LayerMask,
  type PtBitnetConfig,
  ptBitnetConfig,
  QuantizeError,
  quantizeTensor,
  tensorStorage,
  validateLayerMask,
} from '@trit/quantizer';
import { openSafetensorsModel } from '@trit/safetensors';
import { encodeTernaryTensor, type TernaryFormatName } from '@trit/ternary';
import { ggufTokenizerMetadataFromHf, type HfTokenizerConfig, tokenizerFromGguf } from '@trit/tokenizer';
import packageJson from '../package.json' with { type: 'json' };
import {
  architectureOf,
  checkHfConfig,
  ggufHyperParameters,
  ggufTensorName,
  type HfConfig,
  isIgnoredHfTensor,
  type ModelArchitecture,
  permuteForRope,
} from './hf.js';

/** One tensor to convert: its GGUF name, NumPy-order shape, and a loader called when its turn comes. */
/** Values per slice when a dense tensor is converted row range by row range (16 MiB of float32). */
const DENSE_SLICE = 4 * 1024 * 1024;

export interface SourceTensor {
  name: string;
  /** Where it came from (HF name or GGUF name), for messages. */
  sourceName: string;
  shape: number[];
  load(): Promise<Float32Array>;
  /** Rows start…start+count (along the first dimension), so a big dense tensor converts in bounded memory. */
  loadRows?(start: number, count: number): Promise<Float32Array>;
}

/** A model ready to convert: architecture, metadata for the GGUF, and tensors in GGUF naming. */
export interface ModelSource {
  path: string;
  architecture: ModelArchitecture;
  metadata: Record<string, GgufMetadataInput>;
  tensors: SourceTensor[];
}

export interface QuantizeModelOptions {
  /** Ternary storage format: `tq2_0` (default), `tq1_0` (llama.cpp types) or `t158` (RuvLLM's; llama.cpp cannot load it). */
  format?: Exclude<TernaryFormatName, 'i2_s'>;
  /** Which tensors become ternary; default `all` (every projection; embeddings, head and norms never). */
  layers?: LayerMask;
  /** Least-squares scales and threshold search per block; default true. */
  optimizeScales?: boolean;
  /** Storage of tensors left dense (embeddings, head, non-selected projections); default f16. */
  densePrecision?: PtBitnetConfig['densePrecision'];
  /** Store every tensor in one float type and quantize nothing (for float reference files). */
  floatOnly?: 'f32' | 'f16' | 'bf16' | 'q8_0';
  /** Dense tensors convert in row slices of at most this many values (default 4 Mi, 16 MiB of float32). */
  denseSliceValues?: number;
  signal?: AbortSignal;
  onProgress?: (progress: QuantizeProgress) => void;
  /** `trit.quantization.quantizer_version`; default `@trit/convert <version>`, the converter that wrote the file. */
  quantizerVersion?: string;
}

export interface QuantizeProgress {
  tensor: string;
  index: number;
  count: number;
  bytesWritten: number;
  totalBytes: number;
}

export interface TensorReport {
  name: string;
  shape: number[];
  /** GGUF type written: TQ2_0, F16, … */
  format: string;
  mse: number;
  /** ‖w − ŵ‖ / ‖w‖. */
  relativeError: number;
  /** Fraction of zero weights after quantization (ternary tensors; 0 for dense ones). */
  sparsity: number;
  bytes: number;
}

export interface QuantizeReport {
  input: string;
  output: string;
  architecture: ModelArchitecture;
  tensors: TensorReport[];
  totals: {
    tensors: number;
    ternaryTensors: number;
    weights: number;
    bytes: number;
    fileBytes: number;
    bitsPerWeight: number;
    seconds: number;
  };
}

/**
 * A record for keys read from files: no prototype, so a key `__proto__` is an
 * ordinary key and `toString` is not found unless the file has it.
 */
function dataRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function parseJson<T>(text: string, path: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new QuantizeError(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/** A Hugging Face checkpoint: config.json, safetensors (sharded or not), and tokenizer.json when present. */
export async function hfModelSource(path: string): Promise<ModelSource> {
  const { readFile, stat } = await import('node:fs/promises');
  const { dirname, join } = await import('node:path');
  const dir = (await stat(path)).isDirectory() ? path : dirname(path);
  const configPath = join(dir, 'config.json');
  let configText: string;
  try {
    configText = await readFile(configPath, 'utf8');
  } catch {
    throw new QuantizeError(`${configPath}: missing (a Hugging Face model needs config.json beside its safetensors)`);
  }
  const config = parseJson<HfConfig>(configText, configPath);
  checkHfConfig(config, configPath);
  const arch = architectureOf(config, configPath);
  const model = await openSafetensorsModel(path);
  const metadata = dataRecord<GgufMetadataInput>();
  Object.assign(metadata, ggufHyperParameters(config, arch, configPath));
  const tokenizerPath = join(dir, 'tokenizer.json');
  const tokenizerText = await readFile(tokenizerPath, 'utf8').catch(() => undefined);
  if (tokenizerText !== undefined) {
    const tokenizerConfigText = await readFile(join(dir, 'tokenizer_config.json'), 'utf8').catch(() => undefined);
    const tokenizerConfig = tokenizerConfigText
      ? parseJson<HfTokenizerConfig>(tokenizerConfigText, join(dir, 'tokenizer_config.json'))
      : {};
    try {
      // llama.cpp wants exactly one token per embedding row: pad to the embedding's rows as convert_hf_to_gguf does.
      const embedding = model.tensors.find((t) => ggufTensorName(t.name) === 'token_embd.weight');
      // Rows the file holds, never config.json's claim: the token list is allocated this long.
      const vocabSize = embedding?.shape[0];
      Object.assign(
        metadata,
        ggufTokenizerMetadataFromHf(parseJson(tokenizerText, tokenizerPath), tokenizerConfig, { vocabSize }),
      );
    } catch (error) {
      throw new QuantizeError(`${tokenizerPath}: ${(error as Error).message}`);
    }
  }

  const heads = config.num_attention_heads;
  const kvHeads = config.num_key_value_heads ?? heads;
  const tensors: SourceTensor[] = [];
  const unknown: string[] = [];
  for (const t of model.tensors) {
    if (isIgnoredHfTensor(t.name)) continue;
    const name = ggufTensorName(t.name);
    if (!name) {
      unknown.push(t.name);
      continue;
    }
    if (!['F32', 'F16', 'BF16'].includes(t.dtype)) {
      throw new QuantizeError(`${t.shard}: tensor ${t.name} has dtype ${t.dtype}; expected F32, F16 or BF16`);
    }
    const shape = [...t.shape];
    // llama rotates adjacent pairs; HF stores Q and K rotate-half. bitnet uses NEOX: no permutation.
    const permuteHeads =
      arch === 'llama' ? (/attn_q\.weight$/.test(name) ? heads : /attn_k\.weight$/.test(name) ? kvHeads : 0) : 0;
    tensors.push({
      name,
      sourceName: t.name,
      shape,
      load: async () => {
        const values = await model.readTensorFloat32(t.name);
        return permuteHeads ? permuteForRope(values, shape[0] as number, shape[1] as number, permuteHeads) : values;
      },
      // Q/K (permuted within heads) and tensors that are not matrices load whole.
      ...(permuteHeads || shape.length !== 2
        ? {}
        : { loadRows: (start, count) => model.readTensorFloat32(t.name, { start, count }) }),
    });
  }
  if (unknown.length > 0) {
    throw new QuantizeError(
      `${path}: ${unknown.length} tensors have no GGUF name for ${arch} (first: ${unknown.slice(0, 3).join(', ')})`,
    );
  }
  if (arch === 'bitnet' && tensors.some((t) => t.name === 'output.weight')) {
    throw new QuantizeError(
      `${path}: bitnet models must tie the output head to the embedding (llama.cpp's bitnet graph has no output tensor); found lm_head.weight`,
    );
  }
  return { path, architecture: arch, metadata, tensors };
}

/** A float GGUF: tensors are already in GGUF naming and order; its metadata is carried over. */
export async function ggufModelSource(path: string): Promise<ModelSource> {
  const file = await readGguf(path);
  const arch = file.architecture;
  if (arch !== 'llama' && arch !== 'bitnet')
    throw new QuantizeError(`${path}: architecture ${arch ?? '(none)'} is not supported (llama, bitnet)`);
  const metadata = dataRecord<GgufMetadataInput>();
  for (const [key, value] of file.metadata) {
    if (key === 'general.architecture' || key === 'general.alignment' || key.startsWith('trit.quantization.')) continue;
    metadata[key] = value;
  }
  return {
    path,
    architecture: arch,
    metadata,
    tensors: file.tensors.map((t) => {
      const cols = t.shape[0] ?? 1;
      const info = t.typeInfo;
      const rowBytes = cols % info.blockSize === 0 ? info.byteSize([cols]) : 0;
      const toFloat = info.toFloat;
      return {
        name: t.name,
        sourceName: t.name,
        shape: [...t.shape].reverse(),
        load: () => file.dequantizeTensor(t),
        ...(toFloat && rowBytes > 0 && t.shape.length === 2
          ? {
              loadRows: async (start: number, count: number) =>
                toFloat(await file.readBytes(t.fileOffset + start * rowBytes, count * rowBytes), count * cols),
            }
          : {}),
      };
    }),
  };
}

/** The first bytes of a file as hex, for "not a GGUF file" messages. */
function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
}

/**
 * Opens a model by what `path` is: a GGUF file (by its magic), a Hugging Face
 * directory, or a `.safetensors` / `.safetensors.index.json` file inside one.
 */
export async function openModelSource(path: string): Promise<ModelSource> {
  const { open, stat } = await import('node:fs/promises');
  const { basename } = await import('node:path');
  const info = await stat(path).catch(() => {
    throw new QuantizeError(`${path}: no such file or directory`);
  });
  if (info.isDirectory()) return hfModelSource(path);
  if (!info.isFile()) throw new QuantizeError(`${path}: not a regular file or directory`);
  const handle = await open(path, 'r');
  const head = new Uint8Array(4);
  const { bytesRead } = await handle.read(head, 0, 4, 0).finally(() => handle.close());
  const magic = head.subarray(0, bytesRead);
  if (bytesRead === 4 && String.fromCharCode(...magic) === 'GGUF') return ggufModelSource(path);
  const name = basename(path).toLowerCase();
  if (name.endsWith('.gguf')) {
    if (bytesRead === 0) throw new QuantizeError(`${path}: empty file (expected a GGUF file)`);
    throw new QuantizeError(
      `${path}: not a GGUF file (starts with ${hexBytes(magic)}${bytesRead < 4 ? `, only ${bytesRead} bytes long` : ''}, expected "GGUF")`,
    );
  }
  if (name.endsWith('.safetensors') || name.endsWith('.safetensors.index.json')) return hfModelSource(path);
  throw new QuantizeError(
    `${path}: not a model file${bytesRead === 0 ? ' (it is empty)' : ''}; expected a GGUF file, a .safetensors file, a model.safetensors.index.json or a Hugging Face model directory`,
  );
}

// llama.cpp's llama and bitnet graphs load these for every block; a file without them cannot run.
const blockRolesOf = (architecture: ModelArchitecture): readonly ModelTensorRole[] =>
  tensorRolesOf(architecture).filter((role) => TENSOR_NAMES[role].gguf.includes('{bid}'));
const LAYER_INDEX = /^blk\.(\d+)\./;

/**
 * Refuses, before any output exists, what the file would carry but no
 * runtime could load: a partial model (checkWholeModel), hyper-parameters
 * that disagree with the tensors or size nothing sane (checkHyperParameters,
 * the runtime's own check), and tokenizer metadata the tokenizer refuses.
 */
function checkLoadable(source: ModelSource): void {
  const metadata = new Map<string, GgufMetadataValue>([
    ['general.architecture', { type: GgufValueType.STRING, value: source.architecture }],
  ]);
  for (const [key, value] of Object.entries(source.metadata))
    metadata.set(key, encodeMetadataValue(key, value, { architecture: source.architecture, source: source.path }));
  // GGUF lists dims fastest first.
  const tensors = source.tensors.map((t) => ({ name: t.name, shape: [...t.shape].reverse() }));
  const { errors } = checkHyperParameters({ source: source.path, metadata, tensors });
  if (errors.length > 0) throw new QuantizeError(errors.map((e) => e.message).join('; '));
  const blockCount = metadata.get(`${source.architecture}.block_count`)?.value;
  checkWholeModel(source, typeof blockCount === 'number' ? blockCount : undefined);
  if (metadata.has('tokenizer.ggml.model')) {
    try {
      tokenizerFromGguf(metadata);
    } catch (error) {
      throw new QuantizeError(`${source.path}: the tokenizer cannot be loaded: ${(error as Error).message}`);
    }
  }
}

/**
 * Refuses a source that is not a whole model: no tensors at all, no
 * embedding or output norm, a block beyond `[arch].block_count`, or a block
 * lacking a tensor llama.cpp requires. (checkHyperParameters has already
 * refused a block_count beyond the blocks present.)
 */
function checkWholeModel(source: ModelSource, declared: number | undefined): void {
  if (source.tensors.length === 0) {
    throw new QuantizeError(`${source.path}: the model has no tensors (expected token_embd.weight and blocks)`);
  }
  const names = new Set(source.tensors.map((t) => t.name));
  const missing = ['token_embd.weight', 'output_norm.weight'].filter((n) => !names.has(n));
  let highest = -1;
  for (const name of names) {
    const m = LAYER_INDEX.exec(name);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  const key = `${source.architecture}.block_count`;
  const blocks = highest + 1;
  if (declared !== undefined && highest >= declared) {
    throw new QuantizeError(
      `${source.path}: tensor blk.${highest}.* is beyond ${key} = ${declared} (expected blocks 0–${declared - 1})`,
    );
  }
  if (blocks === 0) missing.push('blk.0.* (the model has no blocks)');
  const perBlock = blockRolesOf(source.architecture);
  for (let b = 0; b < blocks && missing.length < 50; b++) {
    for (const role of perBlock) {
      const name = ggufTensorNameFor(role, b);
      if (!names.has(name)) missing.push(name);
    }
  }
  if (missing.length > 0) {
    throw new QuantizeError(
      `${source.path}: not a whole ${source.architecture} model: ${missing.length >= 50 ? 'at least ' : ''}${missing.length} required tensors are missing (first: ${missing.slice(0, 3).join(', ')})`,
    );
  }
}

/** token_embd, output_norm, output, then layer by layer, as llama.cpp's converter orders them. */
function naturalOrder(a: SourceTensor, b: SourceTensor): number {
  const la = LAYER_INDEX.exec(a.name);
  const lb = LAYER_INDEX.exec(b.name);
  if (!la || !lb) return la ? 1 : lb ? -1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  const d = Number(la[1]) - Number(lb[1]);
  return d !== 0 ? d : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

// Maps: options often come from a command line, and `toString` must not pass for a format.
const GGML_TERNARY: ReadonlyMap<string, number> = new Map([
  ['tq2_0', GgmlType.TQ2_0],
  ['tq1_0', GgmlType.TQ1_0],
  ['t158', 30],
]);
const GGML_DENSE: ReadonlyMap<string, string> = new Map([
  ['f32', 'F32'],
  ['f16', 'F16'],
  ['bf16', 'BF16'],
  ['q8_0', 'Q8_0'],
]);

interface Plan {
  tensor: SourceTensor;
  rows: number;
  cols: number;
  ternary?: TernaryFormatName;
  dense?: string;
}

/**
 * Converts a model tensor by tensor: projections the layer mask selects
 * become ternary (absmean, 256-weight blocks), the rest stay dense. Peak
 * memory is about one tensor's floats; the output is written atomically.
 */
export async function quantizeModel(
  input: string | ModelSource,
  output: string,
  options: QuantizeModelOptions = {},
): Promise<QuantizeReport> {
  const started = performance.now();
  const format = options.format ?? 'tq2_0';
  if (typeof format !== 'string' || !GGML_TERNARY.has(format))
    throw new QuantizeError(`unknown format "${String(format)}"; use ${[...GGML_TERNARY.keys()].join(', ')}`);
  const floatOnly = options.floatOnly;
  if (floatOnly !== undefined && (typeof floatOnly !== 'string' || !GGML_DENSE.has(floatOnly)))
    throw new QuantizeError(`unknown floatOnly type "${String(floatOnly)}"; use ${[...GGML_DENSE.keys()].join(', ')}`);
  const source = typeof input === 'string' ? await openModelSource(input) : input;
  checkLoadable(source);
  const layers = options.layers ?? 'all';
  validateLayerMask(layers);
  const config = ptBitnetConfig({
    layersToQuantize: layers,
    exportFormat: format,
    optimizeScales: options.optimizeScales ?? true,
    densePrecision: options.densePrecision ?? 'f16',
  });
  const ruvllm = format === 't158' && !options.floatOnly;

  const plans: Plan[] = [...source.tensors].sort(naturalOrder).map((tensor) => {
    const [rows, cols] =
      tensor.shape.length === 1
        ? [1, tensor.shape[0] as number]
        : [tensor.shape.slice(0, -1).reduce((a, b) => a * b, 1), tensor.shape.at(-1) as number];
    if (options.floatOnly) {
      const dense = tensor.shape.length === 1 ? 'F32' : (GGML_DENSE.get(options.floatOnly) as string);
      return { tensor, rows, cols, dense: dense === 'Q8_0' && cols % 32 !== 0 ? 'F16' : dense };
    }
    const storage = tensorStorage(tensor.name, config);
    if (storage.kind === 'ternary' && tensor.shape.length === 2 && (ruvllm || cols % 256 === 0))
      return { tensor, rows, cols, ternary: storage.format };
    const precision = storage.kind === 'dense' ? storage.precision : config.densePrecision;
    return { tensor, rows, cols, dense: tensor.shape.length === 1 ? 'F32' : (GGML_DENSE.get(precision) as string) };
  });

  const writer = await GgufWriter.create(output, {
    signal: options.signal,
    dialect: ruvllm ? 'ruvllm' : 'ggml',
    onProgress: (p) =>
      options.onProgress?.({
        tensor: p.tensor ?? '',
        index: p.tensorsDone,
        count: p.tensorCount,
        bytesWritten: p.bytesWritten,
        totalBytes: p.totalBytes,
      }),
  });
  const reports: TensorReport[] = [];
  try {
    writer.setMetadata('general.architecture', source.architecture);
    writer.setMetadata('general.name', (await import('node:path')).basename(source.path));
    const quantized = plans.some((p) => p.ternary || p.dense === 'Q8_0');
    if (quantized) writer.setMetadata('general.quantization_version', 2);
    for (const [key, value] of Object.entries(source.metadata)) {
      if (key === 'general.name' || key === 'general.quantization_version') continue;
      writer.setMetadata(key, value);
    }
    if (ruvllm) {
      // RuvLLM readers (and ours) recognise its dialect by these keys.
      writer.setMetadata('craftsman.bitnet.version', GgufValue.u32(1));
      writer.setMetadata('craftsman.bitnet.weight_encoding', 'absmean_ternary');
    }
    if (!options.floatOnly) {
      writer.setMetadata('trit.quantization.weight_encoding', 'absmean_ternary');
      writer.setMetadata('trit.quantization.activation_bits', GgufValue.u32(8));
      writer.setMetadata('trit.quantization.router_precision', config.routerPrecision);
      writer.setMetadata('trit.quantization.block_size', GgufValue.u32(config.blockSize));
      writer.setMetadata('trit.quantization.format', format);
      writer.setMetadata(
        'trit.quantization.quantizer_version',
        options.quantizerVersion ?? `@trit/convert ${packageJson.version}`,
      );
    }
    for (const plan of plans) {
      // GGUF lists dims fastest first; RuvLLM's files list them [rows, cols].
      const ne = [...plan.tensor.shape].reverse();
      const type = plan.ternary ? (GGML_TERNARY.get(plan.ternary) as number) : (plan.dense as string);
      writer.addTensor(plan.tensor.name, type, ruvllm ? [...ne].reverse() : ne);
    }
    for (const plan of plans) {
      if (options.signal?.aborted) break;
      const { name, sourceName } = plan.tensor;
      const expected = plan.rows * plan.cols;
      /** Checks a loaded slice (starting at element `at`) before anything is stored. */
      const check = (values: Float32Array, length: number, at: number) => {
        if (values.length !== length) {
          throw new QuantizeError(
            `${source.path}: ${sourceName} has ${values.length} values, its shape [${plan.tensor.shape.join(', ')}] needs ${expected}`,
          );
        }
        for (let i = 0; i < values.length; i++) {
          if (!Number.isFinite(values[i]))
            throw new QuantizeError(`${source.path}: ${sourceName} holds ${values[i]} at element ${at + i}`);
        }
      };
      const error = { se: 0, norm: 0 };
      const addError = (values: Float32Array, restored: Float32Array) => {
        for (let i = 0; i < values.length; i++) {
          const d = values[i] - restored[i];
          error.se += d * d;
          error.norm += values[i] * values[i];
        }
      };
      let byteCount = 0;
      let sparsity = 0;
      let formatName: string;
      if (plan.ternary) {
        const values = await plan.tensor.load();
        check(values, expected, 0);
        const tensor = quantizeTensor(values, [plan.rows, plan.cols], config, { name: sourceName });
        const bytes = encodeTernaryTensor(tensor, plan.ternary);
        addError(values, tensor.dequantize());
        sparsity = tensor.sparsity();
        formatName = plan.ternary.toUpperCase();
        byteCount = bytes.length;
        await writer.writeTensorData(name, bytes);
      } else {
        const info = writer.declaredTensors.find((t) => t.name === name)?.typeInfo;
        const fromFloat = info?.fromFloat;
        const toFloat = info?.toFloat;
        if (!info || !fromFloat || !toFloat) throw new QuantizeError(`cannot store ${name} as ${plan.dense}`);
        formatName = info.name;
        // Dense tensors go in row slices of at most DENSE_SLICE values: a 128k-token embedding never sits in memory whole.
        const loadRows = plan.tensor.loadRows;
        const sliceValues = options.denseSliceValues ?? DENSE_SLICE;
        const rowsPerSlice = loadRows ? Math.max(1, Math.floor(sliceValues / Math.max(1, plan.cols))) : plan.rows;
        const tensor = plan.tensor;
        const convert = (values: Float32Array, length: number, at: number): Uint8Array => {
          check(values, length, at);
          const bytes = fromFloat(values);
          addError(values, toFloat(bytes, values.length));
          byteCount += bytes.length;
          return bytes;
        };
        async function* slices(): AsyncGenerator<Uint8Array> {
          if (!loadRows || plan.rows <= rowsPerSlice) {
            yield convert(await tensor.load(), expected, 0);
            return;
          }
          for (let row = 0; row < plan.rows; row += rowsPerSlice) {
            const count = Math.min(rowsPerSlice, plan.rows - row);
            yield convert(await loadRows(row, count), count * plan.cols, row * plan.cols);
          }
        }
        await writer.writeTensorData(name, slices());
      }
      reports.push({
        name,
        shape: plan.tensor.shape,
        format: formatName,
        mse: expected ? error.se / expected : 0,
        relativeError: error.norm > 0 ? Math.sqrt(error.se / error.norm) : 0,
        sparsity,
        bytes: byteCount,
      });
    }
    const { byteLength } = await writer.finish();
    const weights = reports.reduce((s, r) => s + r.shape.reduce((a, b) => a * b, 1), 0);
    const bytes = reports.reduce((s, r) => s + r.bytes, 0);
    return {
      input: source.path,
      output,
      architecture: source.architecture,
      tensors: reports,
      totals: {
        tensors: reports.length,
        ternaryTensors: plans.filter((p) => p.ternary).length,
        weights,
        bytes,
        fileBytes: byteLength,
        bitsPerWeight: weights ? (bytes * 8) / weights : 0,
        seconds: (performance.now() - started) / 1000,
      },
    };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
