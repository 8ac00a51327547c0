import { describe, expect, it } from 'vitest';
import { formatLocatedMessage, LocatedError } from './errors.js';

describe('located errors', () => {
  it('name the source, offset, tensor and key, then expected versus found', () => {
    expect(
      formatLocatedMessage('bad dtype', {
        source: 'm.safetensors',
        offset: 12,
        tensor: 'w',
        key: 'dtype',
        expected: 'F32',
        found: 'X',
      }),
    ).toBe('m.safetensors, offset 12, tensor "w", key "dtype": bad dtype (expected F32, found X)');
    expect(formatLocatedMessage('plain', {})).toBe('plain');
    expect(formatLocatedMessage('half', { found: '3' })).toBe('half (expected ?, found 3)');
  });

  it('keep the reason and every detail as fields, and the cause', () => {
    const cause = new Error('inner');
    const error = new LocatedError('too short', { source: '<buffer>', offset: 8, expected: '8 bytes' }, { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('LocatedError');
    expect(error.message).toBe('<buffer>, offset 8: too short (expected 8 bytes, found ?)');
    expect(error.reason).toBe('too short');
    expect([error.source, error.offset, error.tensor, error.key, error.expected, error.found]).toEqual([
      '<buffer>',
      8,
      undefined,
      undefined,
      '8 bytes',
      undefined,
    ]);
    expect(error.cause).toBe(cause);
  });
});
