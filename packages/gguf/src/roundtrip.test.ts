import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gguf as hfGguf } from '@huggingface/gguf';
import { randomFloats } from '@trit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GgmlType } from './ggml-types.js';
import { readGguf, rowMajorShape } from './reader.js';
import { withTempDir } from './test-support.js';
import { type GgufMetadataValue, GgufValue, GgufValueType } from './value-types.js';
import { GgufWriter } from './writer.js';

/** One value of every GGUF type, including 64-bit extremes and an array of arrays. */
const EVERY_TYPE: Record<string, GgufMetadataValue> = {
  'test.u8': GgufValue.u8(255),
  'test.i8': GgufValue.i8(-128),
  'test.u16': GgufValue.u16(65535),
  'test.i16': GgufValue.i16(-32768),
  'test.u32': GgufValue.u32(4294967295),
  'test.i32': GgufValue.i32(-2147483648),
  'test.f32': GgufValue.f32(Math.fround(0.1)),
  'test.bool': GgufValue.bool(true),
  'test.string': GgufValue.string('héllo ▁ 世界 🦙'),
  'test.u64_small': GgufValue.u64(42),
  'test.u64_big': GgufValue.u64(18446744073709551615n),
  'test.i64_big': GgufValue.i64(-9223372036854775808n),
  'test.f64': GgufValue.f64(Math.PI),
  'test.arr_u8': GgufValue.array(GgufValueType.UINT8, Uint8Array.of(1, 2, 3)),
  'test.arr_i32': GgufValue.array(GgufValueType.INT32, Int32Array.of(-1, 0, 1)),
  'test.arr_f32': GgufValue.array(GgufValueType.FLOAT32, Float32Array.of(0.5, -2, Number.POSITIVE_INFINITY)),
  'test.arr_f64': GgufValue.array(GgufValueType.FLOAT64, Float64Array.of(1e300, -0)),
  'test.arr_u64': GgufValue.array(GgufValueType.UINT64, [1, 2n ** 63n]),
  'test.arr_bool': GgufValue.array(GgufValueType.BOOL, [true, false, true]),
  'test.arr_str': GgufValue.array(GgufValueType.STRING, ['a', '', 'Ġthe', '<0x0A>']),
  'test.arr_empty': GgufValue.array(GgufValueType.STRING, []),
  'test.nested': GgufValue.array(GgufValueType.ARRAY, [
    GgufValue.array(GgufValueType.INT16, Int16Array.of(1, -2)),
    GgufValue.array(GgufValueType.STRING, ['x']),
  ]),
};

describe('GgufWriter → readGguf round trip', () => {
  it('keeps every value type, tensor info and tensor byte exactly', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'all.gguf');
      const f32 = randomFloats(3 * 64, 7);
      const w = await GgufWriter.create(path, { allowNestedArrays: true });
      w.setMetadata('general.architecture', 'llama');
      for (const [k, v] of Object.entries(EVERY_TYPE)) w.setMetadata(k, v);
      w.addTensor('a.weight', GgmlType.F32, [64, 3]);
      w.addTensor('b.weight', GgmlType.Q8_0, [64, 2]);
      w.addTensor('c.weight', GgmlType.F16, [5]);
      const aBytes = new Uint8Array(f32.buffer);
      const bBytes = Uint8Array.from({ length: 2 * 2 * 34 }, (_, i) => (i * 7) & 0xff);
      const cBytes = Uint8Array.from({ length: 10 }, (_, i) => i);
      await w.writeTensorData('a.weight', aBytes);
      await w.writeTensorData('b.weight', [bBytes.subarray(0, 50), bBytes.subarray(50)]);
      await w.writeTensorData('c.weight', cBytes);
      const { byteLength } = await w.finish();

      const file = await readGguf(path);
      expect(file.byteLength).toBe(byteLength);
      expect(file.version).toBe(3);
      expect(file.alignment).toBe(32);
      expect(file.dataOffset % 32).toBe(0);
      expect(file.metadata.get('general.architecture')).toEqual({ type: GgufValueType.STRING, value: 'llama' });
      for (const [k, v] of Object.entries(EVERY_TYPE)) expect(file.metadata.get(k), k).toEqual(v);
      expect(file.tensors.map((t) => [t.name, t.typeName, t.shape, t.offset, t.byteSize])).toEqual([
        ['a.weight', 'F32', [64, 3], 0, 768],
        ['b.weight', 'Q8_0', [64, 2], 768, 136],
        ['c.weight', 'F16', [5], 928, 10],
      ]);
      expect(rowMajorShape(file.tensor('a.weight'))).toEqual([3, 64]);
      expect(await file.readTensorData('a.weight')).toEqual(aBytes);
      expect(await file.readTensorData('b.weight')).toEqual(bBytes);
      expect(await file.readTensorData('c.weight')).toEqual(cBytes);
      expect(await file.dequantizeTensor('a.weight')).toEqual(f32);
      // Every tensor is padded, the last one too.
      expect(byteLength).toBe(file.dataOffset + 928 + 32);
      // The same bytes read from memory and from a Blob give the same result.
      const bytes = await readFile(path);
      for (const source of [new Uint8Array(bytes), new Blob([bytes])]) {
        const again = await readGguf(source);
        expect([...again.metadata]).toEqual([...file.metadata]);
        expect(await again.readTensorData('b.weight')).toEqual(bBytes);
      }
    });
  });

  it('writes general.alignment only when it is not 32, and honours it', async () => {
    await withTempDir(async (dir) => {
      for (const alignment of [32, 64, 4096]) {
        const path = join(dir, `a${alignment}.gguf`);
        const w = await GgufWriter.create(path, { alignment });
        w.setMetadata('general.architecture', 'llama');
        w.addTensor('x', GgmlType.F32, [3]);
        w.addTensor('y', GgmlType.F32, [1]);
        await w.writeTensorData('x', new Uint8Array(12));
        await w.writeTensorData('y', new Uint8Array(4));
        await w.finish();
        const file = await readGguf(path);
        expect(file.metadata.has('general.alignment')).toBe(alignment !== 32);
        expect(file.alignment).toBe(alignment);
        expect(file.tensor('y').offset).toBe(alignment);
        expect(file.dataOffset % alignment).toBe(0);
        expect(file.byteLength).toBe(file.dataOffset + 2 * alignment);
      }
    });
  });

  it('round-trips arbitrary metadata (property)', async () => {
    const scalar = fc.oneof(
      fc.integer({ min: 0, max: 255 }).map(GgufValue.u8),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(GgufValue.i32),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(GgufValue.u32),
      fc.float({ noNaN: true }).map((f) => GgufValue.f32(f)),
      fc.double({ noNaN: true }).map(GgufValue.f64),
      fc
        .bigInt({ min: 0n, max: 2n ** 64n - 1n })
        .map((b) => GgufValue.u64(b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b)),
      fc
        .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
        .map((b) =>
          GgufValue.i64(b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(b) : b),
        ),
      fc.boolean().map(GgufValue.bool),
      fc.string({ unit: 'grapheme' }).map(GgufValue.string),
      fc.array(fc.string(), { maxLength: 8 }).map((a) => GgufValue.array(GgufValueType.STRING, a)),
      fc
        .array(fc.float({ noNaN: true }), { maxLength: 8 })
        .map((a) => GgufValue.array(GgufValueType.FLOAT32, Float32Array.from(a))),
    );
    await withTempDir(async (dir) => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_.]{0,20}$/), scalar, { maxKeys: 12 }),
          async (entries) => {
            const path = join(dir, `p${n++}.gguf`);
            const w = await GgufWriter.create(path);
            w.setMetadata('general.architecture', 'x');
            const kept = Object.entries(entries).filter(([k]) => k !== 'general.architecture');
            for (const [k, v] of kept) w.setMetadata(k, v);
            await w.finish();
            const file = await readGguf(path);
            for (const [k, v] of kept) expect(file.metadata.get(k)).toEqual(v);
            expect(file.metadata.size).toBe(kept.length + 1);
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  it('leaves no temporary files behind', async () => {
    await withTempDir(async (dir) => {
      const w = await GgufWriter.create(join(dir, 'm.gguf'));
      w.setMetadata('general.architecture', 'llama');
      await w.finish();
      expect(await readdir(dir)).toEqual(['m.gguf']);
    });
  });
});

describe('interop with @huggingface/gguf', () => {
  it('parses our files to the same metadata and tensor infos', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'hf.gguf');
      const w = await GgufWriter.create(path, { alignment: 64 });
      w.setMetadata('general.architecture', 'llama');
      w.setMetadata('general.name', 'tiny');
      w.setMetadata('llama.context_length', 128);
      w.setMetadata('llama.attention.layer_norm_rms_epsilon', 1e-5);
      w.setMetadata('llama.rope.freq_base', 10000);
      w.setMetadata('tokenizer.ggml.tokens', ['<unk>', '<s>', '</s>', 'a', 'b']);
      w.setMetadata('tokenizer.ggml.scores', Float32Array.of(0, 0, 0, -1, -2));
      w.setMetadata('tokenizer.ggml.token_type', Int32Array.of(2, 3, 3, 1, 1));
      w.setMetadata('tokenizer.ggml.add_bos_token', true);
      w.setMetadata('test.i64', GgufValue.i64(-5));
      const shapes: [string, number, number[]][] = [
        ['token_embd.weight', GgmlType.F16, [256, 5]],
        ['blk.0.attn_q.weight', GgmlType.TQ2_0, [256, 256]],
        ['blk.0.ffn_up.weight', GgmlType.TQ1_0, [256, 512]],
        ['blk.0.ffn_down.weight', GgmlType.Q8_0, [512, 256]],
        ['output_norm.weight', GgmlType.F32, [256]],
      ];
      const declared = shapes.map(([name, type, shape]) => w.addTensor(name, type, shape));
      for (const t of declared) await w.writeTensorData(t.name, new Uint8Array(t.byteSize));
      await w.finish();

      const ours = await readGguf(path);
      const theirs = await hfGguf(path, { allowLocalFile: true });
      expect(theirs.littleEndian).toBe(true);
      expect(Number(theirs.tensorDataOffset)).toBe(ours.dataOffset);
      const theirMeta = theirs.metadata as Record<string, unknown>;
      // They add `version`, `tensor_count` and `kv_count` to the metadata object.
      expect(theirMeta.version).toBe(3);
      expect(Number(theirMeta.tensor_count)).toBe(ours.tensors.length);
      expect(Number(theirMeta.kv_count)).toBe(ours.metadata.size);
      for (const [key, value] of ours.metadata) {
        const plain = value.type === GgufValueType.ARRAY ? Array.from(value.value as ArrayLike<unknown>) : value.value;
        const theirValue = theirMeta[key];
        expect(typeof theirValue === 'bigint' ? Number(theirValue) : theirValue, key).toEqual(
          typeof plain === 'bigint' ? Number(plain) : plain,
        );
      }
      expect(
        theirs.tensorInfos.map((t) => ({
          name: t.name,
          shape: t.shape.map(Number),
          type: t.dtype,
          offset: Number(t.offset),
        })),
      ).toEqual(ours.tensors.map((t) => ({ name: t.name, shape: [...t.shape], type: t.type, offset: t.offset })));
    });
  });
});

describe('large files', () => {
  it('parses a 4 GiB file without reading its data, and reads one tensor at its offset', async () => {
    const { open } = await import('node:fs/promises');
    const { RawGguf } = await import('./test-support.js');
    await withTempDir(async (dir) => {
      const path = join(dir, 'big.gguf');
      const big = 2 ** 30; // F32 elements: 4 GiB of data, left as a hole in a sparse file
      const header = new RawGguf()
        .header(2, 2, 1)
        .kvString('general.architecture', 'llama')
        .tensorInfo('huge', [big], GgmlType.F32, 0)
        .tensorInfo('tail', [8], GgmlType.F32, big * 4)
        .padTo(32);
      const dataOffset = header.length;
      const handle = await open(path, 'w');
      await handle.write(header.bytes(), 0, header.length, 0);
      const tail = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
      await handle.write(new Uint8Array(tail.buffer), 0, 32, dataOffset + big * 4);
      await handle.close();
      const before = process.memoryUsage().rss;
      const file = await readGguf(path);
      expect(file.version).toBe(2);
      expect(file.byteLength).toBe(dataOffset + big * 4 + 32);
      expect(file.tensor('huge').byteSize).toBe(big * 4);
      expect(await file.dequantizeTensor('tail')).toEqual(tail);
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
    });
  });
});
