import { findNonTernaryCode } from '@trit/ternary';
import { GgufError } from './errors.js';
import { checkHyperParameters } from './hyper-parameters.js';
import { knownKeyType } from './known-keys.js';
import { alignUp, type GgufFile, type GgufTensorInfo, type ReadGgufOptions, readGguf } from './reader.js';
import type { GgufSource } from './source.js';
import { type GgufMetadataValue, GgufValueType, valueTypeName } from './value-types.js';

export interface GgufIssue {
  /** Stable identifier, e.g. `wrong-key-type`, `non-finite-scale`. */
  code: string;
  message: string;
  offset?: number;
  tensor?: string;
  key?: string;
}

export interface GgufValidation {
  /** True when there are no errors: llama.cpp's loader checks would pass. */
  ok: boolean;
  errors: GgufIssue[];
  warnings: GgufIssue[];
  /** The parsed file, when the header could be parsed. */
  file?: GgufFile;
}

export interface ValidateGgufOptions extends ReadGgufOptions {
  /**
   * Also read every tensor's data and check its scales and float values are
   * finite (llama.cpp's --check-tensors) and its ternary codes are ternary
   * (TQ2_0's and I2_S's code 3, which trit's kernels refuse). Streams the
   * data; costs a full read.
   */
  checkTensorData?: boolean;
  /**
   * The file is expected to hold a vocabulary only (llama.cpp's vocab-only
   * GGUFs), so no tensors is not an error. Otherwise a file without tensors
   * is reported as `no-tensors`: there is no model in it to run.
   */
  vocabOnly?: boolean;
  /** Chunk size for the data scan; default 8 MiB. */
  chunkBytes?: number;
  signal?: AbortSignal;
  onProgress?: (bytesChecked: number, totalBytes: number) => void;
}

const SNAKE_KEY = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;

/**
 * Checks a GGUF the way llama.cpp's loader does, and more: header structure
 * and bounds, exact key types, contiguous aligned data, and, optionally, the
 * data itself. Never throws for a bad file; the reasons are in `errors`.
 */
export async function validateGguf(source: GgufSource, options: ValidateGgufOptions = {}): Promise<GgufValidation> {
  const errors: GgufIssue[] = [];
  const warnings: GgufIssue[] = [];
  let file: GgufFile;
  try {
    file = await readGguf(source, options);
  } catch (error) {
    if (!(error instanceof GgufError)) throw error;
    errors.push({ code: 'parse', message: error.message, offset: error.offset, tensor: error.tensor, key: error.key });
    return { ok: false, errors, warnings };
  }
  const src = file.source;
  const at = (key: string) => file.keyOffsets.get(key);

  // Required metadata.
  const arch = file.metadata.get('general.architecture');
  if (!arch)
    errors.push({
      code: 'missing-architecture',
      message: `${src}: general.architecture is missing; llama.cpp requires it`,
      key: 'general.architecture',
    });
  else if (arch.type !== GgufValueType.STRING) {
    errors.push({
      code: 'wrong-key-type',
      message: `${src}: general.architecture has type ${valueTypeName(arch.type)}, expected string`,
      key: 'general.architecture',
      offset: at('general.architecture'),
    });
  }
  const architecture = arch?.type === GgufValueType.STRING ? arch.value : undefined;
  // RuvLLM files never loaded in llama.cpp; its metadata rules are advice there, not errors.
  const llamaRules = file.dialect === 'ruvllm' ? warnings : errors;
  if (file.tensors.some((t) => t.typeInfo.quantized) && !file.metadata.has('general.quantization_version')) {
    llamaRules.push({
      code: 'missing-quantization-version',
      message: `${src}: quantized tensors need general.quantization_version (u32 2)`,
      key: 'general.quantization_version',
    });
  }

  // Keys: llama.cpp's exact types, nesting, naming.
  for (const [key, value] of file.metadata) {
    const known = knownKeyType(key, architecture);
    if (known && !typeMatches(value, known)) {
      const expected =
        known.type === GgufValueType.ARRAY ? valueTypeName(known.type, known.elementType) : valueTypeName(known.type);
      errors.push({
        code: 'wrong-key-type',
        message: `${src}: key ${key} has type ${describeType(value)} but llama.cpp expects ${expected}`,
        key,
        offset: at(key),
      });
    }
    if (value.type === GgufValueType.ARRAY && value.elementType === GgufValueType.ARRAY) {
      errors.push({
        code: 'nested-array',
        message: `${src}: key ${key} holds an array of arrays, which llama.cpp's reader rejects`,
        key,
        offset: at(key),
      });
    }
    if (!SNAKE_KEY.test(key))
      warnings.push({
        code: 'key-naming',
        message: `${src}: key "${key}" is not lower_snake_case segments joined by "."`,
        key,
        offset: at(key),
      });
  }
  checkTokenizer(file, errors, warnings);
  const hyper = checkHyperParameters(file);
  errors.push(...hyper.errors);
  warnings.push(...hyper.warnings);

  // Data layout: llama.cpp wants info order, back to back, each padded to the alignment.
  let expectedOffset = 0;
  for (const t of file.tensors) {
    if (t.offset !== expectedOffset) {
      errors.push({
        code: 'non-contiguous',
        message: `${src}: tensor "${t.name}" data is at data offset ${t.offset}, but llama.cpp requires ${expectedOffset} (tensors in info order, each padded to ${file.alignment} bytes, no gaps)`,
        tensor: t.name,
        offset: t.fileOffset,
      });
      break;
    }
    expectedOffset += alignUp(t.byteSize, file.alignment);
  }
  if (file.tensors.length === 0 && !options.vocabOnly) {
    errors.push({
      code: 'no-tensors',
      message: `${src}: the file holds no tensors, so there is no model in it to run (a vocabulary-only file is valid when validated as one)`,
    });
  }
  const paddedEnd = file.dataOffset + expectedOffset;
  if (file.tensors.length > 0 && file.byteLength < paddedEnd) {
    errors.push({
      code: 'missing-padding',
      message: `${src}: file ends at ${file.byteLength}, before the padding of the last tensor (llama.cpp reads up to ${paddedEnd})`,
      offset: file.byteLength,
    });
  } else if (file.tensors.length > 0 && file.byteLength > paddedEnd) {
    warnings.push({
      code: 'trailing-bytes',
      message: `${src}: ${file.byteLength - paddedEnd} bytes after the last tensor are not used`,
      offset: paddedEnd,
    });
  }

  // Dialect and type notes.
  if (file.dialect === 'bitnet.cpp') {
    warnings.push({
      code: 'dialect',
      message: `${src}: bitnet.cpp file (I2_S = 36, TL1/TL2): upstream llama.cpp cannot load it`,
    });
  } else if (file.dialect === 'ruvllm') {
    warnings.push({
      code: 'dialect',
      message: `${src}: RuvLLM file (type 30 is its T158 block, not BF16; dims written [rows, cols]): llama.cpp cannot load it`,
    });
  }
  for (const t of file.tensors) {
    if (t.typeInfo.opaque)
      warnings.push({
        code: 'opaque-type',
        message: `${src}: tensor "${t.name}" is ${t.typeName}, whose layout depends on the kernels that made it`,
        tensor: t.name,
      });
  }

  if (options.checkTensorData) await checkData(file, options, errors);
  return { ok: errors.length === 0, errors, warnings, file };
}

function describeType(value: GgufMetadataValue): string {
  return value.type === GgufValueType.ARRAY ? valueTypeName(value.type, value.elementType) : valueTypeName(value.type);
}

function typeMatches(
  value: GgufMetadataValue,
  known: { type: GgufValueType; elementType?: GgufValueType; perLayerArray?: boolean },
): boolean {
  if (value.type === known.type)
    return (
      known.elementType === undefined || (value.type === GgufValueType.ARRAY && value.elementType === known.elementType)
    );
  return !!known.perLayerArray && value.type === GgufValueType.ARRAY && value.elementType === known.type;
}

function checkTokenizer(file: GgufFile, errors: GgufIssue[], warnings: GgufIssue[]): void {
  const tokens = file.metadata.get('tokenizer.ggml.tokens');
  if (!tokens || tokens.type !== GgufValueType.ARRAY) return;
  const count = tokens.value.length;
  for (const key of ['tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
    const other = file.metadata.get(key);
    if (other?.type === GgufValueType.ARRAY && other.value.length !== count) {
      errors.push({
        code: 'tokenizer-length',
        message: `${file.source}: ${key} has ${other.value.length} entries but tokenizer.ggml.tokens has ${count}`,
        key,
        offset: file.keyOffsets.get(key),
      });
    }
  }
  for (const [key, value] of file.metadata) {
    if (
      key.startsWith('tokenizer.ggml.') &&
      key.endsWith('_token_id') &&
      typeof value.value === 'number' &&
      value.value >= count
    ) {
      warnings.push({
        code: 'token-id-range',
        message: `${file.source}: ${key} = ${value.value} is outside the ${count}-token vocabulary`,
        key,
      });
    }
  }
}

/** Byte offset (within a block) of the fp16 scale of one block, for the per-block scaled types. */
const BLOCK_SCALE_AT: Record<string, number> = {
  Q8_0: 0,
  Q4_0: 0,
  Q4_1: 0,
  Q5_0: 0,
  Q5_1: 0,
  Q4_K: 0,
  Q5_K: 0,
  Q6_K: 208,
  TQ1_0: 52,
  TQ2_0: 64,
  BITNET_T158: 64,
};

async function checkData(file: GgufFile, options: ValidateGgufOptions, errors: GgufIssue[]): Promise<void> {
  const chunkBytes = Math.max(1 << 16, options.chunkBytes ?? 8 << 20);
  const total = file.tensors.reduce((s, t) => s + t.byteSize, 0);
  let checked = 0;
  for (const t of file.tensors) {
    if (options.signal?.aborted) throw new GgufError('validation was aborted', { source: file.source });
    const issue = await scanTensor(file, t, chunkBytes, (n) => {
      checked += n;
      options.onProgress?.(checked, total);
    });
    if (issue) errors.push(issue);
  }
}

/**
 * Returns the first non-finite value or scale, or non-ternary code, in a
 * tensor, reading it chunk by chunk.
 */
async function scanTensor(
  file: GgufFile,
  t: GgufTensorInfo,
  chunkBytes: number,
  progress: (n: number) => void,
): Promise<GgufIssue | undefined> {
  const scaleAt = BLOCK_SCALE_AT[t.typeName];
  const ternary = t.typeInfo.ternaryFormat;
  const isHalf = t.typeName === 'F16';
  const isBf16 = t.typeName === 'BF16';
  const isF32 = t.typeName === 'F32';
  const isI2s = t.typeName === 'I2_S';
  if (scaleAt === undefined && !isHalf && !isBf16 && !isF32 && !isI2s) {
    progress(t.byteSize);
    return undefined;
  }
  // I2_S: ⌊n/4⌋ bytes of 32-byte code blocks (a partial last block's bytes hold no codes), then the
  // float32 tensor scale in a 32-byte tail (docs/formats.md §I2_S).
  const unit = scaleAt !== undefined ? t.typeInfo.bytesPerBlock : isI2s ? 32 : isF32 ? 4 : 2;
  const scanned = isI2s ? t.byteSize - 32 : t.byteSize;
  const step = Math.max(unit, Math.floor(chunkBytes / unit) * unit);
  for (let start = 0; start < scanned; start += step) {
    const length = Math.min(step, scanned - start);
    const bytes = await file.readBytes(t.fileOffset + start, length);
    const codes = ternary
      ? findNonTernaryCode(ternary, bytes, { firstBlock: start / unit, elements: t.elementCount })
      : undefined;
    const codeIssue =
      codes &&
      badValue(
        file,
        t,
        start + codes.byte,
        `block ${codes.block}, element ${codes.element} holds a reserved code (it decodes to ${codes.value}), which is not ternary; trit's kernels refuse the tensor`,
        'non-ternary-code',
      );
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Values and scales before the bad code, so the problem reported is the first in the file.
    const end = codes ? codes.byte : length;
    for (let p = 0; p + unit <= length && p < end && !isI2s; p += unit) {
      if (scaleAt !== undefined || isHalf) {
        const bits = view.getUint16(p + (scaleAt ?? 0), true);
        if ((bits & 0x7c00) === 0x7c00) {
          const what =
            scaleAt !== undefined
              ? `block ${(start + p) / unit} has a non-finite fp16 scale (0x${bits.toString(16)})`
              : `element ${(start + p) / 2} is a non-finite fp16 value`;
          return badValue(file, t, start + p, what);
        }
      } else if (isBf16) {
        if ((view.getUint16(p, true) & 0x7f80) === 0x7f80)
          return badValue(file, t, start + p, `element ${(start + p) / 2} is a non-finite bf16 value`);
      } else if (!Number.isFinite(view.getFloat32(p, true))) {
        return badValue(file, t, start + p, `element ${(start + p) / 4} is ${view.getFloat32(p, true)}`);
      }
    }
    if (codeIssue) return codeIssue;
    progress(length);
  }
  if (isI2s) {
    const tail = await file.readBytes(t.fileOffset + scanned, 4);
    const scale = new DataView(tail.buffer, tail.byteOffset, 4).getFloat32(0, true);
    progress(t.byteSize - scanned);
    if (!Number.isFinite(scale)) return badValue(file, t, scanned, `its I2_S tensor scale is ${scale}`);
  }
  return undefined;
}

function badValue(file: GgufFile, t: GgufTensorInfo, at: number, what: string, code = 'non-finite-data'): GgufIssue {
  return {
    code,
    message: `${file.source}: tensor "${t.name}": ${what} (offset ${t.fileOffset + at})`,
    tensor: t.name,
    offset: t.fileOffset + at,
  };
}
