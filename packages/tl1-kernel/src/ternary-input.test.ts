import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packTernary, TernaryTensor } from '@trit/ternary';
import { sameFloat32 } from '@trit/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { KernelFormatError, KernelShapeError } from './errors.js';
import { loadKernel } from './select.js';
import { prepareTl1, tl1Gemv } from './tl1.js';

/*
 * A TernaryTensor made by another copy of @trit/ternary (its CJS build next to
 * the ESM one this kernel imports, or a second installed version) is the same
 * shape but a different class: the kernel must take it by its fields.
 */
type TernaryModule = typeof import('@trit/ternary');

const require = createRequire(import.meta.url);
/** @trit/ternary's CJS build: what a `require` caller gets. */
const cjs = require('@trit/ternary') as TernaryModule;

/** A second "version": ternary's dist and package.json copied to a folder of their own. */
const secondRoot = mkdtempSync(join(tmpdir(), 'trit-ternary-copy-'));
const ternaryRoot = dirname(require.resolve('@trit/ternary/package.json'));
cpSync(join(ternaryRoot, 'dist'), join(secondRoot, 'dist'), { recursive: true });
cpSync(join(ternaryRoot, 'package.json'), join(secondRoot, 'package.json'));
symlinkSync(join(ternaryRoot, 'node_modules'), join(secondRoot, 'node_modules')); // its own dependencies
const second = (await import(pathToFileURL(join(secondRoot, 'dist/index.js')).href)) as TernaryModule;
afterAll(() => rmSync(secondRoot, { recursive: true, force: true }));

const rows = 5;
const cols = 300; // blocks of 256 straddle rows
const values = Int8Array.from({ length: rows * cols }, (_, i) => ((i * 7) % 3) - 1);
const scales = Float32Array.from({ length: Math.ceil((rows * cols) / 256) }, (_, i) => 0.25 + i / 8);
const init = { packed: packTernary(values), scales, shape: [rows, cols] as const, blockSize: 256 };
const x = Float32Array.from({ length: 2 * cols }, (_, i) => Math.sin(i) * 3);

const copies = [
  ['the CJS build', new cjs.TernaryTensor(init)],
  ['a second copy of the package', new second.TernaryTensor(init)],
  ['a plain object with its fields', { ...init }],
] as const;

describe('prepare takes a TernaryTensor from any copy of @trit/ternary', () => {
  it('the copies are other classes, so instanceof cannot tell them apart', () => {
    expect(cjs.TernaryTensor).not.toBe(TernaryTensor);
    expect(second.TernaryTensor).not.toBe(TernaryTensor);
    for (const [, tensor] of copies) expect(tensor instanceof TernaryTensor).toBe(false);
  });

  for (const implementation of ['js', 'wasm'] as const) {
    it.each(copies)(`${implementation}: %s multiplies to the same bits as this copy's tensor`, async (_, tensor) => {
      const kernel = await loadKernel({ implementation, threads: 1 });
      try {
        const own = kernel.gemm(kernel.prepare(new TernaryTensor(init)), x, 2);
        const other = kernel.gemm(kernel.prepare(tensor), x, 2);
        expect(sameFloat32(other, own)).toBe(true);
      } finally {
        await kernel.dispose();
      }
    });
  }

  it.each(copies)('prepareTl1: %s gives the same bits', (_, tensor) => {
    const own = tl1Gemv(prepareTl1(new TernaryTensor(init)), x.subarray(0, cols));
    expect(sameFloat32(tl1Gemv(prepareTl1(tensor), x.subarray(0, cols)), own)).toBe(true);
  });

  it('rejects an input with missing or mistyped fields, saying which', async () => {
    const kernel = await loadKernel({ implementation: 'js', threads: 1 });
    const bad = (input: unknown) => () => kernel.prepare(input as TernaryTensor);
    expect(bad(null)).toThrow(KernelShapeError);
    expect(bad({ rows, cols })).toThrow(/an object with fields rows, cols/);
    expect(bad({ ...init, packed: Array.from(init.packed) })).toThrow(/packed: expected a Uint8Array, found Array/);
    expect(bad({ ...init, scales: Array.from(scales) })).toThrow(/scales: expected a Float32Array/);
    expect(bad({ ...init, shape: [rows] })).toThrow(/shape: expected \[rows, cols\], found 1/);
    expect(bad({ ...init, blockSize: 0 })).toThrow(/blockSize: expected a positive integer, found 0/);
    expect(bad({ ...init, packed: init.packed.subarray(1) })).toThrow(/packed codes for 5×300: expected 375/);
    expect(bad({ ...init, scales: scales.subarray(1) })).toThrow(/scales for 5×300, block size 256: expected 6/);
    expect(bad({ format: undefined, data: new Uint8Array(66), rows: 1, cols: 256 })).toThrow(KernelFormatError);
    expect(bad({ format: undefined, data: new Uint8Array(66), rows: 1, cols: 256 })).toThrow(
      /unknown ternary format "undefined"; known formats: /,
    );
    expect(bad({ format: 'tq2_0', data: [1, 2], rows: 1, cols: 256 })).toThrow(
      /tq2_0 data: expected a Uint8Array, found Array/,
    );
  });
});
