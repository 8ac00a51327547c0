import { encodeTernaryTensor, type TernaryFormatName, TernaryTensor, writeHalf } from '@trit/ternary';
import type { GgufMetadataInput } from './encode.js';
import { GgufWriteError } from './errors.js';
import { type GgmlTypeInfo, type GgufDialect, ggmlTypeByName } from './ggml-types.js';
import { encodeUtf8 } from './utf8.js';
import { GgufValue } from './value-types.js';
import { type GgufWriteProgress, GgufWriter } from './writer.js';

/** RuvLLM's name: 256-weight blocks of 64 seed-packed code bytes, then the fp16 scale (66 bytes). */
export function serializeBitnetT158(tensor: TernaryTensor): Uint8Array {
  return encodeTernaryTensor(tensor, 't158');
}

/** RuvLLM's name, with its defect fixed: rounds to nearest even and keeps subnormals (docs/formats.md §F16). */
export function f32ToF16Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  for (let i = 0; i < values.length; i++) writeHalf(out, i * 2, values[i]);
  return out;
}

export type ExportTensorData = TernaryTensor | Float32Array | Uint8Array;

export interface ExportTensor {
  name: string;
  /**
   * A TernaryTensor (stored in the export `format`), float32 values (stored
   * as `type`, default F32), or bytes already in `type`. A function is called
   * when the tensor's turn comes, so only one tensor need be in memory.
   */
  data: ExportTensorData | (() => ExportTensorData | Promise<ExportTensorData>);
  /** NumPy order (`[rows, cols]`, slowest first). Optional for an eager TernaryTensor. */
  shape?: readonly number[];
  /** ggml type name (`F32`, `F16`, `BF16`, `Q8_0`, `TQ2_0`, …). Defaults: the export format for ternary data, F32 for floats. */
  type?: string;
}

/** The ternary formats with a GGUF type llama.cpp or bitnet.cpp reads: all but RuvLLM's T158. */
export type ExportTernaryFormat = Exclude<TernaryFormatName, 't158'>;

export interface ExportBitnetOptions {
  /** `general.architecture`, e.g. `bitnet` or `llama`. */
  architecture: string;
  /** Further keys, llama.cpp's `[arch].*` hyper-parameters and tokenizer among them; their types are checked. */
  metadata?: Record<string, GgufMetadataInput> | Iterable<[string, GgufMetadataInput]>;
  tensors: readonly ExportTensor[];
  /** How ternary tensors are stored; default `tq2_0`. `i2_s` needs a bitnet.cpp architecture. */
  format?: ExportTernaryFormat;
  /** `sorted` (default): by the UTF-8 bytes of the names; `given`: as listed; or an explicit list of names. */
  order?: 'sorted' | 'given' | readonly string[];
  /** Recorded under `trit.quantization.*`. */
  quantization?: {
    routerPrecision?: string;
    blockSize?: number;
    quantizerVersion?: string;
  };
  alignment?: number;
  signal?: AbortSignal;
  onProgress?: (progress: GgufWriteProgress) => void;
}

/** Byte-wise UTF-8 order, which differs from JS string order for characters above U+FFFF. */
export function compareUtf8(a: string, b: string): number {
  const x = encodeUtf8(a);
  const y = encodeUtf8(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function rejectTraversal(path: string): void {
  if (path.split(/[\\/]/).includes('..')) {
    throw new GgufWriteError('output path must not contain a ".." component', { source: path });
  }
}

const BITNET_CPP_ARCHITECTURES = new Set(['bitnet-b1.58', 'bitnet-25']);

/**
 * Writes a BitNet model as a GGUF that llama.cpp loads: ternary tensors in
 * TQ2_0/TQ1_0 (or bitnet.cpp's I2_S), float tensors as F32/F16/BF16/Q8_0,
 * the caller's llama.cpp keys with the types it demands, and provenance under
 * `trit.quantization.*`. Atomic, streamed, abortable.
 */
export async function exportBitnetModel(
  path: string,
  options: ExportBitnetOptions,
): Promise<{ path: string; byteLength: number }> {
  rejectTraversal(path);
  const format = options.format ?? 'tq2_0';
  if (!['tq2_0', 'tq1_0', 'i2_s'].includes(format)) {
    throw new GgufWriteError(`cannot export ternary format "${format}"`, {
      source: path,
      expected: 'tq2_0, tq1_0 or i2_s',
      found: format,
    });
  }
  let dialect: GgufDialect = 'ggml';
  if (format === 'i2_s') {
    if (!BITNET_CPP_ARCHITECTURES.has(options.architecture)) {
      throw new GgufWriteError('I2_S is a bitnet.cpp type: its id means something else to llama.cpp', {
        source: path,
        key: 'general.architecture',
        expected: 'bitnet-b1.58 (so readers recognise the bitnet.cpp dialect)',
        found: options.architecture,
      });
    }
    dialect = 'bitnet.cpp';
  }
  const ternaryType = format.toUpperCase();

  const names = new Set<string>();
  for (const t of options.tensors) {
    if (names.has(t.name)) throw new GgufWriteError('duplicate tensor name', { source: path, tensor: t.name });
    names.add(t.name);
  }
  let ordered: ExportTensor[];
  if (options.order === 'given') ordered = [...options.tensors];
  else if (Array.isArray(options.order)) {
    const byName = new Map(options.tensors.map((t) => [t.name, t]));
    const list = options.order as readonly string[];
    if (list.length !== byName.size || !list.every((n) => byName.has(n)) || new Set(list).size !== list.length) {
      throw new GgufWriteError('order must list every tensor exactly once', {
        source: path,
        expected: `${byName.size} names`,
        found: `${list.length}`,
      });
    }
    ordered = list.map((n) => byName.get(n) as ExportTensor);
  } else ordered = [...options.tensors].sort((a, b) => compareUtf8(a.name, b.name));

  const writer = await GgufWriter.create(path, {
    alignment: options.alignment,
    signal: options.signal,
    dialect,
    onProgress: options.onProgress,
  });
  try {
    writer.setMetadata('general.architecture', options.architecture);
    const user = options.metadata
      ? Symbol.iterator in options.metadata
        ? new Map(options.metadata as Iterable<[string, GgufMetadataInput]>)
        : new Map(Object.entries(options.metadata))
      : new Map<string, GgufMetadataInput>();
    user.delete('general.architecture');

    const plans = ordered.map((t) => planTensor(t, ternaryType, dialect, path));
    const quantized = plans.some((p) => p.info.quantized);
    if (quantized && !user.has('general.quantization_version')) writer.setMetadata('general.quantization_version', 2);
    for (const [key, value] of user) writer.setMetadata(key, value);
    const q = options.quantization ?? {};
    writer.setMetadata('trit.quantization.weight_encoding', 'absmean_ternary');
    writer.setMetadata('trit.quantization.activation_bits', GgufValue.u32(8));
    writer.setMetadata('trit.quantization.router_precision', q.routerPrecision ?? 'f16');
    writer.setMetadata('trit.quantization.block_size', GgufValue.u32(q.blockSize ?? 256));
    writer.setMetadata('trit.quantization.format', format);
    writer.setMetadata('trit.quantization.quantizer_version', q.quantizerVersion ?? 'unknown');

    for (const plan of plans) writer.addTensor(plan.tensor.name, plan.info.id, [...plan.shape].reverse());
    for (const plan of plans) {
      const data = typeof plan.tensor.data === 'function' ? await plan.tensor.data() : plan.tensor.data;
      await writer.writeTensorData(plan.tensor.name, toBytes(data, plan, path));
    }
    return await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

interface TensorPlan {
  tensor: ExportTensor;
  info: GgmlTypeInfo;
  /** NumPy order. */
  shape: readonly number[];
}

/**
 * A TernaryTensor from any copy of @trit/ternary, matched by its fields: `instanceof`
 * fails for one made by a second copy (an ESM and a CJS build, or another version).
 * Values crossing a package boundary are structural (README.md, "Composing your own runtime").
 */
function isTernaryTensor(data: unknown): data is TernaryTensor {
  if (typeof data !== 'object' || data === null) return false;
  const { packed, scales, shape, blockSize } = data as Partial<Record<keyof TernaryTensor, unknown>>;
  return (
    packed instanceof Uint8Array &&
    scales instanceof Float32Array &&
    Array.isArray(shape) &&
    shape.length === 2 &&
    typeof blockSize === 'number'
  );
}

function planTensor(tensor: ExportTensor, ternaryType: string, dialect: GgufDialect, path: string): TensorPlan {
  const where = { source: path, tensor: tensor.name };
  const eager = typeof tensor.data === 'function' ? undefined : tensor.data;
  const ternary = isTernaryTensor(eager) ? eager : undefined;
  const typeName = tensor.type ?? (ternary ? ternaryType : eager instanceof Float32Array ? 'F32' : undefined);
  if (!typeName) throw new GgufWriteError('tensor needs a type (bytes and lazy data carry none)', where);
  const info = ggmlTypeByName(typeName, dialect);
  if (!info) throw new GgufWriteError(`unknown tensor type "${typeName}"`, where);
  const shape = tensor.shape ?? (ternary ? ternary.shape : undefined);
  if (!shape) throw new GgufWriteError('tensor needs a shape (only a TernaryTensor carries one)', where);
  if (ternary && (ternary.shape[0] !== shape[0] || ternary.shape[1] !== shape[shape.length - 1])) {
    throw new GgufWriteError('shape disagrees with the ternary tensor', {
      ...where,
      expected: `${ternary.shape[0]}×${ternary.shape[1]}`,
      found: shape.join('×'),
    });
  }
  return { tensor, info, shape };
}

function toBytes(data: ExportTensorData, plan: TensorPlan, path: string): Uint8Array {
  const where = { source: path, tensor: plan.tensor.name };
  if (isTernaryTensor(data)) {
    const format = plan.info.ternaryFormat;
    if (!format) throw new GgufWriteError(`a ternary tensor cannot be stored as ${plan.info.name}`, where);
    try {
      // Rebuilt with this package's copy of the class, which checks the fields' lengths.
      const { packed, scales, shape, blockSize } = data;
      return encodeTernaryTensor(new TernaryTensor({ packed, scales, shape, blockSize }), format);
    } catch (error) {
      throw new GgufWriteError(`cannot encode as ${plan.info.name}: ${(error as Error).message}`, where, {
        cause: error,
      });
    }
  }
  if (data instanceof Float32Array) {
    const expected = plan.shape.reduce((a, b) => a * b, 1);
    if (data.length !== expected) {
      throw new GgufWriteError('float data length disagrees with the shape', {
        ...where,
        expected: `${expected} values (${plan.shape.join('×')})`,
        found: `${data.length}`,
      });
    }
    if (!plan.info.fromFloat) throw new GgufWriteError(`cannot convert floats to ${plan.info.name}`, where);
    return plan.info.fromFloat(data);
  }
  if (data instanceof Uint8Array) return data;
  throw new GgufWriteError('tensor data must be a TernaryTensor, Float32Array or Uint8Array', where);
}
