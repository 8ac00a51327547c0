import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { AtomicFileSink } from './atomic-file.js';
import { LocatedError } from './errors.js';
import { withTempDir } from './test-support.js';
import { WriteSession } from './write-session.js';

class FormatError extends LocatedError {
  override name = 'FormatError';
}
class FormatWriteError extends FormatError {
  override name = 'FormatWriteError';
}
class FormatAbortError extends FormatError {
  override name = 'AbortError';
}
const errors = { base: FormatError, write: FormatWriteError, aborted: FormatAbortError };
const tensors = [
  { name: 'a', byteSize: 3 },
  { name: 'b', byteSize: 2 },
];

async function session(dir: string, signal?: AbortSignal) {
  const path = join(dir, 'out.bin');
  const sink = await AtomicFileSink.create(path, { signal });
  const s = new WriteSession(sink, signal, errors, path);
  s.state = 'writing';
  const write = (name: string, data: Uint8Array | Uint8Array[]) =>
    s.writeNext(tensors, name, data, (chunk) => sink.write(chunk), { expected: 'n bytes', shapeOf: 'type' });
  return { s, path, write };
}

it('writes declared tensors in order, exactly, then renames the file into place', async () => {
  await withTempDir(async (dir) => {
    const { s, write } = await session(dir);
    expect(await write('a', [Uint8Array.of(1), Uint8Array.of(2, 3)])).toBe(3);
    s.nextTensor++;
    await expect(s.commit(tensors)).rejects.toThrow(/1 declared tensors have no data \(next: "b"\)/);
    expect(await readdir(dir)).toEqual([]);
    const again = await session(dir);
    await again.write('a', Uint8Array.of(1, 2, 3));
    again.s.nextTensor++;
    await again.write('b', Uint8Array.of(4, 5));
    again.s.nextTensor++;
    await again.s.commit(tensors);
    expect(Array.from(await readFile(again.path))).toEqual([1, 2, 3, 4, 5]);
    expect(again.s.state).toBe('finished');
  });
});

it('turns every failure into the format error, naming file and tensor, and leaves no file', async () => {
  await withTempDir(async (dir) => {
    const cases: [(w: Awaited<ReturnType<typeof session>>) => Promise<unknown>, RegExp][] = [
      [(w) => w.write('b', Uint8Array.of(1, 2)), /tensor "b": tensor data out of order: "a" comes next/],
      [
        (w) => w.write('a', Uint8Array.of(1, 2, 3, 4)),
        /longer than its type and shape allow \(expected n bytes, found at least 4\)/,
      ],
      [(w) => w.write('a', Uint8Array.of(1)), /shorter than its type and shape need \(expected n bytes, found 1\)/],
      [(w) => w.s.guard(() => Promise.reject(new Error('disk full'))), /write failed: disk full/],
    ];
    for (const [act, message] of cases) {
      const w = await session(dir);
      const error = await act(w).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FormatWriteError);
      expect(String(error)).toMatch(message);
      expect(String(error)).toContain(w.path);
      expect(w.s.state).toBe('failed');
      await expect(w.write('a', Uint8Array.of(1, 2, 3))).rejects.toThrow(/has failed or was aborted/);
      expect(await readdir(dir)).toEqual([]);
    }
  });
});

it('an abort signal wins over any other error and leaves no file', async () => {
  await withTempDir(async (dir) => {
    const controller = new AbortController();
    const w = await session(dir, controller.signal);
    controller.abort();
    const error = await w.s.guard(() => Promise.reject(new Error('late'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatAbortError);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(await readdir(dir)).toEqual([]);
    await w.s.abort();
    await w.s.abort();
  });
});
