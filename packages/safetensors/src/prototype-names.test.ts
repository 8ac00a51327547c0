/**
 * Tensor names and metadata keys come from files: `__proto__`, `constructor`,
 * `toString` and `hasOwnProperty` must behave as ordinary names, never as
 * members of Object.prototype.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonObject, parseJson, toPlain } from './json.js';
import { openSafetensorsModel, SAFETENSORS_INDEX_FILE } from './model.js';
import { readSafetensors } from './reader.js';
import { entry, rawSafetensors, withTempDir } from './test-support.js';

/** Read through a variable: `.__proto__` in source would mean the accessor. */
const PROTO = '__proto__';
const ODD = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

/** One U8 tensor of one byte per name, each byte its index + 1. */
function oddFile(metadata: string): Uint8Array {
  const parts = ODD.map((name, i) => `"${name}":${entry('U8', [1], i, i + 1)}`);
  return rawSafetensors(
    `{"__metadata__":${metadata},${parts.join(',')}}`,
    ODD.map((_, i) => i + 1),
  );
}

describe('names from files are data', () => {
  it('__metadata__ keys __proto__ and constructor are ordinary keys; absent ones read as undefined', async () => {
    const file = await readSafetensors(oddFile('{"__proto__":"p","constructor":"c"}'));
    const { metadata } = file;
    expect(Object.getPrototypeOf(metadata)).toBeNull();
    expect(Object.keys(metadata)).toEqual(['__proto__', 'constructor']);
    expect(metadata[PROTO]).toBe('p');
    expect(metadata.constructor).toBe('c');
    expect(metadata.toString).toBeUndefined();
    // With no __metadata__ at all, nothing is inherited either.
    const bare = await readSafetensors(rawSafetensors(`{"x":${entry('U8', [1], 0, 1)}}`, [9]));
    expect(bare.metadata.constructor).toBeUndefined();
  });

  it('tensors named like Object.prototype members are found by name, and only when present', async () => {
    const file = await readSafetensors(oddFile('{}'));
    expect(file.tensors.map((t) => t.name)).toEqual(ODD);
    for (const [i, name] of ODD.entries()) {
      expect(file.hasTensor(name)).toBe(true);
      expect(Array.from(await file.readTensorData(name))).toEqual([i + 1]);
    }
    const one = await readSafetensors(rawSafetensors(`{"x":${entry('U8', [1], 0, 1)}}`, [9]));
    for (const name of ODD) {
      expect(one.hasTensor(name)).toBe(false);
      expect(() => one.tensor(name)).toThrow(/no such tensor/);
    }
  });

  it('an index maps __proto__ and constructor tensors; its metadata keeps a __proto__ key', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'a.safetensors'), oddFile('{}'));
      const weightMap = ODD.map((n) => `"${n}":"a.safetensors"`).join(',');
      await writeFile(
        join(dir, SAFETENSORS_INDEX_FILE),
        `{"metadata":{"__proto__":{"x":1},"total_size":4},"weight_map":{${weightMap}}}`,
      );
      const model = await openSafetensorsModel(dir);
      expect(model.tensors.map((t) => t.name)).toEqual(ODD);
      expect(model.unmappedTensors).toEqual([]);
      expect(Array.from(await model.readTensorData('__proto__'))).toEqual([1]);
      expect(Object.getPrototypeOf(model.indexMetadata)).toBeNull();
      expect(Object.keys(model.indexMetadata)).toEqual(['__proto__', 'total_size']);
      expect(Object.getPrototypeOf(model.indexMetadata[PROTO])).toBeNull();
      expect({ ...(model.indexMetadata[PROTO] as object) }).toEqual({ x: 1 });
      expect(model.indexMetadata.constructor).toBeUndefined();
    });
  });

  it('toPlain builds objects without a prototype, so a __proto__ key cannot replace one', () => {
    const value = parseJson(new TextEncoder().encode('{"__proto__":{"polluted":true},"a":[{"constructor":1}]}'), {
      source: 'test',
    });
    expect(value).toBeInstanceOf(JsonObject);
    const plain = toPlain(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(plain)).toBeNull();
    expect(Object.keys(plain)).toEqual(['__proto__', 'a']);
    expect((plain[PROTO] as Record<string, unknown>).polluted).toBe(true);
    expect((plain as { polluted?: unknown }).polluted).toBeUndefined();
    expect((plain.a as Record<string, unknown>[])[0].constructor).toBe(1);
  });
});
