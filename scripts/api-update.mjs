#!/usr/bin/env node
// `pnpm api:update`: rewrites each public package's API reports
// (etc/*.api.md) from its built dist/*.d.ts, one report per
// api-extractor*.json in the package (one per entry point). Build first.
// `pnpm test` runs `api-extractor run` in each package, which fails while a
// report differs from the build.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { publicPackages, repoRoot } from './pack-all.mjs';

const apiExtractor = join(repoRoot, 'node_modules', '.bin', 'api-extractor');
let failed = 0;
for (const pkg of publicPackages()) {
  const configs = readdirSync(pkg.dir).filter((file) => /^api-extractor(\.[\w-]+)?\.json$/.test(file));
  if (configs.length === 0) {
    console.error(`api:update: ${pkg.name} has no api-extractor.json`);
    failed++;
    continue;
  }
  mkdirSync(join(pkg.dir, 'etc'), { recursive: true });
  for (const config of configs) {
    console.log(`api:update: ${relative(repoRoot, join(pkg.dir, config))}`);
    const run = spawnSync(apiExtractor, ['run', '--local', '--config', config], { cwd: pkg.dir, stdio: 'inherit' });
    if (run.status !== 0) failed++;
  }
}
process.exit(failed === 0 ? 0 : 1);
