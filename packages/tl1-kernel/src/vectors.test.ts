import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalFloat32Bytes } from '@trit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorFixture } from '../scripts/generate-vectors.js';
import type { KernelImplementation } from './errors.js';
import type { TernaryKernel } from './kernel.js';
import { loadNativeAddon } from './native/driver.js';
import { float64DenseGemv, float64TernaryGemv } from './reference.js';
import { loadKernel } from './select.js';
import {
  caseActivations,
  caseDense,
  caseInputsSha256,
  caseTernary,
  VECTORS_VERSION,
  type VectorCase,
  vectorCases,
} from './vectors.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/vectors.json', import.meta.url), 'utf8')) as VectorFixture;
const expected = new Map(fixture.cases.map((c) => [c.id, c]));
// The cases as the fixture recorded them; their inputs are rebuilt from these seeds.
const cases = fixture.cases.map(({ id, case: c }) => ({ id, ...c }) as VectorCase);
const REGENERATE = 'regenerate it: pnpm --filter @trit/tl1-kernel exec tsx scripts/generate-vectors.ts';

const canonicalBytes = (y: Float32Array) => Buffer.from(canonicalFloat32Bytes(y));

// On this project's machines (x86-64 with AVX2) every implementation must load; set
// TRIT_ALLOW_MISSING_NATIVE=1 to run elsewhere with what loads.
const required: KernelImplementation[] =
  process.arch === 'x64' && !process.env.TRIT_ALLOW_MISSING_NATIVE ? ['js', 'wasm', 'native'] : ['js'];
const kernels: { label: string; kernel: TernaryKernel; isa?: string }[] = [];
for (const implementation of ['js', 'wasm', 'native'] as const) {
  // Both wasm builds (vitest.config.ts gives Node 20 relaxed SIMD).
  for (const wasmSimd of implementation === 'wasm' ? (['simd128', 'relaxed'] as const) : [undefined]) {
    for (const threads of [1, 2]) {
      try {
        const kernel = await loadKernel({ implementation, threads, wasmSimd });
        kernels.push({ label: `${kernel.name} × ${threads}`, kernel });
      } catch (error) {
        if (required.includes(implementation)) throw error;
      }
    }
  }
}
// Every native instruction set this CPU has, not only the one auto-selected.
const addon = kernels.some((k) => k.label.startsWith('native')) ? await loadNativeAddon() : undefined;
const features = addon?.cpuFeatures() as Record<string, boolean> | undefined;
const bestIsa = features ? addon?.cpuFeatures().isa : undefined;
for (const [isa, flag] of [
  ['avx512vnni', 'avx512Vnni'],
  ['avx2', 'avx2'],
  ['avxvnni', 'avxVnni'],
  ['scalar', 'avx2'],
] as const) {
  if (features?.[flag] && isa !== bestIsa) {
    for (const threads of [1, 2]) {
      kernels.push({
        label: `native ${isa} × ${threads}`,
        kernel: await loadKernel({ implementation: 'native', threads }),
        isa,
      });
    }
  }
}
afterAll(async () => {
  addon?.setIsa('auto');
  for (const { kernel } of kernels) await kernel.dispose();
});

it('the fixture covers every case', () => {
  expect(fixture.cases.map((c) => c.id)).toEqual(cases.map((c) => c.id));
});

describe('fixtures/vectors.json', () => {
  it('is of the current version of the cases, their inputs and src/reference.ts', () => {
    expect(fixture.generator.version, `fixtures/vectors.json is of another VECTORS_VERSION: ${REGENERATE}`).toBe(
      VECTORS_VERSION,
    );
  });

  it('records the shapes and seeds of every case src/vectors.ts defines', () => {
    expect(cases, `src/vectors.ts defines other cases: bump VECTORS_VERSION and ${REGENERATE}`).toEqual(vectorCases());
  });

  it.each(fixture.cases.map((c, i) => [c.id, c.inputsSha256, cases[i] as VectorCase] as const))(
    '%s: the inputs rebuilt from its seed are those its outputs were computed from',
    (id, inputsSha256, c) => {
      expect(
        caseInputsSha256(c),
        `${id}: the inputs built from its seed changed (an RNG or encoder): bump VECTORS_VERSION and ${REGENERATE}`,
      ).toBe(inputsSha256);
    },
  );
});

describe.each(kernels)('$label matches the known-answer vectors bit for bit', ({ kernel, isa }) => {
  beforeAll(() => {
    if (kernel.name.startsWith('native')) addon?.setIsa(isa ?? 'auto');
  });
  it.each(cases.map((c) => [c.id, c] as const))('%s', (id, c) => {
    const x = caseActivations(c.activations, c.nTokens, c.cols, c.seed);
    const matrix =
      c.kind === 'ternary'
        ? kernel.prepare(caseTernary(c).input)
        : kernel.prepareDense({ type: c.type, data: caseDense(c), rows: c.rows, cols: c.cols });
    const y = c.nTokens === 1 ? kernel.gemv(matrix, x) : kernel.gemm(matrix, x, c.nTokens);
    const want = expected.get(id);
    expect(want).toBeDefined();
    expect(Array.from(y.subarray(0, 4), String)).toEqual(want?.first);
    if (want?.y) {
      const wantY = new Float32Array(new Uint8Array(Buffer.from(want.y, 'base64')).buffer);
      expect(canonicalBytes(y).equals(canonicalBytes(wantY))).toBe(true);
    } else {
      expect(createHash('sha256').update(canonicalBytes(y)).digest('hex')).toBe(want?.sha256);
    }
  });
});

describe('ternary results against the float64 reference', () => {
  const kernel = kernels[0]?.kernel as TernaryKernel;
  const ternaryCases = cases.filter(
    (c) => c.kind === 'ternary' && c.activations !== 'nan' && c.activations !== 'huge' && c.rows * c.cols < 1e6,
  );
  it.each(ternaryCases.map((c) => [c.id, c] as const))('%s is within the int8 activation rounding bound', (_id, c) => {
    if (c.kind !== 'ternary') return;
    const { input, contract } = caseTernary(c);
    const x = caseActivations(c.activations, c.nTokens, c.cols, c.seed);
    const y = kernel.gemm(kernel.prepare(input), x, c.nTokens);
    for (let t = 0; t < c.nTokens; t++) {
      const { y: y64, bound } = float64TernaryGemv(contract, x, t * c.cols);
      for (let r = 0; r < c.rows; r++) {
        const err = Math.abs(y[t * c.rows + r] - y64[r]);
        if (!(err <= bound[r])) expect({ t, r, err, bound: bound[r] }).toBeUndefined();
      }
    }
  });
});

describe('dense results against the float64 reference', () => {
  const kernel = kernels[0]?.kernel as TernaryKernel;
  const denseCases = cases.filter((c) => c.kind === 'dense' && c.activations !== 'nan' && c.activations !== 'huge');
  it.each(denseCases.map((c) => [c.id, c] as const))('%s is within the float32 summation bound', (_id, c) => {
    if (c.kind !== 'dense') return;
    const data = caseDense(c);
    const x = caseActivations(c.activations, c.nTokens, c.cols, c.seed);
    const y = kernel.gemm(kernel.prepareDense({ type: c.type, data, rows: c.rows, cols: c.cols }), x, c.nTokens);
    for (let t = 0; t < c.nTokens; t++) {
      const { y: y64, bound } = float64DenseGemv(c.type, data, c.rows, c.cols, x, t * c.cols);
      for (let r = 0; r < c.rows; r++) {
        const err = Math.abs(y[t * c.rows + r] - y64[r]);
        if (!(err <= bound[r])) expect({ t, r, err, bound: bound[r] }).toBeUndefined();
      }
    }
  });
});
