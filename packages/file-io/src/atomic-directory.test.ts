import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { writeDirectoryAtomic } from './atomic-directory.js';
import { LocatedError } from './errors.js';
import { cleanStaleTemporaries } from './temporaries.js';
import { deadPid, withTempDir } from './test-support.js';

/** Every file below `dir` with its content, names relative to `dir`. */
async function contents(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out[path.slice(dir.length + 1)] = await readFile(path, 'utf8');
    }
  }
  return out;
}

const OLD = { 'a.txt': 'old a', 'only-old.txt': 'old only' };
const NEW = { 'a.txt': 'new a', 'sub/b.txt': 'new b' };

async function writeAll(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
}

/** A parent directory holding `out` with the OLD files. */
async function withOld<T>(fn: (parent: string, out: string) => Promise<T>): Promise<T> {
  return withTempDir(async (parent) => {
    const out = join(parent, 'out');
    await writeAll(out, OLD);
    return fn(parent, out);
  });
}

const everything = () => true;

describe('writeDirectoryAtomic', () => {
  it('makes a new directory from the staged files, resolving to what fill returned, leaving nothing beside it', async () => {
    await withTempDir(async (parent) => {
      const out = join(parent, 'deeper', 'out');
      let staging = '';
      const result = await writeDirectoryAtomic(out, async (dir) => {
        staging = dir;
        expect(dir).toMatch(/[/\\]\.out\.trit-staging-\d+-[0-9a-z]*$/);
        await writeAll(dir, NEW);
        return 42;
      });
      expect(result).toBe(42);
      expect(join(staging, '..')).toBe(join(parent, 'deeper'));
      expect(await contents(out)).toEqual(NEW);
      expect(await readdir(join(parent, 'deeper'))).toEqual(['out']);
    });
  });

  it('replaces an existing directory as a whole: old files the new set lacks are gone', async () => {
    await withOld(async (parent, out) => {
      await writeDirectoryAtomic(out, (dir) => writeAll(dir, NEW), { replaceable: (name) => name in OLD });
      expect(await contents(out)).toEqual(NEW);
      expect(await readdir(parent)).toEqual(['out']);
      // An empty directory needs no permission.
      await mkdir(join(parent, 'empty'));
      await writeDirectoryAtomic(join(parent, 'empty'), (dir) => writeAll(dir, NEW));
      expect(await contents(join(parent, 'empty'))).toEqual(NEW);
    });
  });

  it('refuses, before fill runs, a directory with files it may not delete, a file, and the current directory', async () => {
    await withOld(async (parent, out) => {
      let filled = 0;
      const fill = async (dir: string) => {
        filled++;
        await writeAll(dir, NEW);
      };
      const refused = writeDirectoryAtomic(out, fill, { replaceable: (name) => name === 'a.txt' });
      await expect(refused).rejects.toThrow(LocatedError);
      await expect(refused).rejects.toThrow(
        /out: holds files this write did not make, .*nothing was written .*found only-old\.txt\)/,
      );
      // Without `replaceable`, only an empty directory may go.
      await expect(writeDirectoryAtomic(out, fill)).rejects.toThrow(/found a\.txt, only-old\.txt\)/);
      await writeFile(join(parent, 'file'), 'x');
      await expect(writeDirectoryAtomic(join(parent, 'file'), fill)).rejects.toThrow(/exists and is not a directory/);
      const cwd = process.cwd();
      process.chdir(out);
      try {
        await expect(writeDirectoryAtomic(out, fill, { replaceable: everything })).rejects.toThrow(/current directory/);
      } finally {
        process.chdir(cwd);
      }
      const codes: string[] = [];
      await expect(
        writeDirectoryAtomic(out, fill, {
          errors: (code, reason) => {
            codes.push(code);
            return new RangeError(reason);
          },
        }),
      ).rejects.toThrow(RangeError);
      expect(codes).toEqual(['refuse']);
      expect(filled).toBe(0);
      expect(await contents(out)).toEqual(OLD);
      expect((await readdir(parent)).sort()).toEqual(['file', 'out']);
    });
  });

  it('leaves the old directory and no staging when fill fails or the signal aborts', async () => {
    await withOld(async (parent, out) => {
      const failing = writeDirectoryAtomic(
        out,
        async (dir) => {
          await writeAll(dir, NEW);
          throw new Error('disk full');
        },
        { replaceable: everything },
      );
      await expect(failing).rejects.toThrow('disk full');
      const controller = new AbortController();
      const aborted = writeDirectoryAtomic(
        out,
        async (dir) => {
          await writeAll(dir, NEW);
          controller.abort();
        },
        { replaceable: everything, signal: controller.signal },
      );
      await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
      await expect(
        writeDirectoryAtomic(out, () => writeAll(out, NEW), { signal: controller.signal }),
      ).rejects.toMatchObject({ name: 'AbortError', message: expect.stringMatching(/not changed/) });
      expect(await contents(out)).toEqual(OLD);
      expect(await readdir(parent)).toEqual(['out']);
    });
  });

  it('replaces the directory a link names, and keeps the link', async () => {
    await withOld(async (parent, out) => {
      await symlink(out, join(parent, 'link'));
      await writeDirectoryAtomic(join(parent, 'link'), (dir) => writeAll(dir, NEW), { replaceable: everything });
      expect(await contents(out)).toEqual(NEW);
      expect(await contents(join(parent, 'link'))).toEqual(NEW);
      expect((await readdir(parent)).sort()).toEqual(['link', 'out']);
    });
  });

  it('first puts back a directory a killed writer had set aside, removes its staging, and says so', async () => {
    await withTempDir(async (parent) => {
      const dead = deadPid();
      // Killed between the two renames: the old set aside, the complete new one still staged.
      await writeAll(join(parent, `.out.trit-old-${dead}-a`), OLD);
      await writeAll(join(parent, `.out.trit-staging-${dead}-b`), NEW);
      await writeFile(join(parent, `.out.${dead}-c.tmp`), 'partial');
      const messages: string[] = [];
      let before: Record<string, string> = {};
      await writeDirectoryAtomic(
        join(parent, 'out'),
        async (dir) => {
          before = await contents(join(parent, 'out'));
          await writeAll(dir, { 'a.txt': 'newest' });
        },
        { replaceable: everything, onCleanup: (n) => messages.push(n.message) },
      );
      expect(before).toEqual(OLD);
      expect(messages).toHaveLength(3);
      expect(messages[0]).toMatch(/^restored .*out from .*\.out\.trit-old-/);
      expect(messages.slice(1).every((m) => m.includes(`left by process ${dead}`))).toBe(true);
      expect(await contents(join(parent, 'out'))).toEqual({ 'a.txt': 'newest' });
      expect(await readdir(parent)).toEqual(['out']);
    });
  });

  it('after a kill -9 at any point, the directory is the complete old or new set, and the next run cleans up', async () => {
    const lib = new URL('../dist/index.js', import.meta.url).href;
    await withTempDir(async (parent) => {
      const script = join(parent, 'writer.mjs');
      // Writes 40 files one by one (reporting each), then lets writeDirectoryAtomic swap.
      await writeFile(
        script,
        `import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDirectoryAtomic } from ${JSON.stringify(lib)};
await writeDirectoryAtomic(process.argv[2], async (dir) => {
  for (let i = 0; i < 40; i++) {
    await writeFile(join(dir, 'f' + i), 'new ' + i);
    process.stdout.write('wrote ' + i + '\\n');
  }
}, { replaceable: () => true });
process.stdout.write('done\\n');
`,
      );
      const oldSet = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, `old ${i}`]));
      oldSet.extra = 'only in the old set';
      const newSet = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, `new ${i}`]));
      const out = join(parent, 'out');
      const outcomes: string[] = [];
      // Kill after the first file, mid-way, at the last file (the swap follows), and never.
      for (const killAt of ['wrote 0', 'wrote 20', 'wrote 39', 'wrote 39', 'never']) {
        await writeAll(out, oldSet);
        const child = spawn(process.execPath, [script, out], { stdio: ['ignore', 'pipe', 'inherit'] });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk;
          if (output.includes(`${killAt}\n`)) child.kill('SIGKILL');
        });
        const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, s) => resolve(s)));
        expect(signal).toBe(killAt === 'never' ? null : 'SIGKILL');
        const names = await readdir(parent);
        const state = names.includes('out') ? await contents(out) : undefined;
        const cleaned = await cleanStaleTemporaries(parent);
        if (state === undefined) {
          // Killed between the renames: the cleanup puts the old set back.
          expect(cleaned[0]?.action).toBe('restored');
          expect(await contents(out)).toEqual(oldSet);
          outcomes.push('restored');
        } else if (isDeepStrictEqual(state, oldSet)) outcomes.push('old');
        else {
          expect(state).toEqual(newSet);
          outcomes.push('new');
        }
        if (killAt !== 'never' && outcomes.at(-1) === 'old') expect(cleaned.length).toBeGreaterThan(0);
        expect((await readdir(parent)).sort()).toEqual(['out', 'writer.mjs']);
      }
      expect(outcomes.slice(0, 2)).toEqual(['old', 'old']);
      expect(outcomes.at(-1)).toBe('new');
    });
  }, 30_000);
});
