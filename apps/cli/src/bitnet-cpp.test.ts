import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BitNetBackend } from '@trit/backend';
import { buildBitnetCppModel } from '@trit/testkit/bitnet-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-cli-bitnet-cpp-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Tokens the runtime itself samples with the same seed, the activation named. */
async function sampled(path: string, prompt: string, activation: 'relu2' | 'silu'): Promise<number[]> {
  const backend = await BitNetBackend.load(path, { kernelImplementation: 'js', activation });
  try {
    const ids: number[] = [];
    for await (const token of backend.generate(prompt, { maxTokens: 16, temperature: 1, seed: 11 })) ids.push(token.id);
    return ids.filter((id) => id >= 0);
  } finally {
    await backend.dispose();
  }
}

describe('trit run on a bitnet.cpp file (bitnet-b1.58, I2_S, no hidden_activation, no tokenizer.ggml.pre)', () => {
  it('generates with no flag, as relu²(gate)·up (docs/formats.md §bitnet)', async () => {
    const path = join(dir, 'ggml-model-i2_s.gguf');
    await writeFile(path, buildBitnetCppModel({ seed: 3 }).bytes);
    const prompt = 'the model';
    // Sampled rather than greedy: a random model's argmax repeats one token under either activation,
    // while sampling depends on the whole distribution.
    const result = run(
      'run',
      path,
      '--prompt',
      prompt,
      '--max-tokens',
      '16',
      '--temperature',
      '1',
      '--seed',
      '11',
      '--json',
      '--kernel',
      'js',
    );
    expect(result.status, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as { tokens: number[]; text: string; stats: { generatedTokens: number } };
    expect(output.tokens.length).toBeGreaterThan(0);
    expect(output.stats.generatedTokens).toBe(output.tokens.length);
    expect(output.tokens).toEqual(await sampled(path, prompt, 'relu2'));
    expect(output.tokens).not.toEqual(await sampled(path, prompt, 'silu'));

    const text = run('run', path, '--prompt', prompt, '--max-tokens', '4', '--temperature', '0', '--kernel', 'js');
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout.startsWith(prompt)).toBe(true);
  }, 120_000);
});
