import { syncDirectory, syncDirectoryOf } from './atomic-file.js';
import { defaultErrorFactory, errorCode, type LocatedErrorFactory } from './errors.js';
import { type CleanupNotice, cleanStaleTemporaries, parseTemporaryName, temporaryDirectoryFor } from './temporaries.js';

/**
 * `abort`: the AbortSignal fired; `write`: the file system refused; `refuse`:
 * the path holds something this write must not delete.
 */
export type AtomicDirectoryErrorCode = 'abort' | 'write' | 'refuse';

export interface AtomicDirectoryOptions {
  /** Aborting before the swap removes the staging directory; the path is never touched. */
  signal?: AbortSignal;
  /**
   * Whether an existing directory at the path may be replaced while it holds
   * an entry of this name. Every entry must pass (trit's own temporaries
   * always do), else the write is refused before anything is written, so a
   * directory of someone else's files is never deleted. Default: no name
   * passes, so only a missing or empty directory is replaced.
   */
  replaceable?: (name: string) => boolean;
  /** Told of each stale temporary removed (or directory restored) beside the path first. */
  onCleanup?: (notice: CleanupNotice) => void;
  /** Builds the errors thrown; a LocatedError (named `AbortError` for aborts) by default. */
  errors?: LocatedErrorFactory<AtomicDirectoryErrorCode>;
}

/** rename() errors that mean "a directory is in the way" (ENOTEMPTY on POSIX, EPERM on Windows …). */
const DIRECTORY_IN_THE_WAY = new Set(['ENOTEMPTY', 'EEXIST', 'EPERM', 'ENOTDIR']);

/**
 * Writes a whole directory so that readers see either the old set of files
 * or the new one, never a mix: `fill` writes into a hidden staging
 * directory beside `path`, every file is fsynced, then the staging directory
 * is renamed to `path`. An existing directory is first renamed aside and
 * removed after the swap; between those two renames `path` is briefly
 * missing (a reader gets ENOENT, not a mix), and if the process dies there,
 * the next write in that directory renames the old one back (see
 * cleanStaleTemporaries), as it removes any other stale temporaries.
 *
 * A link at `path` is followed: the directory it names is replaced and the
 * link kept. An existing file, the current directory, or a directory holding
 * entries `replaceable` does not accept is refused before `fill` runs.
 * If `fill` throws or the signal aborts, the staging directory is removed
 * and `path` is untouched. Resolves to what `fill` returned.
 */
export async function writeDirectoryAtomic<T>(
  path: string,
  fill: (staging: string) => Promise<T>,
  options: AtomicDirectoryOptions = {},
): Promise<T> {
  const errors = options.errors ?? defaultErrorFactory;
  const { signal } = options;
  const aborted = () => errors('abort', 'aborted; the directory was not changed', { source: path });
  if (signal?.aborted) throw aborted();
  const { lstat, mkdir, realpath, rename, rm } = await import('node:fs/promises');
  const { dirname, resolve } = await import('node:path');
  const fail = (what: string, error: unknown) =>
    errors('write', `${what} (${errorCode(error)})`, { source: path }, { cause: error });

  let target = resolve(path);
  if ((await lstat(target).catch(() => undefined))?.isSymbolicLink()) {
    try {
      target = await realpath(target);
    } catch (error) {
      throw errors('refuse', `is a symbolic link to nothing (${errorCode(error)})`, { source: path });
    }
  }
  const parent = dirname(target);
  try {
    await mkdir(parent, { recursive: true });
  } catch (error) {
    throw fail('cannot create the parent directory', error);
  }
  await cleanStaleTemporaries(parent, { onCleanup: options.onCleanup });
  const replaceable = options.replaceable ?? (() => false);
  await checkReplaceable(target, path, replaceable, errors);

  const staging = await temporaryDirectoryFor(target, 'staging');
  try {
    await mkdir(staging);
  } catch (error) {
    throw fail(`cannot create the staging directory ${staging}`, error);
  }
  const discard = () => rm(staging, { recursive: true, force: true }).catch(() => {});
  let result: T;
  try {
    result = await fill(staging);
    if (signal?.aborted) throw aborted();
    try {
      await syncTree(staging);
    } catch (error) {
      throw fail('cannot flush the new files to disk', error);
    }
    if (signal?.aborted) throw aborted();
  } catch (error) {
    await discard();
    throw error;
  }

  // The swap is not abortable: it is two renames long.
  try {
    await rename(staging, target);
    await syncDirectoryOf(target);
    return result;
  } catch (error) {
    if (!DIRECTORY_IN_THE_WAY.has(errorCode(error) as string)) {
      await discard();
      throw fail('cannot move the new directory into place', error);
    }
  }
  try {
    // fill may have taken minutes: look again at what is about to be set aside.
    await checkReplaceable(target, path, replaceable, errors);
  } catch (error) {
    await discard();
    throw error;
  }
  const aside = await temporaryDirectoryFor(target, 'old');
  try {
    await rename(target, aside);
  } catch (error) {
    await discard();
    throw fail('cannot move the old directory aside', error);
  }
  try {
    await rename(staging, target);
  } catch (error) {
    await rename(aside, target).catch(() => {});
    await discard();
    throw fail('cannot move the new directory into place', error);
  }
  await syncDirectoryOf(target);
  await rm(aside, { recursive: true, force: true }).catch(() => {});
  return result;
}

/** Refuses a target that is a file, the current directory, or a directory holding entries not `replaceable`. */
async function checkReplaceable(
  target: string,
  label: string,
  replaceable: (name: string) => boolean,
  errors: LocatedErrorFactory<AtomicDirectoryErrorCode>,
): Promise<void> {
  const { lstat, readdir } = await import('node:fs/promises');
  const { sep } = await import('node:path');
  let isDirectory: boolean;
  try {
    isDirectory = (await lstat(target)).isDirectory();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw errors(
      'write',
      `cannot look at the existing path (${errorCode(error)})`,
      { source: label },
      { cause: error },
    );
  }
  if (!isDirectory) throw errors('refuse', 'exists and is not a directory', { source: label });
  const cwd = process.cwd();
  if (cwd === target || cwd.startsWith(target + sep)) {
    throw errors('refuse', 'is (or holds) the current directory, which cannot be replaced; give another directory', {
      source: label,
    });
  }
  const foreign = (await readdir(target)).filter((name) => !parseTemporaryName(name) && !replaceable(name)).sort();
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, … (${foreign.length} in all)` : '');
    throw errors(
      'refuse',
      `holds files this write did not make, which replacing the directory would delete; nothing was written (give a new or empty directory, or move them away)`,
      { source: label, expected: 'only files this write makes', found: shown },
    );
  }
}

/** fsyncs every file below `dir`, then the directories themselves. */
async function syncTree(dir: string): Promise<void> {
  const { open, readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else if (entry.isFile()) {
      // Windows flushes only through a writable handle; a read-only file still syncs through 'r' elsewhere.
      const handle = await open(path, 'r+').catch(() => open(path, 'r'));
      await handle.sync().finally(() => handle.close());
    }
  }
  await syncDirectory(dir);
}
