#!/usr/bin/env node
// Packs every public workspace package with `pnpm pack` (which rewrites
// `workspace:^` ranges to real versions), so a package can be installed the
// way a user would: from its tarball alone. The packages are not on the
// registry, so a consumer project points each @trit/* name at its tarball
// through overrides; npm and pnpm then fetch only the ones it needs.
//
// Packages are discovered from pnpm-workspace.yaml; `private: true` ones are
// skipped. Packing does not build: run `pnpm build` (or turbo) first.
//
//   node scripts/pack-all.mjs [outDir]    prints { name: tarballPath } as JSON
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The `packages:` globs of pnpm-workspace.yaml (only `dir` and `dir/*` forms are used here). */
function workspaceGlobs(root) {
  const lines = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8').split('\n');
  const globs = [];
  let inPackages = false;
  for (const line of lines) {
    if (/^packages:\s*$/.test(line)) {
      inPackages = true;
    } else if (inPackages && /^\s+-\s/.test(line)) {
      globs.push(
        line
          .replace(/^\s+-\s+/, '')
          .replace(/\s+#.*$/, '')
          .replace(/^['"]|['"]$/g, ''),
      );
    } else if (inPackages && line.trim() !== '' && !line.trim().startsWith('#')) {
      inPackages = false;
    }
  }
  return globs;
}

/** Every workspace package: { name, version, dir, manifest }, sorted by name. */
export function workspacePackages(root = repoRoot) {
  const dirs = [];
  for (const glob of workspaceGlobs(root)) {
    if (glob.startsWith('!')) continue;
    if (glob.endsWith('/*')) {
      const parent = join(root, glob.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const entry of readdirSync(parent, { withFileTypes: true })) {
        if (entry.isDirectory()) dirs.push(join(parent, entry.name));
      }
    } else {
      dirs.push(join(root, glob));
    }
  }
  return dirs
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { name: manifest.name, version: manifest.version, dir, manifest };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The workspace packages a user can install (not `private: true`). */
export function publicPackages(root = repoRoot) {
  return workspacePackages(root).filter((pkg) => pkg.manifest.private !== true);
}

/** Packs each public package into outDir; returns a Map of name to tarball path. */
export function packAll(outDir = mkdtempSync(join(tmpdir(), 'trit-pack-')), root = repoRoot) {
  mkdirSync(outDir, { recursive: true });
  const tarballs = new Map();
  for (const pkg of publicPackages(root)) {
    const out = execFileSync('pnpm', ['pack', '--json', '--pack-destination', outDir], {
      cwd: pkg.dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    tarballs.set(pkg.name, resolve(pkg.dir, JSON.parse(out).filename));
  }
  return tarballs;
}

/** `{ "@trit/x": "file:/…/trit-x-0.1.0.tgz", … }` for every packed package. */
export function tarballSpecs(tarballs) {
  return Object.fromEntries([...tarballs].map(([name, path]) => [name, `file:${path}`]));
}

/**
 * Writes a consumer project that depends on `name` only, with every @trit/*
 * name resolved to its tarball: npm reads `overrides` in package.json, pnpm
 * reads `overrides` in the project's own pnpm-workspace.yaml (pnpm no longer
 * reads the `pnpm` field of package.json). That file also makes dir its own
 * root, so pnpm never climbs to a workspace above it.
 */
export function writeConsumerProject(dir, name, tarballs) {
  mkdirSync(dir, { recursive: true });
  const specs = tarballSpecs(tarballs);
  const manifest = {
    name: 'trit-consumer',
    version: '0.0.0',
    private: true,
    dependencies: { [name]: specs[name] },
    overrides: specs,
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const overrides = Object.entries(specs).map(([key, spec]) => `  ${JSON.stringify(key)}: ${JSON.stringify(spec)}\n`);
  writeFileSync(join(dir, 'pnpm-workspace.yaml'), `overrides:\n${overrides.join('')}`);
  return dir;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tarballs = packAll(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(JSON.stringify(Object.fromEntries(tarballs), null, 2));
}
