import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/*
 * `@trit/tl1-kernel/contract` gives types, the dense-type table and the error
 * classes to packages that only type against the kernel: its built module graph
 * must hold no addon, wasm or worker code. Checked on the build in dist/.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const HEAVY = /node-gyp-build|worker_threads|WebAssembly|\.wasm|worker\.js/;

/** The text of a built entry and of every dist file it imports, statically or lazily. */
function moduleGraph(entry: string): string {
  const seen = new Set<string>();
  const visit = (file: string): string => {
    if (seen.has(file)) return '';
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    const specifiers = text.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g);
    return [text, ...Array.from(specifiers, (m) => visit(join(dirname(file), m[1] as string)))].join('\n');
  };
  return visit(join(root, 'dist', entry));
}

/** Runs a script in a child Node from the package folder, so the package resolves by its own name. */
function node(args: string[]): string {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim();
}

describe('@trit/tl1-kernel/contract', () => {
  it.each(['contract.js', 'contract.cjs'])(
    '%s and the chunks it imports hold no addon, wasm or worker code',
    (entry) => {
      expect(moduleGraph(entry)).not.toMatch(HEAVY);
      // The check can fail: the main entry's graph has all three.
      expect(moduleGraph(entry.replace('contract', 'index'))).toMatch(HEAVY);
    },
  );

  it('loads through import and require without node-gyp-build or any .node file, sharing the error classes', () => {
    const check = `
      const loaded = () => Object.keys(require.cache).filter((k) => /node-gyp-build|\\.node$/.test(k));
      const report = (contract, main) => ({
        loaded: loaded(),
        types: contract.DENSE_TYPES.map((t) => t.name),
        sameErrors: main === undefined || contract.KernelShapeError === main.KernelShapeError,
      });`;
    const esm = node([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module'; const require = createRequire(process.cwd() + '/');
       ${check}
       const contract = await import('@trit/tl1-kernel/contract');
       const before = report(contract);
       console.log(JSON.stringify({ ...before, sameErrors: report(contract, await import('@trit/tl1-kernel')).sameErrors }));`,
    ]);
    const cjs = node([
      '-e',
      `${check}
       const contract = require('@trit/tl1-kernel/contract');
       const before = report(contract);
       console.log(JSON.stringify({ ...before, sameErrors: report(contract, require('@trit/tl1-kernel')).sameErrors }));`,
    ]);
    for (const output of [esm, cjs]) {
      expect(JSON.parse(output)).toEqual({
        loaded: [],
        types: ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k', 'q5_k', 'q6_k'],
        sameErrors: true,
      });
    }
  });
});
