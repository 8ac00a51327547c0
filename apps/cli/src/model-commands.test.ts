import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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

describe('trit quantize: formats, scales and dense types', () => {
  it("writes I2_S under bitnet.cpp's architecture and says which quantization ran", async () => {
    const hf = join(dir, 'bitnet-i2s');
    expect(run('synth', '--arch', 'bitnet', '--preset', 'tiny', '--seed', '4', '-o', hf).status).toBe(0);
    const out = join(dir, 'bitnet-i2s.gguf');
    const quantize = run('quantize', hf, '-o', out, '--format', 'i2_s', '--output-type', 'q8_0');
    expect(quantize.status, quantize.stderr).toBe(0);
    expect(quantize.stdout).toContain('bitnet-b1.58 (from bitnet), 24 tensors (14 ternary)');
    expect(quantize.stdout).toContain('quantization: per-tensor absmean (BitNet QAT)');
    expect(quantize.stdout).toMatch(/blk\.0\.ffn_up\.weight\s+I2_S .* sparsity \d+\.\d%/);
    // The head is tied, so --output-type stores token_embd, as llama-quantize does.
    expect(quantize.stdout).toMatch(/token_embd\.weight\s+Q8_0/);
    const info = run('inspect', out, '--json');
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toContain('"bitnet-b1.58"');
    const generate = run('run', out, '-p', 'the', '-n', '4', '--seed', '1', '--json');
    expect(generate.status, generate.stderr).toBe(0);

    const block = run('quantize', hf, '-o', join(dir, 'bitnet-block.gguf'), '--scales', 'block');
    expect(block.status, block.stderr).toBe(0);
    expect(block.stdout).toContain('quantization: per-block absmean + scale search');
    const plain = run(
      'quantize',
      hf,
      '-o',
      join(dir, 'bitnet-plain.gguf'),
      '--scales',
      'block',
      '--no-optimize-scales',
    );
    expect(plain.stdout).toContain('quantization: per-block absmean\n');
  }, 120_000);

  it('refuses what it cannot write, naming the choices', () => {
    const hf = join(dir, 'bitnet-i2s');
    const badFormat = run('quantize', hf, '-o', join(dir, 'x.gguf'), '--format', 'q4_0');
    expect(badFormat.status).toBe(2);
    expect(badFormat.stderr).toContain('--format must be tq2_0, tq1_0, i2_s, t158, got "q4_0"');
    const badScales = run('quantize', hf, '-o', join(dir, 'x.gguf'), '--scales', 'row');
    expect(badScales.stderr).toContain('--scales must be tensor or block, got "row"');
    const badType = run('quantize', hf, '-o', join(dir, 'x.gguf'), '--output-type', 'q9_9');
    expect(badType.status).toBe(1);
    expect(badType.stderr).toMatch(/outputType "q9_9" is not a type the converter can write; use f32, f16, .*q8_0/);
    const i2sBlock = run('quantize', hf, '-o', join(dir, 'x.gguf'), '--format', 'i2_s', '--scales', 'block');
    expect(i2sBlock.stderr).toContain('format i2_s has one scale per tensor');
  });
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
      quantization: string[];
      tensors: { name: string; format: string; mse: number; relativeError: number; sparsity: number; bytes: number }[];
      totals: { bitsPerWeight: number; fileBytes: number; seconds: number; ternaryTensors: number };
    };
    const up = report.tensors.find((t) => t.name === 'blk.0.ffn_up.weight');
    expect(up).toMatchObject({ format: 'TQ1_0' });
    // A BitNet checkpoint gets per-tensor absmean. The synthetic weights are exactly s × codes, so the codes come
    // back and gamma = mean|w| = s·(1 − zero fraction): the relative error is the zero fraction (up to fp16 gamma).
    expect(report.quantization).toEqual(['per-tensor absmean (BitNet QAT)']);
    expect(up?.sparsity).toBeGreaterThan(0.28);
    expect(Math.abs((up?.relativeError ?? 0) - (up?.sparsity ?? 1))).toBeLessThan(1e-3);
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
    const twice = run(...args, '--vs-llama-cpp', '--rounds', '2', '--json');
    expect(twice.status, twice.stderr).toBe(0);
    const rounds = JSON.parse(twice.stdout) as ModelBenchReport;
    expect(rounds.rounds).toBe(2);
    const tritRuns = rounds.runs.filter((r) => r.runtime === 'trit');
    expect(tritRuns.map((r) => r.round)).toEqual([0, 1]);
    expect(rounds.summary[0]).toMatchObject({ runtime: 'trit', rounds: 2 });
    const decodes = tritRuns.map((r) => r.decodeTokensPerSecond);
    expect(rounds.summary[0]?.decodeTokensPerSecond).toEqual({
      median: (decodes[0]! + decodes[1]!) / 2,
      min: Math.min(...decodes),
      max: Math.max(...decodes),
    });
    if (process.platform === 'linux' && process.arch === 'x64') {
      // Alternating: trit first in round 0, llama.cpp first in round 1.
      expect(rounds.runs.map((r) => `${r.runtime} ${r.round}`)).toEqual([
        'trit 0',
        'llama.cpp 0',
        'llama.cpp 1',
        'trit 1',
      ]);
      const ratios = [0, 1].map((k) => {
        const [a, b] = ['trit', 'llama.cpp'].map((rt) => rounds.runs.find((r) => r.runtime === rt && r.round === k));
        return a!.decodeTokensPerSecond / b!.decodeTokensPerSecond;
      });
      expect(rounds.vsLlamaCpp?.decode).toBeCloseTo((ratios[0]! + ratios[1]!) / 2, 9);
      expect(rounds.vsLlamaCpp?.decodeRange).toEqual([Math.min(...ratios), Math.max(...ratios)]);
    }
    expect(run('bench', 'model', model, '--rounds', '0').status).toBe(2);
    const profiled = run(...args, '--profile', '--json');
    expect(profiled.status, profiled.stderr).toBe(0);
    const { decode, prefill } = (JSON.parse(profiled.stdout) as ModelBenchReport).runs[0]?.profile ?? {};
    expect([decode?.tokens, prefill?.tokens]).toEqual([8, 24]);
    expect(decode?.ms.head).toBeGreaterThan(0);
    expect(decode?.ms.sampling).toBeGreaterThan(0);
    const text = run(...args, '--backend', 'js', '--profile');
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/trit js ×1/);
    expect(text.stdout).toMatch(/trit by stage/);
    expect(text.stdout).toMatch(/\n {2}gate\+up +[\d.]+ +[\d.]+%/);
    expect(text.stdout).toMatch(/decode cannot beat ≈ [\d.]+ tok\/s/);
    expect(run('bench', 'model', model, '--threads', '0').status).toBe(2);
    // The tiny preset's context is 512 positions: the defaults (512 + 128 + 1) do not fit, and it says so.
    const tooLong = run('bench', 'model', model);
    expect([tooLong.status, tooLong.stderr.split('\n')[0]]).toEqual([
      2,
      "trit: --prompt-tokens and --decode-tokens need 641 positions, more than the model's context_length 512",
    ]);
    expect(run('bench', 'model').status).toBe(2);
    const missing = run('bench', 'model', join(dir, 'missing.gguf'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('missing.gguf');
  }, 120_000);

  it('explains mistakes: bad options, unsupported architectures, missing files', () => {
    expect(run('synth', '--arch', 'gpt2', '-o', dir).status).toBe(2);
    const negative = run('run', join(dir, 'nope.gguf'), '-n', '-5');
    expect([negative.status, negative.stderr.split('\n')[0]]).toEqual([
      2,
      'trit: --max-tokens must be an integer in 0–1048576, got "-5"',
    ]);
    const tokenize = run('tokenize', join(dir, 'nope.gguf'), '--text', 'a');
    expect([tokenize.status, tokenize.stderr.trim()]).toEqual([1, `trit: ${join(dir, 'nope.gguf')}: no such file`]);
    expect(run('tokenize', dir, '--text', 'a').stderr.trim()).toBe(
      `trit: ${dir}: is a directory; give a .gguf or tokenizer.json`,
    );
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
    expect(stderr).toContain('trit: quantize interrupted; no output was written');
    expect((await readdir(dir)).filter((f) => f.includes('interrupted'))).toEqual([]);
  }, 120_000);
});

/** Every file of a directory with its bytes, for comparing whole models. */
async function snapshot(d: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(d)).sort()) out.set(name, (await readFile(join(d, name))).toString('base64'));
  return out;
}

/**
 * Starts `trit synth … -o parent/hf` (the small preset takes seconds), waits
 * until it is writing into its staging directory, then sends `signal`.
 */
async function interruptSynth(parent: string, arch: string, signal: NodeJS.Signals) {
  const child = spawn(process.execPath, [cli, 'synth', '--arch', arch, '--preset', 'small', '-o', join(parent, 'hf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  for (let i = 0; i < 2000; i++) {
    const staging = (await readdir(parent)).find((f) => f.startsWith('.hf.trit-staging-'));
    if (staging && (await readdir(join(parent, staging)).catch(() => [])).length > 0) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill(signal);
  const code = await exited;
  return { code, stderr, pid: child.pid as number };
}

describe('trit synth writes the model directory as a whole', () => {
  it('after a kill -9 mid-write there is no model or the complete old one, and the next run removes what it left and says so', async () => {
    const parent = join(dir, 'killed');
    await mkdir(parent);
    const first = await interruptSynth(parent, 'llama', 'SIGKILL');
    expect(first.code).toBe(null);
    const left = await readdir(parent);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(`^\\.hf\\.trit-staging-${first.pid}-`));

    const next = run('synth', '--arch', 'llama', '--preset', 'tiny', '--seed', '1', '-o', join(parent, 'hf'));
    expect(next.status, next.stderr).toBe(0);
    expect(next.stderr).toContain(
      `trit: removed ${join(parent, left[0] as string)}, left by process ${first.pid}, which is no longer running`,
    );
    expect(await readdir(parent)).toEqual(['hf']);
    const complete = await snapshot(join(parent, 'hf'));
    expect([...complete.keys()]).toEqual([
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);

    // Replacing that model, killed mid-write: the old model is still whole.
    const second = await interruptSynth(parent, 'bitnet', 'SIGKILL');
    expect(second.code).toBe(null);
    expect(await snapshot(join(parent, 'hf'))).toEqual(complete);
    const again = run('synth', '--arch', 'llama', '--preset', 'tiny', '--seed', '1', '-o', join(parent, 'hf'));
    expect(again.stderr).toMatch(new RegExp(`removed .*\\.hf\\.trit-staging-${second.pid}-`));
    expect(await readdir(parent)).toEqual(['hf']);

    // quantize cleans the directory it writes into the same way (here, what a killed quantize left).
    const stale = join(parent, `.m.gguf.${second.pid}-abc123.tmp`);
    await writeFile(stale, 'partial');
    const quantize = run('quantize', join(parent, 'hf'), '-o', join(parent, 'm.gguf'));
    expect(quantize.status, quantize.stderr).toBe(0);
    expect(quantize.stderr).toContain(
      `trit: removed ${stale}, left by process ${second.pid}, which is no longer running`,
    );
    expect((await readdir(parent)).sort()).toEqual(['hf', 'm.gguf']);
  }, 120_000);

  it('Ctrl-C exits 130 saying no output was written, and leaves nothing behind', async () => {
    const parent = join(dir, 'interrupted-synth');
    await mkdir(parent);
    const { code, stderr } = await interruptSynth(parent, 'llama', 'SIGINT');
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('trit: synth interrupted; no output was written');
    expect(await readdir(parent)).toEqual([]);
  }, 120_000);
});
