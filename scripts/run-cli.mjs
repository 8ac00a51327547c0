#!/usr/bin/env node
// `pnpm trit <args>`: builds the CLI and what it depends on (turbo replays the
// cache when nothing changed), then runs it. Build output shows only on failure.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'build', '--filter=@trit/cli...', '--output-logs=errors-only'],
  {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  },
);
if (build.status !== 0) {
  process.stderr.write(build.stdout ?? '');
  process.stderr.write(build.stderr ?? '');
  process.stderr.write(`trit: the build failed (exit ${build.status ?? build.signal}); see above\n`);
  process.exit(1);
}
const cli = spawnSync(process.execPath, [join(root, 'apps/cli/dist/cli.js'), ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(cli.status ?? 1);
