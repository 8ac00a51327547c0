import { errorCode } from './errors.js';

/**
 * trit's temporary names, and the cleanup of those whose writer died. Every
 * temporary entry trit makes is hidden, sits beside what it becomes (so a
 * rename never crosses filesystems) and carries the writer's process id:
 *
 *   .NAME.PID-RANDOM.tmp          a file being written (AtomicFileSink, writeFileAtomic)
 *   .NAME.trit-WORD-PID-RANDOM    a directory: `staging` (writeDirectoryAtomic's new
 *                                 contents), `old` (the directory it replaces, set
 *                                 aside for an instant) or a caller's scratch word
 *
 * A kill -9 leaves them behind; a later run in the same directory removes
 * those whose process is no longer running, and nothing else.
 */

const TEMPORARY_FILE = /^\.(.+)\.(\d+)-[0-9a-z]*\.tmp$/;
const TEMPORARY_DIRECTORY = /^\.(.+)\.trit-([a-z]+)-(\d+)-[0-9a-z]*$/;

export interface TemporaryName {
  /** The name of the file or directory the temporary was to become (or, for `old`, had been). */
  target: string;
  /** `file` for a temporary file, else the directory's word (`staging`, `old`, …). */
  kind: string;
  /** The process that made it. */
  pid: number;
}

/** What a temporary entry's name says, or undefined when the name is not one of trit's. */
export function parseTemporaryName(name: string): TemporaryName | undefined {
  const file = TEMPORARY_FILE.exec(name);
  if (file) return { target: file[1] as string, kind: 'file', pid: Number(file[2]) };
  const dir = TEMPORARY_DIRECTORY.exec(name);
  if (dir) return { target: dir[1] as string, kind: dir[2] as string, pid: Number(dir[3]) };
  return undefined;
}

/** A hidden directory name beside `path`: `.NAME.trit-WORD-PID-RANDOM`, WORD being lower-case letters. */
export async function temporaryDirectoryFor(path: string, word: string): Promise<string> {
  if (!/^[a-z]+$/.test(word))
    throw new RangeError(`temporary directory word must be lower-case letters, got "${word}"`);
  const { basename, dirname, join } = await import('node:path');
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  return join(dirname(path), `.${basename(path)}.trit-${word}-${suffix}`);
}

/**
 * Whether process `pid` may still be running. This process counts as
 * running (its own temporaries may be in use), and so does any process that
 * exists but belongs to another user (EPERM): only a certain "no such
 * process" lets a temporary go.
 */
export function isProcessRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

/** One thing a cleanup did, for the caller to tell the user. */
export interface CleanupNotice {
  /** `removed`: a stale temporary was deleted; `restored`: a directory set aside was put back. */
  action: 'removed' | 'restored';
  /** The entry removed, or the directory restored. */
  path: string;
  /** One line saying what was done and why. */
  message: string;
}

export interface CleanupOptions {
  /** Only temporaries of this target name (a base name in `dir`); default all of trit's. */
  target?: string;
  /** Called for each removal or restoration, as it happens. */
  onCleanup?: (notice: CleanupNotice) => void;
}

/**
 * Removes, from `dir` (not below it), the temporaries of trit's naming whose
 * process is no longer running. A directory set aside as `old` whose target
 * is missing is renamed back instead: its writer was killed between setting
 * the old directory aside and moving the new one in, so the old one is the
 * complete set. Entries that cannot be removed are left and not reported.
 * Returns what was done; a missing `dir` has nothing to clean.
 */
export async function cleanStaleTemporaries(dir: string, options: CleanupOptions = {}): Promise<CleanupNotice[]> {
  const { lstat, readdir, rename, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const notices: CleanupNotice[] = [];
  const notify = (notice: CleanupNotice) => {
    notices.push(notice);
    options.onCleanup?.(notice);
  };
  const stale: { path: string; name: TemporaryName }[] = [];
  for (const entry of entries) {
    const name = parseTemporaryName(entry.name);
    if (!name || (options.target !== undefined && name.target !== options.target)) continue;
    // Only what trit makes under that name: files for .tmp, real directories for the rest (never a link's target).
    if (name.kind === 'file' ? !entry.isFile() : !entry.isDirectory()) continue;
    if (isProcessRunning(name.pid)) continue;
    stale.push({ path: join(dir, entry.name), name });
  }
  const exists = (path: string) =>
    lstat(path).then(
      () => true,
      (error) => errorCode(error) !== 'ENOENT',
    );
  for (const { path, name } of stale) {
    if (name.kind !== 'old') continue;
    const target = join(dir, name.target);
    if (await exists(target)) continue;
    try {
      await rename(path, target);
    } catch {
      continue;
    }
    notify({
      action: 'restored',
      path: target,
      message: `restored ${target} from ${path}: process ${name.pid} stopped while replacing it`,
    });
  }
  for (const { path, name } of stale) {
    if (!(await exists(path))) continue;
    try {
      await rm(path, { recursive: true, force: true });
    } catch {
      continue;
    }
    notify({
      action: 'removed',
      path,
      message: `removed ${path}, left by process ${name.pid}, which is no longer running`,
    });
  }
  return notices;
}
