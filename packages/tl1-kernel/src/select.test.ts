import { TernaryTensor } from '@trit/ternary';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { absmaxQuantizeActivations, quantizeTokens } from './activations.js';
import { KernelFormatError, KernelLoadError, KernelShapeError } from './errors.js';
import { loadKernel } from './select.js';

afterEach(() => {
  delete process.env.TRIT_KERNEL;
});

describe('absmaxQuantizeActivations', () => {
  it('uses scale 127 / max|x|, rounds halves away from zero, clamps and maps NaN to 0', () => {
    const { q, scale } = absmaxQuantizeActivations(Float32Array.of(0.5, -1, Number.NaN, 0.25, -0.5));
    expect(scale).toBe(127);
    expect(Array.from(q)).toEqual([64, -127, 0, 32, -64]); // 63.5 → 64, 31.75 → 32, -63.5 → -64
  });

  it('gives zeros with scale 1 below 1e-10, for empty input, and zeros for infinite input', () => {
    expect(absmaxQuantizeActivations(Float32Array.of(1e-11, -5e-11))).toEqual({ q: Int8Array.of(0, 0), scale: 1 });
    expect(absmaxQuantizeActivations(new Float32Array(0))).toEqual({ q: new Int8Array(0), scale: 1 });
    const inf = absmaxQuantizeActivations(Float32Array.of(Number.POSITIVE_INFINITY, 3));
    expect(Array.from(inf.q)).toEqual([0, 0]);
    expect(inf.scale).toBe(0);
  });
});

describe('quantizeTokens', () => {
  it('gives each token the codes and scale of absmaxQuantizeActivations, zero padding and running prefix sums, in reused buffers', () => {
    const special = [0, -0, 0.5, -0.5, 1e-11, 3.4e38, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    const value = fc.oneof(fc.float({ noDefaultInfinity: true, noNaN: true }), fc.constantFrom(...special));
    // A wide batch first leaves garbage in the scratch buffers that the second must not read.
    const scratch = { q: new Int8Array(0), prefix: new Int32Array(0), actScales: new Float32Array(0) };
    const wide = Float32Array.from({ length: 3 * 300 }, (_, i) => ((i * 37) % 19) - 9);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(value, { minLength: 160, maxLength: 160 }),
        (nTokens, cols, pool) => {
          const first = quantizeTokens(wide, 3, 300, 300, scratch);
          Object.assign(scratch, { q: first.q, prefix: first.prefix, actScales: first.actScales });
          const X = Float32Array.from({ length: nTokens * cols }, (_, i) => pool[i % pool.length] as number);
          const qStride = cols + 7;
          const batch = quantizeTokens(X, nTokens, cols, qStride, scratch);
          for (let t = 0; t < nTokens; t++) {
            const expected = absmaxQuantizeActivations(X.subarray(t * cols, (t + 1) * cols));
            expect(batch.actScales[t]).toBe(Math.fround(expected.scale));
            const codes = Array.from(batch.q.subarray(t * qStride, (t + 1) * qStride));
            expect(codes).toEqual([...Array.from(expected.q), ...new Array(7).fill(0)]);
            let running = 0;
            const sums = [0, ...codes.map((c) => (running += c))];
            expect(Array.from(batch.prefix.subarray(t * (qStride + 1), (t + 1) * (qStride + 1)))).toEqual(sums);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('loadKernel', () => {
  it('loads a forced implementation and reports its name and threads', async () => {
    const js = await loadKernel({ implementation: 'js', threads: 1 });
    expect([js.name, js.threads]).toEqual(['js', 1]);
    const js2 = await loadKernel({ implementation: 'js', threads: 2 });
    expect([js2.name, js2.threads]).toEqual(['js', 2]);
    await js2.dispose();
  });

  it('lets TRIT_KERNEL override the requested implementation, and rejects unknown names', async () => {
    process.env.TRIT_KERNEL = 'js';
    expect((await loadKernel({ implementation: 'native', threads: 1 })).name).toBe('js');
    process.env.TRIT_KERNEL = 'cuda';
    await expect(loadKernel()).rejects.toThrow(/unknown implementation "cuda" \(from TRIT_KERNEL\)/);
  });

  it('explains why an explicit native request fails when the addon is missing', async () => {
    const attempt = loadKernel({ implementation: 'native', threads: 1, nativeAddonPath: '/nonexistent/trit' });
    await expect(attempt).rejects.toBeInstanceOf(KernelLoadError);
    await expect(attempt).rejects.toThrow(/the native kernel cannot be loaded: no usable addon binary/);
  });

  it('falls back in auto mode when the addon is missing, saying why', async () => {
    const kernel = await loadKernel({ implementation: 'auto', threads: 1, nativeAddonPath: '/nonexistent/trit' });
    expect(kernel.name).not.toMatch(/^native/);
    expect(kernel.skipped[0]?.implementation).toBe('native');
    expect(kernel.skipped[0]?.reason).toMatch(/no usable addon binary/);
  });

  it('picks the wasm build by wasmSimd: relaxed SIMD where the engine has it, else plain SIMD128', async () => {
    const names: string[] = [];
    for (const wasmSimd of ['auto', 'relaxed', 'simd128'] as const) {
      const kernel = await loadKernel({ implementation: 'wasm', threads: 1, wasmSimd });
      names.push(kernel.name);
      await kernel.dispose();
    }
    // vitest.config.ts gives Node 20 relaxed SIMD; Node 22 and later have it anyway.
    expect(names).toEqual(['wasm-relaxed-simd', 'wasm-relaxed-simd', 'wasm-simd128']);
    const bad = loadKernel({ implementation: 'wasm', threads: 1, wasmSimd: 'sse' as 'auto' });
    await expect(bad).rejects.toThrow(/wasmSimd must be auto, relaxed or simd128, got sse/);
  });

  it('falls back to plain SIMD128 on an engine without relaxed SIMD, and says so when it was required', async () => {
    const validate = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    try {
      const kernel = await loadKernel({ implementation: 'wasm', threads: 1 });
      expect(kernel.name).toBe('wasm-simd128');
      await kernel.dispose();
      const attempt = loadKernel({ implementation: 'wasm', threads: 1, wasmSimd: 'relaxed' });
      await expect(attempt).rejects.toThrow(KernelLoadError);
      await expect(attempt).rejects.toThrow(/no relaxed SIMD/);
    } finally {
      validate.mockRestore();
    }
  });

  it('still accepts the deprecated `backend` option, and refuses one that disagrees with `implementation`', async () => {
    const kernel = await loadKernel({ backend: 'js', threads: 1 });
    expect(kernel.name).toBe('js');
    const attempt = loadKernel({ implementation: 'js', backend: 'wasm', threads: 1 });
    await expect(attempt).rejects.toThrow(/implementation "js" and backend "wasm" \(its deprecated alias\) disagree/);
    const error = await loadKernel({ implementation: 'native', threads: 1, nativeAddonPath: '/nonexistent/trit' }).then(
      () => undefined,
      (e: KernelLoadError) => e,
    );
    expect([error?.implementation, error?.backend]).toEqual(['native', 'native']);
  });

  it('rejects a bad thread count', async () => {
    await expect(loadKernel({ implementation: 'js', threads: 0 })).rejects.toThrow(/threads must be 1–256, got 0/);
  });
});

describe('kernel argument checks', () => {
  it('names wrong lengths and shapes', async () => {
    const kernel = await loadKernel({ implementation: 'js', threads: 1 });
    const tensor = TernaryTensor.fromCodes(new Int8Array(15), new Float32Array(1), [3, 5], 256);
    const m = kernel.prepare(tensor);
    expect([m.kind, m.rows, m.cols]).toEqual(['ternary', 3, 5]);
    expect(() => kernel.gemv(m, new Float32Array(4))).toThrow(KernelShapeError);
    expect(() => kernel.gemv(m, new Float32Array(4))).toThrow('gemv: x length (matrix cols): expected 5, found 4');
    expect(() => kernel.gemv(m, new Float32Array(5), new Float32Array(2))).toThrow(/Y length .*expected 3, found 2/);
    expect(() => kernel.gemm(m, new Float32Array(10), 3)).toThrow(/expected 15, found 10/);
    expect(() => kernel.gemm(m, new Float32Array(0), 0)).toThrow(/nTokens/);
    const other = await loadKernel({ implementation: 'js', threads: 1 });
    expect(() => other.gemv(m, new Float32Array(5))).toThrow(/prepared by this js kernel/);
  });

  it('rejects short, corrupt or unsupported weight data at prepare', async () => {
    const kernel = await loadKernel({ implementation: 'js', threads: 1 });
    expect(() => kernel.prepare({ format: 'tq2_0', data: new Uint8Array(65), rows: 1, cols: 256 })).toThrow(
      /tq2_0 data for 1×256: expected 66 bytes, found 65/,
    );
    const corrupt = new Uint8Array(66 * 2).fill(0x55);
    corrupt[66 + 10] = 0xff;
    expect(() => kernel.prepare({ format: 'tq2_0', data: corrupt, rows: 1, cols: 512 })).toThrow(KernelFormatError);
    expect(() => kernel.prepare({ format: 'tq2_0', data: corrupt, rows: 1, cols: 512 })).toThrow(
      /row 0, block 1 \(byte 76\): reserved code 3/,
    );
    expect(() => kernel.prepare({ format: 'iq1_s' as never, data: corrupt, rows: 1, cols: 256 })).toThrow(
      /unknown ternary format/,
    );
    expect(() => kernel.prepareDense({ type: 'q8_0', data: new Uint8Array(34), rows: 1, cols: 31 })).toThrow(
      /multiple of 32/,
    );
    expect(() => kernel.prepareDense({ type: 'q4_1' as never, data: new Uint8Array(34), rows: 1, cols: 32 })).toThrow(
      KernelFormatError,
    );
    // Block types take whole blocks along a row: 32 for q4_0, 256 for the k-quants.
    for (const [type, cols, bytes, message] of [
      ['q4_0', 48, 36, /q4_0 cols: expected a multiple of 32, found 48/],
      ['q4_k', 128, 144, /q4_k cols: expected a multiple of 256, found 128/],
      ['q5_k', 288, 352, /q5_k cols: expected a multiple of 256, found 288/],
      ['q6_k', 32, 210, /q6_k cols: expected a multiple of 256, found 32/],
    ] as const) {
      const prepare = () => kernel.prepareDense({ type, data: new Uint8Array(bytes), rows: 1, cols });
      expect(prepare).toThrow(KernelShapeError);
      expect(prepare).toThrow(message);
    }
    expect(() => kernel.prepareDense({ type: 'q6_k', data: new Uint8Array(2 * 210 - 1), rows: 2, cols: 256 })).toThrow(
      /q6_k data for 2×256: expected 420 bytes, found 419/,
    );
    expect(() => kernel.prepareDense({ type: 'f16', data: new Uint8Array(6), rows: 2, cols: 2 })).toThrow(
      /expected 8 bytes, found 6/,
    );
  });
});
