// Header parsing against @huggingface/gguf on the same local file, and
// streaming write throughput against raw fs writes of the same bytes.

import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf as hfGguf } from '@huggingface/gguf';
import { GgmlType, GgufValue, GgufValueType, GgufWriter, readGguf } from '@trit/gguf';
import { createRng } from '@trit/testkit';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');

/** Byte-level-BPE-like pieces: most start with "Ġ" (a 2-byte UTF-8 character), a few are CJK. */
function vocabulary(count: number, seed: number): string[] {
  const rng = createRng(seed);
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = rng.nextFloat();
    let piece = r < 0.6 ? 'Ġ' : r < 0.65 ? '世' : '';
    const len = 1 + rng.nextInt(9);
    for (let j = 0; j < len; j++) piece += letters[rng.nextInt(letters.length)];
    out.push(piece);
  }
  return out;
}

async function time(fn: () => Promise<unknown>, minMs: number): Promise<number> {
  await fn();
  const samples: number[] = [];
  const end = performance.now() + minMs;
  while (performance.now() < end || samples.length < 5) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const dir = await mkdtemp(join(tmpdir(), 'trit-gguf-bench-'));
const results: Record<string, number> = {};
try {
  // 1. A Llama-3-sized header: 150k tokens, token types, 280k merges, 330 tensor infos.
  const modelPath = join(dir, 'vocab.gguf');
  const tokens = vocabulary(150_000, 1);
  const merges = vocabulary(280_000, 2).map((m, i) => `${m} ${tokens[i % tokens.length]}`);
  const w = await GgufWriter.create(modelPath);
  w.setMetadata('general.architecture', 'llama');
  w.setMetadata('tokenizer.ggml.model', 'gpt2');
  w.setMetadata('tokenizer.ggml.tokens', tokens);
  w.setMetadata(
    'tokenizer.ggml.token_type',
    GgufValue.array(GgufValueType.INT32, new Int32Array(tokens.length).fill(1)),
  );
  w.setMetadata('tokenizer.ggml.merges', merges);
  const names: string[] = ['token_embd.weight', 'output_norm.weight'];
  for (let layer = 0; layer < 30; layer++) {
    for (const t of [
      'attn_norm',
      'attn_sub_norm',
      'attn_q',
      'attn_k',
      'attn_v',
      'attn_output',
      'ffn_norm',
      'ffn_sub_norm',
      'ffn_gate',
      'ffn_up',
      'ffn_down',
    ]) {
      names.push(`blk.${layer}.${t}.weight`);
    }
  }
  for (const name of names) w.addTensor(name, GgmlType.F32, [8]);
  for (const name of names) await w.writeTensorData(name, new Uint8Array(32));
  await w.finish();
  const size = (await stat(modelPath)).size;

  const ours = await time(() => readGguf(modelPath), quick ? 500 : 3000);
  const theirs = await time(() => hfGguf(modelPath, { allowLocalFile: true }), quick ? 500 : 3000);
  results.parseMsTrit = ours;
  results.parseMsHuggingface = theirs;
  results.headerMB = size / 1e6;

  // 2. Writing 512 MB of tensor data (128 × 4 MiB) through GgufWriter vs raw fs writes + fsync.
  const tensorBytes = 4 << 20;
  const tensorCount = quick ? 32 : 128;
  const chunk = new Uint8Array(tensorBytes);
  for (let i = 0; i < chunk.length; i += 4096) chunk[i] = i & 0xff;
  const totalBytes = tensorBytes * tensorCount;

  const writeGguf = async () => {
    const out = await GgufWriter.create(join(dir, 'w.gguf'));
    out.setMetadata('general.architecture', 'llama');
    for (let i = 0; i < tensorCount; i++) out.addTensor(`t${i}`, GgmlType.F32, [tensorBytes / 4]);
    for (let i = 0; i < tensorCount; i++) await out.writeTensorData(`t${i}`, chunk);
    await out.finish();
  };
  const writeRaw = async () => {
    const handle = await open(join(dir, 'raw.bin'), 'w');
    for (let i = 0; i < tensorCount; i++) await handle.write(chunk, 0, chunk.length);
    await handle.sync();
    await handle.close();
  };
  const rawMs = await time(writeRaw, quick ? 1000 : 4000);
  const ggufMs = await time(writeGguf, quick ? 1000 : 4000);
  results.writeMBsTrit = totalBytes / 1e6 / (ggufMs / 1000);
  results.writeMBsRawFs = totalBytes / 1e6 / (rawMs / 1000);

  if (json) console.log(JSON.stringify(results));
  else {
    console.log(
      `\nGGUF header parse: ${tokens.length} tokens, ${merges.length} merges, ${names.length} tensor infos (${(size / 1e6).toFixed(1)} MB header), local file, median`,
    );
    console.log(`  @trit/gguf readGguf       ${ours.toFixed(1)} ms`);
    console.log(`  @huggingface/gguf gguf()  ${theirs.toFixed(1)} ms`);
    console.log(
      `  ratio                     ${(theirs / ours).toFixed(2)}× faster (goal: faster than @huggingface/gguf: ${theirs > ours ? 'met' : 'MISSED'})`,
    );
    console.log(
      `\nGGUF write: ${tensorCount} tensors × 4 MiB = ${(totalBytes / 1e6).toFixed(0)} MB, fsync included, median`,
    );
    console.log(`  raw fs writes             ${results.writeMBsRawFs.toFixed(0)} MB/s`);
    console.log(`  GgufWriter                ${results.writeMBsTrit.toFixed(0)} MB/s`);
    const ratio = ggufMs / rawMs;
    console.log(`  GgufWriter time / raw     ${ratio.toFixed(2)}× (goal ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'MISSED'})`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
