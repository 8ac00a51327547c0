import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { packTernary, TernaryTensor } from '@trit/ternary';
import { describe, expect, it } from 'vitest';
import { defaultHiddenActivation } from './architectures.js';
import { GgufWriteError } from './errors.js';
import { exportBitnetModel } from './export.js';
import { readGguf } from './reader.js';
import { RawGguf, withTempDir } from './test-support.js';
import { validateGguf } from './validate.js';
import { GgufWriter } from './writer.js';

describe('I2_S tensors whose size is not whole 128-element blocks (docs/formats.md §I2_S)', () => {
  // 200 elements as bitnet.cpp's quantizer leaves them: block 0 packed, bytes 32–49 zero (its memset;
  // code 0 would read as −1 if anything read it), the scale 0.25 at byte ⌊200/4⌋ = 50, 82 bytes in all.
  const i2s = new Uint8Array(82);
  i2s.fill(0x55, 0, 32);
  i2s[0] = 0b10_01_01_00; // elements 0 (+1) and 96 (−1)
  new DataView(i2s.buffer).setFloat32(50, 0.25, true);
  const f32 = Float32Array.of(1.5, -2);

  function bitnetCppFile(): { bytes: Uint8Array; i2sStart: number } {
    const g = new RawGguf()
      .header(3, 2, 2)
      .kvString('general.architecture', 'bitnet-b1.58')
      .kvU32('general.quantization_version', 2)
      .tensorInfo('blk.0.ffn_down.weight', [100, 2], 36, 0)
      .tensorInfo('output_norm.weight', [2], 0, 96) // 82 bytes padded to 96
      .padTo(32);
    const i2sStart = g.length;
    g.raw(i2s).padTo(32).raw(new Uint8Array(f32.buffer)).padTo(32);
    return { bytes: g.bytes(), i2sStart };
  }

  it('reads and validates bitnet.cpp’s ⌊n/4⌋ + 32 bytes, the scale at byte ⌊n/4⌋, the tail as 0', async () => {
    const { bytes, i2sStart } = bitnetCppFile();
    const file = await readGguf(bytes);
    const t = file.tensor('blk.0.ffn_down.weight');
    expect([t.typeName, t.byteSize, t.fileOffset]).toEqual(['I2_S', 82, i2sStart]);
    // The next tensor is found where the ⌊n/4⌋ + 32 size puts it.
    expect(Array.from(await file.dequantizeTensor('output_norm.weight'))).toEqual([1.5, -2]);
    const values = await file.dequantizeTensor(t);
    const expected = new Float32Array(200);
    expected[0] = 0.25;
    expected[96] = -0.25;
    expect(Array.from(values)).toEqual(Array.from(expected));
    const ternary = await file.readTernaryTensor(t);
    expect([ternary.rows, ternary.cols, ternary.scales[0]]).toEqual([2, 100, 0.25]);
    expect(Array.from(ternary.codes())).toEqual(Array.from(expected, Math.sign));

    const report = await validateGguf(bytes, { checkTensorData: true });
    expect(report.errors).toEqual([]);
    // A NaN scale is found at byte ⌊n/4⌋, not after a padded block.
    const broken = bytes.slice();
    new DataView(broken.buffer).setFloat32(i2sStart + 50, Number.NaN, true);
    const found = await validateGguf(broken, { checkTensorData: true });
    expect(found.errors.map((e) => [e.code, e.tensor, e.offset])).toEqual([
      ['non-finite-data', 'blk.0.ffn_down.weight', i2sStart + 50],
    ]);
  });

  it('refuses to write them, through the writer and the exporter, naming the tensor', async () => {
    await withTempDir(async (dir) => {
      const writer = await GgufWriter.create(join(dir, 'w.gguf'), { dialect: 'bitnet.cpp' });
      writer.setMetadata('general.architecture', 'bitnet-b1.58');
      let error: unknown;
      try {
        writer.addTensor('blk.0.ffn_down.weight', 'I2_S', [100, 2]);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(GgufWriteError);
      expect((error as GgufWriteError).message).toMatch(
        /blk\.0\.ffn_down\.weight.*200 elements is not a multiple of 128: I2_S stores whole 128-element blocks only, and bitnet\.cpp's kernels would drop the last 72/,
      );
      expect(writer.addTensor('blk.0.ffn_up.weight', 'I2_S', [128, 2]).byteSize).toBe(64 + 32);
      await writer.abort();

      const tensor = new TernaryTensor({
        packed: packTernary(new Int8Array(200)),
        scales: Float32Array.of(1),
        shape: [2, 100],
        blockSize: 200,
      });
      for (const data of [tensor, () => tensor]) {
        await expect(
          exportBitnetModel(join(dir, 'e.gguf'), {
            architecture: 'bitnet-b1.58',
            format: 'i2_s',
            tensors: [{ name: 'blk.0.attn_q.weight', data, shape: [2, 100], type: 'I2_S' }],
          }),
        ).rejects.toThrow(/blk\.0\.attn_q\.weight.*200 elements is not a multiple of 128.*drop the last 72/);
      }
      await expect(
        exportBitnetModel(join(dir, 'e.gguf'), {
          architecture: 'bitnet-b1.58',
          format: 'i2_s',
          tensors: [{ name: 'raw', data: i2s, shape: [2, 100], type: 'I2_S' }],
        }),
      ).rejects.toThrow(GgufWriteError);
      expect(await readdir(dir)).toEqual([]);
    });
  });
});

describe('defaultHiddenActivation', () => {
  it('is relu² for bitnet.cpp’s graphs and SiLU for llama.cpp’s (docs/formats.md §bitnet)', () => {
    expect(['bitnet-b1.58', 'bitnet-25', 'bitnet', 'llama', 'qwen2', 'toString'].map(defaultHiddenActivation)).toEqual([
      'relu2',
      'relu2',
      'silu',
      'silu',
      'silu',
      'silu',
    ]);
  });
});
