import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsAbortError, type SafetensorsError, SafetensorsWriteError } from './errors.js';
import { readSafetensors } from './reader.js';
import { withTempDir } from './test-support.js';
import { type SafetensorsWriteProgress, SafetensorsWriter } from './writer.js';

const OLD = 'the previous file';

/** A directory with an existing destination file, so tests can check it survives. */
async function withExisting<T>(fn: (dir: string, path: string) => Promise<T>): Promise<T> {
  return withTempDir(async (dir) => {
    const path = join(dir, 'model.safetensors');
    await writeFile(path, OLD);
    return fn(dir, path);
  });
}

async function expectUntouched(dir: string, path: string): Promise<void> {
  expect(await readFile(path, 'utf8')).toBe(OLD);
  expect(await readdir(dir)).toEqual(['model.safetensors']);
}

describe('atomic output', () => {
  it('aborting through an AbortSignal mid-stream leaves no file and the old one untouched', async () => {
    await withExisting(async (dir, path) => {
      const controller = new AbortController();
      const w = await SafetensorsWriter.create(path, { signal: controller.signal });
      w.addTensor('big', 'F32', [4, 1 << 20]); // 16 MiB, more than the write buffer
      w.addTensor('next', 'U8', [1]);
      const chunk = new Uint8Array(1 << 20);
      async function* chunks() {
        for (let i = 0; i < 16; i++) {
          if (i === 9) controller.abort();
          yield chunk;
        }
      }
      const error = await w.writeTensorData('big', chunks()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SafetensorsAbortError);
      expect((error as Error).name).toBe('AbortError');
      await expectUntouched(dir, path);
      await expect(w.finish()).rejects.toThrow(SafetensorsAbortError);
      await expectUntouched(dir, path);
    });
  });

  it('an already-aborted signal refuses to start', async () => {
    await withExisting(async (dir, path) => {
      const controller = new AbortController();
      controller.abort();
      await expect(SafetensorsWriter.create(path, { signal: controller.signal })).rejects.toThrow(
        SafetensorsAbortError,
      );
      await expectUntouched(dir, path);
    });
  });

  it('abort() between tensors, or an abort signalled before finish renames, leaves nothing', async () => {
    await withExisting(async (dir, path) => {
      const w = await SafetensorsWriter.create(path);
      w.addTensor('a', 'U8', [2]);
      w.addTensor('b', 'U8', [2]);
      await w.writeTensorData('a', Uint8Array.of(1, 2));
      await w.abort();
      await w.abort(); // twice is fine
      await expectUntouched(dir, path);
      await expect(w.writeTensorData('b', Uint8Array.of(3, 4))).rejects.toThrow(/failed or was aborted/);

      const controller = new AbortController();
      const w2 = await SafetensorsWriter.create(path, { signal: controller.signal });
      w2.addTensor('a', 'U8', [2]);
      await w2.writeTensorData('a', Uint8Array.of(1, 2));
      controller.abort();
      await expect(w2.finish()).rejects.toThrow(SafetensorsAbortError);
      await expectUntouched(dir, path);
    });
  });

  it('a data error mid-stream removes the temporary file', async () => {
    await withExisting(async (dir, path) => {
      for (const bad of [
        { data: new Uint8Array(5), message: /longer than its dtype and shape allow/ },
        { data: new Uint8Array(3), message: /shorter than its dtype and shape need/ },
        { data: [new Uint8Array(2), 'x' as unknown as Uint8Array], message: /must be Uint8Array chunks/ },
      ]) {
        const w = await SafetensorsWriter.create(path);
        w.addTensor('t', 'F32', [1]);
        const error = await w.writeTensorData('t', bad.data).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SafetensorsWriteError);
        expect((error as Error).message).toMatch(bad.message);
        expect((error as SafetensorsError).tensor).toBe('t');
        await expectUntouched(dir, path);
      }
      const generatorFailure = await SafetensorsWriter.create(path);
      generatorFailure.addTensor('t', 'U8', [4]);
      async function* failing() {
        yield new Uint8Array(2);
        throw new Error('the producer broke');
      }
      await expect(generatorFailure.writeTensorData('t', failing())).rejects.toThrow(/the producer broke/);
      await expectUntouched(dir, path);
    });
  });

  it('out-of-order data, missing tensors and writing after finish are refused', async () => {
    await withExisting(async (dir, path) => {
      const w = await SafetensorsWriter.create(path);
      w.addTensor('a', 'U8', [1]);
      w.addTensor('b', 'U8', [1]);
      await expect(w.writeTensorData('b', Uint8Array.of(1))).rejects.toThrow(/out of order: "a" comes next/);
      await expectUntouched(dir, path);

      const w2 = await SafetensorsWriter.create(path);
      w2.addTensor('a', 'U8', [1]);
      w2.addTensor('b', 'U8', [1]);
      await w2.writeTensorData('a', Uint8Array.of(1));
      await expect(w2.finish()).rejects.toThrow(/1 declared tensors have no data \(next: "b"\)/);
      await expectUntouched(dir, path);

      const w3 = await SafetensorsWriter.create(path);
      w3.addTensor('a', 'U8', [1]);
      await w3.writeTensorData('a', Uint8Array.of(1));
      await w3.finish();
      expect(await readdir(dir)).toEqual(['model.safetensors']);
      await expect(w3.writeTensorData('a', Uint8Array.of(1))).rejects.toThrow(/already finished/);
      expect(() => w3.addTensor('c', 'U8', [1])).toThrow(/after tensor data has started/);
      expect((await readSafetensors(path)).tensors.map((t) => t.name)).toEqual(['a']);
    });
  });
});

describe('the writer refuses what would not make a valid file', () => {
  it('names, dtypes, shapes, sub-byte sizes and metadata', async () => {
    await withTempDir(async (dir) => {
      const w = await SafetensorsWriter.create(join(dir, 'x.safetensors'));
      expect(() => w.addTensor('', 'F32', [1])).toThrow(/name is empty/);
      expect(() => w.addTensor('__metadata__', 'F32', [1])).toThrow(/reserved/);
      expect(() => w.addTensor('bad\uD800', 'F32', [1])).toThrow(/lone surrogate/);
      w.addTensor('a', 'F32', [1]);
      expect(() => w.addTensor('a', 'F32', [1])).toThrow(/duplicate tensor name/);
      expect(() => w.addTensor('b', 'F128' as 'F32', [1])).toThrow(/unknown dtype/);
      expect(() => w.addTensor('c', 'F32', [-1])).toThrow(/non-negative integers/);
      expect(() => w.addTensor('d', 'F32', [1.5])).toThrow(/non-negative integers/);
      expect(() => w.addTensor('e', 'F4', [3])).toThrow(/whole number of bytes/);
      expect(() => w.addTensor('f', 'U8', [2 ** 40, 2 ** 40])).toThrow(/too large/);
      expect(() => w.setMetadata('k', 3 as unknown as string)).toThrow(/must be strings/);
      w.setMetadata('k', 'v');
      expect(() => w.setMetadata('k', 'w')).toThrow(/duplicate metadata key/);
      w.addTensor('g', 'C64', [1]);
      await w.writeTensorFloat32('a', Float32Array.of(1));
      await expect(w.writeTensorFloat32('g', Float32Array.of(1))).rejects.toThrow(
        /only be written to F32, F16 or BF16/,
      );
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('create fails clearly when the directory does not exist', async () => {
    await expect(SafetensorsWriter.create('/nonexistent-dir/x.safetensors')).rejects.toThrow(
      /cannot create the output file \(ENOENT\)/,
    );
  });
});

describe('streaming', () => {
  it('takes whole buffers, sync iterables and async iterables, and reports progress', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'chunks.safetensors');
      const progress: SafetensorsWriteProgress[] = [];
      const w = await SafetensorsWriter.create(path, { onProgress: (p) => progress.push(p), metadata: [['a', 'b']] });
      w.addTensor('whole', 'U8', [3]);
      w.addTensor('sync', 'U16', [3]);
      w.addTensor('async', 'U8', [5 << 20]);
      w.addTensor('empty', 'F32', [0]);
      await w.writeTensorData('whole', Uint8Array.of(1, 2, 3));
      await w.writeTensorData('sync', [
        Uint8Array.of(1),
        Uint8Array.of(0, 2),
        new Uint8Array(0),
        Uint8Array.of(0, 3, 0),
      ]);
      const big = Uint8Array.from({ length: 5 << 20 }, (_, i) => i % 251);
      async function* slices() {
        for (let at = 0; at < big.length; at += 1 << 20) yield big.subarray(at, at + (1 << 20));
      }
      await w.writeTensorData('async', slices());
      await w.writeTensorData('empty', []);
      const result = await w.finish();
      const last = progress[progress.length - 1];
      expect(last.bytesWritten).toBe(result.byteLength);
      expect(last.totalBytes).toBe(result.byteLength);
      expect(last.tensorCount).toBe(4);
      expect(progress.some((p) => p.tensor === 'async')).toBe(true);

      const file = await readSafetensors(path);
      expect(file.metadata).toEqual({ a: 'b' });
      expect(Array.from(await file.readTensorFloat32('sync'))).toEqual([1, 2, 3]); // little-endian: 01 00 02 00 03 00
      expect(Buffer.from(await file.readTensorData('async')).equals(big)).toBe(true);
      expect(file.byteLength).toBe(result.byteLength);
      expect(await readdir(dir)).toEqual(['chunks.safetensors']);
    });
  });

  it('seal() then commit() makes the file appear only at commit', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'two-phase.safetensors');
      const w = await SafetensorsWriter.create(path);
      w.addTensor('a', 'U8', [1]);
      await w.writeTensorData('a', Uint8Array.of(9));
      await w.seal();
      expect((await readdir(dir)).filter((n) => n === 'two-phase.safetensors')).toEqual([]);
      await w.commit();
      expect(await readdir(dir)).toEqual(['two-phase.safetensors']);
      expect(await (await readSafetensors(path)).readTensorData('a')).toEqual(Uint8Array.of(9));
    });
  });
});
