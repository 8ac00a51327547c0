import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelBenchReport } from './bench-model.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-cli-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trit synth → quantize → run', () => {
  it('makes a model, quantizes it with a JSON report, and generates reproducibly', () => {
    const hf = join(dir, 'bitnet');
    const synth = run('synth', '--arch', 'bitnet', '--preset', 'tiny', '--seed', '2', '-o', hf);
    expect(synth.status, synth.stderr).toBe(0);
    expect(synth.stdout).toMatch(/bitnet tiny \(seed 2\): 1,313,536 parameters/);

    const out = join(dir, 'bitnet.gguf');
    const quantize = run('quantize', hf, '-o', out, '--format', 'tq1_0', '--json');
    expect(quantize.status, quantize.stderr).toBe(0);
    const report = JSON.parse(quantize.stdout) as {
      tensors: { name: string; format: string; mse: number; relativeError: number; sparsity: number; bytes: number }[];
      totals: { bitsPerWeight: number; fileBytes: number; seconds: number; ternaryTensors: number };
    };
    const up = report.tensors.find((t) => t.name === 'blk.0.ffn_up.weight');
    expect(up).toMatchObject({ format: 'TQ1_0' });
    // Synthetic BitNet weights are exactly ternary: absmean recovers them up to fp16 scales.
    expect(up?.relativeError).toBeLessThan(1e-3);
    expect(up?.sparsity).toBeGreaterThan(0.28);
    expect(report.totals.ternaryTensors).toBe(14);
    expect(report.totals.seconds).toBeGreaterThan(0);

    // The tokenizer made it into the GGUF: both routes give the same ids, BOS first.
    const viaGguf = run('tokenize', out, '--text', 'the ternary model', '--json');
    const viaJson = run('tokenize', join(hf, 'tokenizer.json'), '--text', 'the ternary model', '--json');
    expect(viaGguf.status, viaGguf.stderr).toBe(0);
    const ids = JSON.parse(viaGguf.stdout) as { ids: number[]; pieces: string[]; roundTrip: boolean };
    expect(ids.roundTrip).toBe(true);
    expect(ids.ids[0]).toBe(504);
    expect(ids.pieces.slice(1).join('')).toBe('theĠternaryĠmodel');
    // BOS and add_bos come from the tokenizer_config.json beside tokenizer.json.
    expect((JSON.parse(viaJson.stdout) as { ids: number[] }).ids).toEqual(ids.ids);
    const piped = spawnSync(process.execPath, [cli, 'tokenize', out, '--no-special'], {
      input: 'the ternary model',
      encoding: 'utf8',
    });
    expect(piped.stdout).toMatch(/\d+ ids/);
    expect(piped.stdout).not.toContain('504');

    const generate = () =>
      run(
        'run',
        out,
        '--prompt',
        'the model',
        '--max-tokens',
        '12',
        '--temperature',
        '0.8',
        '--seed',
        '5',
        '--json',
        '--backend',
        'js',
      );
    const first = generate();
    expect(first.status, first.stderr).toBe(0);
    const result = JSON.parse(first.stdout) as {
      tokens: number[];
      stats: { generatedTokens: number; promptTokens: number };
      kernel: string;
    };
    expect(result.kernel).toBe('js');
    expect(result.stats.generatedTokens).toBe(result.tokens.length);
    expect(result.tokens.length).toBeGreaterThan(0);
    expect(JSON.parse(generate().stdout).tokens).toEqual(result.tokens);

    // The short spellings: -p, -n, --temp, --kernel.
    const short = run(
      'run',
      out,
      '-p',
      'the model',
      '-n',
      '12',
      '--temp',
      '0.8',
      '--seed',
      '5',
      '--json',
      '--kernel',
      'js',
    );
    expect(JSON.parse(short.stdout).tokens).toEqual(result.tokens);
    expect(run('run', out, '--kernel', 'js', '--backend', 'wasm').stderr).toMatch(
      /--backend and --kernel are the same option/,
    );
    const text = run('run', out, '--prompt', 'ternary', '--max-tokens', '4', '--temperature', '0');
    expect(text.status).toBe(0);
    expect(text.stdout.startsWith('ternary')).toBe(true);
    expect(text.stderr).toMatch(/prompt tokens in .* ms .* generated in/);
  }, 120_000);

  it('bench model measures trit and llama.cpp on the same file in separate processes, with honest ratios', () => {
    const hf = join(dir, 'bench-hf');
    expect(run('synth', '--arch', 'bitnet', '--preset', 'tiny', '-o', hf).status).toBe(0);
    const model = join(dir, 'bench.gguf');
    expect(run('quantize', hf, '-o', model).status).toBe(0);
    const args = ['bench', 'model', model, '--threads', '1', '--prompt-tokens', '24', '--decode-tokens', '8'];
    const result = run(...args, '--vs-llama-cpp', '--json');
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ModelBenchReport;
    expect(report).toMatchObject({ architecture: 'bitnet', threads: 1, promptTokens: 24, decodeTokens: 8 });
    expect(report.bytesPerToken).toBeGreaterThan(0);
    expect(report.bytesPerToken).toBeLessThan(report.fileBytes);
    const [ours, theirs] = report.runs;
    expect(ours).toMatchObject({ runtime: 'trit', prefillTokens: 24, decodeTokens: 8, threads: 1 });
    expect(ours?.tokens).toHaveLength(8);
    for (const r of report.runs) {
      expect(r.prefillTokensPerSecond).toBeCloseTo((r.prefillTokens * 1000) / r.prefillMs, 6);
      expect(r.peakRssBytes).toBeGreaterThan(10e6);
    }
    if (process.platform === 'linux' && process.arch === 'x64') {
      expect(theirs).toMatchObject({ runtime: 'llama.cpp', decodeTokens: 8 });
      expect(report.vsLlamaCpp?.decode).toBeCloseTo(ours!.decodeTokensPerSecond / theirs!.decodeTokensPerSecond, 6);
      expect(report.vsLlamaCpp?.peakRss).toBeCloseTo(ours!.peakRssBytes / theirs!.peakRssBytes, 6);
      // Same weights, same prompt, greedy: the two runtimes start with the same token.
      expect(report.vsLlamaCpp?.sameGreedyPrefix).toBeGreaterThanOrEqual(1);
    }
    const text = run(...args, '--backend', 'js');
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/trit js ×1/);
    expect(text.stdout).toMatch(/decode cannot beat ≈ [\d.]+ tok\/s/);
    expect(run('bench', 'model', model, '--threads', '0').status).toBe(2);
    expect(run('bench', 'model').status).toBe(2);
    const missing = run('bench', 'model', join(dir, 'missing.gguf'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('missing.gguf');
  }, 120_000);

  it('explains mistakes: bad options, unsupported architectures, missing files', () => {
    expect(run('synth', '--arch', 'gpt2', '-o', dir).status).toBe(2);
    expect(run('quantize', join(dir, 'nope'), '-o', join(dir, 'x.gguf')).stderr).toMatch(/no such file/);
    expect(run('quantize', dir).status).toBe(2);
    expect(run('run', join(dir, 'nope.gguf')).status).toBe(1);
    expect(run('run', join(dir, 'nope.gguf'), '--top-p', '2').stderr).toMatch(/--top-p must be a number in 0–1/);
  }, 60_000);

  it('Ctrl-C during quantize leaves no output file', async () => {
    const hf = join(dir, 'small');
    const synth = run('synth', '--arch', 'llama', '--preset', 'small', '-o', hf);
    expect(synth.status, synth.stderr).toBe(0);
    const out = join(dir, 'interrupted.gguf');
    const child = spawn(process.execPath, [cli, 'quantize', hf, '-o', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // Wait until the temporary output exists, then interrupt.
    for (let i = 0; i < 400; i++) {
      if ((await readdir(dir)).some((f) => f.startsWith('.interrupted.gguf'))) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(130);
    expect((await readdir(dir)).filter((f) => f.includes('interrupted'))).toEqual([]);
  }, 120_000);
});
