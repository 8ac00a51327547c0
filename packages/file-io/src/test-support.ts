/** Test-only helpers (not exported from the package). */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@trit/testkit';

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'trit-file-io-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reproducible bytes, so a misplaced chunk shows up as a mismatch. */
export function randomBytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const rng = createRng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = rng.nextU32() & 0xff;
  return out;
}

/** The id of a process that has exited (spawnSync waits for it and reaps it). */
export function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  if (pid === undefined) throw new Error('could not start a process');
  return pid;
}
