import { writeFileAtomic } from './atomic.js';
import { findDtype, type SafetensorsDtype, tensorByteSize } from './dtypes.js';
import { SafetensorsAbortError, SafetensorsWriteError } from './errors.js';
import { METADATA_KEY } from './header.js';
import { SAFETENSORS_INDEX_FILE, SAFETENSORS_SINGLE_FILE } from './model.js';
import { SafetensorsWriter, type TensorChunks } from './writer.js';

/** Bytes (or, for F32/F16/BF16 tensors, float32 values to convert) for one tensor. */
export type ShardedTensorData = TensorChunks | Float32Array;

export interface ShardedTensorInput {
  name: string;
  dtype: SafetensorsDtype;
  /** Row-major, slowest first. */
  shape: readonly number[];
  /**
   * The data, or a function called when this tensor's turn comes, so only one
   * tensor need be in memory at a time.
   */
  data: ShardedTensorData | (() => ShardedTensorData | Promise<ShardedTensorData>);
}

export interface WriteShardedOptions {
  /** Tensor bytes per shard (headers not counted); a bigger tensor gets a shard of its own. Default 2 GiB. */
  maxShardBytes?: number;
  /** `__metadata__` written into every file (Hugging Face writes `{ format: 'pt' }`). */
  metadata?: Readonly<Record<string, string>>;
  /** Aborting removes every temporary file; nothing in the directory changes. */
  signal?: AbortSignal;
  onProgress?: (progress: ShardedWriteProgress) => void;
}

export interface ShardedWriteProgress {
  /** 0-based shard being written, of shardCount. */
  shard: number;
  shardCount: number;
  tensor: string;
  tensorsDone: number;
  tensorCount: number;
}

export interface ShardedWriteResult {
  /** `model.safetensors`, or the shard names in order. */
  files: string[];
  /** `model.safetensors.index.json` when there is more than one shard. */
  indexFile?: string;
  /** Sum of all tensors' data bytes (the index's `metadata.total_size`). */
  totalSize: number;
  shards: { file: string; tensors: string[]; dataBytes: number }[];
}

export const DEFAULT_MAX_SHARD_BYTES = 2 * 1024 ** 3;

/** Hugging Face's shard name: `model-00001-of-00003.safetensors`. */
export function shardFileName(index: number, count: number): string {
  return `model-${String(index + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`;
}

/**
 * Writes a checkpoint into `dir` the way Hugging Face lays it out: one
 * `model.safetensors` when every tensor fits in `maxShardBytes`, otherwise
 * `model-0000i-of-0000n.safetensors` shards (tensors kept in the given order,
 * a new shard started when the next tensor would overflow) plus
 * `model.safetensors.index.json` with `metadata.total_size` and `weight_map`.
 *
 * All shards are written to temporary files first and renamed into place only
 * when every one is complete, then the index is written (atomically) last; an
 * error or abort before that removes every temporary file. A leftover entry
 * point of the other kind (an old index beside a new single file, or an old
 * `model.safetensors` beside new shards) is removed, since loaders would pick
 * it over the new one.
 */
export async function writeShardedSafetensors(
  dir: string,
  tensors: Iterable<ShardedTensorInput>,
  options: WriteShardedOptions = {},
): Promise<ShardedWriteResult> {
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) {
    throw new SafetensorsWriteError('maxShardBytes must be a positive integer', {
      source: dir,
      found: `${maxShardBytes}`,
    });
  }
  const list = [...tensors];
  const plan = planShards(dir, list, maxShardBytes);
  const signal = options.signal;
  if (signal?.aborted) throw new SafetensorsAbortError('aborted before writing', { source: dir });

  const { mkdir, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new SafetensorsWriteError(
      `cannot create the directory (${(error as NodeJS.ErrnoException).code ?? error})`,
      { source: dir },
      { cause: error },
    );
  }

  const files = plan.length === 1 ? [SAFETENSORS_SINGLE_FILE] : plan.map((_, i) => shardFileName(i, plan.length));
  const writers: SafetensorsWriter[] = [];
  let tensorsDone = 0;
  try {
    for (let s = 0; s < plan.length; s++) {
      const writer = await SafetensorsWriter.create(join(dir, files[s]), { metadata: options.metadata, signal });
      writers.push(writer);
      for (const t of plan[s].tensors) writer.addTensor(t.name, t.dtype, t.shape);
      for (const t of plan[s].tensors) {
        options.onProgress?.({
          shard: s,
          shardCount: plan.length,
          tensor: t.name,
          tensorsDone,
          tensorCount: list.length,
        });
        const data = typeof t.data === 'function' ? await t.data() : t.data;
        if (data instanceof Float32Array) await writer.writeTensorFloat32(t.name, data);
        else await writer.writeTensorData(t.name, data);
        tensorsDone++;
      }
      await writer.seal();
    }
    for (const writer of writers) await writer.commit();
  } catch (error) {
    await Promise.all(writers.map((w) => w.abort()));
    if (signal?.aborted && !(error instanceof SafetensorsAbortError)) {
      throw new SafetensorsAbortError('writing was aborted; no file was written', { source: dir }, { cause: error });
    }
    throw error;
  }

  const totalSize = plan.reduce((sum, shard) => sum + shard.dataBytes, 0);
  let indexFile: string | undefined;
  if (plan.length > 1) {
    const weightMap: [string, string][] = [];
    plan.forEach((shard, s) => {
      for (const t of shard.tensors) weightMap.push([t.name, files[s]]);
    });
    indexFile = SAFETENSORS_INDEX_FILE;
    await writeFileAtomic(join(dir, indexFile), encodeIndex(totalSize, weightMap), signal);
    await rm(join(dir, SAFETENSORS_SINGLE_FILE), { force: true });
  } else {
    await rm(join(dir, SAFETENSORS_INDEX_FILE), { force: true });
  }
  return {
    files,
    indexFile,
    totalSize,
    shards: plan.map((shard, s) => ({
      file: files[s],
      tensors: shard.tensors.map((t) => t.name),
      dataBytes: shard.dataBytes,
    })),
  };
}

interface PlannedShard {
  tensors: ShardedTensorInput[];
  dataBytes: number;
}

/** Sizes every tensor (checking names, dtypes and shapes before anything is written) and groups them. */
function planShards(dir: string, tensors: ShardedTensorInput[], maxShardBytes: number): PlannedShard[] {
  const names = new Set<string>();
  const shards: PlannedShard[] = [{ tensors: [], dataBytes: 0 }];
  for (const t of tensors) {
    const where = { source: dir, tensor: t.name };
    if (typeof t.name !== 'string' || t.name.length === 0 || t.name === METADATA_KEY) {
      throw new SafetensorsWriteError('tensor name is empty or reserved', where);
    }
    if (names.has(t.name)) throw new SafetensorsWriteError('duplicate tensor name', where);
    names.add(t.name);
    const dtype = findDtype(t.dtype);
    if (!dtype) throw new SafetensorsWriteError('unknown dtype', { ...where, found: `${t.dtype}` });
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsWriteError('shape must be an array of non-negative integers', where);
    }
    const size = tensorByteSize(dtype, t.shape);
    if ('error' in size) {
      throw new SafetensorsWriteError(size.error, { ...where, expected: size.expected, found: size.found });
    }
    let current = shards[shards.length - 1];
    // A zero-size tensor fits anywhere, so it never opens a shard of its own.
    if (current.tensors.length > 0 && size.byteSize > 0 && current.dataBytes + size.byteSize > maxShardBytes) {
      current = { tensors: [], dataBytes: 0 };
      shards.push(current);
    }
    current.tensors.push(t);
    current.dataBytes += size.byteSize;
  }
  return shards;
}

/** Code-point order, as Python's `sort_keys` (UTF-16 order differs above the BMP). */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i].codePointAt(0) as number) - (y[i].codePointAt(0) as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * The index as transformers writes it (`json.dumps(index, indent=2,
 * sort_keys=True) + "\n"`). Built by hand because a JS object would move
 * integer-like tensor names to the front.
 */
function encodeIndex(totalSize: number, weightMap: [string, string][]): Uint8Array {
  const sorted = [...weightMap].sort((a, b) => compareCodePoints(a[0], b[0]));
  const lines = sorted.map(([name, file]) => `    ${JSON.stringify(name)}: ${JSON.stringify(file)}`);
  const map = lines.length === 0 ? '{}' : `{\n${lines.join(',\n')}\n  }`;
  const text = `{\n  "metadata": {\n    "total_size": ${totalSize}\n  },\n  "weight_map": ${map}\n}\n`;
  return new TextEncoder().encode(text);
}
