import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from './reader.js';
import { withTempDir } from './test-support.js';
import { SafetensorsWriter } from './writer.js';

/** Bytes from a hex string ("00 3c ..."), so the expected files below are written out byte by byte. */
function hex(text: string): Uint8Array {
  const parts = text.trim().split(/\s+/);
  return Uint8Array.from(parts, (p) => Number.parseInt(p, 16));
}

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// The header comment's worked example: an F32 scalar 1.0 named "x".
const scalarJson = '{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}'; // 53 bytes
const scalarFile = concat(
  hex('38 00 00 00 00 00 00 00'), // N = 56
  ascii(scalarJson),
  hex('20 20 20'), // padded to a multiple of 8
  hex('00 00 80 3f'), // 1.0f
);

// Two tensors and metadata. Data buffer:
//   a: F32 [2] = [1.0, -2.0]  → 00 00 80 3f  00 00 00 c0   (offsets 0..8)
//   b: BF16 [2] = [1.5, -0.0] → c0 3f  00 80               (offsets 8..12)
const pairJson =
  '{"__metadata__":{"format":"pt"},' +
  '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
  '"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}'; // 140 bytes
const pairFile = concat(
  hex('90 00 00 00 00 00 00 00'), // N = 144
  ascii(pairJson),
  hex('20 20 20 20'),
  hex('00 00 80 3f 00 00 00 c0'),
  hex('c0 3f 00 80'),
);

describe('known answers, built byte by byte from the format description', () => {
  it('the byte counts in the fixtures are what the comments say', () => {
    expect(scalarJson.length).toBe(53);
    expect(scalarFile.length).toBe(68);
    expect(pairJson.length).toBe(140);
    expect(pairFile.length).toBe(8 + 144 + 12);
  });

  it('parses the scalar example exactly', async () => {
    const file = await readSafetensors(scalarFile);
    expect(file.headerByteLength).toBe(56);
    expect(file.byteLength).toBe(68);
    expect(file.dataOffset).toBe(64);
    expect(file.metadata).toEqual({});
    expect(file.tensors).toEqual([
      {
        name: 'x',
        dtype: 'F32',
        shape: [],
        dataOffsets: [0, 4],
        byteSize: 4,
        fileOffset: 64,
        elementCount: 1,
        headerOffset: 9,
      },
    ]);
    expect(await file.readTensorData('x')).toEqual(hex('00 00 80 3f'));
    expect(Array.from(await file.readTensorFloat32('x'))).toEqual([1]);
  });

  it('parses two tensors with metadata exactly', async () => {
    const file = await readSafetensors(pairFile);
    expect(file.headerByteLength).toBe(144);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.tensors.map((t) => [t.name, t.dtype, t.shape, t.dataOffsets, t.byteSize, t.fileOffset])).toEqual([
      ['a', 'F32', [2], [0, 8], 8, 152],
      ['b', 'BF16', [2], [8, 12], 4, 160],
    ]);
    expect(file.tensor('b').headerOffset).toBe(8 + pairJson.indexOf('"b"'));
    expect(await file.readTensorData('a')).toEqual(hex('00 00 80 3f 00 00 00 c0'));
    expect(await file.readTensorData('b')).toEqual(hex('c0 3f 00 80'));
    expect(Array.from(await file.readTensorFloat32('a'))).toEqual([1, -2]);
    const b = await file.readTensorFloat32('b');
    expect(b[0]).toBe(1.5);
    expect(Object.is(b[1], -0)).toBe(true);
  });

  it('reads entries in any header order and reports them in data order', async () => {
    const json =
      '{"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const file = await readSafetensors(
      concat(hex('90 00 00 00 00 00 00 00'), ascii(`${json}    `), pairFile.subarray(152)),
    );
    expect(file.tensors.map((t) => t.name)).toEqual(['a', 'b']);
    expect(Array.from(await file.readTensorFloat32('a'))).toEqual([1, -2]);
  });

  it('accepts JSON whitespace inside the header and trailing spaces after it', async () => {
    const json = '{ "x" : { "dtype" : "F32", "shape" : [ ], "data_offsets" : [ 0, 4 ] } }      ';
    const n = json.length;
    const bytes = concat(Uint8Array.of(n, 0, 0, 0, 0, 0, 0, 0), ascii(json), hex('00 00 80 3f'));
    const file = await readSafetensors(bytes);
    expect(file.tensor('x').fileOffset).toBe(8 + n);
  });

  it('the writer produces exactly these bytes, 8-byte space padding included', async () => {
    await withTempDir(async (dir) => {
      const scalarPath = join(dir, 'scalar.safetensors');
      const w1 = await SafetensorsWriter.create(scalarPath);
      w1.addTensor('x', 'F32', []);
      await w1.writeTensorFloat32('x', Float32Array.of(1));
      expect(await w1.finish()).toEqual({ path: scalarPath, byteLength: 68 });
      expect(new Uint8Array(await readFile(scalarPath))).toEqual(scalarFile);

      const pairPath = join(dir, 'pair.safetensors');
      const w2 = await SafetensorsWriter.create(pairPath, { metadata: { format: 'pt' } });
      w2.addTensor('a', 'F32', [2]);
      w2.addTensor('b', 'BF16', [2]);
      await w2.writeTensorFloat32('a', Float32Array.of(1, -2));
      await w2.writeTensorData('b', hex('c0 3f 00 80'));
      await w2.finish();
      expect(new Uint8Array(await readFile(pairPath))).toEqual(pairFile);
    });
  });

  it('a header already a multiple of 8 gets no padding', async () => {
    // With a 4-letter name the JSON is exactly 56 bytes.
    await withTempDir(async (dir) => {
      const path = join(dir, 'u8.safetensors');
      const w = await SafetensorsWriter.create(path);
      w.addTensor('abcd', 'U8', [3]);
      await w.writeTensorData('abcd', Uint8Array.of(7, 8, 9));
      await w.finish();
      const json = '{"abcd":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}}';
      expect(json.length).toBe(56);
      expect(new Uint8Array(await readFile(path))).toEqual(
        concat(hex('38 00 00 00 00 00 00 00'), ascii(json), hex('07 08 09')),
      );
    });
  });
});
