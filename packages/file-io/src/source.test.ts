import { truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LocatedError } from './errors.js';
import { openByteSource } from './source.js';
import { randomBytes, withTempDir } from './test-support.js';

const BYTES = randomBytes(4096, 7);

describe('openByteSource', () => {
  it('reads the same bytes from a path, URL, Uint8Array, ArrayBuffer and Blob', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'data.bin');
      await writeFile(path, BYTES);
      const inputs = [path, pathToFileURL(path), BYTES, BYTES.slice().buffer, new Blob([BYTES])];
      const names = [path, path, '<buffer>', '<buffer>', '<blob>'];
      for (const [i, input] of inputs.entries()) {
        const source = await openByteSource(input);
        expect(source.name).toBe(names[i]);
        expect(source.size).toBe(BYTES.length);
        expect([...(await source.read(100, 50))]).toEqual([...BYTES.subarray(100, 150)]);
        const target = new Uint8Array(10);
        await source.readInto(4086, target);
        expect([...target]).toEqual([...BYTES.subarray(4086)]);
        await source.close();
        // After close, a file is opened again for each read.
        expect([...(await source.read(0, 4))]).toEqual([...BYTES.subarray(0, 4)]);
      }
    });
  });

  it('labels in-memory sources as asked, and refuses other inputs', async () => {
    expect((await openByteSource(BYTES, { name: 'weights' })).name).toBe('weights');
    await expect(openByteSource(42 as never, { what: 'GGUF' })).rejects.toThrow(
      'a GGUF source must be a file path, URL, Uint8Array, ArrayBuffer or Blob',
    );
  });

  it('a missing file or a directory is an error naming the path, built by the given factory', async () => {
    await withTempDir(async (dir) => {
      const codes: string[] = [];
      const errors = (code: string, reason: string, details: object, options?: { cause?: unknown }) => {
        codes.push(code);
        return new LocatedError(reason, details, options);
      };
      const missing = join(dir, 'nope.bin');
      const error = await openByteSource(missing, { errors }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LocatedError);
      expect((error as Error).message).toBe(`${missing}: no such file`);
      await expect(openByteSource(dir, { errors })).rejects.toThrow(`${dir}: not a regular file`);
      expect(codes).toEqual(['missing', 'not-a-file']);
    });
  });

  it('a file shorter than it was is an error naming the offset and the missing bytes', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'data.bin');
      await writeFile(path, BYTES);
      const source = await openByteSource(path);
      await truncate(path, 1000); // while the handle is held, so the size check does not apply
      const error = (await source.read(900, 200).catch((e: unknown) => e)) as LocatedError;
      expect(error.reason).toMatch(/ended early/);
      expect([error.offset, error.expected, error.found]).toEqual([1000, '100 more bytes', 'end of file']);
      await source.close();
    });
  });

  it('a file changed after opening is not read with stale offsets, unless the check is off', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'data.bin');
      await writeFile(path, BYTES);
      const checked = await openByteSource(path);
      const unchecked = await openByteSource(path, { checkUnchanged: false });
      await checked.close();
      await unchecked.close();
      await writeFile(path, BYTES.subarray().reverse().slice()); // same size, new content
      const later = new Date(Date.now() + 60_000);
      await utimes(path, later, later);
      await expect(checked.read(0, 8)).rejects.toThrow(/changed after its header was read/);
      expect((await unchecked.read(0, 8)).length).toBe(8);
    });
  });

  it('reads past the end of an in-memory source stop at its size', async () => {
    const source = await openByteSource(BYTES);
    expect((await source.read(4090, 100)).length).toBe(6);
  });
});
