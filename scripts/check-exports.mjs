#!/usr/bin/env node
// Loads the package in the current directory by its own name, through
// `require` and through `import`, and checks both expose the same exports.
// publint and attw check the package metadata and types; this runs the code.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const { name } = JSON.parse(readFileSync('package.json', 'utf8'));
const load = (args) => {
  const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    console.error(`check-exports: loading ${name} failed:\n${result.stderr}`);
    process.exit(1);
  }
  return JSON.parse(result.stdout);
};
const cjs = load(['-e', `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(name)})).sort()))`]);
const esm = load([
  '--input-type=module',
  '-e',
  `const m = await import(${JSON.stringify(name)}); console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()))`,
]);
if (cjs.length === 0 || JSON.stringify(cjs) !== JSON.stringify(esm)) {
  console.error(`check-exports: ${name} require() gives [${cjs}] but import gives [${esm}]`);
  process.exit(1);
}
console.log(`check-exports: ${name} loads through require and import with the same ${cjs.length} exports`);
