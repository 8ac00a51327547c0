import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GgufError } from './errors.js';
import { GgmlType } from './ggml-types.js';
import { readGguf } from './reader.js';
import { RawGguf, withTempDir, writeTinyLlama } from './test-support.js';
import { validateGguf } from './validate.js';
import { GgufWriter } from './writer.js';

async function rejection(bytes: Uint8Array): Promise<GgufError> {
  try {
    await readGguf(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(GgufError);
    return error as GgufError;
  }
  throw new Error('expected readGguf to reject');
}

const arch = (g: RawGguf) => g.kvString('general.architecture', 'llama');

describe('bad input gives a typed GgufError with offset and expected/found', () => {
  it('wrong magic', async () => {
    const e = await rejection(Uint8Array.from([0x47, 0x47, 0x4d, 0x4c, 3, 0, 0, 0]));
    expect(e.offset).toBe(0);
    expect(e.found).toBe('47 47 4d 4c');
  });

  it('versions 0, 1, 4 and a byte-swapped version', async () => {
    for (const [version, hint] of [
      [0, 'unsupported'],
      [1, 'v1'],
      [4, 'newer'],
      [0x03000000, 'big-endian'],
    ] as const) {
      const e = await rejection(new RawGguf().header(version, 0, 0).bytes());
      expect(e.offset).toBe(4);
      expect(e.message).toContain(hint);
    }
  });

  it('truncated anywhere: every prefix of a valid file is rejected, never crashes', async () => {
    const full = arch(new RawGguf().header(3, 1, 2))
      .kvU32('llama.block_count', 1)
      .tensorInfo('t', [32], GgmlType.F32, 0)
      .padTo(32)
      .zeros(128)
      .bytes();
    await expect(readGguf(full)).resolves.toBeDefined();
    for (let cut = 0; cut < full.length - 1; cut++) {
      const e = await rejection(full.subarray(0, cut));
      expect(e.source).toBe('<buffer>');
      expect(e.offset).toBeLessThanOrEqual(cut);
    }
  });

  it('huge claimed counts are refused before allocating', async () => {
    const tensors = await rejection(new RawGguf().header(3, 2n ** 40n, 0).bytes());
    expect(tensors.message).toContain('tensor count');
    expect(tensors.offset).toBe(8);
    const kvs = await rejection(new RawGguf().header(3, 0, 2n ** 62n).bytes());
    expect(kvs.offset).toBe(16);
    const negative = await rejection(new RawGguf().header(3, 0, 2n ** 64n - 1n).bytes());
    expect(negative.message).toContain('too large');
    const longString = await rejection(
      new RawGguf()
        .header(3, 0, 1)
        .u64(2n ** 35n)
        .zeros(64)
        .bytes(),
    );
    expect(longString.message).toContain('longer than GGUF allows');
    const pastEnd = await rejection(new RawGguf().header(3, 0, 1).u64(1000).zeros(20).bytes());
    expect(pastEnd.message).toContain('past the end');
    expect(pastEnd.found).toBe('20 bytes left');
    const array = await rejection(new RawGguf().header(3, 0, 1).str('k').i32(9).i32(5).u64(1e9).bytes());
    expect(array.message).toContain('array is longer than the file could hold');
    expect(array.key).toBe('k');
  });

  it('unknown value type, unknown element type, deep nesting', async () => {
    const value = await rejection(new RawGguf().header(3, 0, 1).str('k').i32(13).u32(0).bytes());
    expect(value.found).toBe('13');
    const element = await rejection(new RawGguf().header(3, 0, 1).str('k').i32(9).i32(99).u64(1).bytes());
    expect(element.found).toBe('99');
    const deep = new RawGguf().header(3, 0, 1).str('k').i32(9);
    for (let i = 0; i < 40; i++) deep.i32(9).u64(1);
    const nested = await rejection(deep.zeros(64).bytes());
    expect(nested.message).toContain('nested too deeply');
  });

  it('empty and duplicate keys', async () => {
    const empty = await rejection(new RawGguf().header(3, 0, 1).kvU32('', 1).bytes());
    expect(empty.message).toContain('empty key');
    const dup = await rejection(new RawGguf().header(3, 0, 2).kvU32('a.b', 1).kvU32('a.b', 2).bytes());
    expect(dup.key).toBe('a.b');
    expect(dup.offset).toBe(24 + 8 + 3 + 4 + 4);
  });

  it('bad alignment: wrong type, zero, not a power of two', async () => {
    const wrongType = await rejection(
      arch(new RawGguf().header(3, 0, 2))
        .str('general.alignment')
        .i32(10)
        .u64(64)
        .bytes(),
    );
    expect(wrongType.expected).toBe('u32');
    expect(wrongType.found).toBe('u64');
    for (const value of [0, 48]) {
      const e = await rejection(
        arch(new RawGguf().header(3, 0, 2))
          .kvU32('general.alignment', value)
          .bytes(),
      );
      expect(e.key).toBe('general.alignment');
      expect(e.found).toBe(`${value}`);
    }
  });

  it('unknown and retired tensor types are named', async () => {
    const file = (type: number) =>
      arch(new RawGguf().header(3, 1, 1))
        .tensorInfo('w', [256], type, 0)
        .padTo(32)
        .zeros(1024)
        .bytes();
    const unknown = await rejection(file(43));
    expect(unknown.tensor).toBe('w');
    expect(unknown.found).toBe('43');
    const retired = await rejection(file(31));
    expect(retired.message).toContain('Q4_0_4_4');
    const i2s = await rejection(file(36));
    expect(i2s.message).toContain('I2_S only in bitnet.cpp files');
  });

  it('tensor name too long, duplicate names, too many dims, overflowing dims, partial blocks', async () => {
    const base = () => arch(new RawGguf().header(3, 2, 1));
    const long = await rejection(base().tensorInfo('x'.repeat(64), [4], 0, 0).bytes());
    expect(long.found).toBe('64 bytes');
    const dup = await rejection(
      base().tensorInfo('a', [4], 0, 0).tensorInfo('a', [4], 0, 32).padTo(32).zeros(64).bytes(),
    );
    expect(dup.tensor).toBe('a');
    const dims = await rejection(
      arch(new RawGguf().header(3, 1, 1))
        .tensorInfo('a', [1, 1, 1, 1, 1], 0, 0)
        .padTo(32)
        .zeros(64)
        .bytes(),
    );
    expect(dims.found).toBe('5');
    const overflow = await rejection(
      arch(new RawGguf().header(3, 1, 1))
        .tensorInfo('a', [2 ** 40, 2 ** 30], 0, 0)
        .padTo(32)
        .zeros(64)
        .bytes(),
    );
    expect(overflow.message).toContain('overflows int64');
    const partial = await rejection(
      arch(new RawGguf().header(3, 1, 1))
        .tensorInfo('q', [100, 2], GgmlType.Q8_0, 0)
        .padTo(32)
        .zeros(512)
        .bytes(),
    );
    expect(partial.expected).toBe('ne[0] divisible by 32');
  });

  it('data past the end of the file, misaligned offsets, overlapping tensors', async () => {
    const past = await rejection(
      arch(new RawGguf().header(3, 1, 1))
        .tensorInfo('a', [1024], 0, 0)
        .padTo(32)
        .zeros(64)
        .bytes(),
    );
    expect(past.message).toContain('past the end');
    expect(past.tensor).toBe('a');
    const misaligned = await rejection(
      arch(new RawGguf().header(3, 1, 1))
        .tensorInfo('a', [4], 0, 8)
        .padTo(32)
        .zeros(64)
        .bytes(),
    );
    expect(misaligned.found).toBe('8');
    const overlap = await rejection(
      arch(new RawGguf().header(3, 2, 1))
        .tensorInfo('a', [32], 0, 0)
        .tensorInfo('b', [8], 0, 96)
        .padTo(32)
        .zeros(256)
        .bytes(),
    );
    expect(overlap.tensor).toBe('b');
    expect(overlap.message).toContain('"a"');
  });

  it('a header larger than maxHeaderBytes is refused', async () => {
    const big = new RawGguf().header(3, 0, 1).str('k').i32(8).str('x'.repeat(5000)).bytes();
    await expect(readGguf(big, { maxHeaderBytes: 1000 })).rejects.toThrow(GgufError);
  });

  it('a path that does not exist, or is a directory', async () => {
    await expect(readGguf('/nonexistent/model.gguf')).rejects.toThrow(/no such file/);
    await expect(readGguf('/tmp')).rejects.toThrow(/not a regular file/);
  });
});

describe('fuzz: mutated valid files', () => {
  it('either parse or throw GgufError, quickly, never anything else', async () => {
    const valid = await withTempDir(async (dir) => {
      const path = join(dir, 'm.gguf');
      await writeTinyLlama(path, { embd: 256, ff: 256 });
      return new Uint8Array(await readFile(path));
    });
    const header = (await readGguf(valid)).dataOffset;
    const mutation = fc.oneof(
      // Flip bytes, mostly in the header where lengths and counts live.
      fc.record({ kind: fc.constant('set' as const), at: fc.nat({ max: header + 64 }), value: fc.nat({ max: 255 }) }),
      // Overwrite 8 bytes with an extreme u64 (a length, count or offset).
      fc.record({
        kind: fc.constant('u64' as const),
        at: fc.nat({ max: header }),
        value: fc.constantFrom(0n, 1n, 2n ** 32n, 2n ** 63n - 1n, 2n ** 64n - 1n),
      }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: valid.length }), value: fc.constant(0) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        let bytes = valid.slice();
        for (const m of mutations) {
          if (m.kind === 'set') bytes[m.at % bytes.length] = m.value;
          else if (m.kind === 'u64') {
            const at = Math.min(m.at, bytes.length - 8);
            if (at >= 0) new DataView(bytes.buffer).setBigUint64(at, m.value as bigint, true);
          } else bytes = bytes.slice(0, m.at);
        }
        const started = performance.now();
        try {
          const file = await readGguf(bytes);
          // Whatever parses must also read and validate without escaping exceptions.
          for (const t of file.tensors.slice(0, 3)) await file.readTensorData(t);
          await validateGguf(bytes, { checkTensorData: true });
        } catch (error) {
          if (!(error instanceof GgufError)) throw error;
        }
        expect(performance.now() - started).toBeLessThan(2000);
      }),
      { numRuns: 400, seed: 20261126 },
    );
  }, 120_000);
});

describe('the writer refuses what llama.cpp would refuse', () => {
  it('names, dims, types, blocks, nested arrays and key types', async () => {
    await withTempDir(async (dir) => {
      const w = await GgufWriter.create(join(dir, 'x.gguf'));
      w.setMetadata('general.architecture', 'llama');
      expect(() => w.addTensor('n'.repeat(64), GgmlType.F32, [1])).toThrow(/name length/);
      w.addTensor('a', GgmlType.F32, [1]);
      expect(() => w.addTensor('a', GgmlType.F32, [1])).toThrow(/duplicate tensor name/);
      expect(() => w.addTensor('b', GgmlType.F32, [1, 1, 1, 1, 1])).toThrow(/1–4 dimensions/);
      expect(() => w.addTensor('c', 31, [32])).toThrow(/Q4_0_4_4/);
      expect(() => w.addTensor('d', GgmlType.TQ2_0, [128])).toThrow(/ne\[0\] divisible by 256/);
      expect(() => w.setMetadata('llama.context_length', { type: 10, value: 4096 })).toThrow(/expected u32, found u64/);
      expect(() => w.setMetadata('llama.block_count', -1)).toThrow(/does not fit in u32/);
      expect(() => w.setMetadata('x.nested', { type: 9, elementType: 9, value: [] })).toThrow(/arrays of arrays/);
      expect(() => w.setMetadata('general.architecture', 'again')).toThrow(/duplicate metadata key/);
      w.setMetadata('llama.context_length', 4096);
      await w.abort();
    });
  });
});
