import { SafetensorsError } from './errors.js';
import { SAFETENSORS_MAX_HEADER_BYTES, type SafetensorsTensorInfo } from './header.js';
import { JsonObject, jsonTypeName, parseJson, toPlain } from './json.js';
import { type ReadSafetensorsOptions, readSafetensors, type SafetensorsFile } from './reader.js';

/**
 * Hugging Face checkpoints: one `model.safetensors`, or shards listed by
 * `model.safetensors.index.json`:
 *
 *   { "metadata": { "total_size": 16060522496 },
 *     "weight_map": { "lm_head.weight": "model-00004-of-00004.safetensors", … } }
 */

export const SAFETENSORS_SINGLE_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/** A tensor of a checkpoint, with the shard file it lives in. */
export interface SafetensorsModelTensor extends SafetensorsTensorInfo {
  /** The shard's file name as the index writes it (or the single file's name). */
  readonly shard: string;
}

export interface SafetensorsShard {
  /** The file name as the index writes it, relative to the checkpoint directory. */
  readonly file: string;
  readonly path: string;
  readonly safetensors: SafetensorsFile;
}

export interface OpenSafetensorsModelOptions extends ReadSafetensorsOptions {
  /** Refuse index files larger than this; default 100,000,000 bytes. */
  maxIndexBytes?: number;
}

const NO_METADATA: Readonly<Record<string, string>> = Object.freeze(Object.create(null));

/** One view over a checkpoint's tensors, whichever file each is in. Data is read on demand. */
export class SafetensorsModel {
  private readonly byName: Map<string, { tensor: SafetensorsModelTensor; file: SafetensorsFile }>;

  /** @internal Use openSafetensorsModel. */
  constructor(
    /** The checkpoint directory. */
    readonly directory: string,
    /** The index file, for a sharded checkpoint. */
    readonly indexPath: string | undefined,
    /** Shards sorted by file name (one for a single file). */
    readonly shards: readonly SafetensorsShard[],
    /** Shard by shard, each in file order. */
    readonly tensors: readonly SafetensorsModelTensor[],
    /** The index's `metadata` object (`total_size` …) as plain JSON; empty for a single file. */
    readonly indexMetadata: Readonly<Record<string, unknown>>,
    /** Tensors present in a shard but missing from the index's weight_map (not part of the model). */
    readonly unmappedTensors: readonly { name: string; shard: string }[],
  ) {
    const files = new Map(shards.map((s) => [s.file, s.safetensors]));
    this.byName = new Map(tensors.map((t) => [t.name, { tensor: t, file: files.get(t.shard) as SafetensorsFile }]));
  }

  /** The `__metadata__` of the single file, or of the first shard. */
  get metadata(): Readonly<Record<string, string>> {
    return this.shards[0]?.safetensors.metadata ?? NO_METADATA;
  }

  private entry(name: string) {
    const found = this.byName.get(name);
    if (!found)
      throw new SafetensorsError('no such tensor', { source: this.indexPath ?? this.directory, tensor: name });
    return found;
  }

  tensor(name: string): SafetensorsModelTensor {
    return this.entry(name).tensor;
  }

  hasTensor(name: string): boolean {
    return this.byName.has(name);
  }

  /** The tensor's raw little-endian bytes, read from its shard now. */
  async readTensorData(name: string): Promise<Uint8Array> {
    const { file } = this.entry(name);
    return file.readTensorData(name);
  }

  /** The tensor as float32, or a range of its rows (see SafetensorsFile.readTensorFloat32 for the dtypes). */
  async readTensorFloat32(name: string, rows?: { start: number; count: number }): Promise<Float32Array> {
    const { file } = this.entry(name);
    return file.readTensorFloat32(name, rows);
  }
}

/**
 * Opens a checkpoint: a directory (holding `model.safetensors`, preferred as
 * transformers does, or `model.safetensors.index.json`), a `.safetensors`
 * file, or an index JSON. An index is validated: `weight_map` must map names
 * to shard paths that stay inside the directory (no `..`, no absolute
 * paths), every mapped tensor must be in its shard, and no tensor may be in
 * two shards. A checkpoint with no tensors (an empty weight_map, a file with
 * an empty header) is refused. Only headers are read.
 */
export async function openSafetensorsModel(
  path: string | URL,
  options: OpenSafetensorsModelOptions = {},
): Promise<SafetensorsModel> {
  const { fileURLToPath } = await import('node:url');
  const { stat, readdir } = await import('node:fs/promises');
  const { basename, dirname, join, resolve } = await import('node:path');
  const given = resolve(typeof path === 'string' ? path : fileURLToPath(path));
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(given);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SafetensorsError(
      code === 'ENOENT' ? 'no such file or directory' : `cannot open (${code ?? error})`,
      { source: given },
      { cause: error },
    );
  }

  let target = given;
  if (info.isDirectory()) {
    const names = await readdir(given);
    if (names.includes(SAFETENSORS_SINGLE_FILE)) target = join(given, SAFETENSORS_SINGLE_FILE);
    else if (names.includes(SAFETENSORS_INDEX_FILE)) target = join(given, SAFETENSORS_INDEX_FILE);
    else {
      const candidates = names.filter((n) => n.endsWith('.safetensors') || n.endsWith('.safetensors.index.json'));
      throw new SafetensorsError('the directory holds no safetensors checkpoint', {
        source: given,
        expected: `${SAFETENSORS_SINGLE_FILE} or ${SAFETENSORS_INDEX_FILE}`,
        found: candidates.length > 0 ? `${candidates.slice(0, 5).join(', ')} (pass one of them)` : 'neither',
      });
    }
  }

  if (!target.endsWith('.json')) {
    const file = await readSafetensors(target, options);
    // A valid file may hold no tensors, but a checkpoint with none is no model.
    if (file.tensors.length === 0) {
      throw new SafetensorsError('checkpoint has no tensors', {
        source: target,
        offset: 8,
        expected: 'at least one tensor in the header',
        found: 'none',
      });
    }
    const shard = basename(target);
    return new SafetensorsModel(
      dirname(target),
      undefined,
      [{ file: shard, path: target, safetensors: file }],
      file.tensors.map((t) => ({ ...t, shard })),
      Object.freeze(Object.create(null)),
      [],
    );
  }
  return openIndex(target, options);
}

async function openIndex(indexPath: string, options: OpenSafetensorsModelOptions): Promise<SafetensorsModel> {
  const { readFile, stat } = await import('node:fs/promises');
  const { dirname, resolve, sep } = await import('node:path');
  const directory = dirname(indexPath);
  const maxIndexBytes = options.maxIndexBytes ?? SAFETENSORS_MAX_HEADER_BYTES;
  const size = (await stat(indexPath)).size;
  if (size > maxIndexBytes) {
    throw new SafetensorsError('index file is larger than allowed', {
      source: indexPath,
      expected: `at most ${maxIndexBytes} bytes`,
      found: `${size} bytes`,
    });
  }
  const root = parseJson(new Uint8Array(await readFile(indexPath)), { source: indexPath, what: 'index' });
  if (!(root instanceof JsonObject)) {
    throw new SafetensorsError('index must be a JSON object', {
      source: indexPath,
      offset: 0,
      expected: 'an object with "weight_map"',
      found: jsonTypeName(root),
    });
  }

  const metadataMember = root.get('metadata');
  let indexMetadata: Record<string, unknown> = Object.create(null);
  if (metadataMember && metadataMember.value !== null) {
    if (!(metadataMember.value instanceof JsonObject)) {
      throw new SafetensorsError('index "metadata" must be an object', {
        source: indexPath,
        offset: metadataMember.valueOffset,
        key: 'metadata',
        expected: 'an object',
        found: jsonTypeName(metadataMember.value),
      });
    }
    indexMetadata = toPlain(metadataMember.value) as Record<string, unknown>;
  }

  const mapMember = root.get('weight_map');
  if (!mapMember || !(mapMember.value instanceof JsonObject)) {
    throw new SafetensorsError('index has no "weight_map" object', {
      source: indexPath,
      offset: mapMember?.valueOffset ?? 0,
      key: 'weight_map',
      expected: 'an object mapping tensor names to shard files',
      found: mapMember ? jsonTypeName(mapMember.value) : 'nothing',
    });
  }
  if (mapMember.value.members.length === 0) {
    throw new SafetensorsError('index weight_map is empty: the checkpoint has no tensors', {
      source: indexPath,
      offset: mapMember.valueOffset,
      key: 'weight_map',
      expected: 'at least one tensor name mapped to a shard file',
      found: 'an empty object',
    });
  }

  // Shard file → the tensors the index puts there, in index order.
  const mapped = new Map<string, string[]>();
  const base = resolve(directory);
  for (const member of mapMember.value.members) {
    const where = { source: indexPath, offset: member.valueOffset, tensor: member.key };
    if (typeof member.value !== 'string') {
      throw new SafetensorsError('weight_map values must be shard file names', {
        ...where,
        expected: 'a string',
        found: jsonTypeName(member.value),
      });
    }
    const file = member.value;
    const problem = shardPathProblem(file);
    const resolved = resolve(base, file);
    if (problem || !resolved.startsWith(base + sep)) {
      throw new SafetensorsError(`shard path ${problem ?? 'escapes the checkpoint directory'}`, {
        ...where,
        expected: 'a file name relative to the index, inside its directory',
        found: JSON.stringify(file),
      });
    }
    const list = mapped.get(file);
    if (list) list.push(member.key);
    else mapped.set(file, [member.key]);
  }

  const shardFiles = [...mapped.keys()].sort();
  const opened = await mapLimited(shardFiles, 4, async (file) => {
    const path = resolve(base, file);
    return { file, path, safetensors: await readSafetensors(path, options) };
  });

  const home = new Map<string, string>();
  const tensors: SafetensorsModelTensor[] = [];
  const unmapped: { name: string; shard: string }[] = [];
  for (const shard of opened) {
    const wanted = new Set(mapped.get(shard.file));
    for (const t of shard.safetensors.tensors) {
      const other = home.get(t.name);
      if (other !== undefined) {
        throw new SafetensorsError('tensor is in two shards', {
          source: indexPath,
          tensor: t.name,
          expected: 'each tensor in one shard',
          found: `${JSON.stringify(other)} and ${JSON.stringify(shard.file)}`,
        });
      }
      home.set(t.name, shard.file);
      if (wanted.has(t.name)) tensors.push({ ...t, shard: shard.file });
      else unmapped.push({ name: t.name, shard: shard.file });
    }
    for (const name of wanted) {
      if (!shard.safetensors.hasTensor(name)) {
        const member = mapMember.value.get(name);
        throw new SafetensorsError('tensor is missing from the shard the index maps it to', {
          source: indexPath,
          offset: member?.valueOffset,
          tensor: name,
          expected: `"${name}" in ${shard.file}`,
          found: `${shard.safetensors.tensors.length} other tensors`,
        });
      }
    }
  }
  return new SafetensorsModel(directory, indexPath, opened, tensors, indexMetadata, unmapped);
}

/**
 * Why a weight_map path is refused, if it is. Checked lexically, not through
 * realpath: the Hugging Face cache makes shards symlinks into a blobs folder
 * elsewhere, and those are fine.
 */
function shardPathProblem(file: string): string | undefined {
  if (file.length === 0) return 'is empty';
  if (file.includes('\0')) return 'contains a NUL byte';
  if (file.includes('\\')) return 'contains a backslash';
  if (file.startsWith('/') || /^[A-Za-z]:/.test(file)) return 'is absolute';
  if (file.split('/').includes('..')) return "has a '..' component";
  return undefined;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
