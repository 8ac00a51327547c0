// readTensorFloat32 throughput for BF16, F16 and F32 against a raw fs read of
// the same bytes in the same run, and header parse time for a 1000-tensor file.

import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, type SafetensorsDtype, SafetensorsWriter } from '@trit/safetensors';
import { keep, randomFloats } from '@trit/testkit';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const minMs = quick ? 300 : 1500;

/**
 * Median wall time of each async call. The calls take turns, sample by
 * sample, so heap and page-cache state are shared fairly between a case and
 * its baseline.
 */
async function timeTogether(fns: (() => Promise<unknown>)[], budgetMs = minMs): Promise<number[]> {
  for (const fn of fns) keep(await fn());
  const samples: number[][] = fns.map(() => []);
  const end = performance.now() + budgetMs * fns.length;
  while (performance.now() < end || samples[0].length < 7) {
    for (let i = 0; i < fns.length; i++) {
      const start = performance.now();
      keep(await fns[i]());
      samples[i].push(performance.now() - start);
    }
  }
  return samples.map((list) => {
    list.sort((a, b) => a - b);
    return list[Math.floor(list.length / 2)];
  });
}

/** What the reader does for a path, minus parsing and conversion: open, one positional read, close. */
async function rawRead(path: string, offset: number, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(out, done, length - done, offset + done);
      done += bytesRead;
    }
    return out;
  } finally {
    await handle.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'trit-safetensors-bench-'));
const results: Record<string, number> = {};
try {
  // 1. Float reads: 8M elements per dtype (16 MB BF16/F16, 32 MB F32), read from the page cache.
  const elements = quick ? 1 << 21 : 1 << 22;
  const values = randomFloats(elements, 1, 'gaussian', 0.02);
  const path = join(dir, 'floats.safetensors');
  const dtypes: SafetensorsDtype[] = ['BF16', 'F16', 'F32'];
  const writer = await SafetensorsWriter.create(path);
  for (const dtype of dtypes) writer.addTensor(dtype, dtype, [elements / 4096, 4096]);
  for (const dtype of dtypes) await writer.writeTensorFloat32(dtype, values);
  await writer.finish();
  const file = await readSafetensors(path);
  const inMemory = await readSafetensors(new Uint8Array(await readFile(path)));

  const rows: string[][] = [];
  for (const dtype of dtypes) {
    const info = file.tensor(dtype);
    const [raw, ours, convert] = await timeTogether([
      () => rawRead(path, info.fileOffset, info.byteSize),
      () => file.readTensorFloat32(dtype),
      () => inMemory.readTensorFloat32(dtype),
    ]);
    const rate = (ms: number) => [elements / 1e6 / (ms / 1000), info.byteSize / 1e6 / (ms / 1000)];
    for (const [label, ms] of [
      [`raw fs read (${dtype} bytes)`, raw],
      [`readTensorFloat32 ${dtype}, path`, ours],
      [`readTensorFloat32 ${dtype}, in memory`, convert],
    ] as const) {
      const [melem, mb] = rate(ms);
      rows.push([label, melem.toFixed(0), mb.toFixed(0), ms.toFixed(2), (ms / raw).toFixed(2)]);
    }
    results[`read${dtype}MelemPerS`] = rate(ours)[0];
    results[`read${dtype}MBPerS`] = rate(ours)[1];
    results[`raw${dtype}MBPerS`] = rate(raw)[1];
    results[`read${dtype}VsRaw`] = ours / raw;
    results[`convert${dtype}MelemPerS`] = rate(convert)[0];
  }

  // 2. Header parse: 1000 tensors with Llama-style names and metadata.
  const headerPath = join(dir, 'header.safetensors');
  const many = await SafetensorsWriter.create(headerPath, { metadata: { format: 'pt' } });
  const names: string[] = [];
  for (let layer = 0; names.length < 1000; layer++) {
    for (const part of [
      'self_attn.q_proj',
      'self_attn.k_proj',
      'self_attn.v_proj',
      'self_attn.o_proj',
      'mlp.gate_proj',
    ]) {
      for (const kind of ['weight', 'bias'])
        if (names.length < 1000) names.push(`model.layers.${layer}.${part}.${kind}`);
    }
  }
  for (const name of names) many.addTensor(name, 'BF16', [2, 2]);
  for (const name of names) await many.writeTensorData(name, new Uint8Array(8));
  await many.finish();
  const headerFile = await readSafetensors(headerPath);
  const headerBytes = new Uint8Array(await readFile(headerPath));
  const headerJson = headerBytes.subarray(8, 8 + headerFile.headerByteLength);
  const [fromBuffer, fromPath, jsonParse] = await timeTogether(
    [
      () => readSafetensors(headerBytes),
      () => readSafetensors(headerPath),
      async () => JSON.parse(new TextDecoder().decode(headerJson)),
    ],
    quick ? 200 : 700,
  );
  results.headerParseMsBuffer = fromBuffer;
  results.headerParseMsPath = fromPath;
  results.headerJsonParseMs = jsonParse;
  results.headerBytes = headerFile.headerByteLength;

  if (json) console.log(JSON.stringify(results));
  else {
    const header = ['case', 'M elem/s', 'MB/s', 'ms', 'time / raw'];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c])).join('  ');
    console.log(`\nreadTensorFloat32: ${elements / 1e6}M elements per tensor, file in the page cache, median`);
    console.log(line(header));
    console.log(line(widths.map((w) => '-'.repeat(w))));
    for (const row of rows) console.log(line(row));
    console.log(
      `\nHeader parse: ${names.length} tensors, ${(headerFile.headerByteLength / 1e3).toFixed(0)} kB of JSON, median`,
    );
    console.log(`  readSafetensors(Uint8Array)        ${fromBuffer.toFixed(3)} ms`);
    console.log(`  readSafetensors(path)              ${fromPath.toFixed(3)} ms`);
    console.log(`  JSON.parse alone (no validation)   ${jsonParse.toFixed(3)} ms`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
