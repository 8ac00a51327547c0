// The committed .wasm files are the build of wasm/tl1.c: each exports the
// SHA-256 of its sources (scripts/source-hash.mjs), and a rebuild from source
// with Debian's clang-16 + lld-16 gives identical bytes. (Node 20 compiles the
// relaxed-SIMD ones under vitest.config.ts's flag.)
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const WASM_FILES = ['tl1-simd.wasm', 'tl1-simd-mt.wasm', 'tl1-relaxed-simd.wasm', 'tl1-relaxed-simd-mt.wasm'];

function treeHash(): string {
  const out = execFileSync(process.execPath, [join(root, 'scripts/source-hash.mjs'), '--print', 'wasm'], {
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { wasm: string }).wasm;
}

it.each(WASM_FILES)('wasm/%s was built from the sources in this tree', (file) => {
  const module = new WebAssembly.Module(readFileSync(join(root, 'wasm', file)));
  const shared = file.includes('-mt');
  const memory = new WebAssembly.Memory({ initial: 1, ...(shared ? { maximum: 1, shared: true } : {}) });
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  const sourceHash = exports.source_hash as ((out: number) => void) | undefined;
  const refresh = 'run `pnpm --filter @trit/tl1-kernel build:wasm` and commit the result';
  expect(sourceHash, `wasm/${file} exports no source_hash: ${refresh}`).toBeTypeOf('function');
  sourceHash?.(16);
  const hash = Buffer.from(new Uint8Array(memory.buffer, 16, 32)).toString('hex');
  expect(hash, `wasm/${file} was built from other sources: ${refresh}`).toBe(treeHash());
});

it('rebuilds every committed .wasm from source byte for byte', () => {
  // A copy of the package's build inputs, laid out as in the package.
  const dir = mkdtempSync(join(tmpdir(), 'trit-wasm-'));
  try {
    mkdirSync(join(dir, 'wasm'));
    mkdirSync(join(dir, 'scripts'));
    for (const file of ['build.sh', 'tl1.c', 'source_hash.h'])
      cpSync(join(root, 'wasm', file), join(dir, 'wasm', file));
    cpSync(join(root, 'scripts/source-hash.mjs'), join(dir, 'scripts/source-hash.mjs'));
    if (existsSync(join(root, 'include'))) cpSync(join(root, 'include'), join(dir, 'include'), { recursive: true });
    const build = spawnSync('bash', [join(dir, 'wasm/build.sh')], { encoding: 'utf8' });
    expect(build.status, `build.sh failed:\n${build.stderr}`).toBe(0);
    for (const file of WASM_FILES) {
      expect([file, readFileSync(join(dir, 'wasm', file)).equals(readFileSync(join(root, 'wasm', file)))]).toEqual([
        file,
        true,
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
