import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packTernary, TernaryTensor } from '@trit/ternary';
import { randomFloats, randomTernary } from '@trit/testkit';
import { describe, expect, it } from 'vitest';
import { GgufAbortError } from './errors.js';
import { compareUtf8, exportBitnetModel, f32ToF16Bytes, serializeBitnetT158 } from './export.js';
import { GgmlType } from './ggml-types.js';
import { readGguf } from './reader.js';
import { withTempDir } from './test-support.js';
import { GgufValueType } from './value-types.js';
import { GgufWriter } from './writer.js';

function ternary(rows: number, cols: number, seed: number): TernaryTensor {
  const codes = randomTernary(rows * cols, seed);
  const scales = Float32Array.from({ length: Math.ceil((rows * cols) / 256) }, (_, i) => 0.125 * (1 + (i % 3)));
  return new TernaryTensor({ packed: packTernary(codes), scales, shape: [rows, cols], blockSize: 256 });
}

describe('exportBitnetModel', () => {
  it('writes ternary tensors losslessly, sorted by UTF-8 bytes, with provenance keys', async () => {
    await withTempDir(async (dir) => {
      const q = ternary(4, 512, 1);
      const up = ternary(2, 256, 2);
      const norm = randomFloats(256, 3);
      const path = join(dir, 'bitnet.gguf');
      await exportBitnetModel(path, {
        architecture: 'bitnet',
        metadata: {
          'bitnet.block_count': 1,
          'bitnet.attention.layer_norm_rms_epsilon': 1e-5,
          'bitnet.hidden_activation': 'relu2',
        },
        tensors: [
          { name: 'blk.0.ffn_up.weight', data: up },
          { name: 'blk.0.attn_q.weight', data: q },
          { name: 'output_norm.weight', data: norm, shape: [256] },
          { name: 'blk.0.\u{1F999}.weight', data: () => norm.slice(), shape: [256], type: 'F16' },
          { name: 'blk.0.\uFFFD.weight', data: f32ToF16Bytes(norm), shape: [256], type: 'F16' },
        ],
        quantization: { routerPrecision: 'f16', blockSize: 256, quantizerVersion: '0.1.0' },
      });
      const file = await readGguf(path);
      // UTF-8 order puts U+FFFD (EF BF BD) before U+1F999 (F0 …); UTF-16 order would not.
      expect(file.tensors.map((t) => t.name)).toEqual([
        'blk.0.attn_q.weight',
        'blk.0.ffn_up.weight',
        'blk.0.\uFFFD.weight',
        'blk.0.\u{1F999}.weight',
        'output_norm.weight',
      ]);
      expect(compareUtf8('\uFFFD', '\u{1F999}')).toBeLessThan(0);
      expect('\uFFFD' < '\u{1F999}').toBe(false);
      const attnQ = file.tensor('blk.0.attn_q.weight');
      expect([attnQ.type, attnQ.shape]).toEqual([GgmlType.TQ2_0, [512, 4]]);
      const back = await file.readTernaryTensor(attnQ);
      expect(Array.from(back.codes())).toEqual(Array.from(q.codes()));
      expect(Array.from(back.scales)).toEqual(Array.from(q.scales));
      expect(await file.dequantizeTensor('output_norm.weight')).toEqual(norm);
      const m = file.metadata;
      expect(m.getString('trit.quantization.weight_encoding')).toBe('absmean_ternary');
      expect(m.getU32('trit.quantization.activation_bits')).toBe(8);
      expect(m.getString('trit.quantization.router_precision')).toBe('f16');
      expect(m.getU32('trit.quantization.block_size')).toBe(256);
      expect(m.getString('trit.quantization.format')).toBe('tq2_0');
      expect(m.getString('trit.quantization.quantizer_version')).toBe('0.1.0');
      expect(m.getU32('general.quantization_version')).toBe(2);
      expect(m.getU32('bitnet.block_count')).toBe(1);
      expect(m.get('bitnet.attention.layer_norm_rms_epsilon')?.type).toBe(GgufValueType.FLOAT32);
      expect(await file.readTensorData('blk.0.\u{1F999}.weight')).toEqual(
        await file.readTensorData('blk.0.\uFFFD.weight'),
      );
    });
  });

  it('stores tq1_0 and bitnet.cpp i2_s, and keeps a given order', async () => {
    await withTempDir(async (dir) => {
      const t = ternary(2, 256, 4);
      const single = new TernaryTensor({
        packed: t.packed,
        scales: Float32Array.of(0.5),
        shape: [2, 256],
        blockSize: 512,
      });
      await exportBitnetModel(join(dir, 'tq1.gguf'), {
        architecture: 'bitnet',
        format: 'tq1_0',
        order: 'given',
        tensors: [
          { name: 'b', data: t },
          { name: 'a', data: t },
        ],
      });
      const tq1 = await readGguf(join(dir, 'tq1.gguf'));
      expect(tq1.tensors.map((x) => [x.name, x.typeName])).toEqual([
        ['b', 'TQ1_0'],
        ['a', 'TQ1_0'],
      ]);
      expect(Array.from((await tq1.readTernaryTensor('a')).codes())).toEqual(Array.from(t.codes()));

      await exportBitnetModel(join(dir, 'i2s.gguf'), {
        architecture: 'bitnet-b1.58',
        format: 'i2_s',
        tensors: [{ name: 'w', data: single }],
      });
      const i2s = await readGguf(join(dir, 'i2s.gguf'));
      expect([i2s.dialect, i2s.tensor('w').typeName]).toEqual(['bitnet.cpp', 'I2_S']);
      expect(Array.from((await i2s.readTernaryTensor('w')).codes())).toEqual(Array.from(t.codes()));
      await expect(
        exportBitnetModel(join(dir, 'x.gguf'), { architecture: 'bitnet', format: 'i2_s', tensors: [] }),
      ).rejects.toThrow(/bitnet.cpp type/);
    });
  });

  it('rejects path traversal, duplicate names, bad shapes, and leaves nothing behind', async () => {
    await withTempDir(async (dir) => {
      await expect(exportBitnetModel(`${dir}/../escape.gguf`, { architecture: 'bitnet', tensors: [] })).rejects.toThrow(
        /"\.\."/,
      );
      const t = ternary(1, 256, 1);
      await expect(
        exportBitnetModel(join(dir, 'd.gguf'), {
          architecture: 'bitnet',
          tensors: [
            { name: 'a', data: t },
            { name: 'a', data: t },
          ],
        }),
      ).rejects.toThrow(/duplicate/);
      await expect(
        exportBitnetModel(join(dir, 'f.gguf'), {
          architecture: 'bitnet',
          tensors: [{ name: 'a', data: new Float32Array(3), shape: [4] }],
        }),
      ).rejects.toThrow(/expected 4 values/);
      // A tensor whose data fails mid-stream: no output file, no temp file.
      await expect(
        exportBitnetModel(join(dir, 'late.gguf'), {
          architecture: 'bitnet',
          tensors: [
            { name: 'a', data: t },
            { name: 'b', type: 'F32', shape: [4], data: () => Promise.reject(new Error('disk on fire')) },
          ],
        }),
      ).rejects.toThrow(/disk on fire/);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('takes a TernaryTensor from a second copy of @trit/ternary (its CJS build), or a plain object of its fields', async () => {
    // The CJS build is another copy of the class: `instanceof` against this (ESM) one fails.
    const cjs = createRequire(import.meta.url)('@trit/ternary') as typeof import('@trit/ternary');
    expect(cjs.TernaryTensor).not.toBe(TernaryTensor);
    const esmTensor = ternary(3, 256, 7);
    const { packed, scales, shape, blockSize } = esmTensor;
    const cjsTensor = new cjs.TernaryTensor({ packed, scales, shape, blockSize });
    expect(cjsTensor instanceof TernaryTensor).toBe(false);
    const plain = { packed, scales, shape, blockSize } as TernaryTensor;
    await withTempDir(async (dir) => {
      const files: Buffer[] = [];
      for (const [i, data] of [esmTensor, cjsTensor as TernaryTensor, plain].entries()) {
        const path = join(dir, `copy-${i}.gguf`);
        await exportBitnetModel(path, { architecture: 'bitnet', tensors: [{ name: 'blk.0.attn_q.weight', data }] });
        files.push(await readFile(path));
      }
      expect(files[1]?.equals(files[0] as Buffer)).toBe(true);
      expect(files[2]?.equals(files[0] as Buffer)).toBe(true);
      const back = await (await readGguf(join(dir, 'copy-1.gguf'))).readTernaryTensor('blk.0.attn_q.weight');
      expect(Array.from(back.codes())).toEqual(Array.from(esmTensor.codes()));
    });
  });

  it('keeps RuvLLM names: serializeBitnetT158 and a rounding f32ToF16Bytes', () => {
    const t = ternary(1, 256, 9);
    const bytes = serializeBitnetT158(t);
    expect(bytes.length).toBe(66);
    expect(bytes.subarray(0, 64)).toEqual(t.packed.subarray(0, 64));
    // RuvLLM truncated 65520 to 0x7BFF; it rounds to +inf in fp16 (ties to even).
    expect(Array.from(f32ToF16Bytes([65520, 65519, 1, 2 ** -24]))).toEqual([
      0x00, 0x7c, 0xff, 0x7b, 0x00, 0x3c, 0x01, 0x00,
    ]);
  });
});

describe('GgufWriter is atomic', () => {
  it('an abort mid-stream deletes the temp file and never creates the target', async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, 'out.gguf');
      const controller = new AbortController();
      const w = await GgufWriter.create(target, { signal: controller.signal });
      w.setMetadata('general.architecture', 'llama');
      w.addTensor('a', GgmlType.F32, [1 << 20]);
      w.addTensor('b', GgmlType.F32, [4]);
      await w.writeTensorData('a', new Uint8Array(4 << 20));
      controller.abort();
      await expect(w.writeTensorData('b', new Uint8Array(16))).rejects.toBeInstanceOf(GgufAbortError);
      await expect(w.finish()).rejects.toBeInstanceOf(GgufAbortError);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('an existing file is replaced only on success, and wrong sizes or order fail cleanly', async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, 'keep.gguf');
      await writeFile(target, 'previous contents');
      const w = await GgufWriter.create(target);
      w.setMetadata('general.architecture', 'llama');
      w.addTensor('a', GgmlType.F32, [4]);
      w.addTensor('b', GgmlType.F32, [4]);
      await expect(w.writeTensorData('b', new Uint8Array(16))).rejects.toThrow(/"a" comes next/);
      expect(await readdir(dir)).toEqual(['keep.gguf']);

      const short = await GgufWriter.create(target);
      short.setMetadata('general.architecture', 'llama');
      short.addTensor('a', GgmlType.F32, [4]);
      await expect(short.writeTensorData('a', new Uint8Array(15))).rejects.toThrow(/expected 16 bytes/);
      const long = await GgufWriter.create(target);
      long.setMetadata('general.architecture', 'llama');
      long.addTensor('a', GgmlType.F32, [4]);
      await expect(long.writeTensorData('a', [new Uint8Array(12), new Uint8Array(8)])).rejects.toThrow(/longer/);
      const missing = await GgufWriter.create(target);
      missing.setMetadata('general.architecture', 'llama');
      missing.addTensor('a', GgmlType.F32, [4]);
      await expect(missing.finish()).rejects.toThrow(/have no data/);
      const noArch = await GgufWriter.create(target);
      await expect(noArch.finish()).rejects.toThrow(/general.architecture is required/);
      expect(await readdir(dir)).toEqual(['keep.gguf']);

      const ok = await GgufWriter.create(target);
      ok.setMetadata('general.architecture', 'llama');
      await ok.finish();
      expect((await readGguf(target)).architecture).toBe('llama');
      expect(await readdir(dir)).toEqual(['keep.gguf']);
    });
  });

  it('reports progress up to the exact file size', async () => {
    await withTempDir(async (dir) => {
      const seen: number[] = [];
      const w = await GgufWriter.create(join(dir, 'p.gguf'), {
        onProgress: (p) => seen.push(p.bytesWritten / p.totalBytes),
      });
      w.setMetadata('general.architecture', 'llama');
      w.addTensor('a', GgmlType.F32, [100]);
      await w.writeTensorData('a', new Uint8Array(400));
      const { byteLength } = await w.finish();
      expect(seen.at(-1)).toBe(1);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect((await readGguf(join(dir, 'p.gguf'))).byteLength).toBe(byteLength);
    });
  });
});
