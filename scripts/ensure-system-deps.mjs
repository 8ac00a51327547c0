#!/usr/bin/env node
// Before `pnpm test`: the browser test needs Debian's chromium, and the wasm
// reproducibility test needs clang and lld. On a machine of this project's
// kind (Debian, root) missing ones are installed with apt-get; elsewhere this
// says what to install and fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needs = [
  { pkg: 'chromium', present: () => existsSync(process.env.TRIT_CHROMIUM ?? '/usr/bin/chromium') },
  { pkg: 'clang-16', present: () => has('clang-16') },
  { pkg: 'lld-16', present: () => has('wasm-ld-16') },
];

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const missing = needs.filter((n) => !n.present()).map((n) => n.pkg);
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !has('apt-get')) {
  console.error(
    `trit tests need these system packages: ${missing.join(', ')} (Debian: apt-get install ${missing.join(' ')})`,
  );
  process.exit(1);
}
console.error(`installing system packages for the tests: ${missing.join(', ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
