// Every entry point of every public package has an API report that its
// `test` script checks (`api-extractor run`, see scripts/api-update.mjs):
// the main entry through api-extractor.json, a subpath such as `./contract`
// through api-extractor.contract.json.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publicPackages } from '../../scripts/pack-all.mjs';

/** The api-extractor config each entry point needs: `.` → api-extractor.json, `./a/b` → api-extractor.a-b.json. */
function configFor(subpath: string) {
  return subpath === '.' ? 'api-extractor.json' : `api-extractor.${subpath.slice(2).replaceAll('/', '-')}.json`;
}

describe.each(publicPackages())('$name', ({ dir, manifest }) => {
  const subpaths = Object.keys(manifest.exports ?? { '.': null }).filter((key) => key !== './package.json');

  it.each(subpaths)('entry %s has an API report that `test` checks', (subpath) => {
    const config = configFor(subpath);
    expect(existsSync(join(dir, config)), `${config} is missing`).toBe(true);
    const test: string = manifest.scripts?.test ?? '';
    const runs =
      subpath === '.' ? /api-extractor run(?! (-c|--config))/ : new RegExp(`api-extractor run (-c|--config) ${config}`);
    expect(test).toMatch(runs);
  });
});
