import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { joinNegativeValues } from './args.js';
import { InputError } from './errors.js';
import { main } from './main.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-cli-args-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs main in this process; resolves to its exit code and what it printed on stderr. */
async function cli(...argv: string[]): Promise<{ code: number; stderr: string }> {
  const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const code = await main(argv);
    return { code, stderr: spy.mock.calls.map((c) => c.join(' ')).join('\n') };
  } finally {
    spy.mockRestore();
  }
}

describe('negative numbers as option values', () => {
  it('joins a negative number to the option before it, only for options that take a value, and not after --', () => {
    const options = { 'max-tokens': { type: 'string', short: 'n' }, json: { type: 'boolean' } } as const;
    expect(joinNegativeValues(['-n', '-5', '--max-tokens', '-0.5', '--json', '-1'], options)).toEqual([
      '--max-tokens=-5',
      '--max-tokens=-0.5',
      '--json',
      '-1',
    ]);
    expect(joinNegativeValues(['-n', '--json', '--', '-n', '-5'], options)).toEqual(['-n', '--json', '--', '-n', '-5']);
    expect(joinNegativeValues(['-n', '-x'], options)).toEqual(['-n', '-x']);
  });

  // Every numeric option of every command: the range message and exit 2, never parseArgs' "ambiguous".
  const cases: [string[], RegExp][] = [
    [['run', 'm.gguf', '-n', '-5'], /--max-tokens must be an integer in 0–1048576, got "-5"/],
    [['run', 'm.gguf', '--max-tokens', '-5'], /--max-tokens must be an integer/],
    [['run', 'm.gguf', '--temp', '-1'], /--temperature must be a number in 0–100, got "-1"/],
    [['run', 'm.gguf', '--temperature', '-0.5'], /--temperature must be a number in 0–100, got "-0.5"/],
    [['run', 'm.gguf', '--top-k', '-1'], /--top-k must be an integer/],
    [['run', 'm.gguf', '--top-p', '-1'], /--top-p must be a number in 0–1/],
    [['run', 'm.gguf', '--min-p', '-1'], /--min-p must be a number in 0–1/],
    [['run', 'm.gguf', '--repeat-penalty', '-1'], /--repeat-penalty must be a number/],
    [['run', 'm.gguf', '--seed', '-1'], /--seed must be an integer in 0–4294967295, got "-1"/],
    [['run', 'm.gguf', '--context', '-1'], /--context must be an integer in 1–1048576/],
    [['run', 'm.gguf', '--threads', '-1'], /--threads must be an integer in 1–256/],
    [['synth', '--arch', 'llama', '--seed', '-1', '-o', 'x'], /--seed must be an integer in 0–2147483648, got "-1"/],
    [['demo', '--seed', '-1'], /--seed must be a non-negative integer, got "-1"/],
    [['bench', 'model', 'm.gguf', '--threads', '-4'], /--threads must be an integer in 1–256, got "-4"/],
    [['bench', 'model', 'm.gguf', '--prompt-tokens', '-4'], /--prompt-tokens must be an integer/],
    [['bench', 'model', 'm.gguf', '--decode-tokens', '-4'], /--decode-tokens must be an integer/],
    [['bench', 'kernel', '--threads', '-2'], /--threads must be 1–256, got "-2"/],
    [['bench', 'kernel', '--tokens', '-2'], /--tokens must be 1–4096, got "-2"/],
  ];
  it.each(cases)('trit %j says the range, exit 2', async (argv, message) => {
    const { code, stderr } = await cli(...argv);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/ambiguous/);
    expect(code).toBe(2);
  });
});

describe('unreadable inputs', () => {
  it('names a missing file or a directory in a sentence, for every command that reads a file', async () => {
    const missing = join(dir, 'missing.gguf');
    const text = join(dir, 'tokenizer.json');
    await writeFile(text, '{}');
    const cases: [string[], string][] = [
      [['tokenize', missing, '--text', 'a'], `${missing}: no such file`],
      [['tokenize', dir, '--text', 'a'], `${dir}: is a directory; give a .gguf or tokenizer.json`],
      [['tokenize', text, '--file', missing], `${missing}: no such file`],
      [['tokenize', text, '--file', dir], `${dir}: is a directory; give a text file`],
      [['inspect', missing], `${missing}: no such file`],
      [['inspect', dir], `${dir}: is a directory; give a .gguf file`],
      [['validate', missing], `${missing}: no such file`],
      [['validate', dir], `${dir}: is a directory; give a .gguf file`],
      [['run', missing], `${missing}: no such file`],
      [['run', dir], `${dir}: is a directory; give a .gguf file`],
      [['bench', 'model', dir], `${dir}: is a directory; give a .gguf file`],
      [['quantize', missing, '-o', dir], `${dir}: is a directory; give the path of the .gguf file to write`],
      [['synth', '--arch', 'llama', '--gguf', '-o', dir], `${dir}: is a directory; give the path`],
    ];
    for (const [argv, message] of cases) {
      const run = main(argv);
      await expect(run, argv.join(' ')).rejects.toThrow(InputError);
      await expect(run, argv.join(' ')).rejects.toThrow(message);
    }
  });
});
