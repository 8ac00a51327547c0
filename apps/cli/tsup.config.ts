import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base';

// testkit is private: bundle it so the published CLI has no dangling dependency.
const bundled = { noExternal: ['@trit/testkit'] };

export default defineConfig([
  { ...libraryBuild, ...bundled },
  {
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    ...bundled,
  },
]);
