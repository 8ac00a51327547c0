// The committed .wasm files are the build of wasm/tl1.c: rebuild them from
// source with Debian's clang + lld and require identical bytes.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const wasmDir = fileURLToPath(new URL('../wasm/', import.meta.url));

it('rebuilds tl1-simd.wasm and tl1-simd-mt.wasm from source byte for byte', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trit-wasm-'));
  try {
    for (const file of ['build.sh', 'tl1.c']) copyFileSync(join(wasmDir, file), join(dir, file));
    const build = spawnSync('bash', [join(dir, 'build.sh')], { encoding: 'utf8' });
    expect(build.status, `build.sh failed:\n${build.stderr}`).toBe(0);
    for (const file of ['tl1-simd.wasm', 'tl1-simd-mt.wasm']) {
      expect([file, readFileSync(join(dir, file)).equals(readFileSync(join(wasmDir, file)))]).toEqual([file, true]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
