import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgmlType, GgufValue, GgufWriter } from '@trit/gguf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectReport, ValidateReport } from './inspect.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

let dir: string;
let good: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trit-cli-'));
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

  it('fails cleanly on a file that is not GGUF', async () => {
    const bad = join(dir, 'bad.gguf');
    await writeFile(bad, 'not a gguf at all');
    const result = run('inspect', bad);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/bad\.gguf, offset 0: not a GGUF file/);
    expect(run('inspect').status).toBe(2);
  });
});

describe('trit validate', () => {
  it('exits 0 for a valid file and 1 with reasons for an invalid one', async () => {
    const ok = run('validate', good, '--check-data');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/valid \(tensor data checked\)/);

    // Same layout, but a u64 where llama.cpp demands u32, and a NaN scale.
    const broken = join(dir, 'broken.gguf');
    const w = await GgufWriter.create(broken);
    w.setMetadata('general.architecture', 'bitnet');
    w.setMetadata('general.quantization_version', 2);
    w.setMetadata('bitnet.expert_weights_scale', GgufValue.u64(1));
    w.setMetadata('bitnet.context_length.extra', GgufValue.u64(1));
    w.addTensor('blk.0.attn_q.weight', GgmlType.TQ2_0, [256]);
    const block = new Uint8Array(66);
    block[64] = 0x00;
    block[65] = 0x7e;
    await w.writeTensorData('blk.0.attn_q.weight', block);
    await w.finish();
    const quick = run('validate', broken, '--json');
    expect(quick.status).toBe(0);
    const full = run('validate', broken, '--json', '--check-data');
    expect(full.status).toBe(1);
    const report = JSON.parse(full.stdout) as ValidateReport;
    expect(report.errors.map((e) => e.code)).toEqual(['non-finite-data']);
    expect(report.errors[0]?.message).toMatch(/block 0 has a non-finite fp16 scale/);
    const text = run('validate', broken, '--check-data');
    expect(text.stdout).toMatch(/INVALID, 1 error/);
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
