import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * A job posted the moment a pool's workers report ready must still run: a
 * worker that read the job generation after saying ready slept through its
 * first job and left the caller waiting forever (seen once in CI). The check
 * runs in a child process, so a regression fails on the timeout instead of
 * hanging the test runner, whose event loop a blocked Atomics.wait would stop.
 */
const script = `
import { loadKernel } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)};
import { packTernary, TernaryTensor } from '@trit/ternary';
const rows = 64, cols = 256;
const tensor = new TernaryTensor({ packed: packTernary(Int8Array.from({ length: rows * cols }, (_, i) => (i % 3) - 1)), scales: new Float32Array(rows).fill(0.5), shape: [rows, cols], blockSize: 256 });
const x = Float32Array.from({ length: cols }, (_, i) => Math.sin(i));
let reference;
for (let round = 0; round < 5; round++) {
  for (const implementation of ['wasm', 'js']) {
    const kernel = await loadKernel({ implementation, threads: 2 });
    const y = kernel.gemv(kernel.prepare(tensor), x); // the first job, right after the workers are ready
    reference ??= Array.from(y);
    if (Array.from(y).some((v, i) => v !== reference[i])) throw new Error('different result on ' + implementation);
    await kernel.dispose();
  }
}
console.log('ok');
`;

describe('worker pool', () => {
  it('runs the first job posted right after the workers are ready, even when a worker is slow to start waiting', () => {
    // A file beside package.json (not --eval: worker threads would inherit --input-type).
    const file = fileURLToPath(new URL(`../../.pool-check-${process.pid}.mjs`, import.meta.url));
    writeFileSync(file, script);
    let result: ReturnType<typeof spawnSync>;
    try {
      result = spawnSync(process.execPath, [file], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, TL1_WORKER_READY_DELAY_MS: '30' },
      });
    } finally {
      rmSync(file, { force: true });
    }
    expect(result.error?.message ?? '', 'timed out: a pool lost its first job').toBe('');
    expect(String(result.stdout).trim(), String(result.stderr)).toBe('ok');
  }, 120_000);
});
