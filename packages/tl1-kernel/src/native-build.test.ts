// A fresh install without a prebuild: the install script builds the addon from
// source with node-gyp and the machine's compiler, and the result is bit-identical
// to the JS kernel. (The prebuild path is what `pnpm install` exercises.)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sameFloat32 } from '@trit/testkit';
import { expect, it } from 'vitest';
import { loadKernel } from './select.js';
import { caseActivations, caseTernary, vectorCases } from './vectors.js';

const root = fileURLToPath(new URL('..', import.meta.url));

it.runIf(process.arch === 'x64' && !process.env.TRIT_ALLOW_MISSING_NATIVE)(
  'builds the addon from source when no prebuild is present',
  async () => {
    // Inside the package, so node-gyp and node-gyp-build resolve from its node_modules.
    const dir = mkdtempSync(join(root, '.native-build-'));
    try {
      for (const entry of ['package.json', 'binding.gyp', 'native'])
        cpSync(join(root, entry), join(dir, entry), { recursive: true });
      const install = spawnSync(process.execPath, [join(dir, 'native/install.mjs')], { encoding: 'utf8', cwd: dir });
      expect(install.status).toBe(0);
      expect(install.stderr).not.toMatch(/native kernel unavailable/);
      expect(existsSync(join(dir, 'build/Release/tl1.node'))).toBe(true);

      const built = await loadKernel({ backend: 'native', threads: 2, nativeAddonPath: dir });
      const js = await loadKernel({ backend: 'js', threads: 1 });
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
