// Each public package installs on its own, from the tarball `pnpm pack`
// makes, into an empty project outside the workspace: with npm and with pnpm,
// without install scripts, and with only the dependencies its main entry needs
// (the dependency table in README.md, "Composing your own runtime").
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, installedPackages, installPackage } from '../../scripts/install-report.mjs';
import { packAll, publicPackages } from '../../scripts/pack-all.mjs';

type Tool = 'npm' | 'pnpm';

const names = publicPackages().map((pkg) => pkg.name);
const work = mkdtempSync(join(tmpdir(), 'trit-packaging-'));
let tarballs: Map<string, string>;

beforeAll(() => {
  tarballs = packAll(join(work, 'tarballs'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Installs each (tool, package) pair once; the tests below share the project. */
const installs = new Map<string, ReturnType<typeof installPackage> & { dir: string }>();
function installed(tool: Tool, name: string) {
  const key = `${tool} ${name}`;
  let install = installs.get(key);
  if (!install) {
    const dir = join(work, tool, name.replace('/', '+'));
    install = { ...installPackage(tool, name, tarballs, dir), dir };
    installs.set(key, install);
  }
  return install;
}

it('lists every public package as a devDependency, so turbo builds them before this test', () => {
  const manifest = JSON.parse(readFileSync(join(import.meta.dirname, 'package.json'), 'utf8'));
  expect(Object.keys(manifest.devDependencies).sort()).toEqual([...names].sort());
});

describe.each<Tool>(['npm', 'pnpm'])('%s install of one tarball', (tool) => {
  it.each(names)('%s installs with exit 0 and no install-script warning', (name) => {
    const install = installed(tool, name);
    expect(install.status, install.output).toBe(0);
    expect(install.installScriptWarning, install.output).toBe(false);
  });

  it.runIf(process.platform === 'linux' && process.arch === 'x64')(
    '@trit/tl1-kernel loads its prebuilt native kernel in auto mode',
    () => {
      const { dir } = installed(tool, '@trit/tl1-kernel');
      const script = [
        "const { loadKernel } = await import('@trit/tl1-kernel');",
        "const kernel = await loadKernel({ implementation: 'auto' });",
        'console.log(kernel.name);',
        'await kernel.dispose();',
      ].join('\n');
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: dir,
        encoding: 'utf8',
        env: cleanEnv(),
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout.trim()).toMatch(/^native/);
    },
  );

  it('@trit/backend brings no converter, synthetic models or safetensors reader', () => {
    const packages = installedPackages(installed(tool, '@trit/backend').dir);
    expect(packages).toContain('@trit/backend');
    for (const unwanted of ['@trit/quantizer', '@trit/convert', '@trit/synth', '@trit/safetensors']) {
      expect(packages).not.toContain(unwanted);
    }
  });

  it('@trit/quantizer brings only @trit/ternary and @petamoriken/float16', () => {
    expect(installedPackages(installed(tool, '@trit/quantizer').dir)).toEqual([
      '@petamoriken/float16',
      '@trit/quantizer',
      '@trit/ternary',
    ]);
  });
});
