// Builds the native addon from source, after regenerating native/source_hash.h.
//
//   node scripts/native-build.mjs             node-gyp rebuild -> build/Release/tl1.node
//   node scripts/native-build.mjs --prebuild  prebuildify --napi --strip -> prebuilds/<platform>-<arch>/
//
// node-gyp-build loads build/Release before prebuilds/, so after a plain build the
// local addon wins until build/ is deleted.
//
// The gyp file lives at native/binding.gyp and is copied to the package root only
// while a build runs: with a binding.gyp at the root and no install script, npm and
// pnpm (pnpm ignores "gypfile": false) would run node-gyp on every install.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSourceHashHeader } from './source-hash.mjs';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/**
 * The running Node's own headers (official tarballs and distribution packages put
 * them under <prefix>/include/node), so node-gyp needs no download when they match.
 */
function localNodeDir() {
  const prefix = resolve(dirname(process.execPath), '..');
  const versionHeader = join(prefix, 'include', 'node', 'node_version.h');
  if (!existsSync(versionHeader)) return undefined;
  const text = readFileSync(versionHeader, 'utf8');
  const part = (name) => text.match(new RegExp(`#define NODE_${name}_VERSION (\\d+)`))?.[1];
  return `v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}` === process.version ? prefix : undefined;
}

writeSourceHashHeader('native');
const prebuild = process.argv.includes('--prebuild');
const nodeDir = localNodeDir();
const tool = prebuild
  ? [require.resolve('prebuildify/bin.js'), '--napi', '--strip']
  : [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild'];
const rootGyp = join(packageDir, 'binding.gyp');
copyFileSync(join(packageDir, 'native', 'binding.gyp'), rootGyp);
let result;
try {
  result = spawnSync(process.execPath, tool, {
    cwd: packageDir,
    stdio: 'inherit',
    // node-gyp reads npm_config_nodedir, also when prebuildify starts it.
    env: nodeDir ? { ...process.env, npm_config_nodedir: nodeDir } : process.env,
  });
} finally {
  rmSync(rootGyp, { force: true });
  // prebuildify compiles in build/, which node-gyp-build would then load before the new prebuild.
  if (prebuild) rmSync(join(packageDir, 'build'), { recursive: true, force: true });
}
if (result.error) throw result.error;
process.exitCode = result.status ?? 1;
