/**
 * Metadata keys come from files: `__proto__`, `constructor`, `toString` and
 * `hasOwnProperty` must be ordinary keys, never members of Object.prototype.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { knownKeyType } from './known-keys.js';
import { GgufMetadata } from './metadata.js';
import { readGguf } from './reader.js';
import { withTempDir } from './test-support.js';
import { GgufValueType } from './value-types.js';
import { GgufWriter } from './writer.js';

/** Read through a variable: `.__proto__` in source would mean the accessor. */
const PROTO = '__proto__';
const ODD = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

describe('names from files are data', () => {
  it('knownKeyType knows no key found on Object.prototype, general or per architecture', () => {
    for (const key of ODD) {
      expect(knownKeyType(key)).toBeUndefined();
      expect(knownKeyType(key, 'llama')).toBeUndefined();
      expect(knownKeyType(`llama.${key}`, 'llama')).toBeUndefined();
    }
    expect(knownKeyType('llama.block_count', 'llama')?.type).toBe(GgufValueType.UINT32);
    expect(knownKeyType('general.name')?.type).toBe(GgufValueType.STRING);
  });

  it('keys __proto__, constructor, toString are written with the plain-number rules and read back', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'odd.gguf');
      const writer = await GgufWriter.create(path);
      writer.setMetadata('general.architecture', 'llama');
      // Plain numbers for unknown keys become u32; a known key would force its own type.
      for (const [i, key] of ODD.entries()) writer.setMetadata(key, i + 1);
      writer.setMetadata('llama.constructor', 9);
      await writer.finish();
      const file = await readGguf(path);
      ODD.forEach((key, i) => {
        expect(file.metadata.get(key)).toEqual({ type: GgufValueType.UINT32, value: i + 1 });
      });
      expect(file.metadata.get('llama.constructor')).toEqual({ type: GgufValueType.UINT32, value: 9 });
    });
  });

  it('toObject keeps a __proto__ key as a key and inherits nothing', () => {
    const metadata = new GgufMetadata([
      ['__proto__', { type: GgufValueType.STRING, value: 'p' }],
      ['constructor', { type: GgufValueType.UINT32, value: 3 }],
      ['list', { type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value: ['a'] }],
    ]);
    const object = metadata.toObject();
    expect(Object.getPrototypeOf(object)).toBeNull();
    expect(Object.keys(object)).toEqual(['__proto__', 'constructor', 'list']);
    expect(object[PROTO]).toBe('p');
    expect(object.constructor).toBe(3);
    expect(object.toString).toBeUndefined();
    expect(JSON.stringify(object)).toBe('{"__proto__":"p","constructor":3,"list":["a"]}');
  });
});
