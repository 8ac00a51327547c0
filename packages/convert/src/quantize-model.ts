import {
  BitnetCppType,
  checkHyperParameters,
  detectDialect,
  encodeMetadataValue,
  GgmlType,
  type GgmlTypeInfo,
  type GgufMetadataInput,
  type GgufMetadataValue,
  GgufValue,
  GgufValueType,
  GgufWriter,
  ggmlTypeByName,
  ggmlTypes,
  ggufTensorNameFor,
  type ModelTensorRole,
  readGguf,
  TENSOR_NAMES,
  tensorRolesOf,
} from '@trit/gguf';
import {
  type LayerMask,
  type PtBitnetConfig,
  perTensorAbsmean,
  ptBitnetConfig,
  QuantizeError,
  quantizeTensor,
  shouldQuantize,
  tensorStorage,
  validateLayerMask,
} from '@trit/quantizer';
import { openSafetensorsModel, type SafetensorsModelTensor } from '@trit/safetensors';
import { encodeTernaryTensor, type TernaryFormatName, TernaryTensor } from '@trit/ternary';
import { ggufTokenizerMetadataFromHf, type HfTokenizerConfig, tokenizerFromGguf } from '@trit/tokenizer';
import packageJson from '../package.json' with { type: 'json' };
import {
  bitnetQuantizationOf,
  floatCodes,
  gammaFromWeightScale,
  isUnconverted,
  unpackBitnetWeights,
} from './bitnet-checkpoint.js';
import {
  architectureOf,
  checkHfConfig,
  ggufHyperParameters,
  ggufTensorName,
  type HfConfig,
  isIgnoredHfTensor,
  type ModelArchitecture,
  permuteForRope,
  projectionShape,
} from './hf.js';
import { llamaQuantizeDefaultTypes, type TernaryFtype } from './llama-quantize-defaults.js';

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
  /**
   * Ternary codes and gamma as a checkpoint publishes them (packed BitNet
   * weights): stored exactly, never requantized. `load` gives codes × gamma.
   */
  loadCodes?(): Promise<{ codes: Int8Array; scale: number }>;
  /** A projection trained against per-tensor absmean codes (BitNet QAT): per-tensor absmean by default. */
  trained?: boolean;
  /** A projection the checkpoint keeps in float (quantization_config.modules_to_not_convert): never ternary. */
  keepDense?: boolean;
}

/** A model ready to convert: architecture, metadata for the GGUF, and tensors in GGUF naming. */
export interface ModelSource {
  path: string;
  architecture: ModelArchitecture;
  metadata: Record<string, GgufMetadataInput>;
  tensors: SourceTensor[];
}

export interface QuantizeModelOptions {
  /**
   * Ternary storage format: `tq2_0` (default), `tq1_0` (llama.cpp types), `i2_s` (bitnet.cpp's, written
   * under its `bitnet-b1.58` architecture; bitnet sources only) or `t158` (RuvLLM's; llama.cpp cannot load it).
   */
  format?: TernaryFormatName;
  /** Which tensors become ternary; default `all` (every projection; embeddings, head and norms never). */
  layers?: LayerMask;
  /**
   * `tensor`: one absmean scale per matrix, transformers' WeightQuant (the codes a BitNet model was trained
   * against); `block`: absmean per 256-weight block (post-training quantization of a float model). Default:
   * `tensor` for BitNet checkpoints (BitNet architectures or a bitnet quantization_config), `block` otherwise.
   * Packed checkpoints keep their published codes and scale either way.
   */
  scales?: 'tensor' | 'block';
  /** Least-squares scales and threshold search per block; default true with block scales (refused with tensor scales). */
  optimizeScales?: boolean;
  /** Storage of tensors left dense (embeddings, head, non-selected projections); default f16. */
  densePrecision?: PtBitnetConfig['densePrecision'];
  /**
   * ggml type of the output head (`f16`, `q8_0`, `q6_k`, … any type the GGUF type table can write). With a
   * tied head (no output tensor) it applies to token_embd, as llama-quantize does. Default: what llama-quantize
   * picks for the ternary format (llamaQuantizeDefaultTypes: Q6_K for TQ1_0/TQ2_0, F16 for I2_S); the dense
   * precision for t158 or when `densePrecision` is given.
   */
  outputType?: string;
  /** ggml type of token_embd (unless a tied head takes `outputType`); default as for `outputType` (Q4_K when untied). */
  embeddingType?: string;
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
  /** How a ternary tensor's codes were made (one of QUANTIZATION_METHODS); absent for dense tensors. */
  quantization?: string;
}

export interface QuantizeReport {
  input: string;
  output: string;
  architecture: ModelArchitecture;
  /** `general.architecture` written: the source's, or bitnet.cpp's `bitnet-b1.58` for I2_S. */
  fileArchitecture: string;
  /** The quantizations that ran, in the order first met (e.g. `per-tensor absmean (BitNet QAT)`); empty for float files. */
  quantization: string[];
  /**
   * Who chose the types of the head and token_embd: `llama.cpp` / `bitnet.cpp` (llama-quantize's default for the
   * format), `options` (outputType / embeddingType) or `dense precision` (t158, densePrecision, float files).
   */
  denseTypes: { output?: string; tokenEmbd?: string; rule: 'llama.cpp' | 'bitnet.cpp' | 'options' | 'dense precision' };
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
  const quantization = bitnetQuantizationOf(config, configPath);
  const scaleTensors = new Map<string, SafetensorsModelTensor>();
  for (const t of model.tensors)
    if (t.name.endsWith('.weight_scale')) scaleTensors.set(t.name.slice(0, -'_scale'.length), t);
  const tensors: SourceTensor[] = [];
  const unknown: string[] = [];
  for (const t of model.tensors) {
    if (isIgnoredHfTensor(t.name) || t.name.endsWith('.weight_scale')) continue;
    const name = ggufTensorName(t.name);
    if (!name) {
      unknown.push(t.name);
      continue;
    }
    const shape = [...t.shape];
    // llama rotates adjacent pairs; HF stores Q and K rotate-half. bitnet uses NEOX: no permutation.
    const permuteHeads =
      arch === 'llama' ? (/attn_q\.weight$/.test(name) ? heads : /attn_k\.weight$/.test(name) ? kvHeads : 0) : 0;
    const permute = <T extends Float32Array | Int8Array>(values: T, rows: number): T =>
      permuteHeads ? permuteForRope(values, rows, shape[1] as number, permuteHeads) : values;
    const scaleTensor = scaleTensors.get(t.name);
    scaleTensors.delete(t.name);
    const where = `${t.shard}: tensor ${t.name}`;
    const layout = `${t.dtype} [${shape.join(', ')}]${scaleTensor ? ' with weight_scale' : ''}`;
    const supported =
      'supported: F32/F16/BF16 weights, and for BitNet projections uint8 [rows/4, cols] packed codes with a weight_scale (bitlinear or offline autobitlinear) or unpacked codes with a weight_scale (offline autobitlinear)';
    const unconverted = quantization !== undefined && isUnconverted(t.name, quantization);
    const trained = arch === 'bitnet' || quantization !== undefined;
    const isProjection = shouldQuantize(name, 'all');

    if (t.dtype === 'U8' || scaleTensor) {
      if (!quantization || !scaleTensor || !isProjection || unconverted || shape.length !== 2) {
        const why = !scaleTensor
          ? 'a uint8 weight without a weight_scale'
          : !isProjection || unconverted
            ? 'a weight_scale on a tensor that is not a BitNet projection'
            : !quantization
              ? 'a weight_scale, but config.json has no quantization_config to say whether it divides or multiplies'
              : 'a ternary weight that is not a matrix';
        throw new QuantizeError(`${where}: layout ${layout} is ${why}; ${supported}`);
      }
      const packed = t.dtype === 'U8';
      if (!packed && !['F32', 'F16', 'BF16'].includes(t.dtype))
        throw new QuantizeError(`${where}: layout ${layout} is not supported; ${supported}`);
      if (!packed && !(quantization.linearClass === 'autobitlinear' && quantization.mode === 'offline'))
        throw new QuantizeError(
          `${where}: layout ${layout} is float weights with a weight_scale under linear_class "${quantization.linearClass}", quantization_mode "${quantization.mode}"; ${supported}`,
        );
      const rows = (shape[0] as number) * (packed ? 4 : 1);
      const cols = shape[1] as number;
      const expected = projectionShape(name, config);
      if (expected && (expected[0] !== rows || expected[1] !== cols))
        throw new QuantizeError(
          `${where}: layout ${layout} holds a [${rows}, ${cols}] ternary matrix, config.json makes ${name} [${expected.join(', ')}]${packed ? ` (packed as [${expected[0] / 4}, ${expected[1]}])` : ''}`,
        );
      const scaleInfo = scaleTensor;
      const loadCodes = async () => {
        const scaleValues = await model.readTensorFloat32(scaleInfo.name);
        if (scaleValues.length !== 1)
          throw new QuantizeError(
            `${scaleInfo.shard}: tensor ${scaleInfo.name} has ${scaleValues.length} values; one scale per tensor is supported`,
          );
        const scale = gammaFromWeightScale(
          scaleValues[0] as number,
          quantization.linearClass,
          `${scaleInfo.shard}: tensor ${scaleInfo.name}`,
        );
        const codes = packed
          ? unpackBitnetWeights(await model.readTensorData(t.name), rows / 4, cols, where)
          : floatCodes(await model.readTensorFloat32(t.name), where);
        return { codes: permute(codes, rows), scale };
      };
      tensors.push({
        name,
        sourceName: t.name,
        shape: [rows, cols],
        trained,
        loadCodes,
        load: async () => {
          const { codes, scale } = await loadCodes();
          return Float32Array.from(codes, (c) => c * scale);
        },
      });
      continue;
    }
    if (!['F32', 'F16', 'BF16'].includes(t.dtype))
      throw new QuantizeError(`${where}: layout ${layout} is not supported; ${supported}`);
    tensors.push({
      name,
      sourceName: t.name,
      shape,
      // Float projections of a BitNet model are master weights, trained against per-tensor codes.
      ...(trained && isProjection ? (unconverted ? { keepDense: true } : { trained: true }) : {}),
      load: async () => permute(await model.readTensorFloat32(t.name), shape[0] as number),
      // Q/K (permuted within heads) and tensors that are not matrices load whole.
      ...(permuteHeads || shape.length !== 2
        ? {}
        : { loadRows: (start: number, count: number) => model.readTensorFloat32(t.name, { start, count }) }),
    });
  }
  const orphan = [...scaleTensors.values()][0];
  if (orphan)
    throw new QuantizeError(
      `${orphan.shard}: tensor ${orphan.name} is a weight_scale with no packed weight beside it (expected ${orphan.name.slice(0, -'_scale'.length)})`,
    );
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
        // A float bitnet GGUF holds master weights, like the checkpoint it came from.
        ...(arch === 'bitnet' && shouldQuantize(t.name, 'all') ? { trained: true } : {}),
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
  ['i2_s', BitnetCppType.I2_S],
  ['t158', 30],
]);
const GGML_DENSE: ReadonlyMap<string, string> = new Map([
  ['f32', 'F32'],
  ['f16', 'F16'],
  ['bf16', 'BF16'],
  ['q8_0', 'Q8_0'],
]);

/** How ternary codes were made, as the report names it. */
export const QUANTIZATION_METHODS = {
  packed: 'packed codes as published',
  perTensor: 'per-tensor absmean (BitNet QAT)',
  perBlock: 'per-block absmean',
  perBlockSearch: 'per-block absmean + scale search',
} as const;

// bitnet.cpp reads I2_S only under its own architecture names (docs/formats.md §I2_S); @trit/gguf's
// detectDialect is the one place that knows which names those are.
const I2S_ARCHITECTURE = 'bitnet-b1.58';
const i2sDialect = detectDialect(
  new Map([['general.architecture', { type: GgufValueType.STRING, value: I2S_ARCHITECTURE }]]),
);

/**
 * Dense types the converter can write: rows of the GGUF type table with a fromFloat, ternary ones aside, and
 * Q8_K, which ggml uses only to round activations (docs/formats.md §vec_dot_type): no weight is stored in it.
 */
function writableDenseTypes(): GgmlTypeInfo[] {
  return ggmlTypes().filter((t) => t.fromFloat && t.toFloat && !t.ternaryFormat && t.name !== 'Q8_K');
}

function denseTypeOption(option: 'outputType' | 'embeddingType', value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const types = writableDenseTypes();
  const info = typeof value === 'string' ? types.find((t) => t.name === value.toUpperCase()) : undefined;
  if (!info)
    throw new QuantizeError(
      `${option} "${String(value)}" is not a type the converter can write; use ${types.map((t) => t.name.toLowerCase()).join(', ')}`,
    );
  return info.name;
}

interface Plan {
  tensor: SourceTensor;
  rows: number;
  cols: number;
  ternary?: TernaryFormatName;
  dense?: string;
}

/**
 * Converts a model tensor by tensor: projections the layer mask selects
 * become ternary, the rest stay dense. Ternary codes are the checkpoint's own
 * (packed), per-tensor absmean (BitNet checkpoints) or per-block absmean (float
 * models). Peak memory is about one tensor's floats; the output is written atomically.
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
  if (options.scales !== undefined && options.scales !== 'tensor' && options.scales !== 'block')
    throw new QuantizeError(`unknown scales "${String(options.scales)}"; use tensor or block`);
  if (options.scales === 'tensor' && options.optimizeScales === true)
    throw new QuantizeError('optimizeScales searches per-block scales; it cannot be combined with scales "tensor"');
  const outputType = denseTypeOption('outputType', options.outputType);
  const embeddingType = denseTypeOption('embeddingType', options.embeddingType);
  const source = typeof input === 'string' ? await openModelSource(input) : input;
  checkLoadable(source);
  const i2s = format === 'i2_s' && !floatOnly;
  if (i2s && source.architecture !== 'bitnet')
    throw new QuantizeError(
      `${source.path}: format i2_s is written under bitnet.cpp's ${I2S_ARCHITECTURE} architecture, whose graph needs BitNet's sub-norms; this ${source.architecture} model converts to tq2_0 or tq1_0`,
    );
  const layers = options.layers ?? 'all';
  validateLayerMask(layers);
  // An explicit optimizeScales asks for block scales; otherwise BitNet checkpoints keep the scales they were trained with.
  const trainedSource = source.tensors.some((t) => t.trained);
  const scales = options.scales ?? (options.optimizeScales === true || !trainedSource ? 'block' : 'tensor');
  if (i2s && scales === 'block')
    throw new QuantizeError(
      'format i2_s has one scale per tensor; block scales cannot be stored in it (use scales "tensor")',
    );
  const config = ptBitnetConfig({
    layersToQuantize: layers,
    exportFormat: format,
    optimizeScales: scales === 'block' && (options.optimizeScales ?? true),
    densePrecision: options.densePrecision ?? 'f16',
  });
  const ruvllm = format === 't158' && !floatOnly;
  const outputTensor = source.tensors.find((t) => t.name === 'output.weight');
  const embdTensor = source.tensors.find((t) => t.name === 'token_embd.weight');
  const hasOutput = outputTensor !== undefined;
  // Unless told otherwise, head and embeddings get the types llama-quantize would give them for this ftype.
  const ggmlDefaults =
    floatOnly || ruvllm || options.densePrecision !== undefined || embdTensor?.shape.length !== 2
      ? undefined
      : llamaQuantizeDefaultTypes({
          ftype: format.toUpperCase() as TernaryFtype,
          architecture: source.architecture,
          tokenEmbdColumns: embdTensor.shape[1] as number,
          outputColumns: outputTensor?.shape.length === 2 ? (outputTensor.shape[1] as number) : undefined,
        });
  const headType = outputType ?? (hasOutput ? ggmlDefaults?.output : ggmlDefaults?.tokenEmbd);
  const embdType = embeddingType ?? ggmlDefaults?.tokenEmbd;
  /** The type that names this tensor's storage, as llama-quantize applies them (a tied head is token_embd). */
  const typeOverride = (name: string): string | undefined =>
    name === 'output.weight' || (name === 'token_embd.weight' && !hasOutput && outputType)
      ? headType
      : name === 'token_embd.weight'
        ? embdType
        : undefined;

  const plans: Plan[] = [...source.tensors].sort(naturalOrder).map((tensor) => {
    const [rows, cols] =
      tensor.shape.length === 1
        ? [1, tensor.shape[0] as number]
        : [tensor.shape.slice(0, -1).reduce((a, b) => a * b, 1), tensor.shape.at(-1) as number];
    const override = typeOverride(tensor.name);
    if (override !== undefined) {
      const info = ggmlTypeByName(override) as GgmlTypeInfo;
      if (cols % info.blockSize !== 0)
        throw new QuantizeError(
          `${source.path}: ${tensor.sourceName} has rows of ${cols} values; ${info.name} stores blocks of ${info.blockSize}`,
        );
      return { tensor, rows, cols, dense: info.name };
    }
    if (floatOnly) {
      const dense = tensor.shape.length === 1 ? 'F32' : (GGML_DENSE.get(floatOnly) as string);
      return { tensor, rows, cols, dense: dense === 'Q8_0' && cols % 32 !== 0 ? 'F16' : dense };
    }
    const storage = tensor.keepDense ? undefined : tensorStorage(tensor.name, config);
    if (storage?.kind === 'ternary' && tensor.shape.length === 2) {
      if (i2s) {
        // bitnet.cpp's kernels run whole 128-element blocks and drop a tail, so such shapes are refused here.
        if ((rows * cols) % 128 !== 0)
          throw new QuantizeError(
            `${source.path}: ${tensor.sourceName} has ${rows * cols} elements; I2_S needs a multiple of 128 (bitnet.cpp's kernels drop the tail)`,
          );
        return { tensor, rows, cols, ternary: storage.format };
      }
      if (ruvllm || cols % 256 === 0) return { tensor, rows, cols, ternary: storage.format };
    }
    const precision = storage?.kind === 'dense' ? storage.precision : config.densePrecision;
    return { tensor, rows, cols, dense: tensor.shape.length === 1 ? 'F32' : (GGML_DENSE.get(precision) as string) };
  });

  const fileArchitecture = i2s ? I2S_ARCHITECTURE : source.architecture;
  const writer = await GgufWriter.create(output, {
    signal: options.signal,
    dialect: ruvllm ? 'ruvllm' : i2s ? i2sDialect : 'ggml',
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
    writer.setMetadata('general.architecture', fileArchitecture);
    writer.setMetadata('general.name', (await import('node:path')).basename(source.path));
    const quantized = plans.some((p) => p.ternary || isQuantizedType(p.dense));
    if (quantized) writer.setMetadata('general.quantization_version', 2);
    const archPrefix = `${source.architecture}.`;
    for (const [key, value] of Object.entries(source.metadata)) {
      if (key === 'general.name' || key === 'general.quantization_version') continue;
      // The hyper-parameters go under the architecture written: `bitnet-b1.58.*` for I2_S.
      writer.setMetadata(
        key.startsWith(archPrefix) ? `${fileArchitecture}.${key.slice(archPrefix.length)}` : key,
        value,
      );
    }
    if (ruvllm) {
      // RuvLLM readers (and ours) recognise its dialect by these keys.
      writer.setMetadata('craftsman.bitnet.version', GgufValue.u32(1));
      writer.setMetadata('craftsman.bitnet.weight_encoding', 'absmean_ternary');
    }
    if (!floatOnly) {
      writer.setMetadata('trit.quantization.weight_encoding', 'absmean_ternary');
      writer.setMetadata('trit.quantization.activation_bits', GgufValue.u32(8));
      writer.setMetadata('trit.quantization.router_precision', config.routerPrecision);
      writer.setMetadata('trit.quantization.block_size', GgufValue.u32(config.blockSize));
      writer.setMetadata('trit.quantization.format', format);
      writer.setMetadata('trit.quantization.scales', scales);
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
      let method: string | undefined;
      if (plan.ternary) {
        const shape: [number, number] = [plan.rows, plan.cols];
        // I2_S keeps one scale for the tensor; the block formats repeat gamma in every block (their d is fp16).
        const blockSize = plan.ternary === 'i2_s' ? expected : config.blockSize;
        const oneScale = (codes: Int8Array, scale: number) =>
          TernaryTensor.fromCodes(
            codes,
            new Float32Array(Math.ceil(expected / blockSize)).fill(scale),
            shape,
            blockSize,
          );
        let tensor: TernaryTensor;
        let values: Float32Array;
        if (plan.tensor.loadCodes) {
          const { codes, scale } = await plan.tensor.loadCodes();
          tensor = oneScale(codes, scale);
          values = tensor.dequantize();
          method = QUANTIZATION_METHODS.packed;
        } else {
          values = await plan.tensor.load();
          check(values, expected, 0);
          if (scales === 'tensor') {
            const { codes, scale } = perTensorAbsmean(values, { name: sourceName });
            tensor = oneScale(codes, scale);
            method = QUANTIZATION_METHODS.perTensor;
          } else {
            tensor = quantizeTensor(values, shape, config, { name: sourceName });
            method = config.optimizeScales ? QUANTIZATION_METHODS.perBlockSearch : QUANTIZATION_METHODS.perBlock;
          }
        }
        let bytes: Uint8Array;
        try {
          bytes = encodeTernaryTensor(tensor, plan.ternary);
        } catch (cause) {
          throw new QuantizeError(
            `${source.path}: ${sourceName} cannot be stored as ${plan.ternary.toUpperCase()}: ${(cause as Error).message}`,
          );
        }
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
        ...(method ? { quantization: method } : {}),
      });
    }
    const { byteLength } = await writer.finish();
    const weights = reports.reduce((s, r) => s + r.shape.reduce((a, b) => a * b, 1), 0);
    const bytes = reports.reduce((s, r) => s + r.bytes, 0);
    return {
      input: source.path,
      output,
      architecture: source.architecture,
      fileArchitecture,
      quantization: [...new Set(reports.flatMap((r) => (r.quantization ? [r.quantization] : [])))],
      denseTypes: {
        ...(outputTensor ? { output: plans.find((p) => p.tensor === outputTensor)?.dense } : {}),
        ...(embdTensor ? { tokenEmbd: plans.find((p) => p.tensor === embdTensor)?.dense } : {}),
        rule:
          outputType !== undefined || embeddingType !== undefined
            ? 'options'
            : ggmlDefaults
              ? ggmlDefaults.rule
              : 'dense precision',
      },
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

/** True for a block-quantized dense type (Q8_0, Q6_K, …), which needs general.quantization_version. */
function isQuantizedType(name: string | undefined): boolean {
  return name !== undefined && ggmlTypeByName(name)?.quantized === true;
}
