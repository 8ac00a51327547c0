// The committed prebuilds are the build of the C sources in this tree: each
// embeds the SHA-256 of its sources (scripts/source-hash.mjs). And a build
// from source with node-gyp (`native:build`) is bit-identical to the JS kernel.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sameFloat32 } from '@trit/testkit';
import { describe, expect, it } from 'vitest';
import { loadKernel } from './select.js';
import { caseActivations, caseTernary, vectorCases } from './vectors.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const REFRESH = 'run `pnpm --filter @trit/tl1-kernel native:prebuild` and commit the result';

/** The hash of the native sources in a package folder (this one by default). */
function treeHash(dir = root): string {
  const out = execFileSync(process.execPath, [join(dir, 'scripts/source-hash.mjs'), '--print', 'native'], {
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { native: string }).native;
}

/** The hash a binary carries (native/tl1.c prefixes it so it can be found without loading the file). */
function embeddedHash(file: string): string | undefined {
  return /tl1-source-sha256:([0-9a-f]{64})/.exec(readFileSync(file).toString('latin1'))?.[1];
}

const prebuilds = readdirSync(join(root, 'prebuilds'), { recursive: true, encoding: 'utf8' })
  .filter((path) => path.endsWith('.node'))
  .map((path) => `prebuilds/${path.replaceAll('\\', '/')}`);

describe('committed prebuilds', () => {
  it('native/source_hash.h holds the hash of the sources in this tree', () => {
    const header = readFileSync(join(root, 'native/source_hash.h'), 'utf8');
    const hash = /TL1_SOURCE_HASH "([0-9a-f]{64})"/.exec(header)?.[1];
    expect(hash, `native/source_hash.h is stale: ${REFRESH}`).toBe(treeHash());
  });

  it('there is at least one', () => {
    expect(prebuilds.length).toBeGreaterThan(0);
  });

  it.each(prebuilds)('%s was built from the sources in this tree', (path) => {
    const hash = embeddedHash(join(root, path));
    expect(hash, `${path} embeds no source hash: ${REFRESH}`).toBeDefined();
    expect(hash, `${path} was built from other native sources: ${REFRESH}`).toBe(treeHash());
  });

  const own = prebuilds.filter((path) => path.startsWith(`prebuilds/${process.platform}-${process.arch}/`));
  it.runIf(own.length > 0)('the prebuild for this platform reports the same hash when loaded', () => {
    const require = createRequire(import.meta.url);
    for (const path of own) {
      const addon = require(join(root, path)) as { sourceHash(): string };
      expect(addon.sourceHash(), path).toBe(embeddedHash(join(root, path)));
    }
  });
});

it.runIf(process.arch === 'x64' && !process.env.TRIT_ALLOW_MISSING_NATIVE)(
  'native:build builds the addon from source, bit-identical to the JS kernel',
  async () => {
    // Inside the package, so node-gyp and node-gyp-build resolve from its node_modules.
    const dir = mkdtempSync(join(root, '.native-build-'));
    try {
      for (const entry of ['package.json', 'native', 'include', 'scripts']) {
        if (existsSync(join(root, entry))) cpSync(join(root, entry), join(dir, entry), { recursive: true });
      }
      const build = spawnSync(process.execPath, [join(dir, 'scripts/native-build.mjs')], {
        encoding: 'utf8',
        cwd: dir,
      });
      expect(build.status, `native-build.mjs failed:\n${build.stdout}\n${build.stderr}`).toBe(0);
      expect(existsSync(join(dir, 'build/Release/tl1.node'))).toBe(true);
      expect(embeddedHash(join(dir, 'build/Release/tl1.node'))).toBe(treeHash(dir));

      // No prebuilds/ in the copy: node-gyp-build finds build/Release.
      const built = await loadKernel({ implementation: 'native', threads: 2, nativeAddonPath: dir });
      const js = await loadKernel({ implementation: 'js', threads: 1 });
      for (const c of vectorCases()
        .filter((v) => v.kind === 'ternary' && v.rows * v.cols < 200_000)
        .slice(0, 12)) {
        if (c.kind !== 'ternary') continue;
        const { input } = caseTernary(c);
        const x = caseActivations(c.activations, c.nTokens, c.cols, c.seed);
        const a = built.gemm(built.prepare(input), x, c.nTokens);
        const b = js.gemm(js.prepare(input), x, c.nTokens);
        expect([c.id, sameFloat32(a, b)]).toEqual([c.id, true]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  600_000,
);
