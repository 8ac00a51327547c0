// The native addon called directly (native/tl1.c): every instruction set this CPU
// has, at 1 and 2 threads, matches src/reference.ts bit for bit on the stress cases
// of src/kernel-cases.ts and writes nothing past y; its argument checks name what is
// wrong; its thread pool serves several JS threads at once.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { floatToHalfBits } from '@trit/ternary';
import { createRng, sameFloat32 } from '@trit/testkit';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { quantizeTokens } from '../activations.js';
import { jsArgmax } from '../argmax.js';
import { denseKernelCases, type TernaryKernelCase, ternaryKernelCases } from '../kernel-cases.js';
import { loadNativeAddon, type NativeAddon, prepareOnAddon } from './driver.js';

const require = createRequire(import.meta.url);
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const required = process.arch === 'x64' && !process.env.TRIT_ALLOW_MISSING_NATIVE;
const addon = await loadNativeAddon().catch((error) => {
  if (required) throw error;
  return undefined;
});
const addonPath = addon ? (require('node-gyp-build') as { resolve(dir: string): string }).resolve(packageRoot) : '';

/**
 * A second copy of the addon (its own globals and pool) that splits even the
 * smallest job across its threads, so small cases also run multi-threaded. The
 * addon reads TL1_MIN_PART_WORK once, when it loads.
 */
function loadSplittingCopy(workScale = '0', name = 'split'): NativeAddon {
  const dir = mkdtempSync(join(tmpdir(), 'trit-addon-'));
  const copy = join(dir, `tl1-${name}.node`);
  copyFileSync(addonPath, copy);
  const before = process.env.TL1_MIN_PART_WORK;
  process.env.TL1_MIN_PART_WORK = workScale;
  try {
    return require(copy) as NativeAddon;
  } finally {
    if (before === undefined) delete process.env.TL1_MIN_PART_WORK;
    else process.env.TL1_MIN_PART_WORK = before;
    rmSync(dir, { recursive: true, force: true });
  }
}

const instances = addon
  ? [
      { label: 'the addon', tl1: addon },
      { label: 'a copy splitting tiny jobs (TL1_MIN_PART_WORK=0)', tl1: loadSplittingCopy() },
    ]
  : [];

/** The instruction sets this CPU runs, best first. */
function instructionSets(tl1: NativeAddon): string[] {
  return ['avx512gfni', 'avx512vnni', 'avxvnni', 'avx2', 'scalar'].filter((isa) => {
    try {
      tl1.setIsa(isa);
      return true;
    } catch {
      return false;
    } finally {
      tl1.setIsa('auto');
    }
  });
}

afterEach(() => {
  for (const { tl1 } of instances) {
    tl1.setIsa('auto');
    tl1.setThreads(1);
  }
});

function prepare(tl1: NativeAddon, c: TernaryKernelCase): object {
  return prepareOnAddon(tl1, c.layout);
}

const CANARY = -7;

describe.each(instances)('$label', ({ tl1 }) => {
  const isas = instructionSets(tl1);

  it.each(ternaryKernelCases().map((c) => [c.name, c] as const))('ternary %s', (_name, c) => {
    const handle = prepare(tl1, c);
    const { q, prefix, qStride, actScales, nTokens } = c.batch;
    const n = nTokens * c.layout.rows;
    for (const isa of isas) {
      tl1.setIsa(isa);
      for (const threads of [1, 2]) {
        tl1.setThreads(threads);
        const y = new Float32Array(n + 3).fill(CANARY);
        tl1.ternaryGemm(handle, q, prefix, qStride, actScales, nTokens, y);
        expect([isa, threads, sameFloat32(y.subarray(0, n), c.expected)]).toEqual([isa, threads, true]);
        expect([isa, threads, Array.from(y.subarray(n))]).toEqual([isa, threads, [CANARY, CANARY, CANARY]]);
      }
    }
  });

  it('ternaryGemmMany gives each matrix the bits of its own ternaryGemm, on every instruction set and split', () => {
    if (!tl1.ternaryGemmMany) throw new Error('the addon has no ternaryGemmMany');
    // Cases whose batches have one shape, uniform and general layouts mixed, in groups of up to 8, all
    // run over the first one's batch; each matrix's own ternaryGemm (checked above) is the reference.
    const byShape = new Map<string, TernaryKernelCase[]>();
    for (const c of ternaryKernelCases()) {
      const key = `${c.batch.nTokens}:${c.batch.qStride}`;
      byShape.set(key, [...(byShape.get(key) ?? []), c]);
    }
    const groups = [...byShape.values()].filter((g) => g.length >= 2).map((g) => g.slice(0, 8));
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) {
      const handles = group.map((c) => prepare(tl1, c));
      const { q, prefix, qStride, actScales, nTokens } = group[0]!.batch;
      for (const isa of isas) {
        tl1.setIsa(isa);
        for (const threads of [1, 2, 3]) {
          tl1.setThreads(threads);
          const ys = group.map((c) => new Float32Array(nTokens * c.layout.rows + 3).fill(CANARY));
          tl1.ternaryGemmMany(handles, q, prefix, qStride, actScales, nTokens, ys);
          const wrong = group.flatMap((c, i) => {
            const y = ys[i]!;
            const n = nTokens * c.layout.rows;
            const own = new Float32Array(n);
            tl1.ternaryGemm(handles[i]!, q, prefix, qStride, actScales, nTokens, own);
            const ok = sameFloat32(y.subarray(0, n), own) && y.subarray(n).every((v) => v === CANARY);
            return ok ? [] : [c.name];
          });
          expect([isa, threads, wrong]).toEqual([isa, threads, []]);
        }
      }
    }
  });

  /** Native quantizeTokens into dirty buffers against src/activations.ts, the contract's transcription. */
  const sameQuantization = (X: Float32Array, nTokens: number, cols: number, qStride: number): boolean => {
    const want = quantizeTokens(X, nTokens, cols, qStride);
    let same = true;
    for (const isa of isas) {
      tl1.setIsa(isa);
      for (const threads of [1, 2]) {
        tl1.setThreads(threads);
        const q = new Int8Array(nTokens * qStride + 1).fill(CANARY);
        const prefix = new Int32Array(nTokens * (qStride + 1) + 1).fill(CANARY);
        const actScales = new Float32Array(nTokens + 1).fill(CANARY);
        tl1.quantizeTokens?.(X, nTokens, cols, qStride, q, prefix, actScales);
        same &&=
          q.subarray(0, -1).every((v, i) => v === want.q[i]) &&
          prefix.subarray(0, -1).every((v, i) => v === want.prefix[i]) &&
          sameFloat32(actScales.subarray(0, -1), want.actScales) &&
          q.at(-1) === CANARY &&
          prefix.at(-1) === CANARY &&
          actScales.at(-1) === CANARY;
      }
    }
    return same;
  };

  it('quantizes activations with the bits of src/activations.ts (special values, ties, tails)', () => {
    expect(typeof tl1.quantizeTokens).toBe('function');
    const cols = 77; // 2 blocks of 32, 1 of 8, 5 single elements
    const rows: number[][] = [
      [0.5, -0.5, 1.5, -1.5, 2.5, 126.5, -126.5, 127, -127], // ties after scaling by 1
      [Number.NaN, 3, -7, Number.NaN],
      [Number.POSITIVE_INFINITY, 1, -2],
      [Number.NEGATIVE_INFINITY, Number.NaN],
      [-0, 0, -0],
      [1e-11, -5e-11], // below the 1e-10 floor: zeros, scale 1
      [1.000000013351432e-10, -3e-11], // exactly the floor
      [3.4e38, -3.4e38, 1e-45],
      [0.1, 0.2, 0.30000001, -0.7, 0.99999994],
    ];
    const X = new Float32Array(rows.length * cols);
    rows.forEach((r, t) => {
      for (let j = 0; j < cols; j++) X[t * cols + j] = r[j % r.length] as number;
    });
    // scale 1 for row 0 (max 127), so its halves are exact ties
    expect(sameQuantization(X, rows.length, cols, 256)).toBe(true);
    expect(sameQuantization(X.subarray(0, 3 * cols), 3, cols, cols)).toBe(true);
  });

  it('quantizes any activations with the bits of src/activations.ts (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (nTokens, cols, pad, seed) => {
          let s = seed >>> 0 || 1;
          const X = new Float32Array(nTokens * cols);
          const bits = new Uint32Array(X.buffer);
          for (let i = 0; i < X.length; i++) {
            s ^= s << 13;
            s ^= s >>> 17;
            s ^= s << 5;
            // mostly ordinary values, some raw bit patterns (NaN, ±inf, subnormals)
            if ((s & 15) === 0) bits[i] = s >>> 0;
            else X[i] = (((s >>> 8) % 20001) - 10000) / (1 + (seed % 1000));
          }
          return sameQuantization(X, nTokens, cols, cols + pad);
        },
      ),
      { numRuns: 150 },
    );
  });

  it.each(denseKernelCases().map((c) => [c.name, c] as const))('dense %s', (_name, c) => {
    const n = c.nTokens * c.rows;
    for (const isa of isas) {
      tl1.setIsa(isa);
      for (const threads of [1, 2]) {
        tl1.setThreads(threads);
        const y = new Float32Array(n + 2).fill(CANARY);
        tl1.denseGemm(c.ggmlType, c.data, c.rows, c.cols, c.x, c.nTokens, y);
        expect([isa, threads, sameFloat32(y.subarray(0, n), c.expected)]).toEqual([isa, threads, true]);
        expect([isa, threads, Array.from(y.subarray(n))]).toEqual([isa, threads, [CANARY, CANARY]]);
      }
    }
  });
});

describe.runIf(addon)('the addon', () => {
  const tl1 = addon as NativeAddon;
  // Called with wrong argument types on purpose.
  const raw = addon as unknown as Record<string, (...args: unknown[]) => unknown>;

  /** The message `call` throws with (or 'did not throw'). */
  const thrown = (call: () => unknown): string => {
    try {
      call();
    } catch (error) {
      return (error as Error).message;
    }
    return 'did not throw';
  };

  it('finds the index of src/argmax.ts on every instruction set (special values, every position, property)', () => {
    const argmax = tl1.argmax as NonNullable<NativeAddon['argmax']>;
    expect(argmax).toBeTypeOf('function');
    const rng = createRng(12);
    const special = [0, -0, Number.NaN, -Infinity, Infinity, 1, -1, 3.5];
    for (const isa of instructionSets(tl1)) {
      tl1.setIsa(isa);
      for (const n of [0, 1, 5, 8, 15, 16, 17, 33, 64, 70]) {
        for (let at = 0; at < Math.max(n, 1); at++) {
          const v = Float32Array.from({ length: n }, () => special[rng.nextInt(special.length)] as number);
          if (n > 0 && rng.nextInt(2) === 0) v[at] = 7;
          expect(argmax(v, n), `${isa} n ${n} at ${at}: ${Array.from(v)}`).toBe(jsArgmax(v, n));
          expect(argmax(v, at), `${isa} count ${at}`).toBe(jsArgmax(v, at));
        }
      }
      fc.assert(
        fc.property(fc.array(fc.float(), { maxLength: 70 }), (values) => {
          const v = Float32Array.from(values);
          return argmax(v, v.length) === jsArgmax(v, v.length);
        }),
        { numRuns: 200 },
      );
    }
    tl1.setIsa('auto');
    expect(thrown(() => raw.argmax?.(new Float32Array(2), 3))).toMatch(
      /argmax: values.length: expected >= count = 3, found 2/,
    );
    expect(thrown(() => raw.argmax?.(new Float64Array(2), 1))).toMatch(/argmax: values/);
    expect(thrown(() => raw.argmax?.(new Float32Array(2), -1))).toMatch(/argmax: count/);
  });

  it('rounds stored keys and values to halves with the bits of floatToHalfBits on every instruction set', () => {
    const rng = createRng(3);
    // float bit patterns of every kind (NaNs with payloads included), and the ties near 1, at the
    // top of the half range and between subnormal halves, each group of 8 also holding a NaN
    const bits = Uint32Array.from({ length: 8192 }, (_, i) =>
      i % 8 === 3
        ? 0x7fc00001 + i
        : i % 8 === 5
          ? [0x3f801000, 0x477ff000, 0x33000000, 0x33c00000][(i >> 3) & 3]!
          : rng.nextU32(),
    );
    const src = new Float32Array(bits.buffer);
    const want = Uint16Array.from(src, floatToHalfBits);
    for (const isa of instructionSets(tl1)) {
      tl1.setIsa(isa);
      const keys = new Uint16Array(src.length);
      const values = new Uint16Array(src.length);
      tl1.attention?.(
        new Float32Array(src.length),
        keys,
        values,
        new Float32Array(src.length),
        1,
        1,
        src.length,
        0,
        1,
        1,
        src,
        src,
      );
      expect([
        isa,
        Buffer.from(keys.buffer).equals(Buffer.from(want.buffer)),
        Buffer.from(values.buffer).equals(Buffer.from(want.buffer)),
      ]).toEqual([isa, true, true]);
    }
  });

  it('names the argument of ternaryPrepare that is wrong', () => {
    // Uniform: 2 segments per row (2 chunks at 0, 1 chunk at 256) over 4 rows.
    const u = {
      codes: new Uint8Array(4 * 96).fill(0x55),
      segAct: Int32Array.of(0, 256),
      segChunks: Int32Array.of(2, 1),
      segScale: new Float32Array(8).fill(1),
      rowSeg: null as unknown,
      rowCode: null as unknown,
      uniform: 2 as unknown,
      rows: 4 as unknown,
      maxActEnd: 384,
    };
    const P = (o: Partial<Record<keyof typeof u, unknown>>) => {
      const m = { ...u, ...o };
      return () =>
        raw.ternaryPrepare?.(
          m.codes,
          m.segAct,
          m.segChunks,
          m.segScale,
          m.rowSeg,
          m.rowCode,
          m.uniform,
          m.rows,
          m.maxActEnd,
        );
    };
    expect(thrown(P({}))).toBe('did not throw');
    for (const [what, o, message] of [
      ['codes too short', { codes: u.codes.subarray(1) }, /codes\.length/],
      ['segAct negative', { segAct: Int32Array.of(-1, 256) }, /segAct\[0\]/],
      ['a segment past maxActEnd', { maxActEnd: 383 }, /maxActEnd/],
      ['segChunks negative', { segChunks: Int32Array.of(2, -1) }, /segChunks\[1\]/],
      ['segScale length', { segScale: new Float32Array(7) }, /segScale\.length/],
      ['segAct length', { segAct: new Int32Array(3) }, /segAct\.length/],
      ['segAct type', { segAct: new Float32Array(2) }, /segAct must be a Int32Array/],
      ['codes type', { codes: [1, 2, 3] }, /codes must be a Uint8Array/],
      ['uniform negative', { uniform: -1 }, /uniform/],
      ['rows fractional', { rows: 1.5 }, /rows/],
    ] as const)
      expect([what, thrown(P(o))]).toEqual([what, expect.stringMatching(message)]);

    // General: 6 rows with 1, 0, 2, 1, 1, 1 segments; codes with padding between rows.
    const g = {
      ...u,
      segAct: Int32Array.of(0, 5, 130, 3, 7, 100),
      segChunks: new Int32Array(6).fill(1),
      segScale: new Float32Array(6).fill(1),
      rowSeg: Int32Array.of(0, 1, 1, 3, 4, 5, 6),
      rowCode: Int32Array.of(0, 32, 32, 100, 132, 170, 202),
      codes: new Uint8Array(210).fill(0x55),
      uniform: 0,
      rows: 6,
      maxActEnd: 258,
    };
    const G = (o: Partial<Record<keyof typeof g, unknown>>) => P({ ...g, ...o });
    const with_ = (a: Int32Array, i: number, v: number) => Int32Array.from(a, (x, j) => (j === i ? v : x));
    expect(thrown(G({}))).toBe('did not throw');
    for (const [what, o, message] of [
      ['rowSeg missing', { rowSeg: null }, /rowSeg/],
      ['rowCode missing', { rowCode: undefined }, /rowCode/],
      ['rowSeg length', { rowSeg: g.rowSeg.subarray(1) }, /rowSeg\.length/],
      ['rowSeg past the segments', { rowSeg: with_(g.rowSeg, 6, 7) }, /rowSeg\[6\]/],
      ['rowSeg decreasing', { rowSeg: with_(g.rowSeg, 3, 0) }, /rowSeg/],
      ['rowCode past codes', { rowCode: with_(g.rowCode, 6, 211) }, /rowCode\[6\]/],
      ['rows overlapping', { rowCode: with_(g.rowCode, 0, 32), rowSeg: Int32Array.of(0, 6, 6, 6, 6, 6, 6) }, /rowCode/],
      ['rowCode negative', { rowCode: with_(g.rowCode, 0, -32) }, /rowCode\[0\]/],
      ['segScale length', { segScale: new Float32Array(7) }, /segScale\.length/],
    ] as const)
      expect([what, thrown(G(o))]).toEqual([what, expect.stringMatching(message)]);
    expect(thrown(() => raw.ternaryPrepare?.(u.codes))).toMatch(/expected 9 arguments/);
  });

  it('names the argument of ternaryGemmMany that is wrong', () => {
    const c = ternaryKernelCases().find((k) => k.batch.nTokens * k.layout.rows > 4) as TernaryKernelCase;
    const h = prepare(tl1, c);
    const { q, prefix, qStride, actScales, nTokens } = c.batch;
    const y = () => new Float32Array(nTokens * c.layout.rows);
    const call =
      (handles: unknown, ys: unknown, n = nTokens) =>
      () =>
        raw.ternaryGemmMany?.(handles, q, prefix, qStride, actScales, n, ys);
    expect(thrown(call([h, h], [y(), y()]))).toBe('did not throw');
    for (const [what, fn, message] of [
      ['handles not an array', call(h, [y()]), /handles must be an array/],
      ['no handles', call([], []), /handles\.length: expected 1 to 8, found 0/],
      ['nine handles', call(Array(9).fill(h), Array.from({ length: 9 }, y)), /expected 1 to 8, found 9/],
      ['ys shorter', call([h, h], [y()]), /ys\.length: expected 2/],
      ['a short y', call([h, h], [y(), new Float32Array(1)]), /ys\[1\]\.length/],
      ['a y of another type', call([h, h], [y(), new Float64Array(4)]), /ys\[1\] must be a Float32Array/],
      ['not a handle', call([h, {}], [y(), y()]), /handle/],
    ] as const)
      expect([what, thrown(fn)]).toEqual([what, expect.stringMatching(message)]);
  });

  it('names the argument of ternaryGemm and denseGemm that is wrong', () => {
    const c = ternaryKernelCases().find((k) => k.layout.uniform > 0 && k.batch.nTokens === 3) as TernaryKernelCase;
    const handle = prepare(tl1, c);
    const b = c.batch;
    const y = new Float32Array(b.nTokens * c.layout.rows);
    const T = (o: Record<string, unknown>) => {
      const a = { handle, ...b, y, ...o };
      return () => raw.ternaryGemm?.(a.handle, a.q, a.prefix, a.qStride, a.actScales, a.nTokens, a.y);
    };
    expect(thrown(T({}))).toBe('did not throw');
    for (const [what, o, message] of [
      ['qStride below maxActEnd', { qStride: c.layout.maxActEnd - 1 }, /qStride/],
      ['q too short', { q: b.q.subarray(1) }, /q\.length/],
      ['prefix too short', { prefix: b.prefix.subarray(2) }, /prefix\.length/],
      ['actScales too short', { actScales: b.actScales.subarray(1) }, /actScales\.length/],
      ['y too short', { y: y.subarray(1) }, /y\.length/],
      ['y type', { y: new Float64Array(y.length) }, /y must be a Float32Array/],
      ['handle a plain object', { handle: {} }, /handle/],
      ['handle a number', { handle: 42 }, /handle/],
      ['nTokens negative', { nTokens: -1 }, /nTokens/],
    ] as const)
      expect([what, thrown(T(o))]).toEqual([what, expect.stringMatching(message)]);

    // A uniform matrix of 8 rows or more gets the addon's own blocked copy of its codes
    // (tl1_mat.blocked): detaching the caller's buffer then changes nothing.
    const big = ternaryKernelCases().find((k) => k.layout.uniform > 0 && k.layout.rows >= 8) as TernaryKernelCase;
    const bigCodes = new ArrayBuffer(big.layout.codes.length);
    new Uint8Array(bigCodes).set(big.layout.codes);
    const own = tl1.ternaryPrepare(
      new Uint8Array(bigCodes),
      big.layout.segAct,
      big.layout.segChunks,
      big.layout.segScale,
      null,
      null,
      big.layout.uniform,
      big.layout.rows,
      big.layout.maxActEnd,
    );
    const run = () => {
      const bb = big.batch;
      const out = new Float32Array(bb.nTokens * big.layout.rows);
      tl1.ternaryGemm(own, bb.q, bb.prefix, bb.qStride, bb.actScales, bb.nTokens, out);
      return out;
    };
    const before = run();
    expect(sameFloat32(before, big.expected)).toBe(true);
    structuredClone(bigCodes, { transfer: [bigCodes] });
    expect(sameFloat32(run(), before)).toBe(true);

    // A matrix of fewer rows keeps the caller's codes buffer: once detached, calls say so.
    const l = c.layout;
    expect(l.rows).toBeLessThan(8);
    const buffer = new ArrayBuffer(l.codes.length);
    new Uint8Array(buffer).set(l.codes);
    const detachable = tl1.ternaryPrepare(
      new Uint8Array(buffer),
      l.segAct,
      l.segChunks,
      l.segScale,
      null,
      null,
      l.uniform,
      l.rows,
      l.maxActEnd,
    );
    structuredClone(buffer, { transfer: [buffer] });
    expect(thrown(() => tl1.ternaryGemm(detachable, b.q, b.prefix, b.qStride, b.actScales, b.nTokens, y))).toMatch(
      /detached/,
    );

    const D = (o: Record<string, unknown>) => {
      const a = {
        type: 0,
        data: new Uint8Array(60),
        rows: 3,
        cols: 5,
        x: new Float32Array(10),
        nTokens: 2,
        y: new Float32Array(6),
        ...o,
      };
      return () => raw.denseGemm?.(a.type, a.data, a.rows, a.cols, a.x, a.nTokens, a.y);
    };
    expect(thrown(D({}))).toBe('did not throw');
    for (const [what, o, message] of [
      ['data too short', { data: new Uint8Array(59) }, /data\.length/],
      ['x too short', { x: new Float32Array(9) }, /x\.length/],
      ['y too short', { y: new Float32Array(5) }, /y\.length/],
      [
        'an unknown type',
        { type: 3 },
        /type: expected 0 \(F32\), 1 \(F16\), 30 \(BF16\), 8 \(Q8_0\), 2 \(Q4_0\), 12 \(Q4_K\), 13 \(Q5_K\) or 14 \(Q6_K\), found 3/,
      ],
      [
        'Q6_K cols not whole blocks',
        { type: 14, cols: 128, data: new Uint8Array(210) },
        /cols: expected a multiple of 256 for Q6_K, found 128/,
      ],
      ['Q8_0 cols not whole blocks', { type: 8, cols: 33, data: new Uint8Array(1000) }, /multiple of 32 for Q8_0/],
    ] as const)
      expect([what, thrown(D(o))]).toEqual([what, expect.stringMatching(message)]);
    expect(thrown(() => tl1.setIsa('avx9000'))).toMatch(/unknown ISA/);
    expect(thrown(() => tl1.setThreads(0))).toMatch(/setThreads/);
    expect(thrown(() => tl1.setThreads(257))).toMatch(/setThreads/);
    expect(thrown(() => raw.streamSum?.('abc', 1))).toMatch(/streamSum/);
  });

  it('switches instruction sets and thread counts, and streamSum depends on neither', () => {
    const isas = instructionSets(tl1);
    expect(tl1.cpuFeatures().isa).toBe(isas[0]); // auto picks the best
    for (const isa of isas) {
      tl1.setIsa(isa);
      expect(tl1.cpuFeatures().isa).toBe(isa);
    }
    tl1.setIsa('auto');
    expect(tl1.cpuFeatures().isa).toBe(isas[0]);
    for (const n of [3, 1, 2, 1]) expect([tl1.setThreads(n), tl1.getThreads()]).toEqual([n, n]);
    const data = new Uint8Array(10_000_003);
    for (let i = 0; i < data.length; i += 97) data[i] = i & 255;
    tl1.setThreads(2);
    const sums = [tl1.streamSum(data, 1), tl1.streamSum(data, 2)];
    tl1.setIsa('scalar');
    sums.push(tl1.streamSum(data, 2));
    tl1.setIsa('auto');
    tl1.setThreads(1);
    expect(new Set(sums).size).toBe(1);
  });

  it('serves the main thread and two worker threads at once from its one pool', async () => {
    const c = ternaryKernelCases().find((k) => k.layout.rows === 33 && k.batch.nTokens === 8) as TernaryKernelCase;
    const l = c.layout;
    const b = c.batch;
    // Whoever does not get the pool runs its rows itself; every result must still be exact.
    const source = `
      const { parentPort, workerData: w } = require('node:worker_threads');
      const tl1 = require(w.addonPath);
      const h = tl1.ternaryPrepare(w.l.codes, w.l.segAct, w.l.segChunks, w.l.segScale, null, null, w.l.uniform, w.l.rows, w.l.maxActEnd);
      const y = new Float32Array(w.expected.length);
      let wrong = 0;
      for (let i = 0; i < 200; i++) {
        tl1.ternaryGemm(h, w.b.q, w.b.prefix, w.b.qStride, w.b.actScales, w.b.nTokens, y);
        if (!Buffer.from(y.buffer).equals(Buffer.from(w.expected.buffer))) wrong++;
      }
      parentPort.postMessage(wrong);`;
    tl1.setThreads(2);
    const workerData = { addonPath, l, b, expected: c.expected };
    const workers = [0, 1].map(
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(source, { eval: true, workerData });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    );
    const handle = prepare(tl1, c);
    const y = new Float32Array(c.expected.length);
    let wrong = 0;
    for (let i = 0; i < 200; i++) {
      tl1.ternaryGemm(handle, b.q, b.prefix, b.qStride, b.actScales, b.nTokens, y);
      if (!sameFloat32(y, c.expected)) wrong++;
    }
    const counts = await Promise.all(workers);
    tl1.setThreads(1);
    expect({ main: wrong, workers: counts }).toEqual({ main: 0, workers: [0, 0] });
  });

  it('runs jobs of fewer parts than threads, back to back, on a pool that waits only for their parts', () => {
    // A copy whose part count follows each job's size: on a pool of 7 (more threads than this machine
    // has cores, so workers lag and get preempted), small and large jobs alternate, and workers left
    // out of one job must neither run it nor miss the next.
    const sized = loadSplittingCopy('0.02', 'sized');
    const cases = ternaryKernelCases().filter((k) => k.layout.uniform > 0);
    const prepared = cases.map((c) => ({ c, h: prepareOnAddon(sized, c.layout) }));
    sized.setThreads(7);
    let wrong = 0;
    let runs = 0;
    try {
      for (let i = 0; i < 40; i++)
        for (const { c, h } of i % 2 ? prepared : [...prepared].reverse()) {
          const { q, prefix, qStride, actScales, nTokens } = c.batch;
          const y = new Float32Array(c.expected.length);
          sized.ternaryGemm(h, q, prefix, qStride, actScales, nTokens, y);
          if (!sameFloat32(y, c.expected)) wrong++;
          runs++;
        }
    } finally {
      sized.setThreads(1);
    }
    expect({ runs: runs > 200, wrong }).toEqual({ runs: true, wrong: 0 });
  });
});
