import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quantizeModel } from '@trit/convert';
import { GgmlType, type GgufMetadataValue, GgufWriter, readGguf } from '@trit/gguf';
import { synthesizeModel } from '@trit/synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectReport, ValidateReport } from './inspect.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

let dir: string;
let good: string;
/** A tiny bitnet model trit runs (synth → quantize, TQ2_0). */
let tiny: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-cli-'));
  await synthesizeModel({ arch: 'bitnet', preset: 'tiny', seed: 1, output: join(dir, 'hf') });
  tiny = join(dir, 'tiny.gguf');
  await quantizeModel(join(dir, 'hf'), tiny, { format: 'tq2_0' });
  good = join(dir, 'model.gguf');
  const w = await GgufWriter.create(good);
  w.setMetadata('general.architecture', 'bitnet');
  w.setMetadata('general.quantization_version', 2);
  w.setMetadata('bitnet.block_count', 1);
  w.setMetadata('tokenizer.ggml.tokens', ['a', 'b', 'c']);
  const tensors: [string, number, number[]][] = [
    ['token_embd.weight', GgmlType.F16, [256, 3]],
    ['output_norm.weight', GgmlType.F32, [256]],
    ['blk.0.attn_norm.weight', GgmlType.F32, [256]],
    ['blk.0.attn_q.weight', GgmlType.TQ2_0, [256, 256]],
    ['blk.0.ffn_up_exps.weight', GgmlType.TQ1_0, [256, 512, 4]],
  ];
  for (const [name, type, shape] of tensors) w.addTensor(name, type, shape);
  for (const t of w.declaredTensors) await w.writeTensorData(t.name, new Uint8Array(t.byteSize));
  await w.finish();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trit inspect', () => {
  it('groups tensors and reports types, sizes and bits per weight', () => {
    const result = run('inspect', good, '--json');
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as InspectReport;
    expect(report.architecture).toBe('bitnet');
    expect(report.totalTensors).toBe(5);
    expect(report.tensorGroups.map((g) => [g.name, g.tensors.map((t) => t.name)])).toEqual([
      ['Embedding/Output', ['token_embd.weight']],
      ['Normalization', ['output_norm.weight', 'blk.0.attn_norm.weight']],
      ['Attention', ['blk.0.attn_q.weight']],
      ['FFN/Expert', ['blk.0.ffn_up_exps.weight']],
    ]);
    const q = report.tensorGroups[2]?.tensors[0];
    expect([q?.dtype, q?.shape, q?.bytes, q?.bitsPerWeight]).toEqual(['TQ2_0', [256, 256], 256 * 66, 2.0625]);
    expect(report.metadata['bitnet.block_count']).toEqual({ type: 'u32', value: 1 });
    expect(report.warnings.join('\n')).toMatch(/stacked expert tensors \(1, 4 experts each\)/);

    const text = run('inspect', good).stdout;
    expect(text).toMatch(/GGUF v3, bitnet \(ggml dialect\)/);
    expect(text).toMatch(/blk\.0\.attn_q\.weight\s+TQ2_0\s+256 × 256\s+16\.5 KiB\s+2\.0625 bpw/);
    expect(text).toMatch(/tokenizer\.ggml\.tokens\s+array\[string\] \["a", "b", "c"\]/);
  });

  it('lists metadata keys named like Object.prototype members as keys (--json)', async () => {
    const odd = join(dir, 'odd-keys.gguf');
    const w = await GgufWriter.create(odd);
    w.setMetadata('general.architecture', 'bitnet');
    w.setMetadata('__proto__', 'a key');
    w.setMetadata('constructor', 7);
    w.addTensor('output_norm.weight', GgmlType.F32, [256]);
    await w.writeTensorData('output_norm.weight', new Uint8Array(1024));
    await w.finish();
    const result = run('inspect', odd, '--json');
    expect(result.status, result.stderr).toBe(0);
    // JSON.parse, unlike an assignment, defines "__proto__" as an own key.
    const report = JSON.parse(result.stdout) as InspectReport;
    expect(Object.getOwnPropertyDescriptor(report.metadata, '__proto__')?.value).toEqual({
      type: 'string',
      value: 'a key',
    });
    expect(Object.getOwnPropertyDescriptor(report.metadata, 'constructor')?.value).toEqual({ type: 'u32', value: 7 });
  });

  it('fails cleanly on a file that is not GGUF', async () => {
    const bad = join(dir, 'bad.gguf');
    await writeFile(bad, 'not a gguf at all');
    const result = run('inspect', bad);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/bad\.gguf, offset 0: not a GGUF file/);
    expect(run('inspect').status).toBe(2);
  });
});

/** A copy of `path` with bytes overwritten at `offset`. */
async function patched(path: string, name: string, offset: number, bytes: number[]): Promise<string> {
  const out = join(dir, name);
  await copyFile(path, out);
  const handle = await open(out, 'r+');
  await handle.write(Uint8Array.from(bytes), 0, bytes.length, offset);
  await handle.close();
  return out;
}

/** A copy of a GGUF with metadata changed: `edit` returns the new value, or undefined to drop the key. */
async function rewritten(
  path: string,
  name: string,
  edit: (key: string, value: GgufMetadataValue) => GgufMetadataValue | string | undefined,
  keepTensor: (name: string) => boolean = () => true,
): Promise<string> {
  const file = await readGguf(path);
  const out = join(dir, name);
  const w = await GgufWriter.create(out);
  w.setMetadata('general.architecture', file.metadata.getString('general.architecture'));
  for (const [key, value] of file.metadata) {
    const next = key === 'general.architecture' ? undefined : edit(key, value);
    if (next !== undefined) w.setMetadata(key, next);
  }
  const tensors = file.tensors.filter((t) => keepTensor(t.name));
  for (const t of tensors) w.addTensor(t.name, t.type, t.shape);
  for (const t of tensors) await w.writeTensorData(t.name, await file.readTensorData(t));
  await w.finish();
  return out;
}

const json = (result: { stdout: string }) => JSON.parse(result.stdout) as ValidateReport;

describe('trit validate', () => {
  it('exits 0 for a model trit runs, and 1 for the first non-finite scale or non-ternary code, which run refuses too', async () => {
    const ok = run('validate', tiny, '--check-data');
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/valid \(tensor data checked\)/);

    const q = (await readGguf(tiny)).tensor('blk.0.attn_q.weight');
    expect(q.typeName).toBe('TQ2_0');
    // Block 0's fp16 scale (bytes 64–65) set to NaN.
    const nan = await patched(tiny, 'nan.gguf', q.fileOffset + 64, [0x00, 0x7e]);
    expect(run('validate', nan, '--json').status).toBe(0);
    const full = run('validate', nan, '--json', '--check-data');
    expect(full.status).toBe(1);
    expect(json(full).errors.map((e) => [e.code, e.tensor, e.offset])).toEqual([
      ['non-finite-data', 'blk.0.attn_q.weight', q.fileOffset],
    ]);
    expect(json(full).errors[0]?.message).toMatch(/block 0 has a non-finite fp16 scale/);
    expect(run('validate', nan, '--check-data').stdout).toMatch(/INVALID, 1 error/);

    // Code 3 in every field of block 0's byte 5: the kernels refuse it on load.
    const code3 = await patched(tiny, 'code3.gguf', q.fileOffset + 5, [0xff]);
    expect(run('validate', code3).status).toBe(0);
    const scanned = run('validate', code3, '--json', '--check-data');
    expect(scanned.status).toBe(1);
    expect(json(scanned).errors.map((e) => [e.code, e.tensor, e.offset])).toEqual([
      ['non-ternary-code', 'blk.0.attn_q.weight', q.fileOffset + 5],
    ]);
    expect(json(scanned).errors[0]?.message).toMatch(/block 0, element 5 holds a reserved code/);
    const refused = run('run', code3, '-n', '1', '--backend', 'js');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/blk\.0\.attn_q\.weight.*reserved code 3/);
  });

  it('reports as errors what trit run refuses for the architectures it runs: hyper-parameters, missing tensors, the tokenizer', async () => {
    const config = run('validate', good, '--json');
    expect(config.status).toBe(1);
    const unloadable = json(config).errors.filter((e) => e.code === 'unloadable');
    expect(unloadable).toHaveLength(1);
    expect(unloadable[0]?.message.startsWith(good)).toBe(true);
    expect(unloadable[0]?.message).toMatch(
      /key "bitnet\.embedding_length": missing metadata key .*\(trit run refuses the file\)$/,
    );
    expect(run('run', good, '--backend', 'js').stderr).toMatch(/key "bitnet\.embedding_length": missing metadata key/);

    const down = 'blk.1.ffn_down.weight';
    const partial = await rewritten(
      tiny,
      'partial.gguf',
      (_, v) => v,
      (name) => name !== down,
    );
    const missing = run('validate', partial, '--json');
    expect(missing.status).toBe(1);
    const report = json(missing);
    expect(report.errors.map((e) => [e.code, e.tensor])).toEqual([['missing-tensor', down]]);
    expect(report.errors[0]?.message).toBe(
      `${partial}: tensor "${down}" is missing; bitnet needs it (trit run refuses the file)`,
    );
    expect(run('run', partial, '--backend', 'js').stderr).toMatch(/cannot load: missing blk\.1\.ffn_down\.weight/);

    const pre = await rewritten(tiny, 'pre.gguf', (key, value) => (key === 'tokenizer.ggml.pre' ? 'nope' : value));
    const tokenizer = run('validate', pre, '--json');
    expect(tokenizer.status).toBe(1);
    expect(json(tokenizer).errors.map((e) => e.code)).toEqual(['tokenizer']);
    expect(json(tokenizer).errors[0]?.message).toMatch(/tokenizer: unknown pre-tokenizer "nope"/);
    expect(run('run', pre, '--backend', 'js').stderr).toMatch(/tokenizer: unknown pre-tokenizer "nope"/);
  });

  it('calls a file without tensors invalid unless --vocab-only says a vocabulary is all it should hold', async () => {
    const vocab = await rewritten(
      tiny,
      'vocab.gguf',
      (_, value) => value,
      () => false,
    );
    const plain = run('validate', vocab, '--json');
    expect(plain.status).toBe(1);
    expect(json(plain).errors.map((e) => e.code)).toEqual(['no-tensors']);
    const expected = run('validate', vocab, '--vocab-only');
    expect(expected.status, expected.stdout).toBe(0);
    // The tokenizer is still checked.
    const bad = await rewritten(
      tiny,
      'bad-vocab.gguf',
      (k, v) => (k === 'tokenizer.ggml.model' ? 'no-such-model' : v),
      () => false,
    );
    expect(json(run('validate', bad, '--vocab-only', '--json')).errors.map((e) => e.code)).toEqual(['tokenizer']);
  });

  it('reads the RuvLLM dialect too', async () => {
    // RuvLLM's exporter: type 30 = T158, dims [rows, cols], craftsman.* keys.
    const parts: number[] = [];
    const u32 = (v: number) => parts.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
    const u64 = (v: number) => {
      u32(v);
      u32(0);
    };
    const str = (s: string) => {
      u64(s.length);
      for (const c of s) parts.push(c.charCodeAt(0));
    };
    parts.push(0x47, 0x47, 0x55, 0x46);
    u32(3);
    u64(1);
    u64(2);
    str('general.architecture');
    u32(8);
    str('craftsman');
    str('craftsman.bitnet.block_size');
    u32(4);
    u32(256);
    str('blk.0.ffn_down_exps.weight');
    u32(2);
    u64(2);
    u64(128);
    u32(30);
    u64(0);
    while (parts.length % 32) parts.push(0);
    for (let i = 0; i < 66; i++) parts.push(i < 64 ? 0x55 : i === 65 ? 0x3c : 0);
    while (parts.length % 32) parts.push(0);
    const path = join(dir, 'ruvllm.gguf');
    await writeFile(path, Uint8Array.from(parts));
    const inspected = JSON.parse(run('inspect', path, '--json').stdout) as InspectReport;
    expect(inspected.dialect).toBe('ruvllm');
    expect(inspected.tensorGroups[0]?.tensors[0]).toMatchObject({ dtype: 'BITNET_T158', shape: [128, 2], bytes: 66 });
    const validated = run('validate', path, '--check-data', '--json');
    const report = JSON.parse(validated.stdout) as ValidateReport;
    expect(report.ok).toBe(true);
    expect(report.warnings.map((w) => w.code)).toContain('dialect');
  });
});
