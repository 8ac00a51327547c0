import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsAbortError, SafetensorsError } from './errors.js';
import { openSafetensorsModel, SAFETENSORS_INDEX_FILE, SAFETENSORS_SINGLE_FILE } from './model.js';
import { readSafetensors } from './reader.js';
import { type ShardedTensorInput, shardFileName, writeShardedSafetensors } from './sharded-writer.js';
import { entry, rawSafetensors, withTempDir } from './test-support.js';

/** Five 40-byte F32 tensors with distinct values, produced lazily; `calls` records when each is produced. */
function fiveTensors(calls: string[] = []): ShardedTensorInput[] {
  return ['embed', 'layers.0.q', 'layers.0.k', 'layers.1.q', 'lm_head'].map((name, t) => ({
    name,
    dtype: 'F32',
    shape: [2, 5],
    data: () => {
      calls.push(name);
      return Float32Array.from({ length: 10 }, (_, i) => t * 100 + i);
    },
  }));
}

async function rejection(path: string): Promise<SafetensorsError> {
  try {
    await openSafetensorsModel(path);
  } catch (error) {
    expect(error).toBeInstanceOf(SafetensorsError);
    return error as SafetensorsError;
  }
  throw new Error(`expected ${path} to be rejected`);
}

const shard = (tensors: Record<string, number>) => {
  let offset = 0;
  const parts = Object.entries(tensors).map(([name, bytes]) => {
    const text = `"${name}":${entry('U8', [bytes], offset, offset + bytes)}`;
    offset += bytes;
    return text;
  });
  return rawSafetensors(`{${parts.join(',')}}`, new Uint8Array(offset).fill(7));
};

async function writeIndex(dir: string, weightMap: Record<string, string> | string): Promise<string> {
  const path = join(dir, SAFETENSORS_INDEX_FILE);
  const body = typeof weightMap === 'string' ? weightMap : JSON.stringify({ metadata: {}, weight_map: weightMap });
  await writeFile(path, body);
  return path;
}

describe('sharded checkpoints', () => {
  it('a small maxShardBytes forces 3 shards; the index and every shard are exact', async () => {
    await withTempDir(async (dir) => {
      const calls: string[] = [];
      const result = await writeShardedSafetensors(dir, fiveTensors(calls), {
        maxShardBytes: 100,
        metadata: { format: 'pt' },
      });
      // Greedy in order: 40 + 40 fits in 100, a third 40 does not.
      expect(result.files).toEqual([
        'model-00001-of-00003.safetensors',
        'model-00002-of-00003.safetensors',
        'model-00003-of-00003.safetensors',
      ]);
      expect(result.shards.map((s) => s.tensors)).toEqual([
        ['embed', 'layers.0.q'],
        ['layers.0.k', 'layers.1.q'],
        ['lm_head'],
      ]);
      expect(result.totalSize).toBe(200);
      expect(result.indexFile).toBe(SAFETENSORS_INDEX_FILE);
      // Each tensor's data was produced once, in order.
      expect(calls).toEqual(['embed', 'layers.0.q', 'layers.0.k', 'layers.1.q', 'lm_head']);
      expect((await readdir(dir)).sort()).toEqual([...result.files, SAFETENSORS_INDEX_FILE].sort());

      const indexText = await readFile(join(dir, SAFETENSORS_INDEX_FILE), 'utf8');
      expect(indexText).toBe(
        [
          '{',
          '  "metadata": {',
          '    "total_size": 200',
          '  },',
          '  "weight_map": {',
          '    "embed": "model-00001-of-00003.safetensors",',
          '    "layers.0.k": "model-00002-of-00003.safetensors",',
          '    "layers.0.q": "model-00001-of-00003.safetensors",',
          '    "layers.1.q": "model-00002-of-00003.safetensors",',
          '    "lm_head": "model-00003-of-00003.safetensors"',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      expect(JSON.parse(indexText).metadata.total_size).toBe(200);

      const second = await readSafetensors(join(dir, result.files[1]));
      expect(second.metadata).toEqual({ format: 'pt' });
      expect(second.tensors.map((t) => t.name)).toEqual(['layers.0.k', 'layers.1.q']);

      for (const opened of [dir, join(dir, SAFETENSORS_INDEX_FILE)]) {
        const model = await openSafetensorsModel(opened);
        expect(model.indexPath).toBe(join(dir, SAFETENSORS_INDEX_FILE));
        expect(model.shards.map((s) => s.file)).toEqual(result.files);
        expect(model.tensors.map((t) => [t.name, t.shard])).toEqual([
          ['embed', result.files[0]],
          ['layers.0.q', result.files[0]],
          ['layers.0.k', result.files[1]],
          ['layers.1.q', result.files[1]],
          ['lm_head', result.files[2]],
        ]);
        expect(model.metadata).toEqual({ format: 'pt' });
        expect(model.indexMetadata).toEqual({ total_size: 200 });
        expect(model.unmappedTensors).toEqual([]);
        expect(Array.from(await model.readTensorFloat32('layers.1.q'))).toEqual(
          Array.from({ length: 10 }, (_, i) => 300 + i),
        );
        expect((await model.readTensorData('lm_head')).length).toBe(40);
        expect(model.tensor('lm_head').dataOffsets).toEqual([0, 40]);
        await expect(model.readTensorData('missing')).rejects.toThrow(/no such tensor/);
      }
    });
  });

  it('everything within maxShardBytes gives one model.safetensors and no index', async () => {
    await withTempDir(async (dir) => {
      // A stale index from an earlier sharded write would shadow nothing but confuse; it is removed.
      await writeFile(join(dir, SAFETENSORS_INDEX_FILE), '{}');
      const result = await writeShardedSafetensors(dir, fiveTensors());
      expect(result.files).toEqual([SAFETENSORS_SINGLE_FILE]);
      expect(result.indexFile).toBeUndefined();
      expect(await readdir(dir)).toEqual([SAFETENSORS_SINGLE_FILE]);
      const model = await openSafetensorsModel(dir);
      expect(model.indexPath).toBeUndefined();
      expect(model.tensors.map((t) => t.shard)).toEqual(Array(5).fill(SAFETENSORS_SINGLE_FILE));
      expect(Array.from(await model.readTensorFloat32('embed'))).toEqual(Array.from({ length: 10 }, (_, i) => i));
      // A .safetensors path opens the same way.
      expect((await openSafetensorsModel(join(dir, SAFETENSORS_SINGLE_FILE))).tensors.length).toBe(5);
    });
  });

  it('a tensor larger than maxShardBytes gets a shard of its own; a stale single file is removed', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, SAFETENSORS_SINGLE_FILE), 'stale');
      const tensors: ShardedTensorInput[] = [
        { name: 'small', dtype: 'U8', shape: [10], data: new Uint8Array(10) },
        { name: 'huge', dtype: 'U8', shape: [500], data: () => new Uint8Array(500) },
        { name: 'tail', dtype: 'BF16', shape: [0], data: new Uint8Array(0) },
      ];
      const result = await writeShardedSafetensors(dir, tensors, { maxShardBytes: 100 });
      expect(result.shards.map((s) => [s.tensors, s.dataBytes])).toEqual([
        [['small'], 10],
        [['huge', 'tail'], 500],
      ]);
      expect(result.files).toEqual([shardFileName(0, 2), shardFileName(1, 2)]);
      expect((await readdir(dir)).includes(SAFETENSORS_SINGLE_FILE)).toBe(false);
      expect((await openSafetensorsModel(dir)).tensors.length).toBe(3);
    });
  });

  it('aborting while writing shards leaves the directory as it was', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'keep.txt'), 'x');
      const controller = new AbortController();
      const tensors = fiveTensors().map((t, i) => ({
        ...t,
        data: () => {
          if (i === 3) controller.abort();
          return new Uint8Array(40);
        },
      }));
      const error = await writeShardedSafetensors(dir, tensors, {
        maxShardBytes: 100,
        signal: controller.signal,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SafetensorsAbortError);
      expect(await readdir(dir)).toEqual(['keep.txt']);
    });
  });

  it('bad input is refused before anything is written', async () => {
    await withTempDir(async (dir) => {
      const t = (name: string, shape = [1]): ShardedTensorInput => ({
        name,
        dtype: 'U8',
        shape,
        data: new Uint8Array(1),
      });
      await expect(writeShardedSafetensors(dir, [t('a'), t('a')])).rejects.toThrow(/duplicate tensor name/);
      await expect(writeShardedSafetensors(dir, [t('a', [-1])])).rejects.toThrow(/non-negative/);
      await expect(writeShardedSafetensors(dir, [t('a')], { maxShardBytes: 0 })).rejects.toThrow(/positive/);
      // A producer returning the wrong length fails the write and cleans up.
      await expect(writeShardedSafetensors(dir, [t('a', [2])])).rejects.toThrow(/shorter than its dtype and shape/);
      expect(await readdir(dir)).toEqual([]);
    });
  });
});

describe('index validation', () => {
  it('shard paths must stay inside the directory', async () => {
    await withTempDir(async (root) => {
      const dir = join(root, 'ckpt');
      await mkdir(dir);
      await writeFile(join(root, 'evil.safetensors'), shard({ w: 4 }));
      for (const [file, problem] of [
        ['../evil.safetensors', "has a '..' component"],
        ['sub/../../evil.safetensors', "has a '..' component"],
        [join(root, 'evil.safetensors'), 'is absolute'],
        ['..\\evil.safetensors', 'contains a backslash'],
        ['C:/evil.safetensors', 'is absolute'],
        ['', 'is empty'],
        ['.', 'escapes the checkpoint directory'],
      ]) {
        const e = await rejection(await writeIndex(dir, { w: file }));
        expect(e.message).toContain(`shard path ${problem}`);
        expect(e.tensor).toBe('w');
        expect(e.found).toBe(JSON.stringify(file));
      }
    });
  });

  it('shards may be symlinks to elsewhere, as in the Hugging Face cache', async () => {
    await withTempDir(async (root) => {
      await mkdir(join(root, 'blobs'));
      await mkdir(join(root, 'snapshot'));
      await writeFile(join(root, 'blobs', 'abc123'), shard({ w: 4 }));
      await symlink(join(root, 'blobs', 'abc123'), join(root, 'snapshot', 'model-00001-of-00001.safetensors'));
      await writeIndex(join(root, 'snapshot'), { w: 'model-00001-of-00001.safetensors' });
      const model = await openSafetensorsModel(join(root, 'snapshot'));
      expect(await model.readTensorData('w')).toEqual(new Uint8Array(4).fill(7));
    });
  });

  it('every mapped tensor must be in its shard', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'a.safetensors'), shard({ x: 4 }));
      const e = await rejection(await writeIndex(dir, { x: 'a.safetensors', y: 'a.safetensors' }));
      expect(e.message).toContain('missing from the shard');
      expect(e.tensor).toBe('y');
      const missingShard = await rejection(await writeIndex(dir, { x: 'nope.safetensors' }));
      expect(missingShard.message).toContain('no such file');
    });
  });

  it('a tensor in two shards is an error', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'a.safetensors'), shard({ x: 4, y: 2 }));
      await writeFile(join(dir, 'b.safetensors'), shard({ y: 2 }));
      const e = await rejection(await writeIndex(dir, { x: 'a.safetensors', y: 'b.safetensors' }));
      expect(e.message).toContain('tensor is in two shards');
      expect(e.tensor).toBe('y');
      expect(e.found).toBe('"a.safetensors" and "b.safetensors"');
    });
  });

  it('duplicate weight_map keys, wrong types and a missing weight_map are refused', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'a.safetensors'), shard({ x: 4 }));
      const duplicate = await rejection(
        await writeIndex(dir, '{"weight_map": {"x": "a.safetensors", "x": "b.safetensors"}}'),
      );
      expect(duplicate.message).toContain('duplicate key');
      expect(duplicate.key).toBe('x');
      expect((await rejection(await writeIndex(dir, '{"weight_map": {"x": 1}}'))).found).toBe('an integer');
      expect((await rejection(await writeIndex(dir, '{"metadata": {}}'))).message).toContain('no "weight_map"');
      expect((await rejection(await writeIndex(dir, '[]'))).message).toContain('must be a JSON object');
      expect((await rejection(await writeIndex(dir, '{"weight_map": {}, "metadata": 3}'))).key).toBe('metadata');
      expect((await rejection(await writeIndex(dir, '{"weight_map": '))).message).toContain('invalid index JSON');
    });
  });

  it('an index whose weight_map is empty, or a single file with no tensors, is no model', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'a.safetensors'), shard({ x: 4 }));
      const indexPath = await writeIndex(dir, {});
      const e = await rejection(indexPath);
      expect(e.message).toContain('weight_map is empty');
      expect(e.source).toBe(indexPath);
      expect(e.key).toBe('weight_map');
      expect(e.found).toBe('an empty object');
      // The single file is valid safetensors (readSafetensors accepts it) but not a checkpoint.
      const emptyPath = join(dir, SAFETENSORS_SINGLE_FILE);
      await writeFile(emptyPath, rawSafetensors('{}'));
      expect((await readSafetensors(emptyPath)).tensors).toEqual([]);
      for (const path of [dir, emptyPath]) {
        const single = await rejection(path);
        expect(single.message).toContain('checkpoint has no tensors');
        expect(single.source).toBe(emptyPath);
      }
      await writeFile(emptyPath, rawSafetensors('{"__metadata__":{"format":"pt"}}'));
      expect((await rejection(emptyPath)).message).toContain('checkpoint has no tensors');
    });
  });

  it('tensors a shard holds but the index does not map are reported, not served', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'a.safetensors'), shard({ x: 4, extra: 2 }));
      const model = await openSafetensorsModel(await writeIndex(dir, { x: 'a.safetensors' }));
      expect(model.tensors.map((t) => t.name)).toEqual(['x']);
      expect(model.unmappedTensors).toEqual([{ name: 'extra', shard: 'a.safetensors' }]);
      expect(model.hasTensor('extra')).toBe(false);
    });
  });

  it('directories: model.safetensors is preferred; without either file the error lists candidates', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'weights.safetensors'), shard({ x: 1 }));
      const e = await rejection(dir);
      expect(e.message).toContain('holds no safetensors checkpoint');
      expect(e.found).toContain('weights.safetensors');
      await writeFile(join(dir, SAFETENSORS_SINGLE_FILE), shard({ single: 1 }));
      await writeIndex(dir, { x: 'weights.safetensors' });
      expect((await openSafetensorsModel(dir)).tensors.map((t) => t.name)).toEqual(['single']);
      expect((await openSafetensorsModel(join(dir, SAFETENSORS_INDEX_FILE))).tensors.map((t) => t.name)).toEqual(['x']);
      await expect(openSafetensorsModel(join(dir, 'nope'))).rejects.toThrow(/no such file or directory/);
    });
  });
});
