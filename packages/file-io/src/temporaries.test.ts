import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporaryPathFor } from './atomic-file.js';
import {
  type CleanupNotice,
  cleanStaleTemporaries,
  isProcessRunning,
  parseTemporaryName,
  temporaryDirectoryFor,
} from './temporaries.js';
import { deadPid, withTempDir } from './test-support.js';

describe('temporary names', () => {
  it('parses what temporaryPathFor and temporaryDirectoryFor make, and nothing else', async () => {
    const file = await temporaryPathFor('/data/model.gguf');
    expect(parseTemporaryName(file.slice('/data/'.length))).toEqual({
      target: 'model.gguf',
      kind: 'file',
      pid: process.pid,
    });
    const dir = await temporaryDirectoryFor('/data/my.model', 'staging');
    expect(dir).toMatch(/^\/data\/\.my\.model\.trit-staging-\d+-[0-9a-z]*$/);
    expect(parseTemporaryName(dir.slice('/data/'.length))).toEqual({
      target: 'my.model',
      kind: 'staging',
      pid: process.pid,
    });
    for (const name of [
      '.bashrc',
      'x.tmp',
      '.x.tmp',
      '.x.abc-12.tmp',
      'model.1-a.tmp',
      '.x.trit-Old-1-a',
      '.x.tmp-1-a',
    ]) {
      expect(parseTemporaryName(name), name).toBeUndefined();
    }
    await expect(temporaryDirectoryFor('/data/x', 'Bad word')).rejects.toThrow(/lower-case letters/);
  });

  it('knows a running process from one that has exited', () => {
    expect(isProcessRunning(process.pid)).toBe(true);
    expect(isProcessRunning(process.ppid)).toBe(true);
    expect(isProcessRunning(deadPid())).toBe(false);
  });
});

describe('cleanStaleTemporaries', () => {
  it('removes the temporaries of processes that are gone, keeps everything else, and says what it removed', async () => {
    await withTempDir(async (dir) => {
      const dead = deadPid();
      const alive = process.ppid;
      await writeFile(join(dir, `.out.gguf.${dead}-abc123.tmp`), 'partial');
      await writeFile(join(dir, `.out.gguf.${alive}-abc123.tmp`), 'being written');
      await mkdir(join(dir, `.hf.trit-staging-${dead}-x1`));
      await writeFile(join(dir, `.hf.trit-staging-${dead}-x1`, 'config.json'), '{}');
      await mkdir(join(dir, `.hf.trit-staging-${alive}-x2`));
      // The right name on the wrong kind of entry is not ours.
      await mkdir(join(dir, `.odd.${dead}-abc.tmp`));
      await writeFile(join(dir, `.odd.trit-staging-${dead}-abc`), '');
      await writeFile(join(dir, 'out.gguf'), 'finished');
      await writeFile(join(dir, '.keep.tmp'), '');
      const seen: CleanupNotice[] = [];
      const notices = await cleanStaleTemporaries(dir, { onCleanup: (n) => seen.push(n) });
      expect(seen).toEqual(notices);
      expect(notices.map((n) => [n.action, n.path]).sort()).toEqual(
        [
          ['removed', join(dir, `.hf.trit-staging-${dead}-x1`)],
          ['removed', join(dir, `.out.gguf.${dead}-abc123.tmp`)],
        ].sort(),
      );
      expect(notices[0]?.message).toMatch(new RegExp(`left by process ${dead}, which is no longer running`));
      expect((await readdir(dir)).sort()).toEqual(
        [
          `.hf.trit-staging-${alive}-x2`,
          '.keep.tmp',
          `.odd.${dead}-abc.tmp`,
          `.odd.trit-staging-${dead}-abc`,
          `.out.gguf.${alive}-abc123.tmp`,
          'out.gguf',
        ].sort(),
      );
      expect(await cleanStaleTemporaries(dir)).toEqual([]);
      expect(await cleanStaleTemporaries(join(dir, 'missing'))).toEqual([]);
    });
  });

  it('puts back a directory set aside by a writer that died before moving the new one in', async () => {
    await withTempDir(async (dir) => {
      const dead = deadPid();
      const aside = join(dir, `.model.trit-old-${dead}-a`);
      await mkdir(aside);
      await writeFile(join(aside, 'config.json'), 'old');
      await mkdir(join(dir, `.model.trit-staging-${dead}-b`));
      // Another target's aside, whose target exists: only removed.
      await mkdir(join(dir, 'other'));
      await mkdir(join(dir, `.other.trit-old-${dead}-c`));
      const notices = await cleanStaleTemporaries(dir, { target: 'model' });
      expect(notices.map((n) => [n.action, n.path])).toEqual([
        ['restored', join(dir, 'model')],
        ['removed', join(dir, `.model.trit-staging-${dead}-b`)],
      ]);
      expect(notices[0]?.message).toMatch(/restored .*model from .*\.model\.trit-old-.*stopped while replacing it/);
      expect(await readdir(join(dir, 'model'))).toEqual(['config.json']);
      expect((await readdir(dir)).sort()).toEqual([`.other.trit-old-${dead}-c`, 'model', 'other']);
      expect((await cleanStaleTemporaries(dir)).map((n) => n.action)).toEqual(['removed']);
    });
  });
});
