import { defineConfig, type Options } from 'tsup';

/** The library build every package shares: ESM + CJS + .d.ts from src/index.ts. */
export const libraryBuild: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
};

export function libraryConfig(overrides: Options = {}) {
  return defineConfig({ ...libraryBuild, ...overrides });
}
