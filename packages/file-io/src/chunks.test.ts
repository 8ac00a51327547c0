import { describe, expect, it } from 'vitest';
import { writeChunksExactly } from './chunks.js';

const errors = {
  notBytes: (found: string) => new Error(`not bytes: ${found}`),
  tooLong: (found: number) => new Error(`too long: ${found}`),
  tooShort: (found: number) => new Error(`too short: ${found}`),
};

describe('writeChunksExactly', () => {
  it('takes whole bytes, sync and async chunks, in order', async () => {
    async function* gen() {
      yield Uint8Array.of(3);
      yield Uint8Array.of(4, 5);
    }
    for (const data of [Uint8Array.of(1, 2, 3), [Uint8Array.of(1), Uint8Array.of(2, 3)], gen()]) {
      const seen: number[] = [];
      const n = await writeChunksExactly(data, 3, async (c) => void seen.push(...c), errors);
      expect(n).toBe(3);
      expect(seen.length).toBe(3);
    }
  });

  it('refuses too much, too little and non-byte chunks, stopping at the first bad chunk', async () => {
    const seen: number[] = [];
    const write = async (c: Uint8Array) => void seen.push(c.length);
    await expect(writeChunksExactly([Uint8Array.of(1, 2), Uint8Array.of(3, 4)], 3, write, errors)).rejects.toThrow(
      'too long: 4',
    );
    expect(seen).toEqual([2]);
    await expect(writeChunksExactly(Uint8Array.of(1), 3, write, errors)).rejects.toThrow('too short: 1');
    await expect(writeChunksExactly(['ab'] as never, 3, write, errors)).rejects.toThrow('not bytes: string');
    let checks = 0;
    await expect(
      writeChunksExactly([Uint8Array.of(1), Uint8Array.of(2)], 2, write, errors, () => {
        if (++checks === 2) throw new Error('aborted');
      }),
    ).rejects.toThrow('aborted');
  });
});
