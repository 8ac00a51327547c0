import { SafetensorsAbortError, SafetensorsWriteError } from './errors.js';

/**
 * Atomic replacement: write a temporary file in the destination's directory
 * (so rename stays on one filesystem), fsync it, rename it over the
 * destination, then fsync the directory so the rename itself is durable.
 * Node modules are imported on use so the reader still bundles for browsers.
 */

/** A hidden temporary name beside `path`, unique per process and call. */
export async function temporaryPathFor(path: string): Promise<string> {
  const { basename, dirname, join } = await import('node:path');
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  return join(dirname(path), `.${basename(path)}.${suffix}.tmp`);
}

/** Persists a rename; not every platform allows fsync on a directory, so failure is ignored. */
export async function syncDirectoryOf(path: string): Promise<void> {
  const { open } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  try {
    const handle = await open(dirname(path), 'r');
    await handle.sync().finally(() => handle.close());
  } catch {}
}

/** Writes a small file (an index JSON) atomically. */
export async function writeFileAtomic(path: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  const { open, rename, rm } = await import('node:fs/promises');
  if (signal?.aborted) throw new SafetensorsAbortError('aborted; no file was written', { source: path });
  const temporary = await temporaryPathFor(path);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (signal?.aborted) throw new SafetensorsAbortError('aborted; no file was written', { source: path });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    if (error instanceof SafetensorsAbortError) throw error;
    throw new SafetensorsWriteError(
      `cannot write the file (${(error as NodeJS.ErrnoException).code ?? error})`,
      { source: path },
      { cause: error },
    );
  }
  await syncDirectoryOf(path);
}
