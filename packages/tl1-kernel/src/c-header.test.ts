// The C kernels take their dense-type constants from include/dense_types.h,
// generated from the one table in src/dense-types.ts.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { DENSE_TYPES_HEADER, denseTypesHeader } from '../scripts/generate-c-header.js';

it('include/dense_types.h is what scripts/generate-c-header.ts makes of src/dense-types.ts', () => {
  expect(
    readFileSync(DENSE_TYPES_HEADER, 'utf8'),
    'include/dense_types.h is stale: run `pnpm --filter @trit/tl1-kernel generate:c-header`, then native:prebuild and build:wasm',
  ).toBe(denseTypesHeader());
});
