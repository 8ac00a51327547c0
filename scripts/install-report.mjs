#!/usr/bin/env node
// Installs each public package on its own, from its tarball, into an empty
// project, and prints a Markdown table of what a user gets: tarball size,
// every package that lands in node_modules, and its size on disk. The third
// party dependencies come from the npm registry (or npm's cache).
//
//   node scripts/install-report.mjs    (build the packages first)
//
// The packaging tests (tests/packaging) use the same helpers.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packAll, publicPackages, writeConsumerProject } from './pack-all.mjs';

/** What npm and pnpm print when a dependency's install script is skipped or needs approval. */
const installScriptWarning = {
  npm: /install[- ]scripts?/i,
  pnpm: /ERR_PNPM_IGNORED_BUILDS|Ignored build scripts/i,
};

const installArgs = {
  npm: ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-update-notifier'],
  pnpm: ['install', '--prefer-offline', '--no-frozen-lockfile'],
};

/**
 * The environment of the calling process without the npm_* / pnpm_* settings
 * a package manager passes to the scripts it runs (npm would read them as its
 * own configuration) and without the kernel-forcing variables.
 */
export function cleanEnv() {
  /** @type {NodeJS.ProcessEnv} */
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm|pnpm)_/i.test(key) || key === 'INIT_CWD') continue;
    if (key === 'TRIT_KERNEL') continue;
    env[key] = value;
  }
  return env;
}

/**
 * Installs `name` alone with `tool` ('npm' or 'pnpm') into a new project in
 * dir. Returns { status, output, installScriptWarning }.
 */
export function installPackage(tool, name, tarballs, dir) {
  writeConsumerProject(dir, name, tarballs);
  const result = spawnSync(tool, installArgs[tool], { cwd: dir, encoding: 'utf8', env: cleanEnv() });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  return { status: result.status, output, installScriptWarning: installScriptWarning[tool].test(output) };
}

/**
 * The names of every package installed under dir/node_modules, nested ones and
 * pnpm's virtual store (node_modules/.pnpm) included. Symlinks are not
 * followed, so each installed copy is read once.
 */
export function installedPackages(dir) {
  const names = new Set();
  const visitNodeModules = (nodeModules) => {
    if (!existsSync(nodeModules)) return;
    for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(nodeModules, entry.name);
      if (entry.name === '.pnpm') {
        for (const stored of readdirSync(path, { withFileTypes: true })) {
          if (stored.isDirectory()) visitNodeModules(join(path, stored.name, 'node_modules'));
        }
      } else if (entry.name.startsWith('@')) {
        for (const scoped of readdirSync(path, { withFileTypes: true })) {
          if (scoped.isDirectory()) visitPackage(join(path, scoped.name));
        }
      } else if (!entry.name.startsWith('.')) {
        visitPackage(path);
      }
    }
  };
  const visitPackage = (packageDir) => {
    const manifest = join(packageDir, 'package.json');
    if (!existsSync(manifest)) return;
    names.add(JSON.parse(readFileSync(manifest, 'utf8')).name);
    visitNodeModules(join(packageDir, 'node_modules'));
  };
  visitNodeModules(join(dir, 'node_modules'));
  return [...names].sort();
}

/** Bytes of the files under path (symlinks counted as links, not followed). */
export function treeBytes(path) {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  let bytes = 0;
  for (const entry of readdirSync(path)) bytes += treeBytes(join(path, entry));
  return bytes;
}

const kilobytes = (bytes) => (bytes / 1024).toFixed(1);

function report() {
  const work = mkdtempSync(join(tmpdir(), 'trit-install-report-'));
  try {
    const tarballs = packAll(join(work, 'tarballs'));
    const rows = [
      '| package | tarball (KB) | npm exit | install-script warning | packages in node_modules | @trit/* | others | node_modules (KB) |',
      '| --- | ---: | ---: | --- | ---: | --- | --- | ---: |',
    ];
    for (const { name } of publicPackages()) {
      const dir = join(work, name.replace('/', '+'));
      const install = installPackage('npm', name, tarballs, dir);
      if (install.status !== 0) console.error(`npm install ${name} failed:\n${install.output}`);
      const installed = installedPackages(dir);
      const trit = installed.filter((n) => n.startsWith('@trit/')).map((n) => n.slice('@trit/'.length));
      const others = installed.filter((n) => !n.startsWith('@trit/'));
      const nodeModules = join(dir, 'node_modules');
      rows.push(
        `| ${name} | ${kilobytes(statSync(tarballs.get(name)).size)} | ${install.status} | ${install.installScriptWarning ? 'yes' : 'no'} | ${installed.length} | ${trit.join(', ')} | ${others.join(', ')} | ${existsSync(nodeModules) ? kilobytes(treeBytes(nodeModules)) : '-'} |`,
      );
    }
    console.log(rows.join('\n'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) report();
