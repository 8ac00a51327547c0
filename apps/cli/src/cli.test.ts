import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DemoReport, runDemo } from './demo.js';
import { formatDemoReport } from './format-report.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('trit demo', () => {
  let report: DemoReport;
  beforeAll(async () => {
    report = await runDemo({ rows: 64, cols: 640, repeats: 1, minTimeMs: 0 });
  });

  it('quantizes, round-trips every format and reports honest numbers', () => {
    const [plain, tuned] = report.quantize;
    expect(plain?.method).toBe('absmean');
    expect(tuned?.method).toBe('absmean+optimizeScales');
    expect(tuned!.mse).toBeLessThan(plain!.mse * 0.9);
    expect(plain!.sparsity).toBeGreaterThan(0.2);
    expect(plain!.sparsity).toBeLessThan(0.45);
    expect(report.packing.repackIdentical).toBe(true);
    const bits = Object.fromEntries(report.formats.map((f) => [f.format, f.bitsPerWeight]));
    expect(bits).toEqual({ t158: 2.0625, tq2_0: 2.0625, tq1_0: 1.6875, i2_s: 2 + 256 / (64 * 640) });
    for (const f of report.formats) {
      expect([f.format, f.codesRoundTrip, f.scalesRoundTrip]).toEqual([f.format, true, true]);
      expect(f.mse).toBeGreaterThan(0);
      expect(f.encodeWeightsPerSecond).toBeGreaterThan(0);
    }
  });

  it('is deterministic apart from timings', async () => {
    const again = await runDemo({ rows: 64, cols: 640, repeats: 1, minTimeMs: 0, model: false });
    expect(again.quantize.map((q) => q.mse)).toEqual(report.quantize.map((q) => q.mse));
    const other = await runDemo({ rows: 64, cols: 640, repeats: 1, minTimeMs: 0, seed: 7, model: false });
    expect(other.quantize[0]?.mse).not.toBe(report.quantize[0]?.mse);
  });

  it('runs a whole synthetic model through quantize, validate and generation, the same tokens on every kernel', () => {
    const m = report.model;
    expect(m?.valid).toBe(true);
    expect(m?.ternaryTensors).toBe(14);
    expect(m?.tokens.length).toBe(24);
    expect(m?.kernels.map((k) => k.kernel)).toContain('js');
    expect(m?.kernels.every((k) => k.identical && k.decodeTokensPerSecond > 0)).toBe(true);
    expect(m?.ggufBytes).toBeLessThan((m?.sourceBytes ?? 0) / 3);
    expect(m?.relativeError.max).toBeLessThan(1e-3);
  });

  it('compares the tour model with llama.cpp, teacher-forced, where node-llama-cpp runs', () => {
    const l = report.model?.llamaCpp;
    if (process.platform !== 'linux' || process.arch !== 'x64') return;
    expect(l?.unavailable).toBeUndefined();
    if (!l || l.unavailable !== undefined) return;
    expect(l.positions).toBe(report.model!.tokens.length + 5); // BOS + 4 prompt tokens
    expect(l.top1Agreement).toBeGreaterThanOrEqual(0.9);
    expect(l.meanCosine).toBeGreaterThan(0.99);
  });

  it('prints the tour', () => {
    const text = formatDemoReport(report);
    expect(text).toMatch(/optimizeScales cuts the reconstruction MSE by \d+\.\d%/);
    expect(text).toContain('tq2_0');
    expect(text).toMatch(/5\. A whole model/);
    expect(text).not.toContain(' NO ');
  });

  it('multiplies on every kernel with bit-identical results and a small activation-rounding error', () => {
    const names = report.kernels.map((k) => k.kernel);
    expect(names).toContain('js');
    if (process.arch === 'x64') expect(names.length).toBe(3);
    expect(report.kernels.every((k) => k.identical && k.microsPerGemv > 0)).toBe(true);
    expect(report.gemvRelativeError).toBeGreaterThan(0);
    expect(report.gemvRelativeError).toBeLessThan(0.02);
  });
});

describe('trit command line', () => {
  it('runs demo --json from the built binary', () => {
    const result = run('demo', '--json', '--seed', '3');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as DemoReport;
    expect(report.tensor).toMatchObject({ rows: 1024, cols: 2560, seed: 3 });
    expect(report.formats.every((f) => f.codesRoundTrip && f.scalesRoundTrip)).toBe(true);
  }, 60_000);

  it('runs bench kernel and reports honest ratios', () => {
    const result = run(
      'bench',
      'kernel',
      '--json',
      '--backend',
      'js',
      '--threads',
      '1',
      '--type',
      'tq2_0',
      '--shape',
      '64x512',
      '--tokens',
      '1',
    );
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      bandwidth: { GBps: number }[];
      results: { kernel: string; microsPerCall: number; speedupVsJsFp32: number }[];
    };
    expect(report.bandwidth[0]?.GBps).toBeGreaterThan(0);
    expect(report.results.map((r) => r.kernel)).toEqual(['js', 'js-tl1']);
    for (const r of report.results) expect(r.microsPerCall).toBeGreaterThan(0);
    for (const r of report.results) expect(r).toMatchObject({ copies: 1 });
    // --cold: the GEMV cycles through enough copies (64 of an 8 KiB matrix, the most) to leave the cache
    const small = ['--backend', 'js', '--threads', '1', '--shape', '64x512', '--tokens', '1'];
    const cold = run('bench', 'kernel', '--json', '--cold', '--type', 'tq2_0', ...small);
    expect(cold.status, cold.stderr).toBe(0);
    const coldReport = JSON.parse(cold.stdout) as { results: { kernel: string; copies: number }[] };
    expect(coldReport.results.map((r) => [r.kernel, r.copies])).toEqual([
      ['js', 64],
      ['js-tl1', 1],
    ]);
    const text = run('bench', 'kernel', '--cold', '--type', 'q8_0', ...small);
    expect(text.stdout).toMatch(/Cold: calls cycle through the copies/);
    expect(text.stdout).toMatch(/copies/);
    expect(run('bench', 'kernel', '--shape', '64x100').stderr).toMatch(/multiple of 256/);
    expect(run('bench', 'gpu').status).toBe(2);
  }, 120_000);

  it('exits 2 with usage on mistakes', () => {
    const unknown = run('frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain('Usage: trit');
    expect(run('demo', '--seed', 'x').status).toBe(2);
    expect(run('demo', '--nope').stderr).toMatch(/Unknown option '--nope'/);
    expect(run('--version').stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
