import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getFloat16 } from '@petamoriken/float16';
import { createRng, randomFloats } from '@trit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SafetensorsDtype, safetensorsDtypes } from './dtypes.js';
import { SafetensorsInexactError } from './errors.js';
import { float32ToBfloat16Bytes, float32ToFloat16Bytes } from './floats.js';
import { readSafetensors } from './reader.js';
import { withTempDir } from './test-support.js';
import { SafetensorsWriter } from './writer.js';

interface Spec {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

function randomBytes(length: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length }, () => rng.nextInt(256));
}

async function writeFile(path: string, specs: Spec[], metadata?: Record<string, string>): Promise<void> {
  const w = await SafetensorsWriter.create(path, { metadata });
  for (const s of specs) w.addTensor(s.name, s.dtype, s.shape);
  for (const s of specs) await w.writeTensorData(s.name, s.data);
  await w.finish();
}

/** Shapes per dtype: a scalar, a zero-size tensor and a 2-D one (sub-byte dtypes need whole bytes). */
function shapesFor(bits: number): number[][] {
  if (bits === 4) return [[2], [0, 3], [3, 4]];
  if (bits === 6) return [[4], [5, 0], [2, 8]];
  return [[], [0, 3], [3, 5]];
}

/** Reference decoders written with DataView, independent of the package's typed-array paths. */
const reference: Partial<Record<SafetensorsDtype, (view: DataView, i: number) => number>> = {
  U8: (v, i) => v.getUint8(i),
  I8: (v, i) => v.getInt8(i),
  U16: (v, i) => v.getUint16(2 * i, true),
  I16: (v, i) => v.getInt16(2 * i, true),
  U32: (v, i) => v.getUint32(4 * i, true),
  I32: (v, i) => v.getInt32(4 * i, true),
  U64: (v, i) => Number(v.getBigUint64(8 * i, true)),
  I64: (v, i) => Number(v.getBigInt64(8 * i, true)),
  F16: (v, i) => getFloat16(v, 2 * i, true),
  BF16: (v, i) => new Float32Array(Uint32Array.of(v.getUint16(2 * i, true) << 16).buffer)[0],
  F32: (v, i) => v.getFloat32(4 * i, true),
  F64: (v, i) => Math.fround(v.getFloat64(8 * i, true)),
};

/** Integer data small enough that float32 holds it exactly (random bytes would not be for 32/64-bit ints). */
function exactIntegerBytes(dtype: SafetensorsDtype, count: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const view = new DataView(new ArrayBuffer(count * 8));
  const value = () => rng.nextInt(1 << 24) - (dtype.startsWith('I') ? 1 << 23 : 0);
  for (let i = 0; i < count; i++) {
    if (dtype === 'I32') view.setInt32(4 * i, value(), true);
    else if (dtype === 'U32') view.setUint32(4 * i, value(), true);
    else if (dtype === 'I64') view.setBigInt64(8 * i, BigInt(value()) * (1n << 20n), true);
    else if (dtype === 'U64') view.setBigUint64(8 * i, BigInt(value()) * (1n << 40n), true);
  }
  const width = dtype.endsWith('64') ? 8 : 4;
  return new Uint8Array(view.buffer, 0, count * width);
}

describe('round trips', () => {
  it('every dtype, scalar, zero-size and 2-D, through a path, a URL, a buffer and a Blob', async () => {
    const specs: Spec[] = [];
    let seed = 1;
    for (const dtype of safetensorsDtypes) {
      for (const shape of shapesFor(dtype.bits)) {
        const elements = shape.reduce((a, b) => a * b, 1);
        const bytes = (elements * dtype.bits) / 8;
        const wide = ['I32', 'U32', 'I64', 'U64'].includes(dtype.name);
        specs.push({
          name: `${dtype.name.toLowerCase()}.${shape.length === 0 ? 'scalar' : shape.join('x')}`,
          dtype: dtype.name,
          shape,
          data: wide ? exactIntegerBytes(dtype.name, elements, seed++) : randomBytes(bytes, seed++),
        });
      }
    }
    await withTempDir(async (dir) => {
      const path = join(dir, 'all.safetensors');
      await writeFile(path, specs, { format: 'pt', π: 'ünïcode ✓', '': 'empty key' });
      const onDisk = new Uint8Array(await readFile(path));
      const sources = [path, pathToFileURL(path), onDisk, onDisk.buffer, new Blob([onDisk])];
      for (const source of sources) {
        const file = await readSafetensors(source);
        expect(file.metadata).toEqual({ format: 'pt', π: 'ünïcode ✓', '': 'empty key' });
        expect(file.byteLength).toBe(onDisk.length);
        expect(file.headerByteLength % 8).toBe(0);
        expect(file.tensors.map((t) => t.name)).toEqual(specs.map((s) => s.name));
        let offset = 0;
        for (const spec of specs) {
          const info = file.tensor(spec.name);
          expect(info.dtype).toBe(spec.dtype);
          expect(info.shape).toEqual(spec.shape);
          expect(info.dataOffsets).toEqual([offset, offset + spec.data.length]);
          expect(info.fileOffset).toBe(file.dataOffset + offset);
          offset += spec.data.length;
          expect(await file.readTensorData(spec.name)).toEqual(spec.data);

          const decode = reference[spec.dtype];
          if (!decode) {
            await expect(file.readTensorFloat32(spec.name)).rejects.toThrow(/cannot read .* as float32/);
            continue;
          }
          const floats = await file.readTensorFloat32(spec.name);
          const view = new DataView(spec.data.buffer, spec.data.byteOffset, spec.data.byteLength);
          const expected = Float32Array.from({ length: info.elementCount }, (_, i) => decode(view, i));
          // Compare bit patterns, except that all NaNs count as equal.
          const bits = (a: Float32Array) =>
            Array.from(new Uint32Array(Float32Array.from(a, (x) => (Number.isNaN(x) ? Number.NaN : x)).buffer));
          expect(bits(floats)).toEqual(bits(expected));
        }
      }
    });
  });

  it('readTensorFloat32 results never alias the caller buffer', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'f.safetensors');
      await writeFile(path, [
        { name: 'x', dtype: 'F32', shape: [2], data: new Uint8Array(Float32Array.of(1, 2).buffer) },
      ]);
      const bytes = new Uint8Array(await readFile(path));
      const file = await readSafetensors(bytes);
      const values = await file.readTensorFloat32('x');
      values[0] = 42;
      expect(Array.from(await file.readTensorFloat32('x'))).toEqual([1, 2]);
    });
  });

  it('float32 values written as F32, F16 and BF16 read back as the rounded values', async () => {
    const values = randomFloats(1000, 3, 'gaussian', 4);
    values[0] = Number.NaN;
    values[1] = Number.POSITIVE_INFINITY;
    values[2] = -0;
    values[3] = 1e-6; // an F16 subnormal
    values[4] = 1e6; // overflows F16
    await withTempDir(async (dir) => {
      const path = join(dir, 'floats.safetensors');
      const w = await SafetensorsWriter.create(path);
      for (const dtype of ['F32', 'F16', 'BF16'] as const) w.addTensor(dtype, dtype, [10, 100]);
      for (const dtype of ['F32', 'F16', 'BF16'] as const) await w.writeTensorFloat32(dtype, values);
      await w.finish();
      const file = await readSafetensors(path);
      const same = (a: Float32Array, b: Float32Array) =>
        a.length === b.length && a.every((x, i) => Object.is(x, b[i]) || (Number.isNaN(x) && Number.isNaN(b[i])));
      expect(same(await file.readTensorFloat32('F32'), values)).toBe(true);
      expect(await file.readTensorData('F16')).toEqual(float32ToFloat16Bytes(values));
      expect(await file.readTensorData('BF16')).toEqual(float32ToBfloat16Bytes(values));
      const f16 = await file.readTensorFloat32('F16');
      expect(f16[4]).toBe(Number.POSITIVE_INFINITY);
      expect(f16[3]).toBe(2 ** -24 * Math.round(Math.fround(1e-6) / 2 ** -24));
      const bf16 = await file.readTensorFloat32('BF16');
      expect(Number.isNaN(bf16[0])).toBe(true);
      for (let i = 5; i < values.length; i++) {
        expect(Math.abs(f16[i] - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -11 + 2 ** -25);
        expect(Math.abs(bf16[i] - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -8);
      }
    });
  });

  it('wide integers convert exactly or name the element float32 cannot hold', async () => {
    const i32 = new Uint8Array(Int32Array.of(16777216, -16777216, 2 ** 30, 16777217).buffer);
    const i64 = new Uint8Array(BigInt64Array.of(-(2n ** 63n), 2n ** 40n, 2n ** 53n + 1n).buffer);
    const u64 = new Uint8Array(BigUint64Array.of(2n ** 63n, 2n ** 64n - 1n).buffer);
    const u32 = new Uint8Array(Uint32Array.of(2 ** 32 - 256, 2 ** 32 - 1).buffer);
    await withTempDir(async (dir) => {
      const path = join(dir, 'ints.safetensors');
      await writeFile(path, [
        { name: 'i32', dtype: 'I32', shape: [4], data: i32 },
        { name: 'i64', dtype: 'I64', shape: [3], data: i64 },
        { name: 'u64', dtype: 'U64', shape: [2], data: u64 },
        { name: 'u32', dtype: 'U32', shape: [2], data: u32 },
        { name: 'i32ok', dtype: 'I32', shape: [3], data: i32.subarray(0, 12) },
        { name: 'i64ok', dtype: 'I64', shape: [2], data: i64.subarray(0, 16) },
      ]);
      const file = await readSafetensors(path);
      const failure = async (name: string) => {
        const error = await file.readTensorFloat32(name).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SafetensorsInexactError);
        expect((error as SafetensorsInexactError).tensor).toBe(name);
        return error as SafetensorsInexactError;
      };
      expect((await failure('i32')).message).toContain('element 3 cannot be represented exactly');
      expect((await failure('i32')).found).toBe('16777217');
      expect((await failure('i32')).index).toBe(3);
      expect((await failure('i64')).found).toBe(`${2n ** 53n + 1n}`);
      expect((await failure('u64')).found).toBe(`${2n ** 64n - 1n}`);
      expect((await failure('u32')).found).toBe(`${2 ** 32 - 1}`);
      expect(Array.from(await file.readTensorFloat32('i32ok'))).toEqual([16777216, -16777216, 2 ** 30]);
      expect(Array.from(await file.readTensorFloat32('i64ok'))).toEqual([-(2 ** 63), 2 ** 40]);
    });
  });

  it('property: any set of tensors written is read back identically', async () => {
    const dtypes = safetensorsDtypes.filter((d) => d.bits % 8 === 0).map((d) => d.name);
    const tensorArb = fc.record({
      dtype: fc.constantFrom(...dtypes),
      shape: fc.array(fc.nat({ max: 5 }), { maxLength: 3 }),
      seed: fc.nat(),
    });
    const names = fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), {
      minLength: 0,
      maxLength: 6,
    });
    await withTempDir(async (dir) => {
      await fc.assert(
        fc.asyncProperty(names, fc.array(tensorArb, { minLength: 6, maxLength: 6 }), async (tensorNames, tensors) => {
          fc.pre(!tensorNames.includes('__metadata__'));
          const specs: Spec[] = tensorNames.map((name, i) => {
            const { dtype, shape, seed } = tensors[i];
            const bits = safetensorsDtypes.find((d) => d.name === dtype)?.bits ?? 8;
            const length = (shape.reduce((a, b) => a * b, 1) * bits) / 8;
            return { name, dtype, shape, data: randomBytes(length, seed) };
          });
          const path = join(dir, 'p.safetensors');
          await writeFile(path, specs);
          const file = await readSafetensors(path);
          expect(file.tensors.map((t) => t.name)).toEqual(specs.map((s) => s.name));
          for (const s of specs) {
            expect(file.tensor(s.name).shape).toEqual(s.shape);
            expect(await file.readTensorData(s.name)).toEqual(s.data);
          }
        }),
        { numRuns: 60, seed: 11 },
      );
    });
  });
});

describe('row ranges', () => {
  it('readTensorFloat32 with a row range gives those rows of the whole tensor, for every float dtype', async () => {
    await withTempDir(async (dir) => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom<SafetensorsDtype>('F32', 'F16', 'BF16', 'F64', 'I8'),
          fc.integer({ min: 1, max: 9 }),
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 0, max: 1e6 }),
          async (dtype, rows, cols, seed) => {
            const width = dtype === 'F64' ? 8 : dtype === 'F32' ? 4 : dtype === 'I8' ? 1 : 2;
            const data = randomBytes(rows * cols * width, seed);
            if (dtype === 'F64' || dtype === 'F32' || dtype === 'F16' || dtype === 'BF16') {
              // Keep the values finite so equality is by value.
              for (let i = width - 1; i < data.length; i += width) data[i] = (data[i] as number) & 0x3f;
            }
            const path = join(dir, `rows-${dtype}.safetensors`);
            await writeFile(path, [{ name: 't', dtype, shape: [rows, cols], data }]);
            const file = await readSafetensors(path);
            const whole = await file.readTensorFloat32('t');
            const rng = createRng(seed);
            const start = rng.nextInt(rows);
            const count = rng.nextInt(rows - start + 1);
            const part = await file.readTensorFloat32('t', { start, count });
            expect(Array.from(part)).toEqual(Array.from(whole.subarray(start * cols, (start + count) * cols)));
            await expect(file.readTensorFloat32('t', { start, count: rows - start + 1 })).rejects.toThrow(
              /outside its \d+ rows/,
            );
          },
        ),
        { numRuns: 60 },
      );
    });
  });
});
