// Install script of @trit/tl1-kernel.
//
// 1. If a prebuilt addon for this platform exists and loads, do nothing.
// 2. Otherwise build it from source with node-gyp, using local Node headers
//    (never downloads anything).
// 3. If that is not possible, print one warning line and exit 0: the package
//    then uses its wasm / JS kernels. Installation never fails because of this.
//
// TL1_VERBOSE=1 shows the node-gyp output.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const verbose = !!process.env.TL1_VERBOSE;

function warn(reason) {
  console.warn(`@trit/tl1-kernel: native kernel unavailable (${reason}); the wasm/JS kernels will be used.`);
}

function loads() {
  try {
    require('node-gyp-build')(pkgDir);
    return true;
  } catch {
    return false;
  }
}

/** [command, argsPrefix] to run node-gyp, or null. */
function findNodeGyp() {
  const isWin = process.platform === 'win32';
  // npm / pnpm tell scripts where their bundled node-gyp is
  const fromEnv = process.env.npm_config_node_gyp;
  if (fromEnv && existsSync(fromEnv)) {
    return fromEnv.endsWith('.js') ? [process.execPath, [fromEnv]] : [fromEnv, []];
  }
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    if (!dir) continue;
    for (const name of isWin ? ['node-gyp.cmd', 'node-gyp.exe'] : ['node-gyp']) {
      const p = join(dir, name);
      if (existsSync(p)) return [p, []];
    }
  }
  const candidates = ['node-gyp/bin/node-gyp.js'];
  for (const c of candidates) {
    try {
      return [process.execPath, [require.resolve(c)]];
    } catch {}
  }
  // npm ships node-gyp next to node: <prefix>/lib/node_modules/npm/node_modules/node-gyp
  const prefix = resolve(dirname(process.execPath), '..');
  for (const p of [
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ]) {
    if (existsSync(p)) return [process.execPath, [p]];
  }
  return null;
}

/** --nodedir value with include/node/node_api.h, or null. */
function findNodeDir() {
  const hasHeaders = (d) => d && existsSync(join(d, 'include', 'node', 'node_api.h'));
  const envDir = process.env.npm_config_nodedir;
  if (hasHeaders(envDir)) return envDir;
  const prefix = resolve(dirname(process.execPath), '..');
  if (hasHeaders(prefix)) return prefix;
  return null;
}

/** Headers node-gyp already has in its cache (used when no --nodedir is given). */
function cachedHeaders() {
  const v = process.version.slice(1);
  const dirs = [
    process.env.npm_config_devdir,
    process.env.XDG_CACHE_HOME && join(process.env.XDG_CACHE_HOME, 'node-gyp'),
    join(homedir(), '.cache', 'node-gyp'),
    join(homedir(), 'Library', 'Caches', 'node-gyp'),
    process.env.LOCALAPPDATA && join(process.env.LOCALAPPDATA, 'node-gyp', 'Cache'),
  ].filter(Boolean);
  return dirs.some((d) => existsSync(join(d, v, 'include', 'node', 'node_api.h')));
}

function main() {
  if (process.env.TL1_SKIP_NATIVE) return; // opt out
  if (loads()) return;
  const gyp = findNodeGyp();
  if (!gyp) return warn('node-gyp not found');
  const nodeDir = findNodeDir();
  if (!nodeDir && !cachedHeaders()) return warn('no local Node.js headers to build against');
  const [cmd, pre] = gyp;
  const args = [...pre, 'rebuild', ...(nodeDir ? [`--nodedir=${nodeDir}`] : [])];
  const r = spawnSync(cmd, args, {
    cwd: pkgDir,
    stdio: verbose ? 'inherit' : 'pipe',
    env: process.env,
    shell: process.platform === 'win32' && cmd.endsWith('.cmd'),
    timeout: 10 * 60 * 1000,
  });
  if (r.error || r.status !== 0) {
    return warn(
      r.error
        ? `node-gyp failed to start: ${r.error.message}`
        : `build failed, exit code ${r.status}; TL1_VERBOSE=1 shows why`,
    );
  }
  if (!loads()) return warn('the built addon does not load');
}

try {
  main();
} catch (e) {
  try {
    warn(`install script error: ${e?.message}`);
  } catch {}
}
process.exitCode = 0;
