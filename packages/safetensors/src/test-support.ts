/**
 * Test-only helpers (not exported from the package): a raw file builder
 * written straight from the layout, independent of SafetensorsWriter, so tests
 * can craft valid and deliberately broken files byte by byte.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RawFileOptions {
  /** Overrides the u64 length field (e.g. to lie about it). */
  headerLength?: bigint | number;
  /** Pad the JSON with spaces to a multiple of 8, as the Rust writer does (default true). */
  pad?: boolean;
}

/** 8-byte little-endian length, the header text as UTF-8 (or raw bytes), then the data bytes. */
export function rawSafetensors(
  header: string | Uint8Array,
  data: ArrayLike<number> = [],
  options: RawFileOptions = {},
): Uint8Array {
  let json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  if (options.pad ?? true) {
    const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(options.headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(Array.from(data), 8 + json.length);
  return out;
}

/** One header entry, as JSON text. */
export function entry(dtype: string, shape: readonly number[], begin: number, end: number): string {
  return `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'trit-safetensors-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
