import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtomicFileSink, temporaryPathFor, writeFileAtomic } from './atomic-file.js';
import { LocatedError } from './errors.js';
import { randomBytes, withTempDir } from './test-support.js';

const OLD = 'the previous file';

/** A directory with an existing destination file, so tests can check it survives. */
async function withExisting<T>(fn: (dir: string, path: string) => Promise<T>): Promise<T> {
  return withTempDir(async (dir) => {
    const path = join(dir, 'out.bin');
    await writeFile(path, OLD);
    return fn(dir, path);
  });
}

async function expectUntouched(dir: string, path: string): Promise<void> {
  expect(await readFile(path, 'utf8')).toBe(OLD);
  expect(await readdir(dir)).toEqual(['out.bin']);
}

class TestAbortError extends LocatedError {
  override name = 'AbortError';
}

describe('AtomicFileSink', () => {
  it('commit renames the temporary file into place and leaves nothing else', async () => {
    await withExisting(async (dir, path) => {
      const sink = await AtomicFileSink.create(path);
      expect((await readdir(dir)).sort()).toEqual(['out.bin', sink.temporaryPath.slice(dir.length + 1)].sort());
      await sink.write(new TextEncoder().encode('new '));
      await sink.write(new TextEncoder().encode('content'));
      expect(await readFile(path, 'utf8')).toBe(OLD); // nothing visible before commit
      await sink.commit();
      expect(sink.isCommitted).toBe(true);
      expect(await readFile(path, 'utf8')).toBe('new content');
      expect(await readdir(dir)).toEqual(['out.bin']);
      await sink.discard(); // a no-op once committed
      expect(await readFile(path, 'utf8')).toBe('new content');
    });
  });

  it('buffered writes produce exactly the bytes given, across the 4 MiB buffer boundary', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'out.bin');
      const expected = randomBytes(13 << 20, 1);
      // Small, odd-sized, buffer-sized and larger-than-buffer pieces, so every branch of write() is taken.
      const sizes = [1, 7, (4 << 20) - 5, 3, 4 << 20, 100, (5 << 20) + 1, 12345];
      const sink = await AtomicFileSink.create(path);
      let at = 0;
      for (const size of sizes) {
        const end = Math.min(at + size, expected.length);
        await sink.write(expected.subarray(at, end));
        at = end;
      }
      await sink.write(expected.subarray(at));
      await sink.write(new Uint8Array(0));
      expect(sink.bytesWritten).toBe(expected.length);
      await sink.commit();
      expect(Buffer.compare(await readFile(path), expected)).toBe(0);
    });
  });

  it('aborting through the AbortSignal mid-write leaves no temporary file and the old one untouched', async () => {
    await withExisting(async (dir, path) => {
      const controller = new AbortController();
      const sink = await AtomicFileSink.create(path, {
        signal: controller.signal,
        errors: (code, reason, details, options) =>
          code === 'abort' ? new TestAbortError(reason, details, options) : new LocatedError(reason, details, options),
      });
      await sink.write(randomBytes(6 << 20, 2));
      controller.abort();
      const error = await sink.write(randomBytes(6 << 20, 3)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TestAbortError);
      expect((error as LocatedError).source).toBe(path);
      expect((error as Error).message).toBe(`${path}: writing was aborted; no file was written`);
      await sink.discard();
      await expect(sink.commit()).rejects.toThrow(/aborted/);
      await expectUntouched(dir, path);
    });
  });

  it('an abort after sealing stops commit', async () => {
    await withExisting(async (dir, path) => {
      const controller = new AbortController();
      const sink = await AtomicFileSink.create(path, { signal: controller.signal });
      await sink.write(new Uint8Array([1, 2, 3]));
      await sink.seal();
      controller.abort();
      const error = await sink.commit().catch((e: unknown) => e);
      expect((error as Error).name).toBe('AbortError');
      await sink.discard();
      await expectUntouched(dir, path);
    });
  });

  it('an already-aborted signal creates nothing', async () => {
    await withExisting(async (dir, path) => {
      await expect(AtomicFileSink.create(path, { signal: AbortSignal.abort() })).rejects.toThrow(
        /aborted before writing/,
      );
      await expectUntouched(dir, path);
    });
  });

  it('discard removes the temporary file once, however many failure paths await it', async () => {
    await withExisting(async (dir, path) => {
      const sink = await AtomicFileSink.create(path);
      await sink.write(randomBytes(1000, 4));
      const first = sink.discard();
      expect(sink.discard()).toBe(first);
      await Promise.all([first, sink.discard()]);
      await expect(sink.write(randomBytes(5 << 20, 5))).rejects.toThrow(/the output file is closed/);
      await expectUntouched(dir, path);
    });
  });

  it('a directory that does not exist is a write error naming the destination', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'missing', 'out.bin');
      const error = await AtomicFileSink.create(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LocatedError);
      expect((error as LocatedError).source).toBe(path);
      expect((error as Error).message).toMatch(/cannot create the output file \(ENOENT\)/);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('a failed rename leaves the target untouched once discarded', async () => {
    await withTempDir(async (dir) => {
      // A directory at the destination cannot be replaced by a file.
      const path = join(dir, 'out.bin');
      const { mkdir } = await import('node:fs/promises');
      await mkdir(path);
      const sink = await AtomicFileSink.create(path);
      await sink.write(new Uint8Array([1]));
      await expect(sink.commit()).rejects.toThrow();
      await sink.discard();
      expect(await readdir(dir)).toEqual(['out.bin']);
      expect(await readdir(path)).toEqual([]);
    });
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temporary file', async () => {
    await withExisting(async (dir, path) => {
      await writeFileAtomic(path, new TextEncoder().encode('{"index":true}'));
      expect(await readFile(path, 'utf8')).toBe('{"index":true}');
      expect(await readdir(dir)).toEqual(['out.bin']);
    });
  });

  it('an aborted signal writes nothing', async () => {
    await withExisting(async (dir, path) => {
      const error = await writeFileAtomic(path, new Uint8Array([1]), { signal: AbortSignal.abort() }).catch(
        (e: unknown) => e,
      );
      expect((error as Error).name).toBe('AbortError');
      expect((error as Error).message).toBe(`${path}: aborted; no file was written`);
      await expectUntouched(dir, path);
    });
  });

  it('a file system failure is a write error and leaves no temporary file', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'missing', 'index.json');
      const error = await writeFileAtomic(path, new Uint8Array([1])).catch((e: unknown) => e);
      expect((error as LocatedError).reason).toBe('cannot write the file (ENOENT)');
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('temporary names are hidden, beside the target and unique', async () => {
    const a = await temporaryPathFor('/data/model.bin');
    const b = await temporaryPathFor('/data/model.bin');
    expect(a).toMatch(/^\/data\/\.model\.bin\.\d+-[a-z0-9]+\.tmp$/);
    expect(a).not.toBe(b);
  });
});
