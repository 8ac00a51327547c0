/** Bytes given whole, or as chunks from a sync or async iterable. */
export type ByteChunks = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** How a format words each way a run of chunks can go wrong. */
export interface ChunkErrors {
  /** A chunk that is not a Uint8Array. */
  notBytes(found: string): Error;
  /** The chunks run past `byteSize`; `found` is the total so far. */
  tooLong(found: number): Error;
  /** The chunks end before `byteSize`. */
  tooShort(found: number): Error;
}

/**
 * Passes `data` to `write` chunk by chunk, requiring exactly `byteSize` bytes
 * in all. `beforeChunk` runs first each time (an abort check). Returns the
 * byte count, which is `byteSize`.
 */
export async function writeChunksExactly(
  data: ByteChunks,
  byteSize: number,
  write: (chunk: Uint8Array) => Promise<void>,
  errors: ChunkErrors,
  beforeChunk?: () => void,
): Promise<number> {
  let written = 0;
  const take = async (chunk: unknown) => {
    beforeChunk?.();
    if (!(chunk instanceof Uint8Array)) throw errors.notBytes(typeof chunk);
    if (written + chunk.length > byteSize) throw errors.tooLong(written + chunk.length);
    written += chunk.length;
    await write(chunk);
  };
  if (data instanceof Uint8Array) await take(data);
  else if (Symbol.asyncIterator in data) for await (const chunk of data) await take(chunk);
  else for (const chunk of data) await take(chunk);
  if (written !== byteSize) throw errors.tooShort(written);
  return written;
}
