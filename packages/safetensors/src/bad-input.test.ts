import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SafetensorsError, SafetensorsUnsupportedError } from './errors.js';
import { readSafetensors } from './reader.js';
import { entry, rawSafetensors, withTempDir } from './test-support.js';

async function rejection(bytes: Uint8Array, options?: { maxHeaderBytes?: number }): Promise<SafetensorsError> {
  try {
    await readSafetensors(bytes, options);
  } catch (error) {
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as SafetensorsError).source).toBe('<buffer>');
    return error as SafetensorsError;
  }
  throw new Error('expected readSafetensors to reject');
}

/** A file with one tensor "t" whose entry is `tensor` and `dataBytes` zero bytes of data. */
const one = (tensor: string, dataBytes: number) => rawSafetensors(`{"t":${tensor}}`, new Uint8Array(dataBytes));

describe('each validation rule has a crafted bad file', () => {
  it('file shorter than the 8-byte length field', async () => {
    for (const size of [0, 1, 7]) {
      const e = await rejection(new Uint8Array(size));
      expect(e.message).toContain('too short');
      expect(e.found).toBe(`${size} bytes`);
    }
  });

  it('header length above 100,000,000, or the maxHeaderBytes option', async () => {
    const big = rawSafetensors('{}', [], { headerLength: 100_000_001 });
    const e = await rejection(big);
    expect(e.message).toContain('larger than safetensors allows');
    expect(e.expected).toBe('at most 100000000 bytes');
    expect(e.offset).toBe(0);
    const huge = await rejection(rawSafetensors('{}', [], { headerLength: 2n ** 64n - 1n }));
    expect(huge.found).toBe('18446744073709551615 bytes');
    const limited = await rejection(rawSafetensors(`{"t":${entry('U8', [1], 0, 1)}}`, [0]), { maxHeaderBytes: 16 });
    expect(limited.expected).toBe('at most 16 bytes');
  });

  it('header length past the end of the file', async () => {
    const e = await rejection(rawSafetensors('{}', [], { headerLength: 9 }));
    expect(e.message).toContain('runs past the end');
    expect(e.found).toBe('9');
  });

  it('header not starting with {, or empty', async () => {
    const space = await rejection(rawSafetensors(' {}', [], { pad: false }));
    expect(space.offset).toBe(8);
    expect(space.expected).toBe("'{'");
    expect(space.found).toBe('byte 0x20');
    expect((await rejection(rawSafetensors('[]'))).message).toContain("starting with '{'");
    expect((await rejection(rawSafetensors('', [], { pad: false }))).found).toBe('an empty header');
  });

  it('header not UTF-8', async () => {
    const header = new TextEncoder().encode(`{"tX":${entry('U8', [1], 0, 1)}}`);
    header[3] = 0xfe;
    const e = await rejection(rawSafetensors(header, [0]));
    expect(e.message).toContain('invalid UTF-8');
    expect(e.offset).toBe(8 + 3);
  });

  it('invalid JSON, and anything but whitespace after the object', async () => {
    expect((await rejection(rawSafetensors('{"t":'))).message).toContain('invalid header JSON');
    const nul = rawSafetensors('{}', [], { pad: false, headerLength: 4 });
    const withNul = new Uint8Array(12);
    withNul.set(nul.subarray(0, 10));
    expect((await rejection(withNul)).message).toContain('after the JSON value');
    // Tabs and newlines are JSON whitespace and are accepted, as serde_json does.
    await expect(readSafetensors(rawSafetensors('{}\n\t\r', [], { pad: false }))).resolves.toBeDefined();
  });

  it('duplicate tensor names (JSON.parse would silently keep the last)', async () => {
    const json = `{"t":${entry('U8', [1], 0, 1)},"t":${entry('U8', [1], 1, 2)}}`;
    const e = await rejection(rawSafetensors(json, [0, 0]));
    expect(e.message).toContain('duplicate key');
    expect(e.key).toBe('t');
    expect(e.offset).toBe(8 + json.lastIndexOf('"t"'));
  });

  it('duplicate keys inside __metadata__ or inside an entry', async () => {
    const meta = await rejection(rawSafetensors('{"__metadata__":{"a":"1","a":"2"}}'));
    expect(meta.key).toBe('a');
    const field = await rejection(
      rawSafetensors('{"t":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}', [0]),
    );
    expect(field.key).toBe('dtype');
    const twice = await rejection(rawSafetensors('{"__metadata__":{},"__metadata__":{}}'));
    expect(twice.key).toBe('__metadata__');
  });

  it('entry not an object; missing dtype, shape or data_offsets', async () => {
    expect((await rejection(rawSafetensors('{"t":[1]}'))).found).toBe('an array');
    for (const key of ['dtype', 'shape', 'data_offsets']) {
      const fields = { dtype: '"U8"', shape: '[1]', data_offsets: '[0,1]' } as Record<string, string>;
      delete fields[key];
      const json = `{"t":{${Object.entries(fields)
        .map(([k, v]) => `"${k}":${v}`)
        .join(',')}}}`;
      const e = await rejection(rawSafetensors(json, [0]));
      expect(e.message).toBe(`${e.source}, offset 9, tensor "t", key "${key}": tensor entry has no "${key}"`);
    }
  });

  it('unknown dtype, or a dtype that is not a string', async () => {
    const e = await rejection(one(entry('F128', [1], 0, 16), 16));
    expect(e.message).toContain('unknown dtype');
    expect(e.found).toBe('"F128"');
    expect(e.tensor).toBe('t');
    expect((await rejection(one('{"dtype":32,"shape":[1],"data_offsets":[0,4]}', 4))).found).toBe('an integer');
    // dtype strings are case-sensitive.
    expect((await rejection(one(entry('f32', [1], 0, 4), 4))).found).toBe('"f32"');
  });

  it('shape must be an array of non-negative safe integers', async () => {
    for (const [shape, found] of [
      ['[-1]', '[-1]'],
      ['[2.0]', '[2 (not an integer)]'],
      ['[1e1]', '[10 (not an integer)]'],
      ['["2"]', '[a string]'],
      ['[null]', '[null]'],
      ['2', 'an integer'],
      ['[9007199254740992]', '[9007199254740992]'],
    ]) {
      const e = await rejection(one(`{"dtype":"U8","shape":${shape},"data_offsets":[0,0]}`, 0));
      expect(e.message).toContain('shape must be an array of non-negative integers');
      expect(e.found).toBe(found);
      expect(e.key).toBe('shape');
    }
  });

  it('data_offsets must be [begin, end] with begin ≤ end', async () => {
    for (const offsets of ['[0]', '[0,1,2]', '[0,1.5]', '[-1,0]', '"0,1"', '[0,18446744073709551616]']) {
      const e = await rejection(one(`{"dtype":"U8","shape":[1],"data_offsets":${offsets}}`, 1));
      expect(e.message).toContain('data_offsets must be [begin, end]');
    }
    const backwards = await rejection(one(entry('U8', [0], 4, 3), 4));
    expect(backwards.message).toContain('end before they begin');
    expect(backwards.found).toBe('[4, 3]');
  });

  it('__metadata__ must map strings to strings', async () => {
    const number = await rejection(rawSafetensors('{"__metadata__":{"format":"pt","epoch":3}}'));
    expect(number.key).toBe('epoch');
    expect(number.found).toBe('an integer');
    expect((await rejection(rawSafetensors('{"__metadata__":["pt"]}'))).found).toBe('an array');
    expect((await rejection(rawSafetensors('{"__metadata__":{"a":{"b":"c"}}}'))).found).toBe('an object');
    // null means no metadata, as serde reads an Option.
    expect((await readSafetensors(rawSafetensors('{"__metadata__":null}'))).metadata).toEqual({});
  });

  it('end − begin must equal ∏shape × bits / 8', async () => {
    const e = await rejection(one(entry('F32', [2, 3], 0, 20), 20));
    expect(e.message).toContain('do not match');
    expect(e.expected).toBe('end − begin = 24 bytes ([2, 3] × 32 bits F32)');
    expect(e.found).toBe('20 bytes ([0, 20])');
    // Elements that overflow 64 bits are still compared exactly, not wrapped.
    const overflow = await rejection(one(entry('U8', [2 ** 40, 2 ** 40, 2 ** 40], 0, 0), 0));
    expect(overflow.message).toContain('too large');
  });

  it('sub-byte dtypes need a bit count divisible by 8', async () => {
    const f4 = await rejection(one(entry('F4', [3], 0, 2), 2));
    expect(f4.message).toContain('whole number of bytes');
    expect(f4.found).toBe('3 × 4 = 12 bits');
    expect((await rejection(one(entry('F6_E2M3', [2], 0, 2), 2))).found).toBe('2 × 6 = 12 bits');
    // Valid packings: 2 F4 in a byte, 4 F6 in three bytes.
    const ok = await readSafetensors(
      rawSafetensors(`{"a":${entry('F4', [2, 1], 0, 1)},"b":${entry('F6_E3M2', [4], 1, 4)}}`, [1, 2, 3, 4]),
    );
    expect(ok.tensors.map((t) => [t.name, t.byteSize, t.elementCount])).toEqual([
      ['a', 1, 2],
      ['b', 3, 4],
    ]);
  });

  it('sorted by offset, the data must start at 0', async () => {
    const e = await rejection(one(entry('U8', [1], 1, 2), 2));
    expect(e.message).toContain('gap in the data buffer');
    expect(e.expected).toBe('data_offsets beginning at 0');
    expect(e.found).toBe('[1, 2]');
  });

  it('no gaps and no overlaps between tensors', async () => {
    const gap = await rejection(
      rawSafetensors(`{"a":${entry('U8', [2], 0, 2)},"b":${entry('U8', [2], 3, 5)}}`, [0, 0, 0, 0, 0]),
    );
    expect(gap.message).toContain('gap in the data buffer before this tensor (after "a")');
    expect(gap.tensor).toBe('b');
    expect(gap.expected).toBe('data_offsets beginning at 2');
    const overlap = await rejection(
      rawSafetensors(`{"a":${entry('U8', [2], 0, 2)},"b":${entry('U8', [2], 1, 3)}}`, [0, 0, 0]),
    );
    expect(overlap.message).toContain('overlaps the data of "a"');
    expect(overlap.tensor).toBe('b');
    // Two tensors claiming the same bytes.
    const same = await rejection(
      rawSafetensors(`{"a":${entry('U8', [2], 0, 2)},"b":${entry('I8', [2], 0, 2)}}`, [0, 0]),
    );
    expect(same.message).toContain('overlaps');
  });

  it('the file length must be exactly 8 + N + the last end', async () => {
    const json = `{"t":${entry('U8', [4], 0, 4)}}`;
    const trailing = await rejection(rawSafetensors(json, [1, 2, 3, 4, 5]));
    expect(trailing.message).toContain('bytes after the last tensor');
    expect(trailing.expected).toBe('a file of 8 + 56 + 4 = 68 bytes');
    expect(trailing.found).toBe('69 bytes');
    const truncated = await rejection(rawSafetensors(json, [1, 2, 3]));
    expect(truncated.message).toContain('truncated');
    // With no tensors the data buffer must be empty.
    expect((await rejection(rawSafetensors('{}', [0]))).message).toContain('bytes after the last tensor');
  });

  it('scalars, zero-size tensors (even sharing an offset) and empty files are valid', async () => {
    const json = `{"z1":${entry('F32', [0, 5], 0, 0)},"s":${entry('F64', [], 0, 8)},"z2":${entry('BF16', [3, 0], 8, 8)},"z3":${entry('I64', [0], 0, 0)}}`;
    const file = await readSafetensors(rawSafetensors(json, new Uint8Array(8)));
    expect(file.tensors.map((t) => t.name)).toEqual(['z1', 'z3', 's', 'z2']);
    expect((await file.readTensorFloat32('z1')).length).toBe(0);
    expect((await file.readTensorData('z2')).length).toBe(0);
    expect(Array.from(await file.readTensorFloat32('s'))).toEqual([0]);
    const empty = await readSafetensors(rawSafetensors('{}'));
    expect(empty.tensors).toEqual([]);
    expect(empty.byteLength).toBe(16);
  });

  it('nesting in an ignored field is bounded; extra fields are otherwise ignored as serde does', async () => {
    const deep = `{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect((await rejection(one(deep, 1))).message).toContain('nested too deeply');
    const extra = await readSafetensors(one('{"dtype":"U8","shape":[1],"data_offsets":[0,1],"note":{"a":[1]}}', 1));
    expect(extra.tensor('t').byteSize).toBe(1);
  });

  it('a path that does not exist, or is a directory', async () => {
    await expect(readSafetensors('/nonexistent/model.safetensors')).rejects.toThrow(/no such file/);
    await expect(readSafetensors('/tmp')).rejects.toThrow(/not a regular file/);
  });

  it('a file changed after its header was read is not read with stale offsets', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'm.safetensors');
      await writeFile(path, one(entry('U8', [4], 0, 4), 4));
      const file = await readSafetensors(path);
      await writeFile(path, one(entry('U8', [5], 0, 5), 5));
      await expect(file.readTensorData('t')).rejects.toThrow(/changed after its header was read/);
      // Same size, new mtime.
      await writeFile(path, one(entry('U8', [4], 0, 4), 4));
      const again = await readSafetensors(path);
      await utimes(path, new Date(), new Date(Date.now() + 5000));
      await expect(again.readTensorData('t')).rejects.toThrow(SafetensorsError);
    });
  });

  it('unknown tensor names and dtypes that cannot be read as float32', async () => {
    const file = await readSafetensors(
      rawSafetensors(
        `{"c":${entry('C64', [1], 0, 8)},"b":${entry('BOOL', [1], 8, 9)},"f8":${entry('F8_E4M3', [1], 9, 10)}}`,
        new Uint8Array(10),
      ),
    );
    await expect(file.readTensorData('nope')).rejects.toThrow(/no such tensor/);
    for (const name of ['c', 'b', 'f8']) {
      const error = await file.readTensorFloat32(name).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SafetensorsUnsupportedError);
      expect((error as SafetensorsError).tensor).toBe(name);
      expect((error as SafetensorsError).expected).toContain('BF16');
    }
  });

  it('every truncation of a valid file is rejected', async () => {
    const full = rawSafetensors(
      `{"__metadata__":{"k":"v"},"a":${entry('F32', [2], 0, 8)},"b":${entry('U8', [3], 8, 11)}}`,
      new Uint8Array(11).fill(1),
    );
    await expect(readSafetensors(full)).resolves.toBeDefined();
    for (let cut = 0; cut < full.length; cut++) await rejection(full.subarray(0, cut));
  });
});

describe('fuzz: mutated valid files', () => {
  it('either parse or throw SafetensorsError, quickly, never anything else', async () => {
    const json =
      `{"__metadata__":{"format":"pt","note":"é"},"w":${entry('BF16', [3, 4], 0, 24)},` +
      `"s":${entry('F32', [], 24, 28)},"z":${entry('I64', [0, 2], 28, 28)},"i":${entry('I32', [2], 28, 36)},` +
      `"h":${entry('F16', [2, 2], 36, 44)},"q":${entry('F4', [4], 44, 46)}}`;
    const valid = rawSafetensors(
      json,
      Array.from({ length: 46 }, (_, i) => (i * 37) & 0xff),
    );
    const file = await readSafetensors(valid);
    expect(file.tensors.length).toBe(6);
    const headerEnd = file.dataOffset;
    const tokens = [...'{}[]":,\\-0123456789e. '].map((c) => c.charCodeAt(0));

    const mutation = fc.oneof(
      // Any byte, mostly in the header.
      fc.record({
        kind: fc.constant('set' as const),
        at: fc.nat({ max: headerEnd + 16 }),
        value: fc.nat({ max: 255 }),
      }),
      // A JSON-significant character, to break structure rather than just text.
      fc.record({
        kind: fc.constant('token' as const),
        at: fc.nat({ max: headerEnd }),
        value: fc.constantFrom(...tokens),
      }),
      // An extreme u64, most interestingly over the length field.
      fc.record({
        kind: fc.constant('u64' as const),
        at: fc.oneof(fc.constant(0), fc.nat({ max: headerEnd })),
        value: fc.constantFrom(0n, 1n, 7n, 2n ** 32n, 100_000_000n, 2n ** 63n - 1n, 2n ** 64n - 1n),
      }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: valid.length }), value: fc.constant(0) }),
      fc.record({ kind: fc.constant('append' as const), at: fc.nat({ max: 16 }), value: fc.nat({ max: 255 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        let bytes = valid.slice();
        for (const m of mutations) {
          if (m.kind === 'set' || m.kind === 'token') {
            if (bytes.length > 0) bytes[m.at % bytes.length] = m.value;
          } else if (m.kind === 'u64') {
            const at = Math.min(m.at, bytes.length - 8);
            if (at >= 0) new DataView(bytes.buffer).setBigUint64(at, m.value as bigint, true);
          } else if (m.kind === 'truncate') bytes = bytes.slice(0, m.at);
          else bytes = Uint8Array.from([...bytes, ...new Array(m.at).fill(m.value)]);
        }
        const started = performance.now();
        try {
          const parsed = await readSafetensors(bytes);
          // Whatever parses must be self-consistent and readable.
          expect(parsed.byteLength).toBe(bytes.length);
          for (const t of parsed.tensors) {
            expect(t.fileOffset + t.byteSize).toBeLessThanOrEqual(bytes.length);
            expect((await parsed.readTensorData(t.name)).length).toBe(t.byteSize);
            await parsed.readTensorFloat32(t.name).catch((error: unknown) => {
              if (!(error instanceof SafetensorsError)) throw error;
            });
          }
        } catch (error) {
          if (!(error instanceof SafetensorsError)) throw error;
        }
        expect(performance.now() - started).toBeLessThan(1000);
      }),
      { numRuns: 2000, seed: 20261126 },
    );
  }, 60_000);
});
