/**
 * Test-only helpers (not exported from the package): a raw byte builder
 * written straight from the spec, independent of GgufWriter, so tests can
 * craft both valid and deliberately broken files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class RawGguf {
  private parts: number[] = [];

  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  i32(v: number): this {
    return this.u32(v >>> 0);
  }
  u64(v: number | bigint): this {
    let big = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 8; i++) {
      this.parts.push(Number(big & 0xffn));
      big >>= 8n;
    }
    return this;
  }
  f32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.parts.push(bytes[i]);
    return this;
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u64(b.length).raw(b);
  }
  header(version: number, tensors: number | bigint, kvs: number | bigint): this {
    return this.raw([0x47, 0x47, 0x55, 0x46]).u32(version).u64(tensors).u64(kvs);
  }
  kvString(key: string, value: string): this {
    return this.str(key).i32(8).str(value);
  }
  kvU32(key: string, value: number): this {
    return this.str(key).i32(4).u32(value);
  }
  tensorInfo(name: string, ne: readonly (number | bigint)[], type: number, offset: number | bigint): this {
    this.str(name).u32(ne.length);
    for (const d of ne) this.u64(d);
    return this.i32(type).u64(offset);
  }
  padTo(alignment: number): this {
    while (this.parts.length % alignment !== 0) this.parts.push(0);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'trit-gguf-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
